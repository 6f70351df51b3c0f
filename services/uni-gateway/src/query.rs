//! RESTCONF query parameters (RFC 8040 §4.8): `depth`, `fields`, `content`, `with-defaults`,
//! and their application to JSON documents.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::RestconfError;
use crate::path::percent_decode;

/// Longest `fields` expression accepted, in bytes.
pub const MAX_FIELDS_BYTES: usize = 2048;
/// Deepest nesting of parentheses in `fields`.
pub const MAX_FIELDS_NESTING: usize = 32;

/// Which part of the data a GET returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Content {
    /// Configuration and state.
    #[default]
    All,
    /// Configuration only.
    Config,
    /// State only (with the list keys that locate it).
    Nonconfig,
}

/// The query of a data request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataQuery {
    /// `depth` (None = unbounded).
    pub depth: Option<u32>,
    /// `fields`, as a selection tree.
    pub fields: Option<Fields>,
    /// `content`.
    pub content: Content,
}

/// A `fields` selection: member name → what to keep below it (`None` = everything).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields(pub BTreeMap<String, Option<Fields>>);

/// Splits a raw query string into decoded `(name, value)` pairs.
pub fn split_query(raw: Option<&str>) -> Result<Vec<(String, String)>, RestconfError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let k = percent_decode(k)
            .map_err(|_| RestconfError::bad_request(format!("bad percent-encoding in query parameter {k:?}")))?;
        let v = percent_decode(v)
            .map_err(|_| RestconfError::bad_request(format!("bad percent-encoding in the value of {k:?}")))?;
        if out.iter().any(|(n, _)| *n == k) {
            return Err(RestconfError::bad_request(format!("query parameter {k:?} appears more than once")));
        }
        out.push((k, v));
    }
    Ok(out)
}

/// Rejects every parameter not in `allowed` (RFC 8040 §4.8: 400 invalid-value).
pub fn only(params: &[(String, String)], allowed: &[&str], method: &str) -> Result<(), RestconfError> {
    for (k, _) in params {
        if !allowed.contains(&k.as_str()) {
            return Err(RestconfError::bad_request(format!(
                "query parameter {k:?} is not supported for {method} on this resource (allowed: {})",
                if allowed.is_empty() { "none".to_owned() } else { allowed.join(", ") }
            )));
        }
    }
    Ok(())
}

/// Parses the query of a GET/HEAD on a data resource.
pub fn data_query(params: &[(String, String)]) -> Result<DataQuery, RestconfError> {
    only(params, &["depth", "fields", "content", "with-defaults"], "GET")?;
    let mut q = DataQuery::default();
    for (k, v) in params {
        match k.as_str() {
            "depth" => {
                q.depth = match v.as_str() {
                    "unbounded" => None,
                    n => match n.parse::<u32>() {
                        Ok(d @ 1..=65535) => Some(d),
                        _ => {
                            return Err(RestconfError::bad_request(format!(
                                "depth must be 1..65535 or unbounded, not {v:?}"
                            )))
                        }
                    },
                }
            }
            "fields" => q.fields = Some(parse_fields(v).map_err(RestconfError::bad_request)?),
            "content" => {
                q.content = match v.as_str() {
                    "all" => Content::All,
                    "config" => Content::Config,
                    "nonconfig" => Content::Nonconfig,
                    _ => {
                        return Err(RestconfError::bad_request(format!(
                            "content must be all, config or nonconfig, not {v:?}"
                        )))
                    }
                }
            }
            "with-defaults" if v != "explicit" => {
                return Err(RestconfError::bad_request(format!(
                    "with-defaults {v:?} is not supported (the server reports explicit values)"
                )));
            }
            _ => {}
        }
    }
    Ok(q)
}

/// Parses a `fields` expression (`a(b;c/d);e`).
pub fn parse_fields(s: &str) -> Result<Fields, String> {
    if s.len() > MAX_FIELDS_BYTES {
        return Err(format!("fields is longer than {MAX_FIELDS_BYTES} bytes"));
    }
    let bytes = s.as_bytes();
    let mut pos = 0;
    let f = parse_expr(bytes, &mut pos, 0)?;
    if pos != bytes.len() {
        return Err(format!("unexpected {:?} at offset {pos} of fields", s[pos..].chars().next().unwrap_or(' ')));
    }
    Ok(f)
}

fn parse_expr(b: &[u8], pos: &mut usize, nesting: usize) -> Result<Fields, String> {
    if nesting > MAX_FIELDS_NESTING {
        return Err("fields is nested too deeply".into());
    }
    let mut out = Fields::default();
    loop {
        // path = identifier ("/" identifier)*
        let mut path = vec![parse_ident(b, pos)?];
        while b.get(*pos) == Some(&b'/') {
            *pos += 1;
            path.push(parse_ident(b, pos)?);
        }
        let sub = if b.get(*pos) == Some(&b'(') {
            *pos += 1;
            let inner = parse_expr(b, pos, nesting + 1)?;
            if b.get(*pos) != Some(&b')') {
                return Err(format!("missing ')' at offset {pos} of fields"));
            }
            *pos += 1;
            Some(inner)
        } else {
            None
        };
        insert_path(&mut out, &path, sub);
        match b.get(*pos) {
            Some(b';') => *pos += 1,
            _ => return Ok(out),
        }
    }
}

fn parse_ident(b: &[u8], pos: &mut usize) -> Result<String, String> {
    let start = *pos;
    while let Some(&c) = b.get(*pos) {
        if c.is_ascii_alphanumeric() || b"_-.:".contains(&c) {
            *pos += 1;
        } else {
            break;
        }
    }
    if start == *pos {
        return Err(format!("expected a node name at offset {start} of fields"));
    }
    let ident = std::str::from_utf8(&b[start..*pos]).map_err(|_| "fields is not UTF-8".to_string())?;
    if !ident.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') {
        return Err(format!("{ident:?} is not a node name"));
    }
    Ok(ident.to_owned())
}

fn insert_path(f: &mut Fields, path: &[String], sub: Option<Fields>) {
    let (first, rest) = path.split_first().expect("paths have at least one step");
    let entry = f.0.entry(first.clone()).or_insert_with(|| Some(Fields::default()));
    if rest.is_empty() {
        match (entry.as_mut(), sub) {
            (_, None) => *entry = None,
            (Some(existing), Some(sub)) => merge_fields(existing, sub),
            (None, Some(_)) => {}
        }
    } else if let Some(existing) = entry.as_mut() {
        insert_path(existing, rest, sub);
    }
}

fn merge_fields(into: &mut Fields, from: Fields) {
    for (k, v) in from.0 {
        match (into.0.get_mut(&k), v) {
            (None, v) => {
                into.0.insert(k, v);
            }
            (Some(slot), None) => *slot = None,
            (Some(Some(a)), Some(b)) => merge_fields(a, b),
            (Some(None), Some(_)) => {}
        }
    }
}

fn local(name: &str) -> &str {
    name.rsplit_once(':').map(|(_, n)| n).unwrap_or(name)
}

/// Keeps only what `fields` selects inside `value` (the content of the target node, or a
/// list of entries); `keys(member)` names the keys of a list member, which are kept.
pub fn apply_fields(value: &Value, fields: &Fields, keys: &dyn Fn(&str) -> Vec<String>) -> Value {
    match value {
        Value::Array(entries) => Value::Array(entries.iter().map(|e| apply_fields(e, fields, keys)).collect()),
        Value::Object(map) => {
            let mut out = Map::new();
            for (member, v) in map {
                let sel = fields.0.get(member.as_str()).or_else(|| fields.0.get(local(member)));
                match sel {
                    Some(None) => {
                        out.insert(member.clone(), v.clone());
                    }
                    Some(Some(sub)) => {
                        let sub_keys = keys(member);
                        let mut child = apply_fields(v, sub, &|m| keys(&format!("{member}/{m}")));
                        restore_keys(v, &mut child, &sub_keys);
                        out.insert(member.clone(), child);
                    }
                    None => {}
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn restore_keys(original: &Value, filtered: &mut Value, keys: &[String]) {
    if let (Value::Array(orig), Value::Array(filt)) = (original, filtered) {
        for (o, f) in orig.iter().zip(filt.iter_mut()) {
            if let (Value::Object(o), Value::Object(f)) = (o, f) {
                for k in keys {
                    if let Some(v) = o.get(k) {
                        f.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
    }
}

/// Cuts `value` (the content of the target, at depth 1) below `depth` levels; list keys
/// are kept so that entries stay identifiable.
pub fn apply_depth(value: &Value, depth: u32, keys: &dyn Fn(&str) -> Vec<String>, own_keys: &[String]) -> Value {
    match value {
        Value::Array(entries) => Value::Array(entries.iter().map(|e| apply_depth(e, depth, keys, own_keys)).collect()),
        Value::Object(map) => {
            let mut out = Map::new();
            for (member, v) in map {
                if own_keys.contains(member) {
                    out.insert(member.clone(), v.clone());
                    continue;
                }
                if depth <= 1 {
                    continue;
                }
                let is_scalar = match v {
                    Value::Object(_) => false,
                    Value::Array(a) => !a.iter().any(Value::is_object),
                    _ => true,
                };
                if is_scalar {
                    out.insert(member.clone(), v.clone());
                } else {
                    let child_keys = keys(member);
                    out.insert(
                        member.clone(),
                        apply_depth(v, depth - 1, &|m| keys(&format!("{member}/{m}")), &child_keys),
                    );
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn fields_grammar() {
        let f = parse_fields("domain(domain-id;cuc/cuc-id);x").unwrap();
        let d = f.0.get("domain").unwrap().as_ref().unwrap();
        assert!(d.0.get("domain-id").unwrap().is_none());
        assert!(d.0.get("cuc").unwrap().as_ref().unwrap().0.get("cuc-id").unwrap().is_none());
        assert!(f.0.get("x").unwrap().is_none());
        assert!(parse_fields("a(b").is_err());
        assert!(parse_fields("").is_err());
        assert!(parse_fields("a;;b").is_err());
        assert!(parse_fields("a)").is_err());
    }

    #[test]
    fn fields_and_depth_on_documents() {
        let v = json!({"domain": [{"domain-id": "d", "cnc-enabled": true, "cuc": [{"cuc-id": "c", "stream": []}]}]});
        let keys = |m: &str| match m {
            "domain" => vec!["domain-id".to_string()],
            "domain/cuc" => vec!["cuc-id".to_string()],
            _ => vec![],
        };
        let f = parse_fields("domain(cuc/cuc-id)").unwrap();
        assert_eq!(apply_fields(&v, &f, &keys), json!({"domain": [{"domain-id": "d", "cuc": [{"cuc-id": "c"}]}]}));
        assert_eq!(apply_depth(&v, 1, &keys, &[]), json!({}));
        assert_eq!(apply_depth(&v, 2, &keys, &[]), json!({"domain": [{"domain-id": "d"}]}));
        assert_eq!(
            apply_depth(&v, 3, &keys, &[]),
            json!({"domain": [{"domain-id": "d", "cnc-enabled": true, "cuc": [{"cuc-id": "c"}]}]})
        );
    }

    #[test]
    fn query_validation() {
        let p = split_query(Some("depth=2&content=config")).unwrap();
        let q = data_query(&p).unwrap();
        assert_eq!(q.depth, Some(2));
        assert_eq!(q.content, Content::Config);
        assert!(data_query(&split_query(Some("depth=0")).unwrap()).is_err());
        assert!(data_query(&split_query(Some("foo=1")).unwrap()).is_err());
        assert!(split_query(Some("depth=1&depth=2")).is_err());
    }

    proptest! {
        #[test]
        fn fields_parser_never_panics(s in "[a-z();/:_.-]{0,64}") {
            let _ = parse_fields(&s);
        }

        #[test]
        fn fields_roundtrip_simple_lists(names in proptest::collection::btree_set("[a-z][a-z0-9-]{0,8}", 1..6)) {
            let expr = names.iter().cloned().collect::<Vec<_>>().join(";");
            let f = parse_fields(&expr).unwrap();
            prop_assert_eq!(f.0.len(), names.len());
        }
    }
}
