//! The RESTCONF surface driven with the real `curl` against a gateway on 127.0.0.1:0 with a
//! SQLite store and the in-process backend (tsn-sched; every accepted schedule is checked by
//! tsn-check inside `solve`, and re-checked here).

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tsn_yang::{DataKind, Encoding, Schema};

/// Documents the product returned, kept for validation: (file, kind).
type Docs = Vec<(String, DataKind)>;

fn keep(dir: &Path, docs: &mut Docs, name: &str, kind: DataKind, text: &str) {
    write(dir, name, text);
    docs.push((name.to_owned(), kind));
}

/// Drives the whole surface; returns the documents it kept in `dir`.
async fn exercise(gw: &Gateway, dir: &Path) -> Docs {
    let mut docs = Docs::new();
    // Discovery.
    let r = curl(&[&gw.url("/.well-known/host-meta")]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("rel='restconf' href='/restconf'"), "{}", r.body);
    let r = curl(&[&gw.url("/restconf")]).await;
    assert_eq!(r.json()["ietf-restconf:restconf"]["yang-library-version"], "2019-01-04");
    let r = curl(&[&gw.url("/restconf/yang-library-version")]).await;
    assert_eq!(r.json(), json!({"ietf-restconf:yang-library-version": "2019-01-04"}));
    let r = curl(&[&gw.url("/restconf/data/ietf-yang-library:yang-library")]).await;
    assert_eq!(r.status, 200);
    let lib = r.json();
    let mods = lib["ietf-yang-library:yang-library"]["module-set"][0]["module"].as_array().unwrap().clone();
    assert!(mods.iter().any(|m| m["name"] == "ieee802-dot1q-cnc-config" && m["revision"] == "2024-01-31"), "{lib}");
    let r2 = curl(&[&gw.url("/restconf/data/ietf-yang-library:modules-state")]).await;
    assert_eq!(r2.status, 200);
    let mut both = lib.as_object().unwrap().clone();
    both.extend(r2.json().as_object().unwrap().clone());
    keep(dir, &mut docs, "yang-library.json", DataKind::Data, &Value::Object(both).to_string());
    let r = curl(&[&gw.url("/restconf/data/ietf-restconf-monitoring:restconf-state")]).await;
    assert_eq!(r.json()["ietf-restconf-monitoring:restconf-state"]["streams"]["stream"][0]["name"], "NETCONF");
    let r = curl(&[&gw.url("/restconf/operations")]).await;
    assert!(
        r.json()["ietf-restconf:operations"].get("ieee802-dot1q-cnc-config:compute_streams").is_some(),
        "{}",
        r.body
    );
    let r = curl(&[&gw.url("/healthz")]).await;
    assert_eq!(r.status, 200);

    // Empty datastore.
    let r = curl(&[&gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"ieee802-dot1q-cnc-config:cnc-config": {}}));

    // POST the example: 201 + Location; a second POST is 409 data-exists.
    let body = example_document().to_string();
    let r = curl(&["-X", "POST", "-H", JSON, "--data-binary", &body, &gw.url("/restconf/data")]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("location"), Some("/restconf/data/ieee802-dot1q-cnc-config:cnc-config"));
    let stream2 = json!({"ieee802-dot1q-cnc-config:stream": [example_stream("00-11-22-33-44-55:00-02", "00-11-22-33-44-55", "00-11-22-33-44-77")]});
    let r = curl(&["-X", "POST", "-H", JSON, "--data-binary", &stream2.to_string(), &gw.url(CUC_1)]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.header("location"), Some(&*format!("{CUC_1}/stream=00-11-22-33-44-55%3A00-02")));
    let r = curl(&["-X", "POST", "-H", JSON, "--data-binary", &stream2.to_string(), &gw.url(CUC_1)]).await;
    assert_eq!((r.status, r.error_tag().as_str()), (409, "data-exists"), "{}", r.body);

    // GET with ETag/Last-Modified, HEAD, OPTIONS, If-None-Match.
    let r = curl(&[&gw.url(STREAM_1)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/yang-data+json"));
    let etag = r.header("etag").expect("etag").to_owned();
    assert!(r.header("last-modified").is_some());
    assert_eq!(r.json()["ieee802-dot1q-cnc-config:stream"][0]["stream-status"], "planned");
    let r = curl(&["-I", &gw.url(STREAM_1)]).await;
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = curl(&["-X", "OPTIONS", &gw.url(STREAM_1)]).await;
    assert!(r.header("allow").unwrap().contains("PATCH"));
    let r = curl(&["-H", &format!("if-none-match: {etag}"), &gw.url(STREAM_1)]).await;
    assert_eq!(r.status, 304);

    // depth, fields, content.
    let r = curl(&[&gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config?depth=2")]).await;
    assert_eq!(r.json(), json!({"ieee802-dot1q-cnc-config:cnc-config": {"domain": [{"domain-id": "domain-1"}]}}));
    let r = curl(&[&gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config?fields=domain(cuc/stream/stream-id)")])
        .await;
    let streams = &r.json()["ieee802-dot1q-cnc-config:cnc-config"]["domain"][0]["cuc"][0]["stream"];
    assert_eq!(streams.as_array().unwrap().len(), 2, "{}", r.body);
    assert!(streams[0].get("talker").is_none());
    let r = curl(&[&gw.url(&format!("{STREAM_1}?content=config"))]).await;
    assert!(r.json()["ieee802-dot1q-cnc-config:stream"][0].get("stream-status").is_none());
    let r = curl(&[&gw.url(&format!("{STREAM_1}?content=nonconfig"))]).await;
    assert_eq!(r.json()["ieee802-dot1q-cnc-config:stream"][0]["stream-status"], "planned");

    // PATCH (merge) and PUT, with If-Match.
    let patch = json!({"ieee802-dot1q-cnc-config:stream": [{"stream-id": "00-11-22-33-44-55:00-01",
        "talker": {"traffic-specification": {"max-frame-size": 256}}}]});
    let r = curl(&[
        "-X",
        "PATCH",
        "-H",
        JSON,
        "-H",
        "if-match: \"0000000000000000\"",
        "--data-binary",
        &patch.to_string(),
        &gw.url(STREAM_1),
    ])
    .await;
    assert_eq!((r.status, r.error_tag().as_str()), (412, "operation-failed"), "{}", r.body);
    let r = curl(&[
        "-X",
        "PATCH",
        "-H",
        JSON,
        "-H",
        &format!("if-match: {etag}"),
        "--data-binary",
        &patch.to_string(),
        &gw.url(STREAM_1),
    ])
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = curl(&[&gw.url(&format!("{STREAM_1}/talker/traffic-specification/max-frame-size"))]).await;
    assert_eq!(r.json(), json!({"ieee802-dot1q-cnc-config:max-frame-size": 256}));
    let put = json!({"ieee802-dot1q-cnc-config:stream": [example_stream("00-11-22-33-44-55:00-01", "00-11-22-33-44-55", "00-11-22-33-44-66")]});
    let r = curl(&["-X", "PUT", "-H", JSON, "--data-binary", &put.to_string(), &gw.url(STREAM_1)]).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = curl(&[
        "-X",
        "PUT",
        "-H",
        JSON,
        "--data-binary",
        r#"{"ieee802-dot1q-cnc-config:cnc-enabled": true}"#,
        &gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config/domain=domain-1/cnc-enabled"),
    ])
    .await;
    assert_eq!(r.status, 204, "{}", r.body);

    // XML in and out.
    let r = curl(&["-H", "accept: application/yang-data+xml", &gw.url(STREAM_1)]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.starts_with("<stream xmlns=\"urn:ieee:std:802.1Q:yang:ieee802-dot1q-cnc-config\">"), "{}", r.body);
    let xml_cuc = r#"<cuc xmlns="urn:ieee:std:802.1Q:yang:ieee802-dot1q-cnc-config"><cuc-id>cuc-x</cuc-id></cuc>"#;
    let r = curl(&[
        "-X",
        "POST",
        "-H",
        XML,
        "--data-binary",
        xml_cuc,
        &gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config/domain=domain-1"),
    ])
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = curl(&[
        "-X",
        "DELETE",
        &gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config/domain=domain-1/cuc=cuc-x"),
    ])
    .await;
    assert_eq!(r.status, 204, "{}", r.body);

    // Operations.
    let r = curl(&[
        "-X",
        "POST",
        "-H",
        JSON,
        "-d",
        r#"{"ieee802-dot1q-cnc-config:input":{"cuc-id":"cuc-1"}}"#,
        &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:request_domain_id"),
    ])
    .await;
    assert_eq!(r.json(), json!({"ieee802-dot1q-cnc-config:output": {"result": "domain-1"}}));
    let mut free = Vec::new();
    for _ in 0..2 {
        let r = curl(&[
            "-X",
            "POST",
            "-H",
            JSON,
            "-d",
            r#"{"ieee802-dot1q-cnc-config:input":{"domain-id":"domain-1","cuc-id":"cuc-1"}}"#,
            &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:request_free_stream_id"),
        ])
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        free.push(r.json()["ieee802-dot1q-cnc-config:output"]["result"].as_str().unwrap().to_owned());
    }
    assert_ne!(free[0], free[1], "a free stream id is handed out once");

    // Notifications: an SSE client replaying from the start collects events while we compute.
    let sse_url = gw.url("/restconf/streams/NETCONF");
    let sse = tokio::process::Command::new("curl")
        .args(["-s", "-N", "--max-time", "6", "-H", "accept: text/event-stream", "-H", "last-event-id: 0", &sse_url])
        .output();
    let sse = tokio::spawn(sse);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = curl(&["-X", "POST", "-H", JSON, "-d",
        r#"{"ieee802-dot1q-cnc-config:input":{"domain":[{"domain-id":"domain-1","cuc":[{"cuc-id":"cuc-1","stream-list":[{"stream-id":"00-11-22-33-44-55:00-01"}]}]}]}}"#,
        &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:compute_streams")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["ieee802-dot1q-cnc-config:output"]["result"].as_str().unwrap().starts_with("computation started"));
    let v =
        wait_for(&gw.url(STREAM_1), &[], |v| v["ieee802-dot1q-cnc-config:stream"][0]["stream-status"] == "configured")
            .await;
    let s = &v["ieee802-dot1q-cnc-config:stream"][0];
    assert_eq!(s["status-info"]["talker-status"], "ready");
    let latency = s["talker"]["accumulated-latency"].as_u64().unwrap();
    assert!(latency > 0 && latency <= 500_000, "{s}");
    assert!(s["talker"]["interface-configuration"]["interface-list"][0]["config-list"][0]
        .get("time-aware-offset")
        .is_some());
    keep(
        dir,
        &mut docs,
        "stream-configured.json",
        DataKind::Data,
        &curl(&[&gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config")]).await.body,
    );
    // The rest: planned and modified streams; a modified configured stream goes back to "modified".
    let r = curl(&[
        "-X",
        "POST",
        "-H",
        JSON,
        "-d",
        r#"{"ieee802-dot1q-cnc-config:input":{"domain":[{"domain-id":"domain-1","cuc":[{"cuc-id":"cuc-1"}]}]}}"#,
        &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:compute_planned_and_modified_streams"),
    ])
    .await;
    assert!(r.body.contains("1 stream(s)"), "{}", r.body);
    wait_for(&gw.url(&format!("{CUC_1}/stream=00-11-22-33-44-55%3A00-02")), &[], |v| {
        v["ieee802-dot1q-cnc-config:stream"][0]["stream-status"] == "configured"
    })
    .await;
    let r = curl(&[
        "-X",
        "POST",
        "-H",
        JSON,
        "-d",
        r#"{"ieee802-dot1q-cnc-config:input":{"domain":[{"domain-id":"domain-1","cuc":[{"cuc-id":"cuc-1"}]}]}}"#,
        &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:compute_all_streams"),
    ])
    .await;
    assert!(r.body.contains("2 stream(s)"), "{}", r.body);
    let r = curl(&["-X", "PATCH", "-H", JSON, "--data-binary", &patch.to_string(), &gw.url(STREAM_1)]).await;
    assert_eq!(r.status, 204);
    wait_for(&gw.url(&format!("{STREAM_1}?content=nonconfig")), &[], |v| {
        v["ieee802-dot1q-cnc-config:stream"][0]["stream-status"] == "modified"
    })
    .await;

    // remove_streams action.
    let r = curl(&[
        "-X",
        "POST",
        "-H",
        JSON,
        "-d",
        r#"{"ieee802-dot1q-cnc-config:input":{"stream-list":[{"stream-id":"00-11-22-33-44-55:00-02"}]}}"#,
        &gw.url(&format!("{CUC_1}/remove_streams")),
    ])
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while curl(&[&gw.url(&format!("{CUC_1}/stream=00-11-22-33-44-55%3A00-02"))]).await.status != 404 {
        assert!(tokio::time::Instant::now() < deadline, "stream not removed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let events = String::from_utf8(sse.await.unwrap().unwrap().stdout).unwrap();
    let mut names = Vec::new();
    for (i, line) in events.lines().filter_map(|l| l.strip_prefix("data: ")).enumerate() {
        let v: Value = serde_json::from_str(line).unwrap();
        let n = &v["ietf-restconf:notification"];
        assert!(n["eventTime"].as_str().unwrap().ends_with('Z'));
        let (name, body) = n.as_object().unwrap().iter().find(|(k, _)| k.starts_with("ieee802")).unwrap();
        names.push(name.clone());
        keep(
            dir,
            &mut docs,
            &format!("notification-{i}.json"),
            DataKind::Notification,
            &json!({ name.clone(): body }).to_string(),
        );
    }
    for n in ["compute_streams_completed", "configure_streams_completed", "remove_streams_completed"] {
        assert!(names.iter().any(|x| x.ends_with(n)), "{n} missing from {events}");
    }

    // What is stored, as the datastore (config) and with state.
    let r = curl(&[&gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config?content=config")]).await;
    keep(dir, &mut docs, "stored-config.json", DataKind::Config, &r.body);
    let r = curl(&[&gw.url("/restconf/data")]).await;
    keep(dir, &mut docs, "datastore.json", DataKind::Data, &r.body);

    // DELETE of a configured stream removes it from the network too.
    let r = curl(&["-X", "DELETE", &gw.url(STREAM_1)]).await;
    assert_eq!(r.status, 204);
    let r = curl(&[&gw.url(STREAM_1)]).await;
    assert_eq!((r.status, r.error_tag().as_str()), (404, "invalid-value"));
    let r = curl(&[&gw.url("/metrics")]).await;
    assert!(r.body.contains("uni_gateway_outcomes_applied_total"), "{}", r.body);
    docs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_surface_over_http1_and_http2() {
    let dir = Scratch::new("surface");
    let gw = Gateway::start(sqlite_config(&dir), None).await;
    let docs_dir = Scratch::new("surface-docs");
    let docs = exercise(&gw, &docs_dir.0).await;
    // Everything the product returned validates under the product's modules.
    let schema = Schema::cnc_config().unwrap();
    for (name, kind) in &docs {
        let text = std::fs::read_to_string(docs_dir.path(name)).unwrap();
        schema.parse(&text, Encoding::Json, *kind).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
    }
    // HTTP/2 with prior knowledge on the same listener.
    let r = curl(&["--http2-prior-knowledge", &gw.url("/restconf")]).await;
    assert_eq!((r.version.as_str(), r.status), ("HTTP/2", 200));
    gw.stop().await;
}

/// The conformance step of scripts/check-shared: documents the product returns and stores
/// validate under the *official* modules in ../shared/yang with yanglint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared (scripts/check-shared)"]
async fn documents_validate_under_the_official_modules_with_yanglint() {
    let shared = std::env::var("TSN_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| manifest_dir().join("../../../shared"));
    let yang = shared.join("yang");
    assert!(
        yang.join("ieee802-dot1q-cnc-config@2024-01-31.yang").exists(),
        "{} has no official modules",
        yang.display()
    );
    let dir = Scratch::new("conformance");
    let gw = Gateway::start(sqlite_config(&dir), None).await;
    let docs_dir = Scratch::new("conformance-docs");
    let docs = exercise(&gw, &docs_dir.0).await;
    gw.stop().await;
    let cnc = yang.join("ieee802-dot1q-cnc-config@2024-01-31.yang");
    let mut checked = 0;
    for (name, kind) in &docs {
        if name.starts_with("yang-library") {
            continue; // ietf-yang-library is libyang's own; not part of ../shared.
        }
        let path = docs_dir.path(name);
        let ty = match kind {
            DataKind::Config => "config",
            DataKind::Notification => "notif",
            _ => "data",
        };
        let out = std::process::Command::new("yanglint")
            .args(["-D", "-p"])
            .arg(&yang)
            .args(["-t", ty])
            .arg(&cnc)
            .arg(&path)
            .output()
            .expect("yanglint is installed");
        assert!(
            out.status.success(),
            "yanglint -t {ty} rejects {name}: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&path).unwrap()
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} documents checked");
    // And the shared example is accepted by the product.
    let example = std::fs::read_to_string(yang.join("examples/cnc-config-example.json")).unwrap();
    let dir = Scratch::new("conformance-example");
    let gw = Gateway::start(sqlite_config(&dir), None).await;
    let r = curl(&["-X", "PUT", "-H", JSON, "--data-binary", &example, &gw.url("/restconf/data")]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = curl(&[&gw.url("/restconf/data?content=config")]).await;
    assert_eq!(r.json(), serde_json::from_str::<Value>(&example).unwrap());
    gw.stop().await;
}

/// One bad request: what to send and what must come back.
struct Bad {
    what: &'static str,
    args: Vec<String>,
    status: u16,
    tag: &'static str,
}

fn bad(
    what: &'static str,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<&str>,
    status: u16,
    tag: &'static str,
) -> Bad {
    let mut args = vec!["-X".to_string(), method.to_string()];
    for h in headers {
        args.push("-H".into());
        args.push(h.to_string());
    }
    if let Some(b) = body {
        args.push("--data-binary".into());
        args.push(b.to_string());
    }
    args.push(path.to_string());
    Bad { what, args, status, tag }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_refused_and_nothing_is_stored() {
    let dir = Scratch::new("bad");
    let mut config = sqlite_config(&dir);
    config.max_body_bytes = 64 * 1024;
    config.auth.allow_anonymous = false;
    config.auth.basic_users = vec![
        uni_gateway::BasicUser { name: "admin".into(), password: "a".into() },
        uni_gateway::BasicUser { name: "cuc2".into(), password: "c".into() },
    ];
    config.auth.identities =
        [("admin".to_string(), vec!["*".to_string()]), ("cuc2".to_string(), vec!["cuc-2".to_string()])].into();
    let gw = Gateway::start(config, None).await;
    let admin = ["-u", "admin:a"];
    let r = curl(
        &[
            &admin[..],
            &["-X", "PUT", "-H", JSON, "--data-binary", &example_document().to_string(), &gw.url("/restconf/data")],
        ]
        .concat(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let baseline = curl(&[&admin[..], &[gw.url("/restconf/data").as_str()]].concat()).await.body;

    let stream = |f: &dyn Fn(&mut Value)| {
        let mut s = example_stream("00-11-22-33-44-55:00-09", "00-11-22-33-44-55", "00-11-22-33-44-66");
        f(&mut s);
        json!({"ieee802-dot1q-cnc-config:stream": [s]}).to_string()
    };
    let cuc = gw.url(CUC_1);
    let big = format!("{{\"ieee802-dot1q-cnc-config:stream\":[{{\"stream-id\":\"{}\"}}]}}", "x".repeat(70_000));
    let cases = vec![
        bad("malformed JSON", "POST", &cuc, &[JSON], Some("{\"ieee802-dot1q-cnc-config:stream\": [{"), 400, "malformed-message"),
        bad("wrong type", "POST", &cuc, &[JSON], Some(&stream(&|s| s["talker"]["traffic-specification"]["max-frame-size"] = json!("big"))), 400, "invalid-value"),
        bad("out of range", "POST", &cuc, &[JSON], Some(&stream(&|s| s["talker"]["data-frame-specification"][1]["ieee802-vlan-tag"]["priority-code-point"] = json!(8))), 400, "invalid-value"),
        bad("pattern mismatch (colon MAC)", "POST", &cuc, &[JSON], Some(&stream(&|s| s["talker"]["end-station-interfaces"][0]["mac-address"] = json!("00:11:22:33:44:55"))), 400, "invalid-value"),
        bad("missing mandatory node (min-elements)", "POST", &cuc, &[JSON], Some(&stream(&|s| { s["talker"].as_object_mut().unwrap().remove("end-station-interfaces"); })), 400, "missing-element"),
        bad("unknown node", "POST", &cuc, &[JSON], Some(&stream(&|s| s["talker"]["colour"] = json!("red"))), 400, "unknown-element"),
        bad("wrong namespace prefix", "POST", &cuc, &[JSON], Some(r#"{"ieee802-dot1q-tsn-config-uni:stream": [{"stream-id": "00-11-22-33-44-55:00-09"}]}"#), 400, "unknown-namespace"),
        bad("unqualified top-level member", "POST", &cuc, &[JSON], Some(r#"{"stream": [{"stream-id": "00-11-22-33-44-55:00-09"}]}"#), 400, "unknown-namespace"),
        bad("config-false node in input", "POST", &cuc, &[JSON], Some(&stream(&|s| s["stream-status"] = json!("configured"))), 400, "bad-element"),
        bad("config-false node deep in input", "POST", &cuc, &[JSON], Some(&stream(&|s| s["talker"]["accumulated-latency"] = json!(5))), 400, "bad-element"),
        bad("config-false resource", "PUT", &gw.url(&format!("{STREAM_1}/stream-status")), &[JSON], Some(r#"{"ieee802-dot1q-cnc-config:stream-status": "configured"}"#), 400, "bad-element"),
        bad("bad key encoding", "GET", &gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config/domain=domain-1/cuc=%zz"), &[], None, 400, "invalid-value"),
        bad("wrong number of keys", "GET", &gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config/domain=domain-1,x"), &[], None, 400, "invalid-value"),
        bad("duplicate key in body", "PUT", &gw.url(CUC_1), &[JSON], Some(&json!({"ieee802-dot1q-cnc-config:cuc": [{"cuc-id": "cuc-1", "stream": [
            example_stream("00-11-22-33-44-55:00-01", "00-11-22-33-44-55", "00-11-22-33-44-66"),
            example_stream("00-11-22-33-44-55:00-01", "00-11-22-33-44-55", "00-11-22-33-44-77")]}]}).to_string()), 400, "invalid-value"),
        bad("duplicate JSON member", "POST", &cuc, &[JSON], Some(r#"{"ieee802-dot1q-cnc-config:stream": [{"stream-id": "00-11-22-33-44-55:00-09", "stream-id": "00-11-22-33-44-55:00-08"}]}"#), 400, "malformed-message"),
        bad("key in body differs from URI", "PUT", &gw.url(STREAM_1), &[JSON], Some(&stream(&|_| {})), 400, "invalid-value"),
        bad("oversized body", "POST", &cuc, &[JSON], Some(&big), 413, "too-big"),
        bad("wrong media type", "POST", &cuc, &["content-type: text/plain"], Some("{}"), 415, "invalid-value"),
        bad("unacceptable Accept", "GET", &gw.url(STREAM_1), &["accept: text/html"], None, 406, "invalid-value"),
        bad("unknown query parameter", "GET", &gw.url(&format!("{STREAM_1}?colour=red")), &[], None, 400, "invalid-value"),
        bad("query parameter on an edit", "POST", &format!("{cuc}?insert=first"), &[JSON], Some(&stream(&|_| {})), 400, "invalid-value"),
        bad("bad depth", "GET", &gw.url(&format!("{STREAM_1}?depth=0")), &[], None, 400, "invalid-value"),
        bad("unknown schema node in the URI", "GET", &gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config/colour"), &[], None, 400, "unknown-element"),
        bad("unknown module in the URI", "GET", &gw.url("/restconf/data/nope:cnc-config"), &[], None, 400, "unknown-namespace"),
        bad("missing resource", "DELETE", &gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config/domain=domain-1/cuc=cuc-1/stream=00-11-22-33-44-55%3A00-07"), &[], None, 404, "data-missing"),
        bad("unsupported method", "TRACE", &gw.url(STREAM_1), &[], None, 405, "operation-not-supported"),
        bad("compute for a CUC that does not exist", "POST", &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:compute_all_streams"), &[JSON], Some(r#"{"ieee802-dot1q-cnc-config:input":{"domain":[{"domain-id":"domain-x","cuc":[{"cuc-id":"cuc-1"}]}]}}"#), 400, "invalid-value"),
        bad("unknown stream in compute_streams", "POST", &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:compute_streams"), &[JSON], Some(r#"{"ieee802-dot1q-cnc-config:input":{"domain":[{"domain-id":"domain-1","cuc":[{"cuc-id":"cuc-1","stream-list":[{"stream-id":"00-11-22-33-44-55:0F-0F"}]}]}]}}"#), 400, "invalid-value"),
        bad("bad RPC input", "POST", &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:request_domain_id"), &[JSON], Some(r#"{"ieee802-dot1q-cnc-config:input":{"domain-id":"x"}}"#), 400, "unknown-element"),
        bad("unknown operation", "POST", &gw.url("/restconf/operations/ieee802-dot1q-cnc-config:reboot"), &[JSON], Some("{}"), 404, "unknown-element"),
    ];
    assert!(cases.len() >= 15);
    for case in &cases {
        let args: Vec<&str> = admin.iter().copied().chain(case.args.iter().map(String::as_str)).collect();
        let r = curl(&args).await;
        assert_eq!((r.status, r.error_tag()), (case.status, case.tag.to_string()), "{}: {}", case.what, r.body);
        if r.status != 406 {
            assert_eq!(r.header("content-type"), Some("application/yang-data+json"), "{}", case.what);
        }
    }
    // Identity classes: no credentials, wrong password, another CUC's stream.
    let r = curl(&[&gw.url(STREAM_1)]).await;
    assert_eq!((r.status, r.error_tag().as_str()), (401, "access-denied"));
    assert!(r.header("www-authenticate").is_some());
    let r = curl(&["-u", "admin:wrong", &gw.url(STREAM_1)]).await;
    assert_eq!((r.status, r.error_tag().as_str()), (401, "access-denied"));
    let r = curl(&["-u", "cuc2:c", &gw.url(STREAM_1)]).await;
    assert_eq!((r.status, r.error_tag().as_str()), (403, "access-denied"));
    let r = curl(&["-u", "cuc2:c", "-X", "DELETE", &gw.url(STREAM_1)]).await;
    assert_eq!((r.status, r.error_tag().as_str()), (403, "access-denied"));
    let r = curl(&[
        "-u",
        "cuc2:c",
        "-X",
        "PUT",
        "-H",
        JSON,
        "--data-binary",
        r#"{"ieee802-dot1q-cnc-config:cnc-config": {}}"#,
        &gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config"),
    ])
    .await;
    assert_eq!((r.status, r.error_tag().as_str()), (403, "access-denied"), "{}", r.body);
    // cuc2 sees only its own part of the datastore.
    let r = curl(&["-u", "cuc2:c", &gw.url("/restconf/data/ieee802-dot1q-cnc-config:cnc-config")]).await;
    assert_eq!(r.json(), json!({"ieee802-dot1q-cnc-config:cnc-config": {}}));
    // Nothing was stored by any of them.
    let after = curl(&[&admin[..], &[gw.url("/restconf/data").as_str()]].concat()).await.body;
    assert_eq!(serde_json::from_str::<Value>(&after).unwrap(), serde_json::from_str::<Value>(&baseline).unwrap());
    gw.stop().await;
}
