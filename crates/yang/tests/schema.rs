//! tsn-yang against the real libyang with the product's modules.

use proptest::prelude::*;
use serde_json::{json, Value};
use tsn_yang::{DataKind, Encoding, ErrorClass, NodeKind, Schema};

fn example() -> Value {
    json!({"ieee802-dot1q-cnc-config:cnc-config": {"domain": [{"domain-id": "domain-1", "cnc-enabled": true, "cuc": [{
        "cuc-id": "cuc-1",
        "stream": [{
            "stream-id": "00-11-22-33-44-55:00-01",
            "talker": {
                "stream-rank": {"rank": 1},
                "end-station-interfaces": [{"mac-address": "00-11-22-33-44-55", "interface-name": "eth0"}],
                "data-frame-specification": [
                    {"index": 0, "ieee802-mac-addresses": {"destination-mac-address": "01-1B-19-00-00-01", "source-mac-address": "00-11-22-33-44-55"}},
                    {"index": 1, "ieee802-vlan-tag": {"priority-code-point": 7, "vlan-id": 100}}
                ],
                "traffic-specification": {"interval": {"numerator": 1, "denominator": 1000}, "max-frames-per-interval": 1,
                    "max-frame-size": 128, "transmission-selection": 0,
                    "time-aware": {"earliest-transmit-offset": 0, "latest-transmit-offset": 100000, "jitter": 1000}},
                "user-to-network-requirements": {"num-seamless-trees": 1, "max-latency": 500000},
                "interface-capabilities": {"vlan-tag-capable": true}
            },
            "listener": [{"index": 0, "end-station-interfaces": [{"mac-address": "00-11-22-33-44-66", "interface-name": "eth0"}],
                "user-to-network-requirements": {"num-seamless-trees": 1, "max-latency": 500000},
                "interface-capabilities": {"vlan-tag-capable": true}}]
        }]
    }]}]}})
}

fn schema() -> Schema {
    Schema::cnc_config().expect("the product's modules load")
}

#[test]
fn example_validates_as_config_and_round_trips_through_xml() {
    let s = schema();
    let text = example().to_string();
    let doc = s.parse(&text, Encoding::Json, DataKind::Config).unwrap();
    assert!(!doc.is_empty());
    assert!(doc.exists("/ieee802-dot1q-cnc-config:cnc-config/domain[domain-id='domain-1']/cuc[cuc-id='cuc-1']"));
    let xml = doc.print(Encoding::Xml).unwrap();
    assert!(xml.contains("urn:ieee:std:802.1Q:yang:ieee802-dot1q-cnc-config"), "{xml}");
    let back = s.convert(&xml, Encoding::Xml, DataKind::Config, Encoding::Json).unwrap();
    let back: Value = serde_json::from_str(&back).unwrap();
    assert_eq!(back, example());
}

#[test]
fn schema_nodes_carry_keys_and_config() {
    let s = schema();
    let stream = s.node("/ieee802-dot1q-cnc-config:cnc-config/domain/cuc/stream").unwrap();
    assert_eq!(stream.kind, NodeKind::List);
    assert_eq!(stream.keys, vec!["stream-id"]);
    assert!(stream.config);
    let status = s.node("/ieee802-dot1q-cnc-config:cnc-config/domain/cuc/stream/stream-status").unwrap();
    assert!(!status.config);
    let action = s.node("/ieee802-dot1q-cnc-config:cnc-config/domain/cuc/remove_streams").unwrap();
    assert_eq!(action.kind, NodeKind::Action);
    assert_eq!(s.node("/ieee802-dot1q-cnc-config:compute_streams").unwrap().kind, NodeKind::Rpc);
    assert!(s
        .modules()
        .iter()
        .any(|m| m.name == "ieee802-dot1q-tsn-types" && m.revision.as_deref() == Some("2022-10-29")));
}

fn error_of(doc: Value, kind: DataKind) -> tsn_yang::YangError {
    schema().parse(&doc.to_string(), Encoding::Json, kind).expect_err("must be rejected")
}

#[test]
fn errors_are_classified_with_paths() {
    let mut v = example();
    v["ieee802-dot1q-cnc-config:cnc-config"]["domain"][0]["cuc"][0]["stream"][0]["stream-status"] = json!("planned");
    let e = error_of(v, DataKind::Config);
    assert_eq!(e.class, ErrorClass::StateNode, "{e:?}");

    let mut v = example();
    v["ieee802-dot1q-cnc-config:cnc-config"]["domain"][0]["cuc"][0]["stream"][0]["talker"]
        ["data-frame-specification"][1]["ieee802-vlan-tag"]["priority-code-point"] = json!(9);
    let e = error_of(v, DataKind::Config);
    assert_eq!(e.class, ErrorClass::InvalidValue, "{e:?}");
    assert!(e.path.as_deref().unwrap_or("").contains("priority-code-point"), "{e:?}");

    let mut v = example();
    v["ieee802-dot1q-cnc-config:cnc-config"]["domain"][0]["cuc"][0]["stream"][0]["talker"]
        .as_object_mut()
        .unwrap()
        .remove("end-station-interfaces");
    let e = error_of(v, DataKind::Config);
    assert_eq!(e.class, ErrorClass::Missing, "{e:?}");
    assert_eq!(e.app_tag.as_deref(), Some("too-few-elements"));

    let mut v = example();
    v["ieee802-dot1q-cnc-config:cnc-config"]["domain"][0]["bogus"] = json!(1);
    assert_eq!(error_of(v, DataKind::Config).class, ErrorClass::UnknownNode);

    let v = json!({"nope:cnc-config": {}});
    assert_eq!(error_of(v, DataKind::Config).class, ErrorClass::UnknownNamespace);

    let mut v = example();
    v["ieee802-dot1q-cnc-config:cnc-config"]["domain"][0]["cuc"][0]["stream"][0]["stream-id"] =
        json!("00:11:22:33:44:55:00-01");
    assert_eq!(error_of(v, DataKind::Config).class, ErrorClass::InvalidValue);

    let mut v = example();
    let s0 = v["ieee802-dot1q-cnc-config:cnc-config"]["domain"][0]["cuc"][0]["stream"][0].clone();
    v["ieee802-dot1q-cnc-config:cnc-config"]["domain"][0]["cuc"][0]["stream"].as_array_mut().unwrap().push(s0);
    assert_eq!(error_of(v, DataKind::Config).class, ErrorClass::Duplicate);

    let e =
        schema().parse("{\"ieee802-dot1q-cnc-config:cnc-config\": {", Encoding::Json, DataKind::Config).unwrap_err();
    assert_eq!(e.class, ErrorClass::Syntax, "{e:?}");
    let e = schema().parse("{\"a\":\0}", Encoding::Json, DataKind::Config).unwrap_err();
    assert_eq!(e.class, ErrorClass::Syntax, "{e:?}");
}

#[test]
fn fragments_skip_completeness_but_not_types() {
    let s = schema();
    let frag = json!({"ieee802-dot1q-cnc-config:cnc-config": {"domain": [{"domain-id": "d", "cuc": [{"cuc-id": "c",
        "stream": [{"stream-id": "00-11-22-33-44-55:00-02", "talker": {"stream-rank": {"rank": 1}}}]}]}]}});
    s.parse(&frag.to_string(), Encoding::Json, DataKind::ConfigFragment).unwrap();
    assert!(s.parse(&frag.to_string(), Encoding::Json, DataKind::Config).is_err());
    let bad = json!({"ieee802-dot1q-cnc-config:cnc-config": {"domain": [{"domain-id": "d", "cnc-enabled": "yes"}]}});
    assert_eq!(
        s.parse(&bad.to_string(), Encoding::Json, DataKind::ConfigFragment).unwrap_err().class,
        ErrorClass::InvalidValue
    );
}

#[test]
fn operations_and_notifications() {
    let s = schema();
    let rpc = json!({"ieee802-dot1q-cnc-config:compute_all_streams": {"domain": [{"domain-id": "d", "cuc": [{"cuc-id": "c"}]}]}});
    s.parse(&rpc.to_string(), Encoding::Json, DataKind::RpcInput).unwrap();
    let bad = json!({"ieee802-dot1q-cnc-config:compute_all_streams": {"domain": [{"domain-id": "d", "bogus": 1}]}});
    assert!(s.parse(&bad.to_string(), Encoding::Json, DataKind::RpcInput).is_err());
    let action = json!({"ieee802-dot1q-cnc-config:cnc-config": {"domain": [{"domain-id": "d", "cuc": [{"cuc-id": "c",
        "remove_streams": {"stream-list": [{"stream-id": "00-11-22-33-44-55:00-01"}]}}]}]}});
    s.parse(&action.to_string(), Encoding::Json, DataKind::ActionInput).unwrap();
    let notif = json!({"ieee802-dot1q-cnc-config:configure_streams_completed": {"domain": [{"domain-id": "d", "cuc": [{"cuc-id": "c",
        "stream": [{"stream-id": "00-11-22-33-44-55:00-01", "failure-code": 0}]}]}]}});
    s.parse(&notif.to_string(), Encoding::Json, DataKind::Notification).unwrap();
}

#[test]
fn schema_is_shared_across_threads() {
    let s = schema();
    let text = example().to_string();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let s = s.clone();
            let text = text.clone();
            scope.spawn(move || {
                for _ in 0..50 {
                    s.parse(&text, Encoding::Json, DataKind::Config).unwrap();
                    assert!(s.parse("{\"x\":", Encoding::Json, DataKind::Config).is_err());
                }
            });
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let s = schema();
        let _ = s.parse(&text, Encoding::Json, DataKind::Config);
        let _ = s.parse(&text, Encoding::Xml, DataKind::ConfigFragment);
        let _ = s.parse(&text, Encoding::Json, DataKind::RpcInput);
    }

    #[test]
    fn mac_pattern_is_enforced(mac in "[0-9a-fA-F:.-]{0,20}") {
        let s = schema();
        let doc = json!({"ieee802-dot1q-cnc-config:cnc-config": {"domain": [{"domain-id": "d", "cuc": [{"cuc-id": "c",
            "stream": [{"stream-id": format!("{mac}:00-01"), "talker": {}}]}]}]}});
        let ok = s.parse(&doc.to_string(), Encoding::Json, DataKind::ConfigFragment).is_ok();
        let valid = mac.len() == 17 && mac.split('-').count() == 6 && mac.split('-').all(|o| o.len() == 2 && o.chars().all(|c| c.is_ascii_hexdigit()));
        prop_assert_eq!(ok, valid);
    }
}

/// `../shared/yang/examples/cnc-config-example.json` (run by scripts/check-shared).
#[test]
#[ignore = "needs ../shared (scripts/check-shared)"]
fn shared_cnc_config_example_is_accepted() {
    let shared = std::env::var("TSN_SHARED").unwrap_or_else(|_| {
        let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        format!("{manifest}/../../../shared")
    });
    let path = format!("{shared}/yang/examples/cnc-config-example.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc = schema().parse(&text, Encoding::Json, DataKind::Config).unwrap();
    let back: Value = serde_json::from_str(&doc.print(Encoding::Json).unwrap()).unwrap();
    let orig: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back, orig);
}
