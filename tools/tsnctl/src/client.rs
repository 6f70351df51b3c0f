//! A small RESTCONF client (RFC 8040, `application/yang-data+json`) over plain HTTP/1.1,
//! one hyper client connection per request.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use base64::Engine as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// The media type of every request and response body.
pub const YANG_JSON: &str = "application/yang-data+json";
/// The cnc-config top-level container as a data resource.
pub const CNC_CONFIG: &str = "/restconf/data/ieee802-dot1q-cnc-config:cnc-config";

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one exchange may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A RESTCONF server at a base URL.
#[derive(Clone)]
pub struct Gateway {
    /// The base URL as the user gave it (for messages), without a trailing slash.
    url: String,
    /// `host:port`.
    authority: String,
    /// Path prefix in front of `/restconf` (usually empty).
    prefix: String,
    /// `Authorization` header value.
    authorization: Option<String>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("url", &self.url).field("auth", &self.authorization.is_some()).finish()
    }
}

/// One HTTP exchange's result.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

impl Reply {
    /// True for 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Gateway {
    /// A client of the gateway at `url` (`http://host[:port][/prefix]`), with HTTP Basic
    /// credentials when `user` is given.
    pub fn new(url: &str, user: Option<&str>, password: Option<&str>) -> Result<Gateway> {
        let trimmed = url.trim().trim_end_matches('/');
        let uri: Uri = trimmed.parse().with_context(|| format!("{url:?} is not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                bail!("{url}: tsnctl speaks plain HTTP only; use a plain-HTTP listener of the gateway, or curl for TLS")
            }
            _ => bail!("{url:?} is not an http:// URL"),
        }
        let host = uri.host().ok_or_else(|| anyhow!("{url:?} has no host"))?;
        let port = uri.port_u16().unwrap_or(80);
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let prefix = uri.path().trim_end_matches('/').to_owned();
        let authorization = user.map(|u| {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{}", password.unwrap_or("")));
            format!("Basic {token}")
        });
        Ok(Gateway { url: trimmed.to_owned(), authority, prefix, authorization })
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends `method path` with an optional JSON body; any HTTP status is a [`Reply`], only
    /// transport failures are errors (naming the URL).
    pub async fn request(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply> {
        tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(method.clone(), path, body))
            .await
            .map_err(|_| anyhow!("{method} {}{path}: no answer within {REQUEST_TIMEOUT:?}", self.url))?
    }

    async fn exchange(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply> {
        let unreachable = |e: &dyn std::fmt::Display| {
            anyhow!(
                "cannot reach the RESTCONF gateway at {}: {e} (is `tsnctl dev` or uni-gateway running there? --url or TSNCTL_URL sets the address)",
                self.url
            )
        };
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&self.authority)).await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(unreachable(&e)),
            Err(_) => return Err(unreachable(&format!("no connection within {CONNECT_TIMEOUT:?}"))),
        };
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| unreachable(&e))?;
        let conn = tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.prefix))
            .header(hyper::header::HOST, &self.authority)
            .header(hyper::header::ACCEPT, YANG_JSON);
        if let Some(a) = &self.authorization {
            req = req.header(hyper::header::AUTHORIZATION, a);
        }
        let bytes = match body {
            Some(v) => {
                req = req.header(hyper::header::CONTENT_TYPE, YANG_JSON);
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(bytes)).with_context(|| format!("building {method} {path}"))?;
        let resp = sender.send_request(req).await.map_err(|e| anyhow!("{method} {}{path}: {e}", self.url))?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| anyhow!("{method} {}{path}: reading the answer: {e}", self.url))?
            .to_bytes();
        conn.abort();
        Ok(Reply { status, body: String::from_utf8_lossy(&body).into_owned() })
    }

    /// GET `path` and parse the JSON answer; a non-2xx answer is an error
    /// ([`restconf_error`]).
    pub async fn get_json(&self, path: &str) -> Result<Value> {
        let r = self.request(Method::GET, path, None).await?;
        if !r.ok() {
            return Err(restconf_error(&Method::GET, path, &r));
        }
        serde_json::from_str(&r.body).with_context(|| format!("GET {path}: the answer is not JSON: {}", r.body))
    }

    /// Sends `method path body` and returns the answer; a non-2xx answer is an error.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply> {
        let r = self.request(method.clone(), path, body).await?;
        if !r.ok() {
            return Err(restconf_error(&method, path, &r));
        }
        Ok(r)
    }
}

/// The error of a non-2xx answer: the `ietf-restconf:errors` entries (error-tag, message,
/// path), or the status and body when the answer is not an errors document.
pub fn restconf_error(method: &Method, path: &str, r: &Reply) -> anyhow::Error {
    let errors: Vec<String> = serde_json::from_str::<Value>(&r.body)
        .ok()
        .and_then(|v| v.pointer("/ietf-restconf:errors/error").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("");
            let mut line = format!("error-tag {}: {}", s("error-tag"), s("error-message"));
            if !s("error-app-tag").is_empty() {
                line.push_str(&format!(" (error-app-tag {})", s("error-app-tag")));
            }
            if !s("error-path").is_empty() {
                line.push_str(&format!(" at {}", s("error-path")));
            }
            line
        })
        .collect();
    if errors.is_empty() {
        let body = r.body.trim();
        let body = if body.is_empty() { "(no body)" } else { body };
        anyhow!("{method} {path}: HTTP {}: {body}", r.status)
    } else {
        anyhow!("{method} {path}: the gateway answered HTTP {}: {}", r.status, errors.join("; "))
    }
}

/// Percent-encodes a list key for a RESTCONF path (RFC 8040 §3.5.3): everything but
/// RFC 3986 unreserved characters.
pub fn key(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The data resource of CUC `cuc` in domain `domain`.
pub fn cuc_path(domain: &str, cuc: &str) -> String {
    format!("{CNC_CONFIG}/domain={}/cuc={}", key(domain), key(cuc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_keys() {
        let g = Gateway::new("http://127.0.0.1:8040/", Some("lab"), Some("pw")).unwrap();
        assert_eq!(g.authority, "127.0.0.1:8040");
        assert_eq!(g.prefix, "");
        assert_eq!(g.authorization.as_deref(), Some("Basic bGFiOnB3"));
        let g = Gateway::new("http://gw.example/tsn", None, None).unwrap();
        assert_eq!((g.authority.as_str(), g.prefix.as_str()), ("gw.example:80", "/tsn"));
        assert!(Gateway::new("https://127.0.0.1", None, None).is_err());
        assert!(Gateway::new("127.0.0.1:8040", None, None).is_err());
        assert_eq!(key("02-00-00-00-00-00:00-01"), "02-00-00-00-00-00%3A00-01");
        assert_eq!(cuc_path("d 1", "c/1"), format!("{CNC_CONFIG}/domain=d%201/cuc=c%2F1"));
    }

    #[test]
    fn error_documents_are_readable() {
        let r = Reply {
            status: 400,
            body: r#"{"ietf-restconf:errors":{"error":[{"error-type":"application","error-tag":"invalid-value","error-path":"/x","error-message":"bad"}]}}"#.into(),
        };
        let e = restconf_error(&Method::POST, "/restconf/data", &r).to_string();
        assert!(e.contains("HTTP 400") && e.contains("error-tag invalid-value: bad at /x"), "{e}");
        let r = Reply { status: 502, body: String::new() };
        assert!(restconf_error(&Method::GET, "/p", &r).to_string().contains("HTTP 502: (no body)"));
    }
}
