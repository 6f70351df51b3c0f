//! Our client against our server: over `tokio::io::duplex` (protocol machinery, libyang
//! validation, backend) and over SSH (russh server, tsn-ssh client with pinned keys).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tsn_netconf::client::{Client, ClientOptions, Datastore, EditConfig, Filter};
use tsn_netconf::framing::Framing;
use tsn_netconf::render::{gate_tables, render, RenderOptions, SchedVariant, IF_NS};
use tsn_netconf::server::{NetconfServer, RecordingBackend, ServerConfig};
use tsn_netconf::validate::YanglintValidator;
use tsn_netconf::xml::Element;
use tsn_netconf::NetconfError;

const EPOCH: u64 = 1_700_000_000_000_000_000;

fn server(backend: Arc<RecordingBackend>) -> NetconfServer {
    NetconfServer::start(ServerConfig::new("br0", Arc::new(YanglintValidator::bridge().unwrap()), backend))
}

async fn session(server: &NetconfServer, offer_1_1: bool) -> Client<tokio::io::DuplexStream> {
    let (a, b) = tokio::io::duplex(1 << 16);
    let s = server.clone();
    tokio::spawn(async move {
        let _ = s.serve_session(b).await;
    });
    let opts = ClientOptions { offer_base_1_1: offer_1_1, rpc_timeout: Duration::from_secs(10), ..Default::default() };
    Client::handshake(a, opts).await.unwrap()
}

fn config(ports: &[tsn_netconf::PortGcl]) -> String {
    render(ports, &RenderOptions::new(SchedVariant::Qcw2023, EPOCH)).unwrap().to_xml()
}

async fn running_tables(c: &mut Client<tokio::io::DuplexStream>) -> Vec<tsn_netconf::render::GateTable> {
    let data = c.get_config(Datastore::Running, None).await.unwrap();
    gate_tables(&data, "br0").unwrap()
}

#[tokio::test]
async fn candidate_validate_confirmed_commit_and_confirm() {
    let backend = Arc::new(RecordingBackend::new());
    let srv = server(backend.clone());
    let mut c = session(&srv, true).await;
    assert_eq!(c.framing(), Framing::Chunked);
    assert_eq!(SchedVariant::detect(&c.modules().await.unwrap()), Some(SchedVariant::Qcw2023));
    c.lock(Datastore::Running).await.unwrap();
    c.lock(Datastore::Candidate).await.unwrap();
    let ports = [gcl("br0", "swp1", 4), gcl("br0", "swp2", 2)];
    c.edit_config(&EditConfig::merge(Datastore::Candidate, config(&ports))).await.unwrap();
    c.validate(Datastore::Candidate).await.unwrap();
    assert!(running_tables(&mut c).await.is_empty(), "candidate edits do not touch running");
    c.confirmed_commit(Duration::from_secs(60), None).await.unwrap();
    c.commit().await.unwrap();
    let tables = running_tables(&mut c).await;
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0].gcl.entries, ports[0].gcl.entries);
    assert_eq!(tables[0].gcl.base_time_ns, EPOCH);
    let applied = backend.current();
    assert_eq!(applied["swp1"].entries, ports[0].gcl.entries);
    assert_eq!(applied["swp2"].entries, ports[1].gcl.entries);
    // A shorter list replaces the longer one (operation="replace" on the table).
    c.edit_config(&EditConfig::merge(Datastore::Candidate, config(&[gcl("br0", "swp1", 2)]))).await.unwrap();
    c.commit().await.unwrap();
    assert_eq!(backend.current()["swp1"].entries.len(), 2);
    // Subtree filter on one interface.
    let f =
        Filter::Subtree(format!("<interfaces xmlns=\"{IF_NS}\"><interface><name>swp2</name></interface></interfaces>"));
    let data = c.get_config(Datastore::Running, Some(&f)).await.unwrap();
    let tables = gate_tables(&data, "br0").unwrap();
    assert_eq!(tables.iter().map(|t| t.interface.as_str()).collect::<Vec<_>>(), ["swp2"]);
    c.unlock(Datastore::Candidate).await.unwrap();
    c.unlock(Datastore::Running).await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn cancel_commit_timeout_and_session_loss_revert() {
    let backend = Arc::new(RecordingBackend::new());
    let srv = server(backend.clone());
    let mut c = session(&srv, true).await;
    let before = running_tables(&mut c).await;
    // cancel-commit
    c.edit_config(&EditConfig::merge(Datastore::Candidate, config(&[gcl("br0", "swp1", 2)]))).await.unwrap();
    c.confirmed_commit(Duration::from_secs(60), None).await.unwrap();
    assert_eq!(running_tables(&mut c).await.len(), 1);
    c.cancel_commit(None).await.unwrap();
    assert_eq!(running_tables(&mut c).await, before);
    assert!(backend.current().is_empty());
    // confirm timeout
    c.edit_config(&EditConfig::merge(Datastore::Candidate, config(&[gcl("br0", "swp1", 2)]))).await.unwrap();
    c.confirmed_commit(Duration::from_secs(1), None).await.unwrap();
    assert_eq!(backend.current().len(), 1);
    let mut reverted = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if running_tables(&mut c).await.is_empty() {
            reverted = true;
            break;
        }
    }
    assert!(reverted, "unconfirmed commit reverted after its timeout");
    assert!(backend.current().is_empty());
    // the committing session goes away
    c.edit_config(&EditConfig::merge(Datastore::Candidate, config(&[gcl("br0", "swp3", 2)]))).await.unwrap();
    c.confirmed_commit(Duration::from_secs(60), None).await.unwrap();
    drop(c);
    let mut other = session(&srv, true).await;
    let mut reverted = false;
    for _ in 0..50 {
        if running_tables(&mut other).await.is_empty() {
            reverted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reverted, "a confirmed commit dies with its session");
    assert!(backend.current().is_empty(), "{:?}", backend.log());
}

#[tokio::test]
async fn rpc_errors_from_libyang_backend_and_locks() {
    let backend = Arc::new(RecordingBackend::with_max_entries(3));
    let srv = server(backend.clone());
    let mut c = session(&srv, false).await;
    assert_eq!(c.framing(), Framing::EndOfMessage);
    // libyang: 4 entries against a supported-list-max of 2 (the module's must statement).
    let opts = RenderOptions {
        limits: tsn_netconf::PortLimits { list_max: 2, ..Default::default() },
        ..RenderOptions::new(SchedVariant::Qcw2023, EPOCH)
    };
    let mut doc = render(&[gcl("br0", "swp1", 2)], &opts).unwrap();
    // push the entry count past supported-list-max behind the renderer's back
    let list =
        doc.children[0].children[2].children[0].children.iter_mut().find(|c| c.name == "admin-control-list").unwrap();
    let extra = list.children[0].clone();
    let mut extra = extra;
    extra.children[0].text = "7".into();
    list.children.push(extra);
    c.edit_config(&EditConfig::merge(Datastore::Candidate, doc.to_xml())).await.unwrap();
    let e = c.validate(Datastore::Candidate).await.unwrap_err();
    let err = &e.rpc_errors()[0];
    assert_eq!(err.tag, "invalid-value");
    assert!(err.message.as_deref().unwrap().contains("supported-list-max"), "{e}");
    assert!(err.path.as_deref().unwrap().contains("gate-parameter-table"), "{e}");
    assert!(c.commit().await.is_err(), "an invalid candidate does not commit");
    c.discard_changes().await.unwrap();
    // backend: the port's gate table holds 3 entries
    c.edit_config(&EditConfig::merge(Datastore::Candidate, config(&[gcl("br0", "swp1", 4)]))).await.unwrap();
    let e = c.validate(Datastore::Candidate).await.unwrap_err();
    assert!(e.to_string().contains("hardware gate table holds 3"), "{e}");
    c.discard_changes().await.unwrap();
    // bad edit: unknown operation attribute value
    let bad = format!("<interfaces xmlns=\"{IF_NS}\" xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\" nc:operation=\"frobnicate\"/>");
    let e = c.edit_config(&EditConfig::merge(Datastore::Candidate, bad)).await.unwrap_err();
    assert_eq!(e.rpc_errors()[0].tag, "bad-attribute");
    // locks
    c.lock(Datastore::Candidate).await.unwrap();
    let mut other = session(&srv, true).await;
    let e = other.lock(Datastore::Candidate).await.unwrap_err();
    assert_eq!(e.rpc_errors()[0].tag, "lock-denied");
    let e = other
        .edit_config(&EditConfig::merge(Datastore::Candidate, config(&[gcl("br0", "swp1", 2)])))
        .await
        .unwrap_err();
    assert_eq!(e.rpc_errors()[0].tag, "in-use");
    // unsupported operation
    let e = other.rpc("<frob/>").await.unwrap_err();
    assert_eq!(e.rpc_errors()[0].tag, "operation-not-supported");
    drop(c);
    // the lock dies with its session
    let mut ok = false;
    for _ in 0..50 {
        if other.lock(Datastore::Candidate).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok);
    assert!(backend.log().is_empty());
}

#[tokio::test]
async fn direct_running_edit_and_2018_documents_read_back() {
    let backend = Arc::new(RecordingBackend::new());
    let srv = server(backend.clone());
    let mut c = session(&srv, true).await;
    c.edit_config(&EditConfig::merge(Datastore::Running, config(&[gcl("br0", "swp1", 2)]))).await.unwrap();
    assert_eq!(backend.current()["swp1"].entries.len(), 2);
    // the 2018 rendering parses back to the same list (what an old device would store)
    let p = gcl("br0", "swp1", 6);
    let el = render(
        std::slice::from_ref(&p),
        &RenderOptions { for_edit: false, ..RenderOptions::new(SchedVariant::Sched2018, EPOCH) },
    )
    .unwrap();
    let back = gate_tables(&Element::new(None, "data").with_child(el), "br0").unwrap();
    assert_eq!(back[0].gcl.entries, p.gcl.entries);
}

#[tokio::test]
async fn malformed_input_closes_the_session_cleanly() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let srv = server(Arc::new(RecordingBackend::new()));
    for garbage in [
        &b"<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities><capability>urn:ietf:params:netconf:base:1.1</capability></capabilities></hello>]]>]]>\n#0\n"[..],
        b"<hello><oops]]>]]>",
        b"<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]><rpc message-id=\"1\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><get>]]>]]>",
    ] {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        let s = srv.clone();
        let task = tokio::spawn(async move { s.serve_session(b).await });
        a.write_all(garbage).await.unwrap();
        let r = tokio::time::timeout(Duration::from_secs(5), task).await.expect("session ends").unwrap();
        assert!(r.is_err(), "malformed input is an error");
        let mut rest = Vec::new();
        let _ = a.read_to_end(&mut rest).await;
    }
    // the server still serves
    let mut c = session(&srv, true).await;
    c.get(None).await.unwrap();
}

#[tokio::test]
async fn over_ssh_with_pinned_host_keys() {
    let dir = TempDir::new("ssh");
    let key = keygen(dir.path(), "client");
    let backend = Arc::new(RecordingBackend::new());
    let srv = start_server(dir.path(), "br0", backend.clone(), &key).await;
    let mut c = tsn_netconf::ssh::connect(pinned(&srv, &key), ClientOptions::default()).await.unwrap();
    c.edit_config(&EditConfig::merge(Datastore::Candidate, config(&[gcl("br0", "swp1", 2)]))).await.unwrap();
    c.commit().await.unwrap();
    assert_eq!(backend.current()["swp1"].entries.len(), 2);
    c.close().await.unwrap();

    // A changed host key is refused, naming both fingerprints.
    let impostor_key = keygen(dir.path(), "impostor");
    let impostor = public_key(&impostor_key);
    let mut cfg = pinned(&srv, &key);
    {
        let mut known = tsn_ssh::KnownHosts::in_memory();
        known.trust("127.0.0.1", srv.port, &impostor);
        cfg.known_hosts = Arc::new(std::sync::Mutex::new(known));
    }
    let e = tsn_netconf::ssh::connect(cfg, ClientOptions::default()).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, NetconfError::Ssh(tsn_ssh::SshError::HostKeyMismatch { .. })), "{msg}");
    assert!(
        msg.contains(&tsn_ssh::fingerprint(&impostor)) && msg.contains(&tsn_ssh::fingerprint(&srv.host_key)),
        "{msg}"
    );
    // An unknown host key is refused.
    let mut cfg = pinned(&srv, &key);
    cfg.known_hosts = Arc::new(std::sync::Mutex::new(tsn_ssh::KnownHosts::in_memory()));
    let e = tsn_netconf::ssh::connect(cfg, ClientOptions::default()).await.unwrap_err();
    assert!(matches!(e, NetconfError::Ssh(tsn_ssh::SshError::UnknownHostKey { .. })), "{e}");
    // A key that is not authorized cannot log in.
    let e = tsn_netconf::ssh::connect(pinned(&srv, &impostor_key), ClientOptions::default()).await.unwrap_err();
    assert!(matches!(e, NetconfError::Ssh(tsn_ssh::SshError::Auth { .. })), "{e}");
}
