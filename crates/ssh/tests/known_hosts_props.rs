//! Property tests of the known-hosts parser: arbitrary text never panics, and a store that
//! parses survives a save/parse round trip with the same answers.

use proptest::prelude::*;
use tsn_ssh::russh::keys::PublicKey;
use tsn_ssh::{HostKeyStatus, KnownHosts};

const ED1: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";

fn line() -> impl Strategy<Value = String> {
    let host = prop_oneof![
        Just("b0".to_owned()),
        Just("[b0]:830".to_owned()),
        Just("*".to_owned()),
        Just("!b0".to_owned()),
        Just("b?".to_owned()),
        Just("|1|x|y".to_owned()),
        "[a-z0-9*?!,\\[\\]:%.-]{0,12}",
    ];
    let marker = prop_oneof![Just(""), Just("@revoked "), Just("@cert-authority "), Just("@x ")];
    let key = prop_oneof![Just(ED1.to_owned()), Just("ssh-rsa AAAA".to_owned()), "[ -~]{0,40}"];
    prop_oneof![
        (marker, host, key).prop_map(|(m, h, k)| format!("{m}{h} {k}")),
        "[ -~\t]{0,60}",
        Just("# comment".to_owned()),
        Just(String::new()),
    ]
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,400}") {
        let _ = KnownHosts::parse(&text);
    }

    #[test]
    fn structured_lines_round_trip(lines in prop::collection::vec(line(), 0..8), host in "[a-z0-9]{1,4}", port in prop_oneof![Just(22u16), Just(830u16)]) {
        let text = lines.join("\n");
        if let Ok(store) = KnownHosts::parse(&text) {
            let key = PublicKey::from_openssh(ED1).unwrap();
            let again = KnownHosts::parse(&store.to_text()).expect("saved text parses");
            prop_assert_eq!(store.check(&host, port, &key), again.check(&host, port, &key));
            let mut pinned = again.clone();
            pinned.trust(&host, port, &key);
            // Pinning makes the key match unless a revocation says otherwise.
            let status = pinned.check(&host, port, &key);
            prop_assert!(status == HostKeyStatus::Match || status == HostKeyStatus::Revoked, "{:?}", status);
        }
    }
}
