//! Our client (over tsn-ssh, host key pinned) against yuma123 `netconfd` (Debian) behind
//! OpenSSH's sshd on loopback: a NETCONF server we did not write.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tsn_netconf::client::{ClientOptions, Datastore, EditConfig, Filter};
use tsn_netconf::framing::Framing;
use tsn_netconf::message::BASE_1_1;
use tsn_ssh::{ClientConfig, KnownHosts};

const SYS_NS: &str = "urn:ietf:params:xml:ns:yang:ietf-system";

/// Kills and reaps a child process on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(dir: &Path, client_key: &Path) -> (Proc, Proc, u16) {
    let port = free_port();
    let sock = dir.join("ncxserver.sock");
    let netconfd = Command::new("netconfd")
        .arg(format!("--ncxserver-sockname={}", sock.display()))
        .arg(format!("--port={port}"))
        .arg("--no-startup")
        .arg("--superuser=root")
        .arg("--module=ietf-interfaces")
        .arg("--module=iana-if-type")
        .arg(format!("--log={}", dir.join("netconfd.log").display()))
        .arg("--with-startup=true")
        .env("HOME", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("netconfd is installed (scripts/setup)");
    let netconfd = Proc(netconfd);
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(sock.exists(), "netconfd did not create its socket");
    let host_key = keygen(dir, "sshd-host");
    std::fs::copy(client_key.with_extension("pub"), dir.join("authorized_keys")).unwrap();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {d}/sshd.pid\nAuthorizedKeysFile {d}/authorized_keys\n\
         PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin prohibit-password\n\
         UsePAM no\nStrictModes no\nSubsystem netconf \"/usr/sbin/netconf-subsystem --ncxserver-sockname={port}@{sock}\"\n",
        hk = host_key.display(),
        d = dir.display(),
        sock = sock.display(),
    );
    std::fs::write(dir.join("sshd_config"), config).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let sshd = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
        .spawn()
        .expect("sshd is installed (scripts/setup)");
    let sshd = Proc(sshd);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (netconfd, sshd, port)
}

fn pinned_openssh(dir: &Path, port: u16, key: &Path) -> ClientConfig {
    let host_key = public_key(&dir.join("sshd-host"));
    let mut known = KnownHosts::in_memory();
    known.trust("127.0.0.1", port, &host_key);
    ClientConfig::new("127.0.0.1", port, "root", key, Arc::new(Mutex::new(known)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_get_config_and_rpc_errors_against_netconfd() {
    let dir = TempDir::new("netconfd");
    let key = keygen(dir.path(), "client");
    let (_netconfd, _sshd, port) = start(dir.path(), &key);
    let opts = ClientOptions { device: "netconfd".into(), ..Default::default() };
    let mut c = tsn_netconf::ssh::connect(pinned_openssh(dir.path(), port, &key), opts).await.unwrap();
    assert!(c.has_capability(BASE_1_1));
    assert_eq!(c.framing(), Framing::Chunked);
    assert!(c.server_hello().modules().iter().any(|m| m.module == "ietf-system"));
    // netconfd keeps ietf-interfaces entries only with SIL code (none in Debian's
    // package), so the edits go to ietf-system, which it implements itself.
    let filter = Filter::Subtree(format!("<system xmlns=\"{SYS_NS}\"/>"));
    let leaf = |data: &tsn_netconf::xml::Element, name: &str| -> Option<String> {
        data.child("system").and_then(|s| s.child_text(name)).map(str::to_owned)
    };
    let sys = |name: &str, value: &str| format!("<system xmlns=\"{SYS_NS}\"><{name}>{value}</{name}></system>");

    // lock, edit the candidate, validate, commit, read back
    c.lock(Datastore::Running).await.unwrap();
    c.lock(Datastore::Candidate).await.unwrap();
    c.edit_config(&EditConfig::merge(Datastore::Candidate, sys("location", "lab rack 3"))).await.unwrap();
    assert_eq!(leaf(&c.get_config(Datastore::Running, Some(&filter)).await.unwrap(), "location"), None);
    assert_eq!(
        leaf(&c.get_config(Datastore::Candidate, Some(&filter)).await.unwrap(), "location").as_deref(),
        Some("lab rack 3")
    );
    c.commit().await.unwrap();
    assert_eq!(
        leaf(&c.get_config(Datastore::Running, Some(&filter)).await.unwrap(), "location").as_deref(),
        Some("lab rack 3")
    );

    // validate (netconfd 2.13 quirk: a <validate> between edit and commit makes the next
    // commit skip the validated edit, so validation is checked on its own here)
    c.edit_config(&EditConfig::merge(Datastore::Candidate, sys("location", "lab rack 4"))).await.unwrap();
    c.validate(Datastore::Candidate).await.unwrap();
    c.discard_changes().await.unwrap();
    assert_eq!(
        leaf(&c.get_config(Datastore::Candidate, Some(&filter)).await.unwrap(), "location").as_deref(),
        Some("lab rack 3")
    );

    // confirmed commit, then cancel-commit: netconfd accepts both (it does not put the old
    // value back in this setup, so only the protocol exchange is checked)
    c.edit_config(&EditConfig::merge(Datastore::Candidate, sys("contact", "tsn-cp"))).await.unwrap();
    c.confirmed_commit(Duration::from_secs(60), None).await.unwrap();
    assert_eq!(
        leaf(&c.get_config(Datastore::Running, Some(&filter)).await.unwrap(), "contact").as_deref(),
        Some("tsn-cp")
    );
    c.cancel_commit(None).await.unwrap();
    // confirmed commit, then confirm: it stays
    c.edit_config(&EditConfig::merge(Datastore::Candidate, sys("contact", "tsn-cp"))).await.unwrap();
    c.confirmed_commit(Duration::from_secs(60), None).await.unwrap();
    c.commit().await.unwrap();
    assert_eq!(
        leaf(&c.get_config(Datastore::Running, Some(&filter)).await.unwrap(), "contact").as_deref(),
        Some("tsn-cp")
    );

    // rpc-error path: a node that does not exist in the schema
    let e = c.edit_config(&EditConfig::merge(Datastore::Candidate, sys("no-such-leaf", "1"))).await.unwrap_err();
    let errors = e.rpc_errors();
    assert!(!errors.is_empty(), "{e}");
    assert_eq!(errors[0].severity, "error", "{e}");
    assert!(errors[0].tag == "unknown-element" || errors[0].tag == "invalid-value", "{e}");
    // ... and a value out of range
    let bad =
        format!("<system xmlns=\"{SYS_NS}\"><clock><timezone-utc-offset>99999</timezone-utc-offset></clock></system>");
    let e = c.edit_config(&EditConfig::merge(Datastore::Candidate, bad)).await.unwrap_err();
    assert!(!e.rpc_errors().is_empty(), "{e}");
    c.discard_changes().await.unwrap();
    // delete what we made, unlock, close
    let del = format!(
        "<system xmlns=\"{SYS_NS}\" xmlns:nc=\"urn:ietf:params:xml:ns:netconf:base:1.0\">\
         <location nc:operation=\"delete\"/><contact nc:operation=\"delete\"/></system>"
    );
    c.edit_config(&EditConfig::merge(Datastore::Candidate, del)).await.unwrap();
    c.commit().await.unwrap();
    assert_eq!(leaf(&c.get_config(Datastore::Running, Some(&filter)).await.unwrap(), "location"), None);
    c.unlock(Datastore::Candidate).await.unwrap();
    c.close().await.unwrap();

    // base:1.0 framing against the same server
    let opts = ClientOptions { offer_base_1_1: false, ..Default::default() };
    let mut c = tsn_netconf::ssh::connect(pinned_openssh(dir.path(), port, &key), opts).await.unwrap();
    assert_eq!(c.framing(), Framing::EndOfMessage);
    c.get_config(Datastore::Running, None).await.unwrap();
    c.close().await.unwrap();
}
