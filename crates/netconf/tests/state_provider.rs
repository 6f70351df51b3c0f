//! Operational state in `<get>`: a server started with a `StateProvider` announces the
//! provider's modules, answers `<get>` with the state merged into running and filtered,
//! keeps `<get-config>` to configuration, and reports a failing provider as an rpc-error.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tsn_netconf::client::{Client, ClientOptions, Datastore, EditConfig, Filter};
use tsn_netconf::server::{NetconfServer, RecordingBackend, ServerConfig};
use tsn_netconf::state::{filter_selects, StateError, StateProvider};
use tsn_netconf::validate::NoValidation;
use tsn_netconf::xml::Element;
use tsn_netconf::NetconfError;

const IF: &str = "urn:ietf:params:xml:ns:yang:ietf-interfaces";
const ST: &str = "urn:example:state";

/// Serves `<counters xmlns=ST>` and the speed of p0, counting its calls; fails when
/// `fail` is set.
#[derive(Debug, Default)]
struct Provider {
    calls: AtomicUsize,
    skipped: AtomicUsize,
    fail: bool,
}

#[async_trait]
impl StateProvider for Provider {
    fn capabilities(&self) -> Vec<String> {
        vec![format!("{ST}?module=example-state&revision=2026-01-01")]
    }

    async fn state(&self, filter: Option<&[Element]>) -> Result<Vec<Element>, StateError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.fail {
            return Err(StateError("the state daemon is not running".into()));
        }
        if !filter_selects(filter, ST, "counters") && !filter_selects(filter, IF, "interfaces") {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(Vec::new());
        }
        let text = format!(
            "<x><counters xmlns=\"{ST}\"><frames>42</frames></counters>\
             <interfaces xmlns=\"{IF}\"><interface><name>p0</name><speed>10000000000</speed>\
             <oper-status>up</oper-status></interface></interfaces></x>"
        );
        Ok(Element::parse(&text).map_err(|e| StateError(e.to_string()))?.children)
    }
}

async fn session(provider: Arc<Provider>) -> Client<tokio::io::DuplexStream> {
    let config = ServerConfig::new("br0", Arc::new(NoValidation), Arc::new(RecordingBackend::new()));
    let server = NetconfServer::start_with_state(config, provider);
    let (a, b) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let _ = server.serve_session(b).await;
    });
    let opts = ClientOptions { rpc_timeout: Duration::from_secs(10), ..Default::default() };
    Client::handshake(a, opts).await.unwrap()
}

#[tokio::test]
async fn get_carries_state_merged_with_running_and_filtered() {
    let provider = Arc::new(Provider::default());
    let mut c = session(provider.clone()).await;
    assert!(c.server_hello().modules().iter().any(|m| m.module == "example-state"), "hello announces the module");
    assert!(c.server_hello().modules().iter().any(|m| m.module == "ieee802-dot1q-sched-bridge"), "and keeps its own");
    let config = format!(
        "<interfaces xmlns=\"{IF}\"><interface><name>p0</name><enabled>true</enabled></interface></interfaces>"
    );
    c.edit_config(&EditConfig::merge(Datastore::Running, config)).await.unwrap();

    let all = c.get(None).await.unwrap();
    assert_eq!(all.child_ns(ST, "counters").and_then(|x| x.child_text("frames")), Some("42"));
    let p0 = &all.child_ns(IF, "interfaces").unwrap().children;
    assert_eq!(p0.len(), 1, "state and configuration of p0 are one entry: {}", all.to_xml());
    assert_eq!(p0[0].child_text("enabled"), Some("true"));
    assert_eq!(p0[0].child_text("speed"), Some("10000000000"));

    let only = c.get(Some(&Filter::Subtree(format!("<counters xmlns=\"{ST}\"/>")))).await.unwrap();
    assert_eq!(only.children.len(), 1);
    assert!(only.child_ns(ST, "counters").is_some());

    let config_only = c.get_config(Datastore::Running, None).await.unwrap();
    assert!(config_only.child_ns(ST, "counters").is_none(), "get-config has no state");
    let p0 = &config_only.child_ns(IF, "interfaces").unwrap().children[0];
    assert!(p0.child("speed").is_none());

    let before = provider.skipped.load(Ordering::Relaxed);
    let none = c.get(Some(&Filter::Subtree("<other xmlns=\"urn:o\"/>".into()))).await.unwrap();
    assert!(none.children.is_empty());
    assert_eq!(provider.skipped.load(Ordering::Relaxed), before + 1, "the provider saw the filter");
    c.close().await.unwrap();
}

#[tokio::test]
async fn a_failing_provider_is_an_rpc_error_and_the_session_goes_on() {
    let provider = Arc::new(Provider { fail: true, ..Default::default() });
    let mut c = session(provider.clone()).await;
    match c.get(None).await {
        Err(NetconfError::Rpc(errors)) => {
            assert_eq!(errors[0].tag, "operation-failed");
            assert!(errors[0].message.as_deref().unwrap_or_default().contains("not running"), "{errors:?}");
        }
        other => panic!("expected an rpc-error, got {other:?}"),
    }
    c.get_config(Datastore::Running, None).await.unwrap();
    assert_eq!(provider.calls.load(Ordering::Relaxed), 1, "get-config does not ask the provider");
    c.close().await.unwrap();
}
