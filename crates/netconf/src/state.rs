//! Operational state for `<get>`: RFC 6241 says `<get>` returns the running configuration
//! *and* state data. A server started with [`crate::NetconfServer::start_with_state`] asks
//! its [`StateProvider`] for the state on every `<get>`, merges it into a copy of running
//! ([`merge_state`]) and applies the subtree filter to the result; `<get-config>` never
//! sees it. The provider also names the modules it serves, which the server's `<hello>`
//! announces, so clients can tell that a device offers them (e.g. `ieee802-dot1ab-lldp`).
//!
//! The provider runs in the session's task, not in the datastore actor: a slow provider
//! (one that asks a daemon, as the LLDP one does) delays that `<get>` only, never another
//! session's edits.

use std::fmt;

use async_trait::async_trait;

use crate::datastore::{apply_edit, Operation};
use crate::xml::Element;

/// The provider could not produce the state (its source is down, ...). Answered as an
/// `operation-failed` rpc-error with this message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StateError(pub String);

/// Where a server's operational (config false) data comes from.
#[async_trait]
pub trait StateProvider: Send + Sync + fmt::Debug {
    /// Module capabilities (`namespace?module=NAME&revision=REV`) of the state this
    /// provider serves; added to the server's `<hello>`.
    fn capabilities(&self) -> Vec<String> {
        Vec::new()
    }

    /// The current state: top-level data elements with their namespaces. `filter` is the
    /// content of the request's subtree filter (`None`: no filter, everything), so that a
    /// provider can skip work nobody asked for ([`filter_selects`]); the server filters
    /// the merged result itself, so returning more than asked is fine.
    async fn state(&self, filter: Option<&[Element]>) -> Result<Vec<Element>, StateError>;
}

/// Whether a subtree filter (`None` = no filter) can select anything of the top-level
/// element `name` in namespace `ns`.
pub fn filter_selects(filter: Option<&[Element]>, ns: &str, name: &str) -> bool {
    match filter {
        None => true,
        Some(f) => f.iter().any(|e| e.name == name && e.ns.as_deref().is_none_or(|n| n == ns)),
    }
}

/// `running` (a `<data>` root) with `state` merged in: a top-level state element that
/// running lacks is added whole; one that running has (a container holding both
/// configuration and state, like `interfaces`) is merged into it, list entries matched by
/// their keys, containers by name, state leaves added beside configuration ones.
pub fn merge_state(running: &Element, state: &[Element]) -> Element {
    let mut merged = running.clone();
    for s in state {
        if merged.children.iter().any(|c| c.name == s.name && c.ns == s.ns) {
            if apply_edit(&mut merged, std::slice::from_ref(s), Operation::Merge).is_err() {
                // A merge without operation attributes cannot fail; keep the state anyway.
                merged.children.push(s.clone());
            }
        } else {
            merged.children.push(s.clone());
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datastore::subtree_filter;
    use crate::xml::NC_NS;

    const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";

    #[test]
    fn state_merges_into_configured_entries_by_key() {
        let running = Element::parse(&format!(
            "<data xmlns=\"{NC_NS}\"><interfaces xmlns=\"{IF}\"><interface><name>p0</name><enabled>true</enabled>\
             </interface></interfaces></data>"
        ))
        .unwrap();
        let state = Element::parse(&format!(
            "<x><interfaces xmlns=\"{IF}\"><interface><name>p0</name><speed>10000000000</speed></interface>\
             <interface><name>p1</name><speed>1000000000</speed></interface></interfaces><other xmlns=\"urn:o\"/></x>"
        ))
        .unwrap()
        .children;
        let merged = merge_state(&running, &state);
        let ifs = merged.child("interfaces").unwrap();
        assert_eq!(ifs.children.len(), 2);
        assert_eq!(ifs.children[0].child_text("enabled"), Some("true"));
        assert_eq!(ifs.children[0].child_text("speed"), Some("10000000000"));
        assert!(merged.child("other").is_some());
        let filter = Element::parse("<f><other xmlns=\"urn:o\"/></f>").unwrap().children;
        assert_eq!(subtree_filter(&merged, &filter).children.len(), 1);
        assert!(filter_selects(Some(&filter), "urn:o", "other"));
        assert!(!filter_selects(Some(&filter), IF, "interfaces"));
        assert!(filter_selects(None, IF, "interfaces"));
    }
}
