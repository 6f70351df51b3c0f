//! Schema-aware operations on RFC 7951 JSON documents: strict parsing, navigation by
//! resolved path, creation of ancestors, and merge with list entries matched by key.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};
use tsn_yang::{JsonKind, NodeKind, Schema};

use crate::error::{ErrorTag, ErrorType, RestconfError};
use crate::path::Step;

/// Deepest JSON nesting accepted in a body.
pub const MAX_JSON_DEPTH: usize = 64;

/// A JSON value that refuses duplicate object members (RFC 7951 §3: a member name appears
/// once per object) and nesting deeper than [`MAX_JSON_DEPTH`].
struct Strict(Value);

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::Number(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::Number(v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Strict, E> {
        Number::from_f64(v).map(|n| Strict(Value::Number(n))).ok_or_else(|| E::custom("not a finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Strict(Value::Array(out)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(k.clone(), v).is_some() {
                return Err(de::Error::custom(format!("duplicate member {k:?}")));
            }
        }
        Ok(Strict(Value::Object(out)))
    }
}

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Parses a request body as JSON, refusing duplicate members and deep nesting
/// (400 malformed-message).
pub fn parse_json_strict(text: &str) -> Result<Value, RestconfError> {
    let malformed = |m: String| RestconfError::new(ErrorType::Rpc, ErrorTag::MalformedMessage, m);
    // serde_json stops at 128 levels by itself; deeper documents fail here as malformed.
    let Strict(v) = serde_json::from_str(text).map_err(|e| malformed(format!("malformed JSON: {e}")))?;
    if depth(&v) > MAX_JSON_DEPTH {
        return Err(malformed(format!("JSON nested deeper than {MAX_JSON_DEPTH} levels")));
    }
    Ok(v)
}

/// A key value as it appears in an api-path.
pub fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn entry_matches(entry: &Value, keys: &[(String, String)]) -> bool {
    keys.iter().all(|(k, v)| entry.get(k).and_then(key_text).as_deref() == Some(v.as_str()))
}

/// Schema path of member `member` below schema path `parent` (member names carry a module
/// prefix exactly where the schema paths do).
pub fn child_path(parent: &str, member: &str) -> String {
    format!("{parent}/{member}")
}

/// The typed JSON value of a leaf from its api-path text.
pub fn typed_value(schema: &Schema, leaf_path: &str, text: &str) -> Result<Value, RestconfError> {
    let bad = || RestconfError::bad_request(format!("{text:?} is not a valid value for {leaf_path}"));
    match schema.node(leaf_path).and_then(|n| n.json) {
        Some(JsonKind::Number) => {
            if let Ok(n) = text.parse::<i64>() {
                Ok(Value::Number(n.into()))
            } else {
                Err(bad())
            }
        }
        Some(JsonKind::Boolean) => text.parse::<bool>().map(Value::Bool).map_err(|_| bad()),
        _ => Ok(Value::String(text.to_owned())),
    }
}

/// The value of the node selected by `steps` in `doc` (a list entry's object for an
/// entry, the array for a whole list).
pub fn get<'a>(doc: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let mut cur = doc;
    for step in steps {
        let v = cur.as_object()?.get(&step.member)?;
        cur = if step.is_entry() { v.as_array()?.iter().find(|e| entry_matches(e, &step.keys))? } else { v };
    }
    Some(cur)
}

/// The object that holds the last step's member, creating containers and list entries
/// (with typed keys) on the way when `create` is set.
pub fn parent_mut<'a>(
    schema: &Schema,
    doc: &'a mut Value,
    steps: &[Step],
    create: bool,
) -> Result<Option<&'a mut Map<String, Value>>, RestconfError> {
    let Some((_, ancestors)) = steps.split_last() else { return Ok(None) };
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let mut cur = doc;
    for step in ancestors {
        let map = cur.as_object_mut().ok_or_else(|| RestconfError::internal("document node is not an object"))?;
        if !map.contains_key(&step.member) {
            if !create {
                return Ok(None);
            }
            let empty =
                if step.node.kind == NodeKind::List { Value::Array(Vec::new()) } else { Value::Object(Map::new()) };
            map.insert(step.member.clone(), empty);
        }
        let v = map.get_mut(&step.member).expect("inserted above");
        cur = if step.is_entry() {
            let arr = v.as_array_mut().ok_or_else(|| RestconfError::internal("list is not an array"))?;
            let idx = match arr.iter().position(|e| entry_matches(e, &step.keys)) {
                Some(i) => i,
                None if create => {
                    let mut entry = Map::new();
                    for (k, text) in &step.keys {
                        entry.insert(k.clone(), typed_value(schema, &child_path(&step.node.path, k), text)?);
                    }
                    arr.push(Value::Object(entry));
                    arr.len() - 1
                }
                None => return Ok(None),
            };
            &mut arr[idx]
        } else {
            v
        };
    }
    Ok(cur.as_object_mut())
}

/// Merges `src` into `dst` (both the content of the node at schema path `path`): containers
/// member by member, list entries matched by key, leaf-lists as sets, leaves replaced.
/// Two entries of `src` with the same key, or a repeated leaf-list value, are an error.
pub fn merge(schema: &Schema, dst: &mut Value, src: &Value, path: &str) -> Result<(), RestconfError> {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            for (member, sv) in s {
                let cp = child_path(path, member);
                match d.get_mut(member) {
                    Some(dv) => merge(schema, dv, sv, &cp)?,
                    None => {
                        check_unique(schema, sv, &cp)?;
                        d.insert(member.clone(), sv.clone());
                    }
                }
            }
            Ok(())
        }
        (Value::Array(d), Value::Array(s)) => {
            check_unique(schema, src, path)?;
            let node = schema.node(path);
            match node.as_ref().map(|n| (n.kind, n.keys.clone())) {
                Some((NodeKind::List, keys)) if !keys.is_empty() => {
                    for entry in s {
                        let key = key_tuple(entry, &keys);
                        match d.iter_mut().find(|e| key_tuple(e, &keys) == key) {
                            Some(existing) => merge(schema, existing, entry, path)?,
                            None => d.push(entry.clone()),
                        }
                    }
                }
                _ => {
                    for v in s {
                        if !d.contains(v) {
                            d.push(v.clone());
                        }
                    }
                }
            }
            Ok(())
        }
        (d, s) => {
            *d = s.clone();
            Ok(())
        }
    }
}

fn key_tuple(entry: &Value, keys: &[String]) -> Vec<Option<String>> {
    keys.iter().map(|k| entry.get(k).and_then(key_text)).collect()
}

/// Refuses duplicate list entries (by key) and leaf-list values anywhere in `v`.
pub fn check_unique(schema: &Schema, v: &Value, path: &str) -> Result<(), RestconfError> {
    match v {
        Value::Array(items) => {
            let node = schema.node(path);
            let keys = node.as_ref().map(|n| n.keys.clone()).unwrap_or_default();
            let mut seen = HashSet::new();
            for item in items {
                let id = if keys.is_empty() { item.to_string() } else { format!("{:?}", key_tuple(item, &keys)) };
                if !seen.insert(id.clone()) {
                    return Err(RestconfError::new(
                        ErrorType::Application,
                        ErrorTag::InvalidValue,
                        format!("duplicate instance of {} ({id})", path.rsplit('/').next().unwrap_or(path)),
                    )
                    .app_tag("data-not-unique")
                    .path(path.to_owned()));
                }
                check_unique(schema, item, path)?;
            }
            Ok(())
        }
        Value::Object(m) => {
            for (member, child) in m {
                check_unique(schema, child, &child_path(path, member))?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Removes the node selected by the last step from `parent`; returns whether it existed.
pub fn remove_in(parent: &mut Map<String, Value>, step: &Step) -> bool {
    if step.is_entry() {
        let Some(Value::Array(arr)) = parent.get_mut(&step.member) else { return false };
        let before = arr.len();
        arr.retain(|e| !entry_matches(e, &step.keys));
        let removed = arr.len() != before;
        if arr.is_empty() {
            parent.remove(&step.member);
        }
        removed
    } else {
        parent.remove(&step.member).is_some()
    }
}

/// Puts `value` (an entry object for a list entry) at the last step in `parent`,
/// replacing what was there.
pub fn put_in(parent: &mut Map<String, Value>, step: &Step, value: Value) {
    if step.is_entry() {
        let arr = parent.entry(step.member.clone()).or_insert_with(|| Value::Array(Vec::new()));
        if !arr.is_array() {
            *arr = Value::Array(Vec::new());
        }
        let arr = arr.as_array_mut().expect("array ensured above");
        match arr.iter().position(|e| entry_matches(e, &step.keys)) {
            Some(i) => arr[i] = value,
            None => arr.push(value),
        }
    } else {
        parent.insert(step.member.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strict_json_refuses_duplicates() {
        assert!(parse_json_strict(r#"{"a": 1, "a": 2}"#).is_err());
        assert!(parse_json_strict(r#"{"a": {"b": 1, "c": [1, {"d": 1, "d": 1}]}}"#).is_err());
        assert_eq!(parse_json_strict(r#"{"a": [1, 2]}"#).unwrap(), serde_json::json!({"a": [1, 2]}));
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(parse_json_strict(&deep).is_err());
    }

    proptest! {
        #[test]
        fn strict_parser_agrees_with_serde_on_unique_documents(v in proptest::arbitrary::any::<u32>().prop_map(|n| serde_json::json!({"n": n, "s": n.to_string(), "l": [n, n]}))) {
            prop_assert_eq!(parse_json_strict(&v.to_string()).unwrap(), v);
        }

        #[test]
        fn strict_parser_never_panics(s in "\\PC{0,200}") {
            let _ = parse_json_strict(&s);
        }
    }
}
