//! tsn-ssh against the real OpenSSH server, running in a testbed namespace and reached over
//! the node's IPv6 link-local management link. Needs root (CI runs as root): without it the
//! tests fail with the reason, never skip.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tsn_ssh::russh::keys::PublicKey;
use tsn_ssh::{ClientConfig, KnownHosts, SshClient, SshError};
use tsn_testbed::{SshEndpoint, SshdOptions, Testbed};

struct Setup {
    tb: Testbed,
    endpoint: SshEndpoint,
    client_key: std::path::PathBuf,
}

fn setup() -> Setup {
    if let Err(e) = tsn_testbed::check_prerequisites() {
        panic!("these tests need root, iproute2 and lldpd/openssh (run scripts/setup as root): {e}");
    }
    let mut tb = Testbed::builder().bridge("h0").management_network().build().expect("build the testbed");
    let (client_key, public) = tb.generate_client_key("client").expect("client key");
    let options = SshdOptions {
        authorized_keys: public,
        subsystems: vec![("echo".to_owned(), "/bin/cat".to_owned())],
        ..SshdOptions::default()
    };
    let endpoint = tb.start_sshd_with("h0", &options).expect("start sshd");
    Setup { tb, endpoint, client_key }
}

fn host_key(endpoint: &SshEndpoint) -> PublicKey {
    PublicKey::from_openssh(&endpoint.host_public_key).expect("sshd's host key parses")
}

fn config(s: &Setup, known: KnownHosts) -> ClientConfig {
    let mut cfg = ClientConfig::new(
        s.endpoint.host.clone(),
        s.endpoint.addr.port(),
        s.endpoint.user.clone(),
        s.client_key.clone(),
        Arc::new(Mutex::new(known)),
    );
    cfg.connect_timeout = Duration::from_secs(15);
    cfg
}

fn pinned(s: &Setup) -> KnownHosts {
    let mut known = KnownHosts::in_memory();
    known.trust(&s.endpoint.host, s.endpoint.addr.port(), &host_key(&s.endpoint));
    known
}

/// What `ssh-keygen -lf` prints as the fingerprint of a public key line.
fn ssh_keygen_fingerprint(dir: &Path, public_line: &str) -> String {
    let file = dir.join(format!("fp-{}.pub", public_line.len()));
    std::fs::write(&file, format!("{public_line}\n")).unwrap();
    let out = Command::new("ssh-keygen").arg("-lf").arg(&file).output().expect("run ssh-keygen -lf");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).split_whitespace().nth(1).expect("fingerprint field").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_and_subsystem_over_a_pinned_connection() {
    let s = setup();
    let client = SshClient::connect(config(&s, pinned(&s))).await.expect("connect with the pinned key");

    let out = client.exec("echo out; echo err >&2; exit 3").await.unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr_text(), "err");
    assert_eq!(out.exit_status, Some(3));
    assert!(!out.success());

    // Several channels at once on one connection, and output larger than one window.
    let (a, b) = tokio::join!(client.exec("head -c 3000000 /dev/zero"), client.exec("uname -s"));
    assert_eq!(a.unwrap().stdout.len(), 3_000_000);
    assert_eq!(b.unwrap().stdout_text().trim(), "Linux");

    // The subsystem is a byte stream to the server-side process (here cat).
    let mut stream = client.subsystem("echo").await.expect("echo subsystem");
    stream.write_all(b"<hello/>]]>]]>").await.unwrap();
    stream.flush().await.unwrap();
    let mut buf = vec![0u8; 14];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf, b"<hello/>]]>]]>");
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest)).await.unwrap().unwrap();
    assert!(rest.is_empty(), "cat exits at EOF: {rest:?}");

    match client.subsystem("no-such-subsystem").await {
        Err(SshError::Refused { request }) => assert!(request.contains("no-such-subsystem")),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The connection survives a refused request.
    assert!(client.exec("true").await.unwrap().success());
    client.close().await;
    s.tb.teardown().expect("teardown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_keys_are_never_trusted_blindly() {
    let s = setup();
    let real_fp = ssh_keygen_fingerprint(s.tb.dir(), &s.endpoint.host_public_key);

    // Unknown: refused, naming the key as OpenSSH would.
    match SshClient::connect(config(&s, KnownHosts::in_memory())).await {
        Err(SshError::UnknownHostKey { fingerprint, host }) => {
            assert_eq!(fingerprint, real_fp);
            assert_eq!(host, s.endpoint.host);
        }
        other => panic!("an unknown host key was not refused: {other:?}"),
    }

    // Changed: refused with both fingerprints, also when unknown keys would be trusted.
    let (_, other_public) = s.tb.generate_client_key("impostor").expect("another key");
    let other_fp = ssh_keygen_fingerprint(s.tb.dir(), &other_public);
    let mut wrong = KnownHosts::in_memory();
    wrong.trust(&s.endpoint.host, 22, &PublicKey::from_openssh(&other_public).unwrap());
    let mut cfg = config(&s, wrong);
    cfg.trust_unknown = true;
    let known = cfg.known_hosts.clone();
    match SshClient::connect(cfg).await {
        Err(e @ SshError::HostKeyMismatch { .. }) => {
            let text = e.to_string();
            assert!(text.contains(&real_fp) && text.contains(&other_fp), "{text}");
            let SshError::HostKeyMismatch { expected_fingerprint, got_fingerprint, .. } = e else { unreachable!() };
            assert_eq!((expected_fingerprint, got_fingerprint), (other_fp.clone(), real_fp.clone()));
        }
        other => panic!("a changed host key was not refused: {other:?}"),
    }
    // ... and the refused key was not pinned.
    assert_eq!(known.lock().unwrap().len(), 1);

    // Trust on first use, explicitly: pinned in the file, which then works without it.
    let file = s.tb.dir().join("known_hosts");
    let mut cfg = config(&s, KnownHosts::load(&file).unwrap());
    cfg.trust_unknown = true;
    SshClient::connect(cfg).await.expect("trust on first use").close().await;
    let text = std::fs::read_to_string(&file).expect("known_hosts written");
    assert!(text.contains(&s.endpoint.host) && text.contains("ssh-ed25519"), "{text}");
    let client = SshClient::connect(config(&s, KnownHosts::load(&file).unwrap())).await.expect("pinned from file");
    client.close().await;
    // OpenSSH itself accepts the file we wrote.
    let out = Command::new("ssh-keygen").arg("-F").arg(&s.endpoint.host).arg("-f").arg(&file).output().unwrap();
    assert!(out.status.success(), "ssh-keygen -F does not find the entry: {text}");

    // An alias pins the key under a device name instead of the address.
    let mut by_name = KnownHosts::in_memory();
    by_name.trust("device-h0", 22, &host_key(&s.endpoint));
    let mut cfg = config(&s, by_name);
    cfg.host_key_alias = Some("device-h0".to_owned());
    SshClient::connect(cfg).await.expect("alias").close().await;

    // A key the server does not authorize.
    let (stranger, _) = s.tb.generate_client_key("stranger").unwrap();
    let mut cfg = config(&s, pinned(&s));
    cfg.key = stranger;
    assert!(matches!(SshClient::connect(cfg).await, Err(SshError::Auth { .. })));

    // Nothing listening.
    let mut cfg = config(&s, pinned(&s));
    cfg.port = 2;
    assert!(matches!(SshClient::connect(cfg).await, Err(SshError::Io { .. })));

    // A missing private key is a local error, named as such.
    let mut cfg = config(&s, pinned(&s));
    cfg.key = s.tb.dir().join("missing");
    assert!(matches!(SshClient::connect(cfg).await, Err(SshError::Key { .. })));
    s.tb.teardown().expect("teardown");
}
