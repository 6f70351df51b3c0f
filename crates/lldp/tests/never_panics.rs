//! Property tests: the parsers return `Ok` or `Err` — never panic — on arbitrary text, on
//! byte-level mutations of real output (json0, and the same output rendered as the
//! `ieee802-dot1ab-lldp` XML tree), and on structurally mutated JSON; and records rendered
//! back into json0 parse to the same records.

use proptest::prelude::*;
use serde_json::{json, Value};
use tsn_lldp::{parse_chassis, parse_lldp_xml, parse_neighbors, render_lldp_xml, IdSubtype, LldpData};

const FIXTURES: [&str; 5] = [
    include_str!("data/neighbors-single.json"),
    include_str!("data/neighbors-shared-segment.json"),
    include_str!("data/neighbors-ifname-bridge.json"),
    include_str!("data/neighbors-none.json"),
    include_str!("data/chassis-station.json"),
];

fn exercise(text: &str) {
    let _ = parse_neighbors(text);
    let _ = parse_chassis(text);
    let _ = parse_lldp_xml(text);
}

/// The fixtures as a NETCONF server of ours would send them: `<data><lldp>...`.
fn xml_fixtures() -> Vec<String> {
    let chassis = parse_chassis(FIXTURES[4]).unwrap();
    FIXTURES[..4]
        .iter()
        .map(|t| {
            let data = LldpData::from_records(chassis.clone(), parse_neighbors(t).unwrap());
            format!("<data xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">{}</data>", render_lldp_xml(&data))
        })
        .collect()
}

/// Bytes that matter to the JSON and the XML parsers.
const JSON_BYTES: &[u8] = b"{}[]\":,0123456789 tfn-";
const XML_BYTES: &[u8] = b"<>/=\"'&;#:xmlns-abcdefABCDEF0123456789 \n";

#[derive(Clone, Debug)]
enum Edit {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    edit_with(JSON_BYTES)
}

fn edit_with(alphabet: &'static [u8]) -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![4 => prop::sample::select(alphabet.to_vec()), 1 => any::<u8>()];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Replace(i, b)),
    ]
}

fn mutate_bytes(base: &str, edits: &[Edit]) -> String {
    let mut b = base.as_bytes().to_vec();
    for e in edits {
        let n = b.len();
        match *e {
            Edit::Insert(i, x) => b.insert(i % (n + 1), x),
            Edit::Delete(i) if n > 0 => {
                b.remove(i % n);
            }
            Edit::Replace(i, x) if n > 0 => b[i % n] = x,
            _ => {}
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// A replacement value of any JSON type.
fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        ".{0,8}".prop_map(Value::String),
        Just(json!([])),
        Just(json!({})),
        Just(json!([{}])),
        Just(json!([{"value": ""}])),
        Just(json!([{"type": "mac", "value": "x"}])),
    ]
}

/// Walks `v` along `path` (indices taken modulo the sizes met) and applies `op` there:
/// 0 = replace by `new`, 1 = delete the key/element, 2 = duplicate an array element.
fn mutate_tree(v: &mut Value, path: &[usize], op: u8, new: Value) {
    let Some((&step, rest)) = path.split_first() else {
        *v = new;
        return;
    };
    match v {
        Value::Array(a) if !a.is_empty() => {
            let i = step % a.len();
            if rest.is_empty() || op != 0 {
                match op {
                    1 => {
                        a.remove(i);
                        return;
                    }
                    2 => {
                        let dup = a[i].clone();
                        a.push(dup);
                        return;
                    }
                    _ => {}
                }
            }
            mutate_tree(&mut a[i], rest, op, new);
        }
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(step % m.len()).cloned().unwrap_or_default();
            if op == 1 && rest.is_empty() {
                m.remove(&key);
                return;
            }
            if let Some(child) = m.get_mut(&key) {
                mutate_tree(child, rest, op, new);
            }
        }
        _ => *v = new,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text(text in ".{0,300}") {
        exercise(&text);
    }

    #[test]
    fn byte_mutations_of_real_output(which in 0..FIXTURES.len(), edits in prop::collection::vec(edit(), 1..8)) {
        exercise(&mutate_bytes(FIXTURES[which], &edits));
    }

    #[test]
    fn byte_mutations_of_real_output_as_yang_xml(which in 0..4usize, edits in prop::collection::vec(edit_with(XML_BYTES), 1..8)) {
        let fixtures = xml_fixtures();
        exercise(&mutate_bytes(&fixtures[which], &edits));
    }

    #[test]
    fn arbitrary_xml_like_text(text in "(<[a-z:-]{0,12}( xmlns(:[a-z])?=\"[a-z:.0-9-]{0,40}\")?/?>|</[a-z:-]{0,12}>|[a-zA-Z0-9 &;#-]{0,8}){0,40}") {
        exercise(&text);
        let _ = parse_lldp_xml(&format!("<lldp xmlns=\"urn:ieee:std:802.1AB:yang:ieee802-dot1ab-lldp\">{text}</lldp>"));
    }

    #[test]
    fn structural_mutations_of_real_output(
        which in 0..FIXTURES.len(),
        mutations in prop::collection::vec(
            (prop::collection::vec(any::<usize>(), 0..10), 0u8..3, any_json()), 1..4),
    ) {
        let mut v: Value = serde_json::from_str(FIXTURES[which]).unwrap();
        for (path, op, new) in mutations {
            mutate_tree(&mut v, &path, op, new);
        }
        exercise(&v.to_string());
    }

    #[test]
    fn rendered_records_parse_back(
        records in prop::collection::vec(
            ("[a-z][a-z0-9]{0,6}", "[ -~]{1,12}", prop::option::of("[ -~]{0,12}"), "[ -~]{1,12}",
             prop::option::of("[ -~]{0,12}"), prop::option::of(0u32..=65535), any::<bool>(), any::<bool>()),
            0..6),
    ) {
        let interfaces: Vec<Value> = records.iter().map(|(iface, cid, name, pid, descr, ttl, bridge, station)| {
            let mut chassis = json!({
                "id": [{"type": "mac", "value": cid}],
                "capability": [{"type": "Bridge", "enabled": bridge}, {"type": "Station", "enabled": station}],
            });
            if let Some(n) = name { chassis["name"] = json!([{"value": n}]); }
            let mut port = json!({"id": [{"type": "ifname", "value": pid}]});
            if let Some(d) = descr { port["descr"] = json!([{"value": d}]); }
            if let Some(t) = ttl { port["ttl"] = json!([{"value": t.to_string()}]); }
            json!({"name": iface, "via": "LLDP", "chassis": [chassis], "port": [port]})
        }).collect();
        let text = json!({"lldp": [{"interface": interfaces}]}).to_string();
        let parsed = parse_neighbors(&text).unwrap();
        prop_assert_eq!(parsed.len(), records.len());
        for (n, (iface, cid, name, pid, descr, ttl, bridge, station)) in parsed.iter().zip(&records) {
            prop_assert_eq!(&n.local_interface, iface);
            prop_assert_eq!(&n.chassis.id.value, cid);
            prop_assert_eq!(&n.chassis.id.subtype, &IdSubtype::Mac);
            prop_assert_eq!(&n.chassis.name, name);
            prop_assert_eq!(&n.port.id.value, pid);
            prop_assert_eq!(&n.port.id.subtype, &IdSubtype::IfName);
            prop_assert_eq!(&n.port.description, descr);
            prop_assert_eq!(n.port.ttl_s, *ttl);
            prop_assert_eq!(n.chassis.is_bridge(), *bridge);
            prop_assert_eq!(n.chassis.is_station(), *station);
        }
    }
}
