//! The visualizer's endpoints (`/viz`, `/viz/api/network`) with the same authentication
//! and CUC scoping as RESTCONF: a user of one CUC sees none of another CUC's streams, their
//! transmissions, or the gate control lists of ports that carry them. Gateway in process
//! with the in-process backend (tsn-sched), driven with the real curl.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const A: &str = "00-11-22-33-44-55:00-01";
const B: &str = "00-11-22-33-44-55:00-02";

async fn network(gw: &Gateway, user: &[&str]) -> Value {
    let url = gw.url("/viz/api/network");
    let r = curl(&[user, &[url.as_str()]].concat()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()
}

async fn wait_network(gw: &Gateway, user: &[&str], what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = network(gw, user).await;
        if pred(&v) {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} never happened: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ids(v: &Value, key: &str, field: &str) -> Vec<String> {
    let mut out: Vec<String> =
        v[key].as_array().unwrap().iter().map(|s| s[field].as_str().unwrap().to_owned()).collect();
    out.sort();
    out.dedup();
    out
}

fn ports(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["gcls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| format!("{}>{}", g["from"].as_str().unwrap(), g["to"].as_str().unwrap()))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_cuc_sees_only_its_own_streams_through_the_visualizer() {
    let dir = Scratch::new("viz");
    let mut config = sqlite_config(&dir);
    config.auth.allow_anonymous = false;
    config.auth.basic_users = vec![
        uni_gateway::BasicUser { name: "admin".into(), password: "a".into() },
        uni_gateway::BasicUser { name: "alice".into(), password: "x".into() },
        uni_gateway::BasicUser { name: "bob".into(), password: "y".into() },
    ];
    config.auth.identities = [
        ("admin".to_string(), vec!["*".to_string()]),
        ("alice".to_string(), vec!["cuc-1".to_string()]),
        ("bob".to_string(), vec!["cuc-2".to_string()]),
    ]
    .into();
    let gw = Gateway::start(config, None).await;
    let (admin, alice, bob) = (["-u", "admin:a"], ["-u", "alice:x"], ["-u", "bob:y"]);

    // Before any stream: the configured topology, no schedule.
    let v = wait_network(&gw, &alice, "the topology", |v| !v["nodes"].as_array().unwrap().is_empty()).await;
    assert_eq!(v["links"].as_array().unwrap().len(), 6);
    assert_eq!((v["verdict"].clone(), v["hyperperiod_ns"].clone()), (Value::Null, json!(0)));

    // cuc-1: talker → listener; cuc-2: talker → listener2 (both through talker → br0).
    let doc = json!({"ieee802-dot1q-cnc-config:cnc-config": {"domain": [{"domain-id": "domain-1", "cnc-enabled": true, "cuc": [
        {"cuc-id": "cuc-1", "stream": [example_stream(A, "00-11-22-33-44-55", "00-11-22-33-44-66")]},
        {"cuc-id": "cuc-2", "stream": [example_stream(B, "00-11-22-33-44-55", "00-11-22-33-44-77")]}]}]}});
    let r = curl(
        &[&admin[..], &["-X", "PUT", "-H", JSON, "--data-binary", &doc.to_string(), &gw.url("/restconf/data")]]
            .concat(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for (user, cuc) in [(&alice, "cuc-1"), (&bob, "cuc-2")] {
        let input = json!({"ieee802-dot1q-cnc-config:input": {"domain": [{"domain-id": "domain-1", "cuc": [{"cuc-id": cuc}]}]}});
        let r = curl(
            &[
                &user[..],
                &[
                    "-X",
                    "POST",
                    "-H",
                    JSON,
                    "-d",
                    &input.to_string(),
                    &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:compute_all_streams"),
                ],
            ]
            .concat(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let all = wait_network(&gw, &admin, "both streams scheduled", |v| {
        v["streams"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["scheduled"] == json!(true) && s["status"] == json!("ready"))
            .count()
            == 2
    })
    .await;
    assert_eq!(all["verdict"], json!("verified"), "the gateway re-checks the deployed schedule with tsn-check");
    assert_eq!(ids(&all, "streams", "id"), [A, B]);
    assert_eq!(ids(&all, "transmissions", "stream"), [A, B]);
    assert_eq!(ports(&all), ["br0>listener", "br0>listener2", "talker>br0"]);

    // alice (cuc-1) and bob (cuc-2): only their stream, anywhere in the answer.
    for (user, mine, theirs, port) in [(&alice, A, B, "br0>listener"), (&bob, B, A, "br0>listener2")] {
        let v = network(&gw, user).await;
        assert_eq!(ids(&v, "streams", "id"), [mine], "{v}");
        assert_eq!(ids(&v, "transmissions", "stream"), [mine]);
        assert!(!v.to_string().contains(theirs), "{user:?} sees {theirs}: {v}");
        // The shared port's GCL has the other CUC's windows: hidden. The own port's is shown.
        assert_eq!(ports(&v), [port], "{v}");
        let talker_link = v["links"].as_array().unwrap().iter().find(|l| l["from"] == "talker").unwrap().clone();
        let all_talker = all["links"].as_array().unwrap().iter().find(|l| l["from"] == "talker").unwrap().clone();
        assert!(
            talker_link["busy_ns"].as_u64().unwrap() < all_talker["busy_ns"].as_u64().unwrap(),
            "utilisation counts only visible streams"
        );
        let stream = &v["streams"][0];
        assert_eq!(
            (stream["cuc"].as_str(), stream["status"].as_str()),
            (Some(if mine == A { "cuc-1" } else { "cuc-2" }), Some("ready"))
        );
    }

    // Authentication as for RESTCONF: none, or a wrong password, is refused.
    for path in ["/viz", "/viz/api/network"] {
        let r = curl(&[&gw.url(path)]).await;
        assert_eq!(r.status, 401, "{path}: {}", r.body);
        assert!(r.header("www-authenticate").is_some(), "a browser asks for credentials");
        let r = curl(&["-u", "alice:wrong", &gw.url(path)]).await;
        assert_eq!(r.status, 401, "{path}");
    }
    let r = curl(&[&alice[..], &["-X", "POST", &gw.url("/viz/api/network")]].concat()).await;
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    let r = curl(&[&alice[..], &[gw.url("/viz").as_str()]].concat()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(r.body.contains("<svg id=\"gantt\"") && !r.body.contains("{{"), "the page with its script and style");
    // No data in the page, and no other origin (the SVG namespace is a name, not a fetch).
    let page = r.body.replace("http://www.w3.org/2000/svg", "");
    assert!(!page.contains(A) && !page.contains("http://") && !page.contains("https://"), "{page}");

    // A removal reaches the visualizer: the admitted schedule without A.
    let r =
        curl(&[&alice[..], &["-X", "DELETE", &gw.url(&format!("{CUC_1}/stream=00-11-22-33-44-55%3A00-01"))]].concat())
            .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let v =
        wait_network(&gw, &admin, "A removed from the schedule", |v| ids(v, "transmissions", "stream") == [B]).await;
    assert_eq!(ids(&v, "streams", "id"), [B]);
    assert_eq!(v["verdict"], json!("verified"));
    assert!(network(&gw, &alice).await["streams"].as_array().unwrap().is_empty());
    gw.stop().await;
}
