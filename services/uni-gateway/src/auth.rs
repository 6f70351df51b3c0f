//! Who is calling, and which CUCs they may touch.
//!
//! The identity is the client certificate's subject common name (mutual TLS), or a
//! configured HTTP Basic user (lab set-ups), or `anonymous`. [`AuthConfig::identities`]
//! maps it to the CUC ids it may read and write; `"*"` grants every CUC and domain-level
//! changes.

use std::collections::BTreeSet;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;

use crate::config::AuthConfig;
use crate::error::{ErrorTag, ErrorType, RestconfError};

/// The TLS peer of a connection, attached to every request on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Subject common name of the verified client certificate.
    pub certificate_cn: Option<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The identity (Basic user, certificate CN or `anonymous`).
    pub name: String,
    /// Every CUC (and domain-level changes) when true.
    pub admin: bool,
    /// The CUC ids this principal may touch (ignored for admins).
    pub cucs: BTreeSet<String>,
}

impl Principal {
    /// Whether the principal may read and write CUC `cuc`.
    pub fn may(&self, cuc: &str) -> bool {
        self.admin || self.cucs.contains(cuc)
    }

    /// 403 unless the principal may touch `cuc`.
    pub fn check(&self, cuc: &str) -> Result<(), RestconfError> {
        if self.may(cuc) {
            Ok(())
        } else {
            Err(RestconfError::forbidden(format!("{} may not access CUC {cuc:?}", self.name)))
        }
    }
}

/// Authenticates a request from its headers and the connection's TLS peer.
pub fn authenticate(config: &AuthConfig, headers: &HeaderMap, peer: &PeerIdentity) -> Result<Principal, RestconfError> {
    let name = if let Some(h) = headers.get("authorization") {
        let value = h.to_str().map_err(|_| unauthorized("the Authorization header is not ASCII"))?;
        let (user, password) =
            parse_basic(value).ok_or_else(|| unauthorized("only HTTP Basic authorization is supported"))?;
        let ok = config.basic_users.iter().any(|u| {
            constant_time_eq(u.name.as_bytes(), user.as_bytes())
                & constant_time_eq(u.password.as_bytes(), password.as_bytes())
        });
        if !ok {
            return Err(unauthorized("unknown user or wrong password"));
        }
        user
    } else if let Some(cn) = &peer.certificate_cn {
        cn.clone()
    } else if config.allow_anonymous {
        "anonymous".to_owned()
    } else {
        return Err(unauthorized("authentication required: a TLS client certificate or HTTP Basic credentials"));
    };
    let grants = config.identities.get(&name).cloned().unwrap_or_default();
    Ok(Principal {
        admin: grants.iter().any(|g| g == "*"),
        cucs: grants.into_iter().filter(|g| g != "*").collect(),
        name,
    })
}

fn unauthorized(msg: &str) -> RestconfError {
    RestconfError::new(ErrorType::Protocol, ErrorTag::AccessDenied, msg)
        .status(StatusCode::UNAUTHORIZED)
        .header("www-authenticate", "Basic realm=\"restconf\"")
}

/// `(user, password)` of a `Basic` authorization value.
pub fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, cred) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(cred.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_owned(), p.to_owned()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The subject common name of a DER X.509 certificate (the first CN attribute), or None
/// when the certificate has none or is not DER the walker understands.
pub fn subject_common_name(der: &[u8]) -> Option<String> {
    let (cert, _) = tlv(der, 0x30)?;
    let (tbs, _) = tlv(cert, 0x30)?;
    let mut rest = tbs;
    // Optional [0] EXPLICIT version.
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest, 0xa0)?.1;
    }
    rest = tlv(rest, 0x02)?.1; // serialNumber
    rest = tlv(rest, 0x30)?.1; // signature algorithm
    rest = tlv(rest, 0x30)?.1; // issuer
    rest = tlv(rest, 0x30)?.1; // validity
    let (mut subject, _) = tlv(rest, 0x30)?;
    while !subject.is_empty() {
        let (mut rdn, next) = tlv(subject, 0x31)?;
        subject = next;
        while !rdn.is_empty() {
            let (atv, next) = tlv(rdn, 0x30)?;
            rdn = next;
            let (oid, value) = tlv(atv, 0x06)?;
            if oid == [0x55, 0x04, 0x03] {
                let tag = *value.first()?;
                let (text, _) = tlv(value, tag)?;
                return match tag {
                    0x0c | 0x13 | 0x16 | 0x14 => String::from_utf8(text.to_vec()).ok(),
                    _ => None,
                };
            }
        }
    }
    None
}

/// Reads one DER TLV with tag `tag` at the start of `input`: (content, rest).
fn tlv(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    if *input.first()? != tag {
        return None;
    }
    let first = *input.get(1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some((&input[header..end], &input[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_name_of_generated_certificates() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "tsn-cp");
        params.distinguished_name.push(rcgen::DnType::CommonName, "cuc-7.example");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        assert_eq!(subject_common_name(cert.der()).as_deref(), Some("cuc-7.example"));
        assert_eq!(subject_common_name(&cert.der()[..40]), None);
    }

    #[test]
    fn basic_credentials() {
        let v = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("lab:p:w"));
        assert_eq!(parse_basic(&v), Some(("lab".into(), "p:w".into())));
        assert_eq!(parse_basic("Bearer x"), None);
        assert_eq!(parse_basic("Basic !!"), None);
    }

    proptest! {
        #[test]
        fn der_walker_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = subject_common_name(&bytes);
        }
    }
}
