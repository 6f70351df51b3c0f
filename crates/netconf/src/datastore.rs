//! Datastore contents as XML trees: RFC 6241 edit-config operations (merge, replace,
//! create, delete, remove) and subtree filtering (§6).
//!
//! List entries are matched by their keys; the key table covers the modules the
//! software bridge serves. Elements not in the table match by name (containers, leaves).

use crate::message::RpcError;
use crate::xml::{Element, NC_NS};

/// Keys of the YANG lists the server knows: (local name, key leaves).
const LIST_KEYS: &[(&str, &[&str])] = &[
    ("interface", &["name"]),
    ("gate-control-entry", &["index"]),
    ("queue-max-sdu-table", &["traffic-class"]),
    ("admin-control-list", &["index"]),
    ("module", &["name", "revision"]),
    // ieee802-dot1ab-lldp (operational state merged into `<get>` answers, see `state`).
    ("port", &["name", "dest-mac-address"]),
    ("remote-systems-data", &["time-mark", "remote-index"]),
    ("management-address", &["address-subtype", "address"]),
    ("management-address-tx-port", &["address-subtype", "man-address"]),
];

fn keys_of(el: &Element) -> &'static [&'static str] {
    // admin-control-list is a container in the 2023 model and a list in 2018: it is a list
    // entry only when it carries its key.
    LIST_KEYS
        .iter()
        .find(|(name, keys)| *name == el.name && keys.iter().all(|k| el.child(k).is_some()))
        .map(|(_, k)| *k)
        .unwrap_or(&[])
}

/// Whether `a` and `b` are the same data node (same name, namespace and keys).
fn same_node(a: &Element, b: &Element) -> bool {
    if a.name != b.name || a.ns != b.ns {
        return false;
    }
    keys_of(a).iter().all(|k| a.child_text(k) == b.child_text(k))
}

/// An edit-config operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Merge into existing data.
    Merge,
    /// Replace the node.
    Replace,
    /// Create; error if it exists.
    Create,
    /// Delete; error if it does not exist.
    Delete,
    /// Delete if it exists.
    Remove,
    /// Only navigate (default-operation none).
    None,
}

impl Operation {
    /// Parses the attribute value / default-operation.
    pub fn parse(s: &str) -> Option<Operation> {
        Some(match s.trim() {
            "merge" => Operation::Merge,
            "replace" => Operation::Replace,
            "create" => Operation::Create,
            "delete" => Operation::Delete,
            "remove" => Operation::Remove,
            "none" => Operation::None,
            _ => return None,
        })
    }
}

fn strip_operations(mut el: Element) -> Element {
    el.attrs.retain(|a| !(a.name == "operation" && a.ns.as_deref() == Some(NC_NS)));
    el.children = el.children.into_iter().map(strip_operations).collect();
    el
}

fn node_path(parent: &str, el: &Element) -> String {
    let keys: String =
        keys_of(el).iter().map(|k| format!("[{k}='{}']", el.child_text(k).unwrap_or_default())).collect();
    format!("{parent}/{}{keys}", el.name)
}

/// Applies the `<config>` children `edits` to the datastore root `data` with
/// `default_op`. On error `data` may be partly edited: callers edit a copy.
pub fn apply_edit(data: &mut Element, edits: &[Element], default_op: Operation) -> Result<(), Box<RpcError>> {
    for e in edits {
        apply_one(&mut data.children, e, default_op, "")?;
    }
    Ok(())
}

fn apply_one(
    siblings: &mut Vec<Element>,
    edit: &Element,
    inherited: Operation,
    parent: &str,
) -> Result<(), Box<RpcError>> {
    let op = match edit.attr_ns(NC_NS, "operation") {
        Some(v) => Operation::parse(v).ok_or_else(|| {
            let mut e = RpcError::new("protocol", "bad-attribute", format!("unknown operation {v:?}"));
            e.path = Some(node_path(parent, edit));
            Box::new(e)
        })?,
        None => inherited,
    };
    let path = node_path(parent, edit);
    let pos = siblings.iter().position(|s| same_node(s, edit));
    match op {
        Operation::Create if pos.is_some() => {
            let mut e = RpcError::new("application", "data-exists", format!("{path} already exists"));
            e.path = Some(path);
            Err(Box::new(e))
        }
        Operation::Delete if pos.is_none() => {
            let mut e = RpcError::new("application", "data-missing", format!("{path} does not exist"));
            e.path = Some(path);
            Err(Box::new(e))
        }
        Operation::Delete | Operation::Remove => {
            if let Some(p) = pos {
                siblings.remove(p);
            }
            Ok(())
        }
        Operation::Replace | Operation::Create => {
            let new = strip_operations(edit.clone());
            match pos {
                Some(p) => siblings[p] = new,
                None => siblings.push(new),
            }
            Ok(())
        }
        Operation::Merge | Operation::None => {
            let is_leaf = edit.children.is_empty();
            match pos {
                Some(p) => {
                    if is_leaf {
                        if op == Operation::Merge {
                            siblings[p].text = edit.text.clone();
                            siblings[p].text_ns = edit.text_ns.clone();
                        }
                    } else {
                        for c in &edit.children {
                            apply_one(&mut siblings[p].children, c, op, &path)?;
                        }
                    }
                    Ok(())
                }
                None => {
                    // A missing node is created, both by merge and when navigating with
                    // default-operation none towards a node with an explicit operation;
                    // children carrying delete/remove are dropped from the new node.
                    let mut shell = Element { children: Vec::new(), ..strip_operations(edit.clone()) };
                    if is_leaf {
                        if op == Operation::Merge {
                            siblings.push(shell);
                        }
                        return Ok(());
                    }
                    for c in &edit.children {
                        apply_one(&mut shell.children, c, op, &path)?;
                    }
                    if op == Operation::Merge || !shell.children.is_empty() {
                        siblings.push(shell);
                    }
                    Ok(())
                }
            }
        }
    }
}

/// Applies a subtree filter (the children of `<filter type="subtree">`) to `data`:
/// the filtered copy. An empty filter selects nothing.
pub fn subtree_filter(data: &Element, filter: &[Element]) -> Element {
    let mut out = Element { children: Vec::new(), ..data.clone() };
    for d in &data.children {
        let mut selected: Option<Element> = None;
        for f in filter.iter().filter(|f| matches_name(d, f)) {
            if let Some(x) = filter_node(d, f) {
                selected = Some(match selected {
                    None => x,
                    Some(prev) => merge_selected(prev, x),
                });
            }
        }
        out.children.extend(selected);
    }
    out
}

fn matches_name(data: &Element, filter: &Element) -> bool {
    data.name == filter.name && (filter.ns.is_none() || filter.ns == data.ns)
}

fn is_content_match(f: &Element) -> bool {
    f.children.is_empty() && !f.text.trim().is_empty()
}

fn filter_node(data: &Element, filter: &Element) -> Option<Element> {
    if filter.children.is_empty() {
        // Selection node (content match nodes are handled by the parent).
        return if is_content_match(filter) {
            (data.local_text() == filter.local_text()).then(|| data.clone())
        } else {
            Some(data.clone())
        };
    }
    let content: Vec<&Element> = filter.children.iter().filter(|f| is_content_match(f)).collect();
    for cm in &content {
        let ok = data.children.iter().any(|d| matches_name(d, cm) && d.local_text() == cm.local_text());
        if !ok {
            return None;
        }
    }
    let others: Vec<&Element> = filter.children.iter().filter(|f| !is_content_match(f)).collect();
    if others.is_empty() {
        return Some(data.clone());
    }
    let mut out = Element { children: Vec::new(), ..data.clone() };
    let mut selected_any = false;
    for d in &data.children {
        if content.iter().any(|cm| matches_name(d, cm)) || keys_of(data).contains(&d.name.as_str()) {
            out.children.push(d.clone());
            continue;
        }
        let mut sel: Option<Element> = None;
        for f in others.iter().filter(|f| matches_name(d, f)) {
            if let Some(x) = filter_node(d, f) {
                sel = Some(match sel {
                    None => x,
                    Some(prev) => merge_selected(prev, x),
                });
            }
        }
        if let Some(s) = sel {
            selected_any = true;
            out.children.push(s);
        }
    }
    selected_any.then_some(out)
}

fn merge_selected(mut a: Element, b: Element) -> Element {
    for c in b.children {
        if !a.children.iter().any(|x| x == &c) {
            a.children.push(c);
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

    fn data(xml: &str) -> Element {
        Element::parse(&format!("<data xmlns=\"{NC_NS}\">{xml}</data>")).unwrap()
    }

    fn config(xml: &str) -> Vec<Element> {
        Element::parse(&format!("<config xmlns=\"{NC_NS}\" xmlns:nc=\"{NC_NS}\">{xml}</config>")).unwrap().children
    }

    fn names(d: &Element) -> Vec<String> {
        d.child("interfaces")
            .map(|i| i.children.iter().map(|c| c.child_text("name").unwrap().to_owned()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn merge_replace_create_delete_remove() {
        let mut d = data("");
        let a = format!(
            "<interfaces xmlns=\"{IF}\"><interface><name>a</name><enabled>true</enabled></interface></interfaces>"
        );
        apply_edit(&mut d, &config(&a), Operation::Merge).unwrap();
        let b = format!("<interfaces xmlns=\"{IF}\"><interface><name>b</name></interface></interfaces>");
        apply_edit(&mut d, &config(&b), Operation::Merge).unwrap();
        assert_eq!(names(&d), ["a", "b"]);
        // merge of a leaf into an existing entry
        let a2 = format!(
            "<interfaces xmlns=\"{IF}\"><interface><name>a</name><enabled>false</enabled></interface></interfaces>"
        );
        apply_edit(&mut d, &config(&a2), Operation::Merge).unwrap();
        assert_eq!(d.child("interfaces").unwrap().children[0].child_text("enabled"), Some("false"));
        // create of an existing entry fails, delete of a missing one fails
        let c = format!(
            "<interfaces xmlns=\"{IF}\"><interface nc:operation=\"create\"><name>a</name></interface></interfaces>"
        );
        assert_eq!(apply_edit(&mut d.clone(), &config(&c), Operation::Merge).unwrap_err().tag, "data-exists");
        let del = format!(
            "<interfaces xmlns=\"{IF}\"><interface nc:operation=\"delete\"><name>zz</name></interface></interfaces>"
        );
        assert_eq!(apply_edit(&mut d.clone(), &config(&del), Operation::Merge).unwrap_err().tag, "data-missing");
        let rm = format!(
            "<interfaces xmlns=\"{IF}\"><interface nc:operation=\"remove\"><name>zz</name></interface></interfaces>"
        );
        apply_edit(&mut d, &config(&rm), Operation::Merge).unwrap();
        let del = format!(
            "<interfaces xmlns=\"{IF}\"><interface nc:operation=\"delete\"><name>a</name></interface></interfaces>"
        );
        apply_edit(&mut d, &config(&del), Operation::None).unwrap();
        assert_eq!(names(&d), ["b"]);
        // replace drops what the replacement lacks
        let r = format!(
            "<interfaces xmlns=\"{IF}\" nc:operation=\"replace\"><interface><name>c</name></interface></interfaces>"
        );
        apply_edit(&mut d, &config(&r), Operation::Merge).unwrap();
        assert_eq!(names(&d), ["c"]);
        assert!(d.to_xml().find("operation").is_none(), "operation attributes are not stored");
    }

    #[test]
    fn subtree_filter_selects_by_key_and_by_containment() {
        let d = data(&format!(
            "<interfaces xmlns=\"{IF}\"><interface><name>a</name><enabled>true</enabled><x>1</x></interface>\
             <interface><name>b</name><enabled>false</enabled></interface></interfaces>"
        ));
        let f = config(&format!("<interfaces xmlns=\"{IF}\"><interface><name>b</name></interface></interfaces>"));
        assert_eq!(names(&subtree_filter(&d, &f)), ["b"]);
        let f = config(&format!("<interfaces xmlns=\"{IF}\"><interface><name>a</name><x/></interface></interfaces>"));
        let got = subtree_filter(&d, &f);
        let entry = &got.child("interfaces").unwrap().children[0];
        assert_eq!(entry.child_text("x"), Some("1"));
        assert!(entry.child("enabled").is_none());
        assert!(subtree_filter(&d, &[]).children.is_empty());
        let f = config(&format!("<interfaces xmlns=\"{IF}\"/>"));
        assert_eq!(names(&subtree_filter(&d, &f)), ["a", "b"]);
        let f = config("<other xmlns=\"urn:x\"/>");
        assert!(subtree_filter(&d, &f).children.is_empty());
    }
}
