//! Pinned server host keys in (a subset of) OpenSSH's `known_hosts` format.
//!
//! One entry per line: `[marker] patterns key-type base64 [comment]`, where `patterns` is
//! a comma-separated list of host names, `[host]:port` for ports other than 22, `*` and `?`
//! wildcards and `!` negations, as in sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT". Supported
//! markers: `@revoked` (the key is refused for every matching host). Hashed host names
//! (`|1|...`) and `@cert-authority` lines are kept verbatim when the file is saved but never
//! match: this client pins plain keys only. Blank lines and `#` comments are kept too.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use russh::keys::{HashAlg, PublicKey};

use crate::SshError;

/// A parsed line of a known-hosts file.
#[derive(Clone, Debug)]
enum Line {
    /// Kept as written and never matched: blank, comment, hashed, `@cert-authority`.
    Opaque(String),
    /// A key pinned for the hosts matching `patterns`.
    Entry { text: String, revoked: bool, patterns: Vec<String>, key: EntryKey },
}

/// The key of an entry; a key this client cannot decode still makes its hosts "known", so
/// that a different key presented by them is refused rather than trusted as new.
#[derive(Clone, Debug)]
enum EntryKey {
    Known(Box<PublicKey>),
    Undecodable { key_type: String },
}

/// What a known-hosts store says about a host's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostKeyStatus {
    /// A pinned key of the host equals the presented one.
    Match,
    /// Nothing is pinned for the host.
    Unknown,
    /// Keys are pinned for the host, none equals the presented one; their fingerprints
    /// (`SHA256:...`, or `<key-type> (undecodable)`).
    Mismatch(Vec<String>),
    /// The presented key is marked `@revoked` for the host.
    Revoked,
}

/// The name a host's keys are filed under: `host` for port 22, `[host]:port` otherwise.
pub fn host_entry_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

/// The OpenSSH fingerprint of `key`: `SHA256:` and the unpadded base64 of its SHA-256.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// A store of pinned host keys, in memory or backed by a file (see the module docs).
#[derive(Clone, Default)]
pub struct KnownHosts {
    path: Option<PathBuf>,
    lines: Vec<Line>,
}

impl fmt::Debug for KnownHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.lines.iter().filter(|l| matches!(l, Line::Entry { .. })).count();
        f.debug_struct("KnownHosts").field("path", &self.path).field("entries", &entries).finish()
    }
}

impl KnownHosts {
    /// Reads the known-hosts file at `path`. A missing file is an empty store that
    /// [`KnownHosts::save`] creates.
    ///
    /// # Errors
    ///
    /// [`SshError::Io`] if the file cannot be read, [`SshError::KnownHosts`] for a line
    /// that is not `[marker] patterns key-type base64 [comment]`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, SshError> {
        let path = path.as_ref();
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(SshError::Io { context: format!("reading {}", path.display()), source }),
        };
        let mut store = Self::parse(&text).map_err(|(line, message)| SshError::KnownHosts {
            source_name: path.display().to_string(),
            line,
            message,
        })?;
        store.path = Some(path.to_owned());
        Ok(store)
    }

    /// An empty store that lives in memory only ([`KnownHosts::save`] does nothing).
    pub fn in_memory() -> Self {
        KnownHosts::default()
    }

    /// Parses known-hosts text into an in-memory store.
    ///
    /// # Errors
    ///
    /// `(line number, reason)` of the first malformed line.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            lines.push(parse_line(raw).map_err(|m| (i + 1, m))?);
        }
        Ok(KnownHosts { path: None, lines })
    }

    /// Parses known-hosts text; like [`KnownHosts::parse`] with a [`SshError`] naming
    /// `source_name` (e.g. the inventory entry the text came from).
    ///
    /// # Errors
    ///
    /// [`SshError::KnownHosts`].
    pub fn parse_named(text: &str, source_name: &str) -> Result<Self, SshError> {
        Self::parse(text).map_err(|(line, message)| SshError::KnownHosts {
            source_name: source_name.to_owned(),
            line,
            message,
        })
    }

    /// The file this store is saved to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Number of usable pinned keys (entries that can match a host).
    pub fn len(&self) -> usize {
        self.lines.iter().filter(|l| matches!(l, Line::Entry { revoked: false, .. })).count()
    }

    /// Whether no key is pinned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Pins `key` for `host` on `port` (`[host]:port` unless the port is 22), replacing
    /// keys of the same type pinned for exactly that name.
    pub fn trust(&mut self, host: &str, port: u16, key: &PublicKey) {
        let name = host_entry_name(host, port);
        self.lines.retain(|l| match l {
            Line::Entry { revoked: false, patterns, key: EntryKey::Known(k), .. } => {
                !(patterns.len() == 1 && patterns[0] == name && k.algorithm() == key.algorithm())
            }
            _ => true,
        });
        let mut bare = key.clone();
        bare.set_comment("");
        let encoded = bare.to_openssh().unwrap_or_default();
        let text = format!("{name} {}", encoded.trim());
        self.lines.push(Line::Entry {
            text,
            revoked: false,
            patterns: vec![name],
            key: EntryKey::Known(Box::new(bare)),
        });
    }

    /// What the store says about `key` presented by `host` on `port`.
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> HostKeyStatus {
        let name = host_entry_name(host, port);
        let mut pinned = Vec::new();
        for line in &self.lines {
            let Line::Entry { revoked, patterns, key: entry_key, .. } = line else { continue };
            if !patterns_match(patterns, &name) {
                continue;
            }
            match (revoked, entry_key) {
                (true, EntryKey::Known(k)) if k.key_data() == key.key_data() => return HostKeyStatus::Revoked,
                (true, _) => {}
                (false, EntryKey::Known(k)) if k.key_data() == key.key_data() => return HostKeyStatus::Match,
                (false, EntryKey::Known(k)) => pinned.push(fingerprint(k)),
                (false, EntryKey::Undecodable { key_type }) => pinned.push(format!("{key_type} (undecodable)")),
            }
        }
        if pinned.is_empty() {
            HostKeyStatus::Unknown
        } else {
            HostKeyStatus::Mismatch(pinned)
        }
    }

    /// The algorithms of the keys pinned for `host` on `port`, in file order (used to ask
    /// the server for a pinned key type first).
    pub fn algorithms_for(&self, host: &str, port: u16) -> Vec<russh::keys::Algorithm> {
        let name = host_entry_name(host, port);
        let mut out = Vec::new();
        for line in &self.lines {
            if let Line::Entry { revoked: false, patterns, key: EntryKey::Known(k), .. } = line {
                if patterns_match(patterns, &name) && !out.contains(&k.algorithm()) {
                    out.push(k.algorithm());
                }
            }
        }
        out
    }

    /// The store as known-hosts text (every line it was loaded with, then the new ones).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            match l {
                Line::Opaque(t) | Line::Entry { text: t, .. } => out.push_str(t),
            }
            out.push('\n');
        }
        out
    }

    /// Writes the store back to its file (atomically: a temporary file renamed over it).
    /// Does nothing for an in-memory store.
    ///
    /// # Errors
    ///
    /// [`SshError::Io`] if the file cannot be written.
    pub fn save(&self) -> Result<(), SshError> {
        let Some(path) = &self.path else { return Ok(()) };
        let io = |source| SshError::Io { context: format!("writing {}", path.display()), source };
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = fs::File::create(&tmp).map_err(io)?;
        f.write_all(self.to_text().as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        fs::rename(&tmp, path).map_err(io)
    }
}

fn parse_line(raw: &str) -> Result<Line, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(Line::Opaque(raw.to_owned()));
    }
    let mut fields = trimmed.split_whitespace();
    let mut first = fields.next().unwrap_or_default();
    let mut revoked = false;
    if let Some(marker) = first.strip_prefix('@') {
        match marker {
            "revoked" => revoked = true,
            "cert-authority" => return Ok(Line::Opaque(raw.to_owned())),
            other => return Err(format!("unknown marker @{other}")),
        }
        first = fields.next().ok_or("a marker must be followed by host patterns")?;
    }
    if first.starts_with('|') {
        // Hashed host names: kept, never matched.
        return Ok(Line::Opaque(raw.to_owned()));
    }
    let patterns: Vec<String> = first.split(',').map(str::to_owned).collect();
    if patterns.iter().any(|p| p.is_empty()) {
        return Err("empty host pattern".to_owned());
    }
    let key_type = fields.next().ok_or("missing key type")?;
    let base64 = fields.next().ok_or("missing base64 key")?;
    let key = match PublicKey::from_openssh(&format!("{key_type} {base64}")) {
        Ok(mut k) => {
            k.set_comment("");
            EntryKey::Known(Box::new(k))
        }
        Err(_) if !base64.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)) => {
            return Err(format!("key of type {key_type} is not base64"));
        }
        // A valid-looking key of a type this build cannot decode (e.g. RSA): the host stays
        // known, so a different key is refused.
        Err(_) => EntryKey::Undecodable { key_type: key_type.to_owned() },
    };
    Ok(Line::Entry { text: raw.to_owned(), revoked, patterns, key })
}

/// OpenSSH pattern-list semantics: a negated match excludes the name whatever else
/// matches; otherwise any positive match includes it.
fn patterns_match(patterns: &[String], name: &str) -> bool {
    let mut matched = false;
    for p in patterns {
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard_match(neg.as_bytes(), name.as_bytes()) {
                return false;
            }
        } else if wildcard_match(p.as_bytes(), name.as_bytes()) {
            matched = true;
        }
    }
    matched
}

/// `*` = any sequence, `?` = one character; host names compare case-insensitively.
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative matcher with single backtracking point (linear in practice, never
    // exponential on adversarial patterns).
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p].eq_ignore_ascii_case(&name[n])) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED1: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const ED2: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    #[test]
    fn lookup_follows_openssh_rules() {
        let text = format!(
            "# pinned\n\nb0,b1 {ED1} comment\n[b2]:830 {ED1}\n*.lab,!evil.lab {ED2}\n|1|abc=|def= {ED2}\n\
             @cert-authority *.ca {ED2}\n@revoked b9 {ED1}\nrsa1 ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB\n"
        );
        let kh = KnownHosts::parse(&text).unwrap();
        let (k1, k2) = (key(ED1), key(ED2));
        assert_eq!(kh.check("b0", 22, &k1), HostKeyStatus::Match);
        assert_eq!(kh.check("B1", 22, &k1), HostKeyStatus::Match);
        assert_eq!(kh.check("b0", 22, &k2), HostKeyStatus::Mismatch(vec![fingerprint(&k1)]));
        assert_eq!(kh.check("b0", 830, &k1), HostKeyStatus::Unknown);
        assert_eq!(kh.check("b2", 830, &k1), HostKeyStatus::Match);
        assert_eq!(kh.check("x.lab", 22, &k2), HostKeyStatus::Match);
        assert_eq!(kh.check("evil.lab", 22, &k2), HostKeyStatus::Unknown);
        assert_eq!(kh.check("b9", 22, &k1), HostKeyStatus::Revoked);
        assert_eq!(kh.check("x.ca", 22, &k2), HostKeyStatus::Unknown);
        assert!(matches!(kh.check("rsa1", 22, &k1), HostKeyStatus::Mismatch(f) if f[0].contains("ssh-rsa")));
        // Saving keeps every line as written.
        assert_eq!(kh.to_text(), text);
    }

    #[test]
    fn trust_pins_and_replaces_the_same_type() {
        let mut kh = KnownHosts::in_memory();
        kh.trust("fe80::2%m0", 22, &key(ED1));
        kh.trust("fe80::2%m0", 22, &key(ED2));
        assert_eq!(kh.len(), 1);
        assert_eq!(kh.check("fe80::2%m0", 22, &key(ED2)), HostKeyStatus::Match);
        assert_eq!(kh.to_text(), format!("fe80::2%m0 {ED2}\n"));
        kh.trust("h", 2222, &key(ED1));
        assert!(kh.to_text().contains(&format!("[h]:2222 {ED1}")));
        let again = KnownHosts::parse(&kh.to_text()).unwrap();
        assert_eq!(again.check("h", 2222, &key(ED1)), HostKeyStatus::Match);
    }

    #[test]
    fn fingerprints_are_openssh_sha256() {
        // ssh-keygen -lf prints this for ED1.
        let fp = fingerprint(&key(ED1));
        assert!(fp.starts_with("SHA256:") && !fp.ends_with('='), "{fp}");
        assert_eq!(fp.len(), "SHA256:".len() + 43);
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        for (text, line) in
            [("ok\n", 1), ("# c\nh ssh-ed25519\n", 2), ("@weird h x y\n", 1), ("h ssh-ed25519 !!!\n", 1)]
        {
            assert_eq!(KnownHosts::parse(text).unwrap_err().0, line, "{text:?}");
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(b"*", b"anything"));
        assert!(wildcard_match(b"b?", b"b1"));
        assert!(!wildcard_match(b"b?", b"b12"));
        assert!(wildcard_match(b"*.lab*", b"x.lab.y"));
        assert!(!wildcard_match(b"a*b*c", b"aXbY"));
    }
}
