//! The NETCONF XML reader, the subtree filter, edit-config operations and the gate-table
//! reader on arbitrary text: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsn_netconf::datastore::{apply_edit, subtree_filter, Operation};
use tsn_netconf::render::gate_tables;
use tsn_netconf::xml::Element;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(el) = Element::parse(text) else { return };
    let _ = Element::parse(&el.to_xml());
    let _ = gate_tables(&el, "br0");
    let _ = subtree_filter(&el, &el.children);
    let mut store = el.clone();
    let _ = apply_edit(&mut store, &el.children, Operation::Merge);
    let _ = gate_tables(&store, "br0");
});
