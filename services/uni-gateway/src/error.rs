//! RFC 8040 errors (`ietf-restconf:errors`) and the gateway's own error enum.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tsn_yang::{ErrorClass, YangError};

use crate::media::Media;

/// RFC 8040 §7 / RFC 6241 Appendix A error tags the gateway uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorTag {
    /// `invalid-value`: a value or parameter is not acceptable.
    InvalidValue,
    /// `too-big`: the request body is too large.
    TooBig,
    /// `missing-element`: an expected node is missing.
    MissingElement,
    /// `unknown-element`: a node is not in the schema.
    UnknownElement,
    /// `unknown-namespace`: a module/namespace is not known.
    UnknownNamespace,
    /// `bad-element`: a node is not acceptable here (e.g. config-false in input).
    BadElement,
    /// `access-denied`: authentication or authorization failed.
    AccessDenied,
    /// `data-exists`: the resource to create already exists.
    DataExists,
    /// `data-missing`: the resource to change does not exist.
    DataMissing,
    /// `operation-not-supported`: the method or operation is not supported.
    OperationNotSupported,
    /// `operation-failed`: the operation failed (precondition or internal).
    OperationFailed,
    /// `malformed-message`: the body is not well-formed.
    MalformedMessage,
}

impl ErrorTag {
    /// The tag as it appears in `error-tag`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorTag::InvalidValue => "invalid-value",
            ErrorTag::TooBig => "too-big",
            ErrorTag::MissingElement => "missing-element",
            ErrorTag::UnknownElement => "unknown-element",
            ErrorTag::UnknownNamespace => "unknown-namespace",
            ErrorTag::BadElement => "bad-element",
            ErrorTag::AccessDenied => "access-denied",
            ErrorTag::DataExists => "data-exists",
            ErrorTag::DataMissing => "data-missing",
            ErrorTag::OperationNotSupported => "operation-not-supported",
            ErrorTag::OperationFailed => "operation-failed",
            ErrorTag::MalformedMessage => "malformed-message",
        }
    }

    /// The status code RFC 8040 §7 gives for the tag (its first choice).
    pub fn default_status(self) -> StatusCode {
        match self {
            ErrorTag::InvalidValue
            | ErrorTag::MissingElement
            | ErrorTag::UnknownElement
            | ErrorTag::UnknownNamespace
            | ErrorTag::BadElement
            | ErrorTag::MalformedMessage => StatusCode::BAD_REQUEST,
            ErrorTag::TooBig => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorTag::AccessDenied => StatusCode::FORBIDDEN,
            ErrorTag::DataExists | ErrorTag::DataMissing => StatusCode::CONFLICT,
            ErrorTag::OperationNotSupported => StatusCode::METHOD_NOT_ALLOWED,
            ErrorTag::OperationFailed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// `error-type` of RFC 8040.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// Transport layer (TLS, HTTP framing).
    Transport,
    /// RPC layer (method, query, media type).
    Rpc,
    /// Protocol layer (resource, preconditions).
    Protocol,
    /// Application layer (data content).
    Application,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::Transport => "transport",
            ErrorType::Rpc => "rpc",
            ErrorType::Protocol => "protocol",
            ErrorType::Application => "application",
        }
    }
}

/// One RESTCONF error, rendered as `ietf-restconf:errors` with the status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {}: {message}", tag.as_str())]
pub struct RestconfError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error-type`.
    pub error_type: ErrorType,
    /// `error-tag`.
    pub tag: ErrorTag,
    /// `error-app-tag`.
    pub app_tag: Option<String>,
    /// `error-path`: instance identifier of the offending node.
    pub path: Option<String>,
    /// `error-message`.
    pub message: String,
    /// Extra headers (e.g. `WWW-Authenticate`, `Allow`).
    pub headers: Vec<(&'static str, String)>,
}

impl RestconfError {
    /// An error with the tag's default status.
    pub fn new(error_type: ErrorType, tag: ErrorTag, message: impl Into<String>) -> Self {
        RestconfError {
            status: tag.default_status(),
            error_type,
            tag,
            app_tag: None,
            path: None,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// Overrides the status code.
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sets `error-path`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Sets `error-app-tag`.
    pub fn app_tag(mut self, tag: impl Into<String>) -> Self {
        self.app_tag = Some(tag.into());
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// 400 invalid-value at the protocol layer (bad query, bad path).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Protocol, ErrorTag::InvalidValue, message)
    }

    /// 404 invalid-value: the target resource does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Protocol, ErrorTag::InvalidValue, message).status(StatusCode::NOT_FOUND)
    }

    /// 403 access-denied.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Protocol, ErrorTag::AccessDenied, message)
    }

    /// 500 operation-failed (internal error; details are logged, not sent).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Application, ErrorTag::OperationFailed, message)
    }

    /// Maps a libyang error on a request body to RFC 8040.
    pub fn from_yang(err: &YangError) -> Self {
        let tag = match err.class {
            ErrorClass::Syntax => ErrorTag::MalformedMessage,
            ErrorClass::UnknownNode => ErrorTag::UnknownElement,
            ErrorClass::UnknownNamespace => ErrorTag::UnknownNamespace,
            ErrorClass::InvalidValue => ErrorTag::InvalidValue,
            ErrorClass::StateNode => ErrorTag::BadElement,
            ErrorClass::Missing => ErrorTag::MissingElement,
            ErrorClass::Duplicate => ErrorTag::InvalidValue,
            ErrorClass::Constraint => ErrorTag::InvalidValue,
            ErrorClass::Other => ErrorTag::InvalidValue,
        };
        let error_type = if err.class == ErrorClass::Syntax { ErrorType::Rpc } else { ErrorType::Application };
        let mut e = RestconfError::new(error_type, tag, err.message.clone());
        e.path = err.path.clone();
        e.app_tag = err.app_tag.clone();
        if e.app_tag.is_none() && err.class == ErrorClass::Duplicate {
            e.app_tag = Some("data-not-unique".into());
        }
        e
    }

    /// The `ietf-restconf:errors` document in `media`.
    pub fn body(&self, media: Media) -> String {
        match media {
            Media::Xml => {
                let mut s = String::from("<errors xmlns=\"urn:ietf:params:xml:ns:yang:ietf-restconf\"><error>");
                s.push_str(&format!("<error-type>{}</error-type>", self.error_type.as_str()));
                s.push_str(&format!("<error-tag>{}</error-tag>", self.tag.as_str()));
                if let Some(t) = &self.app_tag {
                    s.push_str(&format!("<error-app-tag>{}</error-app-tag>", xml_escape(t)));
                }
                if let Some(p) = &self.path {
                    s.push_str(&format!("<error-path>{}</error-path>", xml_escape(p)));
                }
                s.push_str(&format!("<error-message>{}</error-message>", xml_escape(&self.message)));
                s.push_str("</error></errors>");
                s
            }
            Media::Json => {
                let mut e = serde_json::Map::new();
                e.insert("error-type".into(), json!(self.error_type.as_str()));
                e.insert("error-tag".into(), json!(self.tag.as_str()));
                if let Some(t) = &self.app_tag {
                    e.insert("error-app-tag".into(), json!(t));
                }
                if let Some(p) = &self.path {
                    e.insert("error-path".into(), json!(p));
                }
                e.insert("error-message".into(), json!(self.message));
                json!({"ietf-restconf:errors": {"error": [e]}}).to_string()
            }
        }
    }

    /// The response in `media`.
    pub fn into_response_in(self, media: Media) -> Response {
        let body = self.body(media);
        let mut resp = (self.status, body).into_response();
        resp.headers_mut().insert("content-type", HeaderValue::from_static(media.content_type()));
        for (name, value) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(*name, v);
            }
        }
        resp
    }
}

impl IntoResponse for RestconfError {
    fn into_response(self) -> Response {
        self.into_response_in(Media::Json)
    }
}

/// Escapes text for XML element content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Errors of the gateway outside request handling (start-up, store, bus).
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// Bad configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// The database failed.
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
    /// Stored data could not be read back (corrupt row).
    #[error("store: corrupt {what}: {detail}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The YANG library failed to load the modules.
    #[error("yang: {0}")]
    Yang(#[from] YangError),
    /// The bus failed.
    #[error("bus: {0}")]
    Bus(#[from] tsn_bus::BusError),
    /// TLS set-up failed.
    #[error("tls: {0}")]
    Tls(String),
    /// I/O.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl GatewayError {
    /// Logs the error at the level it deserves.
    pub fn log(&self, context: &str) {
        match self {
            GatewayError::Config(_) | GatewayError::Tls(_) => tracing::error!(error = %self, "{context}"),
            GatewayError::Bus(_) => tracing::warn!(error = %self, "{context}"),
            _ => tracing::error!(error = %self, "{context}"),
        }
    }
}

impl From<GatewayError> for RestconfError {
    fn from(e: GatewayError) -> Self {
        e.log("request failed");
        RestconfError::internal(format!("internal error: {e}"))
    }
}

impl From<sqlx::Error> for RestconfError {
    fn from(e: sqlx::Error) -> Self {
        GatewayError::Store(e).into()
    }
}
