//! A tiny HTTP/1.1 endpoint: `GET /healthz` answers 200 with a one-line JSON status once the
//! core answers; anything else is 404. One request per connection.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::debug;

use crate::core::{CoreHandle, Msg};

/// Largest request head read.
const MAX_HEAD: usize = 8192;

/// What the first line of a request asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz` (or HEAD).
    Health,
    /// Anything else that parses.
    NotFound,
    /// Not an HTTP request line.
    BadRequest,
}

/// Parses the request line of an HTTP/1.x request head (untrusted input).
pub fn route(head: &[u8]) -> Route {
    let line_end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else { return Route::BadRequest };
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::BadRequest;
    }
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/healthz") => Route::Health,
        _ => Route::NotFound,
    }
}

/// Serves `/healthz` on `listener` forever.
pub async fn serve(listener: TcpListener, core: CoreHandle, dry_run: bool) {
    loop {
        let Ok((conn, _)) = listener.accept().await else { continue };
        let core = core.clone();
        tokio::spawn(async move {
            if let Err(e) = tokio::time::timeout(Duration::from_secs(5), answer(conn, core, dry_run)).await {
                debug!(error = %e, "healthz: request timed out");
            }
        });
    }
}

async fn answer(mut conn: TcpStream, core: CoreHandle, dry_run: bool) {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let (status, body) = match route(&head) {
        Route::Health => match core.ask(Msg::State).await {
            Ok(s) => (
                "200 OK",
                format!(
                    "{{\"status\":\"ok\",\"node\":{:?},\"generation\":{},\"dry_run\":{dry_run}}}\n",
                    s.node, s.generation
                ),
            ),
            Err(e) => {
                ("503 Service Unavailable", format!("{{\"status\":\"unavailable\",\"reason\":{:?}}}\n", e.message()))
            }
        },
        Route::NotFound => ("404 Not Found", "{\"status\":\"not found\"}\n".to_string()),
        Route::BadRequest => ("400 Bad Request", "{\"status\":\"bad request\"}\n".to_string()),
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(resp.as_bytes()).await;
    let _ = conn.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn routes() {
        assert_eq!(route(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"), Route::Health);
        assert_eq!(route(b"GET /healthz?x=1 HTTP/1.0\r\n\r\n"), Route::Health);
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"POST /healthz HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"hello"), Route::BadRequest);
        assert_eq!(route(b""), Route::BadRequest);
        assert_eq!(route(b"GET /healthz SPDY/3\r\n"), Route::BadRequest);
    }

    proptest! {
        #[test]
        fn arbitrary_heads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = route(&bytes);
        }
    }
}
