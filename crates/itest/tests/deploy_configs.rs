//! The configuration files that compose.yaml and k8s/ ship (k8s/config/*.toml) load with
//! the services' own configuration types, with the environment variables compose.yaml sets
//! for each service: a renamed setting or a typo in a manifest fails here, not in a cluster.
//! (The manifests' structure is checked by scripts/check-deploy against the compose and
//! Kubernetes schemas.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    tsn_itest::repo_root()
}

/// The `TSN_*` variables compose.yaml sets per service, `${VAR:-default}` replaced by the
/// default: `service name → [(variable, value)]`.
fn compose_environment() -> BTreeMap<String, Vec<(String, String)>> {
    let text = std::fs::read_to_string(repo().join("compose.yaml")).expect("compose.yaml");
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut in_services = false;
    let mut service = None;
    for line in text.lines() {
        if line.starts_with("services:") {
            in_services = true;
            continue;
        }
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            in_services = false;
        }
        if !in_services {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            if !name.starts_with(' ') {
                service = Some(name.to_owned());
                continue;
            }
        }
        let t = line.trim();
        if let (Some(s), Some((k, v))) = (&service, t.split_once(": ")) {
            if k.starts_with("TSN_") {
                out.entry(s.clone()).or_default().push((k.to_owned(), substitute(v)));
            }
        }
    }
    out
}

/// `a${X:-d}b` → `adb`.
fn substitute(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('}').map(|e| i + e).expect("closed ${");
        let inner = &rest[i + 2..end];
        out.push_str(inner.split_once(":-").map_or("", |(_, d)| d));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn config(name: &str) -> PathBuf {
    repo().join("k8s/config").join(name)
}

fn load<T: serde::de::DeserializeOwned>(file: &str, prefix: &str, env: &[(String, String)]) -> T {
    tsn_service::config::load_from(Some(&config(file)), prefix, env.iter().cloned())
        .unwrap_or_else(|e| panic!("k8s/config/{file} with compose's environment: {e}"))
}

#[test]
fn shipped_configurations_load_with_the_services_types() {
    let env = compose_environment();
    let get = |s: &str| env.get(s).cloned().unwrap_or_default();
    assert!(!get("preprocess").is_empty(), "compose.yaml sets the services' environment: {env:?}");

    let p: preprocess::PreprocessConfig = load("preprocess.toml", "TSN_PREPROCESS", &get("preprocess"));
    assert!(p.database_url.starts_with("postgres://"), "compose points preprocess at PostgreSQL");
    assert!(p.bus.url.contains("@rabbitmq:5672"));
    assert_eq!(p.topology_file.as_deref(), Some(Path::new("/etc/tsn-cp/demo-topology.json")));
    let s: scheduler::SchedulerConfig = load("scheduler.toml", "TSN_SCHEDULER", &get("scheduler"));
    assert!(s.ops.http_listen.is_some(), "probes need the ops endpoint");
    let sb: southbound::SouthboundConfig = load("southbound.toml", "TSN_SOUTHBOUND", &get("southbound"));
    assert!(matches!(sb.configurator, southbound::ConfiguratorSetting::DryRun { .. }));
    let t: tsn_topology::TopologyConfig = load("topology.toml", "TSN_TOPOLOGY", &get("topology"));
    assert!(t.ops.http_listen.is_some());

    let text = std::fs::read_to_string(config("uni-gateway.toml")).unwrap();
    let mut gw = uni_gateway::GatewayConfig::from_toml(&text).expect("uni-gateway.toml");
    gw.apply_env(get("uni-gateway")).expect("compose's TSN_GW_* variables");
    gw.validate().expect("a valid gateway configuration");
    assert!(gw.amqp_url.is_some() && gw.database_url.starts_with("postgres://"));
}

#[test]
fn the_probed_ports_are_the_configured_ones() {
    // Every Kubernetes Deployment probes /healthz on the port its configuration serves it on.
    for (manifest, config_file, port) in [
        ("preprocess.yaml", "preprocess.toml", None),
        ("scheduler.yaml", "scheduler.toml", None),
        ("southbound.yaml", "southbound.toml", None),
        ("topology.yaml", "topology.toml", None),
        ("uni-gateway.yaml", "uni-gateway.toml", Some("listen")),
    ] {
        let manifest_text = std::fs::read_to_string(repo().join("k8s").join(manifest)).unwrap();
        let conf = std::fs::read_to_string(config(config_file)).unwrap();
        let key = port.unwrap_or("http_listen");
        let listen = conf
            .lines()
            .find_map(|l| l.trim().strip_prefix(key).and_then(|r| r.trim().strip_prefix('=')))
            .unwrap_or_else(|| panic!("{config_file} sets {key}"))
            .trim()
            .trim_matches('"');
        let port = listen.rsplit(':').next().unwrap();
        assert!(
            manifest_text.contains(&format!("containerPort: {port}")),
            "k8s/{manifest} does not expose port {port} that {config_file} listens on"
        );
    }
}

#[test]
fn substitution_takes_the_default() {
    assert_eq!(substitute("a${X:-d}b${Y}c"), "adbc");
    assert_eq!(substitute("plain"), "plain");
}
