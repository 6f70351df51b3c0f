//! RESTCONF resource identifiers (RFC 8040 §3.5.3): `api-path` parsing with percent-decoded
//! list keys, and its resolution against the YANG schema.

use tsn_yang::{NodeKind, Schema, SchemaNodeInfo};

use crate::error::{ErrorTag, ErrorType, RestconfError};

/// Longest api-path accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;

/// One step of an api-path as written: `[module:]name[=key1,key2,...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Module name, when the step is qualified.
    pub module: Option<String>,
    /// Node name.
    pub name: String,
    /// Percent-decoded key values, when the step has `=`.
    pub keys: Option<Vec<String>>,
}

/// Why an api-path is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Too long.
    #[error("the resource path is longer than {MAX_PATH_BYTES} bytes")]
    TooLong,
    /// An empty step (`//`).
    #[error("the resource path has an empty step")]
    EmptyStep,
    /// A node name is not a YANG identifier.
    #[error("{0:?} is not a YANG identifier")]
    BadIdentifier(String),
    /// A `%` escape is malformed or decodes to invalid UTF-8.
    #[error("bad percent-encoding in key {0:?}")]
    BadEncoding(String),
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Percent-decodes `s` (RFC 3986); `+` is not special.
pub fn percent_decode(s: &str) -> Result<String, PathError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(|| PathError::BadEncoding(s.to_owned()))?;
            let hex = std::str::from_utf8(hex).map_err(|_| PathError::BadEncoding(s.to_owned()))?;
            let v = u8::from_str_radix(hex, 16).map_err(|_| PathError::BadEncoding(s.to_owned()))?;
            out.push(v);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| PathError::BadEncoding(s.to_owned()))
}

/// Percent-encodes a key value for use in an api-path (RFC 8040 §3.5.3: reserved characters
/// and anything outside unreserved are escaped).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Parses an api-path (the part after `/restconf/data/`, still percent-encoded). An empty
/// path is the datastore itself.
pub fn parse_api_path(raw: &str) -> Result<Vec<Segment>, PathError> {
    if raw.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong);
    }
    let raw = raw.strip_suffix('/').unwrap_or(raw);
    if raw.is_empty() {
        return Ok(Vec::new());
    }
    raw.split('/')
        .map(|step| {
            if step.is_empty() {
                return Err(PathError::EmptyStep);
            }
            let (ident, keys) = match step.split_once('=') {
                Some((i, k)) => (i, Some(k.split(',').map(percent_decode).collect::<Result<Vec<_>, _>>()?)),
                None => (step, None),
            };
            let ident = percent_decode(ident)?;
            let (module, name) = match ident.split_once(':') {
                Some((m, n)) => (Some(m.to_owned()), n.to_owned()),
                None => (None, ident.clone()),
            };
            if !is_identifier(&name) || module.as_deref().is_some_and(|m| !is_identifier(m)) {
                return Err(PathError::BadIdentifier(ident));
            }
            Ok(Segment { module, name, keys })
        })
        .collect()
}

/// One resolved step: a schema node and, for a list entry, its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The schema node.
    pub node: SchemaNodeInfo,
    /// Node name.
    pub name: String,
    /// RFC 7951 member name of the node inside its parent (module-qualified where the
    /// module changes, and always for the top-level node).
    pub member: String,
    /// `(key name, value)` pairs for a list entry; empty for a whole list or non-list.
    pub keys: Vec<(String, String)>,
}

impl Step {
    /// Whether this step selects one list entry.
    pub fn is_entry(&self) -> bool {
        self.node.kind == NodeKind::List && !self.keys.is_empty()
    }

    /// The step as an XPath step for libyang (`name[k='v']`), module-qualified as `member`.
    pub fn xpath(&self) -> String {
        let mut s = self.member.clone();
        for (k, v) in &self.keys {
            let quoted = if v.contains('\'') { format!("\"{v}\"") } else { format!("'{v}'") };
            s.push_str(&format!("[{k}={quoted}]"));
        }
        s
    }
}

/// A resolved data resource: the steps from the top-level node to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The steps; empty for the datastore resource `/restconf/data`.
    pub steps: Vec<Step>,
}

impl Target {
    /// The target's schema node (None for the datastore).
    pub fn node(&self) -> Option<&SchemaNodeInfo> {
        self.steps.last().map(|s| &s.node)
    }

    /// The instance identifier of the target, as in `error-path`.
    pub fn xpath(&self) -> String {
        if self.steps.is_empty() {
            return "/".into();
        }
        self.steps.iter().map(|s| format!("/{}", s.xpath())).collect()
    }

    /// Key value of the entry of the list named `list` on the path (e.g. `cuc`).
    pub fn key_of(&self, list: &str) -> Option<&str> {
        self.steps
            .iter()
            .find(|s| s.name == list && s.node.kind == NodeKind::List)
            .and_then(|s| s.keys.first())
            .map(|(_, v)| v.as_str())
    }

    /// The api-path of the target (for `Location`).
    pub fn api_path(&self) -> String {
        self.steps
            .iter()
            .map(|s| {
                let mut out = s.member.clone();
                if !s.keys.is_empty() {
                    out.push('=');
                    out.push_str(&s.keys.iter().map(|(_, v)| percent_encode(v)).collect::<Vec<_>>().join(","));
                }
                out
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Resolves parsed segments against the schema. A list step without keys is allowed only
/// as the last step (it selects every entry).
pub fn resolve(schema: &Schema, segments: &[Segment]) -> Result<Target, RestconfError> {
    let mut steps: Vec<Step> = Vec::new();
    let mut path = String::new();
    let mut module = String::new();
    for (i, seg) in segments.iter().enumerate() {
        let seg_module = match (&seg.module, i) {
            (Some(m), _) => m.clone(),
            (None, 0) => {
                return Err(RestconfError::new(
                    ErrorType::Protocol,
                    ErrorTag::UnknownNamespace,
                    format!("the first step {:?} must be qualified with its module name (module:name)", seg.name),
                ))
            }
            (None, _) => module.clone(),
        };
        if !schema.modules().iter().any(|m| m.name == seg_module && m.implemented) {
            return Err(RestconfError::new(
                ErrorType::Protocol,
                ErrorTag::UnknownNamespace,
                format!("no implemented module named {seg_module:?}"),
            ));
        }
        let member =
            if seg_module != module || i == 0 { format!("{seg_module}:{}", seg.name) } else { seg.name.clone() };
        let candidate = format!("{path}/{member}");
        let node = schema.node(&candidate).ok_or_else(|| {
            RestconfError::new(
                ErrorType::Protocol,
                ErrorTag::UnknownElement,
                format!("no schema node {:?} at {}", seg.name, if path.is_empty() { "/" } else { &path }),
            )
        })?;
        let keys = match (&seg.keys, node.kind) {
            (Some(values), NodeKind::List) => {
                if values.len() != node.keys.len() {
                    return Err(RestconfError::bad_request(format!(
                        "list {:?} has {} key(s) ({}), the path gives {}",
                        seg.name,
                        node.keys.len(),
                        node.keys.join(", "),
                        values.len()
                    )));
                }
                node.keys.iter().cloned().zip(values.iter().cloned()).collect()
            }
            (Some(_), _) => {
                return Err(RestconfError::bad_request(format!("{:?} is not a list: it takes no keys", seg.name)));
            }
            (None, NodeKind::List) if i + 1 < segments.len() => {
                return Err(RestconfError::bad_request(format!(
                    "list {:?} needs its key values (name=value)",
                    seg.name
                )));
            }
            (None, _) => Vec::new(),
        };
        if matches!(
            node.kind,
            NodeKind::Leaf | NodeKind::LeafList | NodeKind::Action | NodeKind::Rpc | NodeKind::Notification
        ) && i + 1 < segments.len()
        {
            return Err(RestconfError::new(
                ErrorType::Protocol,
                ErrorTag::UnknownElement,
                format!("{:?} has no child nodes", seg.name),
            ));
        }
        path = candidate;
        module = seg_module;
        steps.push(Step { name: seg.name.clone(), member, keys, node });
    }
    Ok(Target { steps })
}

impl From<PathError> for RestconfError {
    fn from(e: PathError) -> Self {
        RestconfError::bad_request(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_keys_with_escapes() {
        let segs =
            parse_api_path("ieee802-dot1q-cnc-config:cnc-config/domain=d%2F1/cuc=c1/stream=00-11-22-33-44-55%3A00-01")
                .unwrap();
        assert_eq!(segs.len(), 4);
        assert_eq!(segs[0].module.as_deref(), Some("ieee802-dot1q-cnc-config"));
        assert_eq!(segs[1].keys, Some(vec!["d/1".to_string()]));
        assert_eq!(segs[3].keys, Some(vec!["00-11-22-33-44-55:00-01".to_string()]));
        assert!(matches!(parse_api_path("a:b/c=%zz"), Err(PathError::BadEncoding(_))));
        assert!(matches!(parse_api_path("a:b/c=%ff"), Err(PathError::BadEncoding(_))));
        assert!(matches!(parse_api_path("a:b//c"), Err(PathError::EmptyStep)));
        assert!(matches!(parse_api_path("a:1b"), Err(PathError::BadIdentifier(_))));
        assert_eq!(parse_api_path("").unwrap(), vec![]);
    }

    #[test]
    fn resolves_against_the_schema() {
        let schema = Schema::cnc_config().unwrap();
        let t = resolve(
            &schema,
            &parse_api_path(
                "ieee802-dot1q-cnc-config:cnc-config/domain=d/cuc=c/stream=00-11-22-33-44-55%3A00-01/talker",
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(t.key_of("cuc"), Some("c"));
        assert_eq!(t.steps.last().unwrap().member, "talker");
        assert_eq!(
            t.xpath(),
            "/ieee802-dot1q-cnc-config:cnc-config/domain[domain-id='d']/cuc[cuc-id='c']/stream[stream-id='00-11-22-33-44-55:00-01']/talker"
        );
        let e = resolve(&schema, &parse_api_path("ieee802-dot1q-cnc-config:cnc-config/nope").unwrap()).unwrap_err();
        assert_eq!(e.tag, ErrorTag::UnknownElement);
        let e = resolve(&schema, &parse_api_path("foo:cnc-config").unwrap()).unwrap_err();
        assert_eq!(e.tag, ErrorTag::UnknownNamespace);
        let e =
            resolve(&schema, &parse_api_path("ieee802-dot1q-cnc-config:cnc-config/domain=a,b").unwrap()).unwrap_err();
        assert_eq!(e.tag, ErrorTag::InvalidValue);
    }

    proptest! {
        #[test]
        fn encode_decode_roundtrip(s in "\\PC*") {
            prop_assert_eq!(percent_decode(&percent_encode(&s)).unwrap(), s);
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,200}") {
            let _ = parse_api_path(&s);
        }

        #[test]
        fn keys_survive_the_path(keys in proptest::collection::vec("\\PC{0,20}", 1..4)) {
            let raw = format!("m:l={}", keys.iter().map(|k| percent_encode(k)).collect::<Vec<_>>().join(","));
            let segs = parse_api_path(&raw).unwrap();
            prop_assert_eq!(segs[0].keys.clone(), Some(keys));
        }
    }
}
