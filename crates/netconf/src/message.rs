//! NETCONF messages: `<hello>`, capabilities, `<rpc-reply>` and `<rpc-error>`.

use std::fmt;

use crate::error::NetconfError;
use crate::xml::{escape, Element, NC_NS};

/// `urn:ietf:params:netconf:base:1.0`.
pub const BASE_1_0: &str = "urn:ietf:params:netconf:base:1.0";
/// `urn:ietf:params:netconf:base:1.1` (chunked framing).
pub const BASE_1_1: &str = "urn:ietf:params:netconf:base:1.1";
/// The candidate datastore.
pub const CAP_CANDIDATE: &str = "urn:ietf:params:netconf:capability:candidate:1.0";
/// Confirmed commit with persist / cancel-commit.
pub const CAP_CONFIRMED_COMMIT: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.1";
/// The validate operation.
pub const CAP_VALIDATE: &str = "urn:ietf:params:netconf:capability:validate:1.1";
/// error-option rollback-on-error.
pub const CAP_ROLLBACK_ON_ERROR: &str = "urn:ietf:params:netconf:capability:rollback-on-error:1.0";
/// edit-config on running.
pub const CAP_WRITABLE_RUNNING: &str = "urn:ietf:params:netconf:capability:writable-running:1.0";
/// ietf-netconf-monitoring namespace.
pub const YANG_LIBRARY_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-yang-library";

/// A parsed `<hello>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// Capability URIs as sent.
    pub capabilities: Vec<String>,
    /// The session id (servers only).
    pub session_id: Option<u32>,
}

impl Hello {
    /// Parses a hello message.
    pub fn parse(root: &Element) -> Result<Hello, NetconfError> {
        if !root.is(NC_NS, "hello") {
            return Err(NetconfError::Protocol(format!("expected <hello>, got <{}>", root.name)));
        }
        let caps = root
            .child_ns(NC_NS, "capabilities")
            .ok_or_else(|| NetconfError::Protocol("<hello> without <capabilities>".into()))?;
        let capabilities: Vec<String> =
            caps.children.iter().filter(|c| c.name == "capability").map(|c| c.text.trim().to_owned()).collect();
        if capabilities.is_empty() {
            return Err(NetconfError::Protocol("<hello> lists no capability".into()));
        }
        let session_id = match root.child_text("session-id") {
            Some(s) => Some(s.parse().map_err(|_| NetconfError::Protocol(format!("bad session-id {s:?}")))?),
            None => None,
        };
        Ok(Hello { capabilities, session_id })
    }

    /// Renders the hello message.
    pub fn to_xml(&self) -> String {
        let mut s = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><hello xmlns=\"{NC_NS}\"><capabilities>");
        for c in &self.capabilities {
            s.push_str(&format!("<capability>{}</capability>", escape(c)));
        }
        s.push_str("</capabilities>");
        if let Some(id) = self.session_id {
            s.push_str(&format!("<session-id>{id}</session-id>"));
        }
        s.push_str("</hello>");
        s
    }

    /// Whether a capability is listed (compared without its `?query`).
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c.split('?').next() == Some(capability))
    }

    /// The YANG modules the hello announces (`…?module=NAME&revision=REV`).
    pub fn modules(&self) -> Vec<ModuleCapability> {
        self.capabilities.iter().filter_map(|c| ModuleCapability::parse(c)).collect()
    }
}

/// A YANG module announced as a capability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleCapability {
    /// Namespace URI.
    pub namespace: String,
    /// Module name.
    pub module: String,
    /// Revision, if given.
    pub revision: Option<String>,
}

impl ModuleCapability {
    fn parse(cap: &str) -> Option<ModuleCapability> {
        let (ns, query) = cap.split_once('?')?;
        let mut module = None;
        let mut revision = None;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("module", v)) => module = Some(v.to_owned()),
                Some(("revision", v)) => revision = Some(v.to_owned()),
                _ => {}
            }
        }
        Some(ModuleCapability { namespace: ns.to_owned(), module: module?, revision })
    }
}

/// One `<rpc-error>` (RFC 6241 §4.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RpcError {
    /// transport, rpc, protocol or application.
    pub error_type: String,
    /// The error tag (`invalid-value`, `lock-denied`, `operation-failed`, …).
    pub tag: String,
    /// error or warning.
    pub severity: String,
    /// Application-specific tag.
    pub app_tag: Option<String>,
    /// Instance identifier of the offending node.
    pub path: Option<String>,
    /// Human-readable message.
    pub message: Option<String>,
    /// `<error-info>` children, serialized.
    pub info: Option<String>,
}

impl RpcError {
    /// An error of `error_type` with `tag` and a message.
    pub fn new(error_type: &str, tag: &str, message: impl Into<String>) -> Self {
        RpcError {
            error_type: error_type.into(),
            tag: tag.into(),
            severity: "error".into(),
            message: Some(message.into()),
            ..Default::default()
        }
    }

    /// Parses an `<rpc-error>` element.
    pub fn parse(el: &Element) -> RpcError {
        let text = |name: &str| el.child_text(name).map(str::to_owned);
        RpcError {
            error_type: text("error-type").unwrap_or_default(),
            tag: text("error-tag").unwrap_or_default(),
            severity: text("error-severity").unwrap_or_else(|| "error".into()),
            app_tag: text("error-app-tag"),
            path: text("error-path"),
            message: text("error-message"),
            info: el.child("error-info").map(|i| i.children.iter().map(Element::to_xml).collect()),
        }
    }

    /// Renders the `<rpc-error>` element.
    pub fn to_xml(&self) -> String {
        let mut s = format!(
            "<rpc-error><error-type>{}</error-type><error-tag>{}</error-tag><error-severity>{}</error-severity>",
            escape(&self.error_type),
            escape(&self.tag),
            escape(&self.severity)
        );
        if let Some(t) = &self.app_tag {
            s.push_str(&format!("<error-app-tag>{}</error-app-tag>", escape(t)));
        }
        if let Some(p) = &self.path {
            s.push_str(&format!("<error-path>{}</error-path>", escape(p)));
        }
        if let Some(m) = &self.message {
            s.push_str(&format!("<error-message xml:lang=\"en\">{}</error-message>", escape(m)));
        }
        if let Some(i) = &self.info {
            s.push_str(&format!("<error-info>{i}</error-info>"));
        }
        s.push_str("</rpc-error>");
        s
    }

    /// One line for a list of errors.
    pub fn summary(errors: &[RpcError]) -> String {
        errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.error_type, self.tag)?;
        if let Some(m) = &self.message {
            write!(f, ": {m}")?;
        }
        if let Some(p) = &self.path {
            write!(f, " (at {p})")?;
        }
        Ok(())
    }
}

/// What an `<rpc-reply>` carried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `<ok/>`.
    Ok,
    /// `<data>` (its element).
    Data(Element),
    /// Anything else (an RPC-specific reply), the whole `<rpc-reply>`.
    Other(Element),
}

impl Reply {
    /// Interprets an `<rpc-reply>`: errors of severity error become `Err`; warnings are
    /// logged and dropped.
    pub fn from_element(reply: Element) -> Result<Reply, NetconfError> {
        let errors: Vec<RpcError> =
            reply.children.iter().filter(|c| c.name == "rpc-error").map(RpcError::parse).collect();
        let (warnings, errors): (Vec<_>, Vec<_>) = errors.into_iter().partition(|e| e.severity == "warning");
        for w in &warnings {
            tracing::warn!(warning = %w, "NETCONF rpc-error warning");
        }
        if !errors.is_empty() {
            return Err(NetconfError::Rpc(errors));
        }
        if reply.child("ok").is_some() {
            return Ok(Reply::Ok);
        }
        if let Some(pos) = reply.children.iter().position(|c| c.name == "data") {
            let mut reply = reply;
            return Ok(Reply::Data(reply.children.swap_remove(pos)));
        }
        Ok(Reply::Other(reply))
    }

    /// The `<data>` element, or an empty one for `<ok/>`/other replies.
    pub fn into_data(self) -> Element {
        match self {
            Reply::Data(d) => d,
            _ => Element::new(Some(NC_NS), "data"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trip_and_modules() {
        let hello = Hello {
            capabilities: vec![
                BASE_1_0.into(),
                BASE_1_1.into(),
                "urn:ieee:std:802.1Q:yang:ieee802-dot1q-sched-bridge?module=ieee802-dot1q-sched-bridge&revision=2023-10-26"
                    .into(),
            ],
            session_id: Some(7),
        };
        let parsed = Hello::parse(&Element::parse(&hello.to_xml()).unwrap()).unwrap();
        assert_eq!(parsed, hello);
        assert!(parsed.has(BASE_1_1));
        assert_eq!(parsed.modules()[0].module, "ieee802-dot1q-sched-bridge");
        assert_eq!(parsed.modules()[0].revision.as_deref(), Some("2023-10-26"));
    }

    #[test]
    fn rpc_errors_are_parsed() {
        let reply = Element::parse(&format!(
            "<rpc-reply xmlns=\"{NC_NS}\" message-id=\"1\">{}{}</rpc-reply>",
            RpcError::new("application", "invalid-value", "too many entries").to_xml(),
            RpcError { severity: "warning".into(), ..RpcError::new("application", "x", "just a warning") }.to_xml()
        ))
        .unwrap();
        let err = Reply::from_element(reply).unwrap_err();
        assert_eq!(err.rpc_errors().len(), 1);
        assert_eq!(err.rpc_errors()[0].tag, "invalid-value");
        assert!(err.to_string().contains("too many entries"), "{err}");
    }
}
