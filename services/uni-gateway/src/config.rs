//! Typed configuration: a TOML file plus `TSN_GW_*` environment overrides, validated once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::GatewayError;

/// Configuration of the gateway (see `services/uni-gateway/README.md` for an example).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address the binary listens on (`serve` takes a bound listener instead).
    pub listen: String,
    /// Store URL: `sqlite://path?mode=rwc` (dev mode) or `postgres://user@host/db`.
    pub database_url: String,
    /// Broker URL for the binary; without it, compute requests are answered in process.
    pub amqp_url: Option<String>,
    /// Prefix of the gateway's exchanges and queues on the broker (empty in production;
    /// the same setting as the other services' `bus.namespace`, so that tests can run a
    /// whole deployment in a namespace of its own).
    pub amqp_namespace: String,
    /// When set, the gateway's broker queues expire after this many seconds unused (tests).
    pub amqp_queue_expiry_secs: Option<u64>,
    /// Topology (tsn-model JSON) for the in-process backend (`bus = None`); the visualizer
    /// also draws it until the pipeline reports a topology or a deployed schedule.
    pub topology_file: Option<PathBuf>,
    /// TLS; without it the gateway speaks plain HTTP (HTTP/1.1 and h2c).
    pub tls: Option<TlsConfig>,
    /// Who may do what.
    pub auth: AuthConfig,
    /// Largest request body accepted, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Time limit of one in-process scheduling run, in milliseconds.
    pub solve_time_limit_ms: u64,
    /// How often the outbox publisher looks for unpublished rows even without a wake-up.
    pub outbox_poll_ms: u64,
    /// Validate every data document the gateway returns with libyang before sending it.
    pub validate_responses: bool,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://uni-gateway.db?mode=rwc".into(),
            amqp_url: None,
            amqp_namespace: String::new(),
            amqp_queue_expiry_secs: None,
            topology_file: None,
            tls: None,
            auth: AuthConfig::default(),
            max_body_bytes: 1024 * 1024,
            solve_time_limit_ms: 10_000,
            outbox_poll_ms: 1000,
            validate_responses: false,
        }
    }
}

/// TLS settings (rustls, HTTP/2 and HTTP/1.1 by ALPN).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Server certificate chain (PEM).
    pub cert: PathBuf,
    /// Server private key (PEM, PKCS#8, SEC1 or PKCS#1).
    pub key: PathBuf,
    /// CA certificates (PEM) that sign client certificates; enables client-certificate
    /// authentication.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Refuse the TLS handshake without a valid client certificate (needs `client_ca`).
    #[serde(default)]
    pub require_client_cert: bool,
}

/// Authentication and authorization.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Requests without any identity act as the identity `anonymous`; when false they get
    /// 401. Default true only for the lab (no users, no client CA).
    pub allow_anonymous: bool,
    /// HTTP Basic users (lab set-ups; prefer client certificates).
    pub basic_users: Vec<BasicUser>,
    /// Identity → CUC ids it may read and write (`"*"` = every CUC, and domain-level
    /// changes). An identity is a Basic user name or a client certificate's subject common
    /// name; `anonymous` names unauthenticated requests.
    pub identities: BTreeMap<String, Vec<String>>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            allow_anonymous: true,
            basic_users: Vec::new(),
            identities: BTreeMap::from([("anonymous".to_owned(), vec!["*".to_owned()])]),
        }
    }
}

/// One HTTP Basic user.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BasicUser {
    /// User name (the identity).
    pub name: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for BasicUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicUser").field("name", &self.name).field("password", &"***").finish()
    }
}

impl GatewayConfig {
    /// Reads `path` (TOML; defaults when None) and applies `TSN_GW_*` overrides from the
    /// process environment.
    pub fn load(path: Option<&Path>) -> Result<Self, GatewayError> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| GatewayError::Config(format!("cannot read {}: {e}", p.display())))?;
                Self::from_toml(&text).map_err(|e| GatewayError::Config(format!("{}: {e}", p.display())))?
            }
            None => GatewayConfig::default(),
        };
        config.apply_env(std::env::vars())?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, GatewayError> {
        toml::from_str(text).map_err(|e| GatewayError::Config(e.to_string()))
    }

    /// Applies `TSN_GW_LISTEN`, `TSN_GW_DATABASE_URL`, `TSN_GW_AMQP_URL`,
    /// `TSN_GW_AMQP_NAMESPACE`, `TSN_GW_AMQP_QUEUE_EXPIRY_SECS`,
    /// `TSN_GW_TOPOLOGY_FILE`, `TSN_GW_TLS_CERT`, `TSN_GW_TLS_KEY`, `TSN_GW_TLS_CLIENT_CA`,
    /// `TSN_GW_TLS_REQUIRE_CLIENT_CERT`, `TSN_GW_MAX_BODY_BYTES`, `TSN_GW_ALLOW_ANONYMOUS`.
    pub fn apply_env(&mut self, vars: impl IntoIterator<Item = (String, String)>) -> Result<(), GatewayError> {
        let bad = |k: &str, v: &str| GatewayError::Config(format!("{k}={v:?} is not valid"));
        let mut tls_cert = None;
        let mut tls_key = None;
        for (k, v) in vars {
            match k.as_str() {
                "TSN_GW_LISTEN" => self.listen = v,
                "TSN_GW_DATABASE_URL" => self.database_url = v,
                "TSN_GW_AMQP_URL" => self.amqp_url = Some(v).filter(|s| !s.is_empty()),
                "TSN_GW_AMQP_NAMESPACE" => self.amqp_namespace = v,
                "TSN_GW_AMQP_QUEUE_EXPIRY_SECS" => {
                    self.amqp_queue_expiry_secs = Some(v.parse().map_err(|_| bad(&k, &v))?);
                }
                "TSN_GW_TOPOLOGY_FILE" => self.topology_file = Some(PathBuf::from(v)),
                "TSN_GW_TLS_CERT" => tls_cert = Some(PathBuf::from(v)),
                "TSN_GW_TLS_KEY" => tls_key = Some(PathBuf::from(v)),
                "TSN_GW_TLS_CLIENT_CA" => {
                    self.tls.as_mut().ok_or_else(|| bad(&k, &v))?.client_ca = Some(PathBuf::from(&v));
                }
                "TSN_GW_TLS_REQUIRE_CLIENT_CERT" => {
                    let on = v.parse::<bool>().map_err(|_| bad(&k, &v))?;
                    self.tls.as_mut().ok_or_else(|| bad(&k, &v))?.require_client_cert = on;
                }
                "TSN_GW_MAX_BODY_BYTES" => self.max_body_bytes = v.parse().map_err(|_| bad(&k, &v))?,
                "TSN_GW_ALLOW_ANONYMOUS" => self.auth.allow_anonymous = v.parse().map_err(|_| bad(&k, &v))?,
                other if other.starts_with("TSN_GW_") && other != "TSN_GW_LOG" && other != "TSN_GW_CONFIG" => {
                    return Err(GatewayError::Config(format!("unknown environment variable {other}")));
                }
                _ => {}
            }
        }
        match (tls_cert, tls_key) {
            (Some(cert), Some(key)) => {
                let old = self.tls.take();
                self.tls = Some(TlsConfig {
                    cert,
                    key,
                    client_ca: old.as_ref().and_then(|t| t.client_ca.clone()),
                    require_client_cert: old.is_some_and(|t| t.require_client_cert),
                });
            }
            (None, None) => {}
            _ => return Err(GatewayError::Config("TSN_GW_TLS_CERT and TSN_GW_TLS_KEY go together".into())),
        }
        Ok(())
    }

    /// Checks the configuration as a whole.
    pub fn validate(&self) -> Result<(), GatewayError> {
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres")) {
            return Err(GatewayError::Config(format!(
                "database_url {:?} must start with sqlite: or postgres://",
                self.database_url
            )));
        }
        if self.max_body_bytes == 0 {
            return Err(GatewayError::Config("max_body_bytes must be positive".into()));
        }
        if let Some(tls) = &self.tls {
            if tls.require_client_cert && tls.client_ca.is_none() {
                return Err(GatewayError::Config("tls.require_client_cert needs tls.client_ca".into()));
            }
        }
        for u in &self.auth.basic_users {
            if u.name.is_empty() || u.name.contains(':') {
                return Err(GatewayError::Config(format!("basic user name {:?} is empty or contains ':'", u.name)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_environment() {
        let mut c = GatewayConfig::from_toml(
            r#"
            database_url = "postgres://postgres@127.0.0.1/gw"
            max_body_bytes = 4096
            [tls]
            cert = "/c.pem"
            key = "/k.pem"
            client_ca = "/ca.pem"
            require_client_cert = true
            [auth]
            allow_anonymous = false
            basic_users = [{ name = "lab", password = "pw" }]
            identities = { lab = ["cuc-1"], "cuc-2.example" = ["cuc-2"], admin = ["*"] }
            "#,
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.auth.identities["lab"], vec!["cuc-1"]);
        c.apply_env([("TSN_GW_MAX_BODY_BYTES".to_string(), "10".to_string())]).unwrap();
        assert_eq!(c.max_body_bytes, 10);
        assert!(c.apply_env([("TSN_GW_NOPE".to_string(), "1".to_string())]).is_err());
        assert!(GatewayConfig::from_toml("nope = 1").is_err());
        assert!(format!("{:?}", c.auth.basic_users[0]).contains("***"));
    }
}
