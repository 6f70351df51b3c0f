//! Arbitrary bytes as an OpenSSH known_hosts file (tsn-ssh host-key pinning).
#![no_main]

use libfuzzer_sys::fuzz_target;

const ED1: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(store) = tsn_ssh::KnownHosts::parse(&text) {
        let key = tsn_ssh::russh::keys::PublicKey::from_openssh(ED1).unwrap();
        let again = tsn_ssh::KnownHosts::parse(&store.to_text()).expect("saved text parses again");
        for (host, port) in [("b0", 22), ("b0", 830), ("x.lab", 22)] {
            assert_eq!(store.check(host, port, &key), again.check(host, port, &key));
        }
    }
});
