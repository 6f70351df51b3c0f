//! Media types of RFC 8040 §5.2: `application/yang-data+json` and `application/yang-data+xml`,
//! chosen from `Accept` (406 when none fits) and checked on `Content-Type` (415).

use axum::http::{HeaderMap, StatusCode};

use crate::error::{ErrorTag, ErrorType, RestconfError};

/// A YANG data encoding the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Media {
    /// `application/yang-data+json` (RFC 7951).
    Json,
    /// `application/yang-data+xml`.
    Xml,
}

impl Media {
    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Media::Json => "application/yang-data+json",
            Media::Xml => "application/yang-data+xml",
        }
    }

    /// The libyang encoding.
    pub fn encoding(self) -> tsn_yang::Encoding {
        match self {
            Media::Json => tsn_yang::Encoding::Json,
            Media::Xml => tsn_yang::Encoding::Xml,
        }
    }
}

fn essence(v: &str) -> String {
    v.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// The response media type for `Accept` (JSON when absent or `*/*`).
pub fn negotiate(headers: &HeaderMap) -> Result<Media, RestconfError> {
    let Some(accept) = headers.get("accept") else { return Ok(Media::Json) };
    let Ok(accept) = accept.to_str() else {
        return Err(not_acceptable("the Accept header is not ASCII"));
    };
    let mut best: Option<(f32, Media)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let ty = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q=").map(|q| q.trim().parse::<f32>().unwrap_or(0.0)))
            .next()
            .unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        let media = match ty.as_str() {
            "application/yang-data+json" | "application/json" | "application/*" | "*/*" => Media::Json,
            "application/yang-data+xml" | "application/xml" => Media::Xml,
            // An SSE client asks for text/event-stream only on the stream resource; errors
            // elsewhere are JSON.
            _ => continue,
        };
        if best.map(|(bq, _)| q > bq).unwrap_or(true) {
            best = Some((q, media));
        }
    }
    best.map(|(_, m)| m).ok_or_else(|| not_acceptable(&format!("none of the media types in Accept ({accept}) is available; use application/yang-data+json or application/yang-data+xml")))
}

fn not_acceptable(msg: &str) -> RestconfError {
    RestconfError::new(ErrorType::Protocol, ErrorTag::InvalidValue, msg).status(StatusCode::NOT_ACCEPTABLE)
}

/// The media type of a request body from `Content-Type`; 415 for anything else.
pub fn body_media(headers: &HeaderMap) -> Result<Media, RestconfError> {
    let Some(ct) = headers.get("content-type") else {
        return Err(unsupported(
            "a request body needs Content-Type application/yang-data+json or application/yang-data+xml",
        ));
    };
    let ct = essence(ct.to_str().unwrap_or(""));
    match ct.as_str() {
        "application/yang-data+json" | "application/json" => Ok(Media::Json),
        "application/yang-data+xml" | "application/xml" => Ok(Media::Xml),
        other => Err(unsupported(&format!(
            "unsupported media type {other:?}; use application/yang-data+json or application/yang-data+xml"
        ))),
    }
}

fn unsupported(msg: &str) -> RestconfError {
    RestconfError::new(ErrorType::Protocol, ErrorTag::InvalidValue, msg).status(StatusCode::UNSUPPORTED_MEDIA_TYPE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &'static str, v: &'static str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(name, v.parse().unwrap());
        m
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()).unwrap(), Media::Json);
        assert_eq!(negotiate(&h("accept", "application/yang-data+xml")).unwrap(), Media::Xml);
        assert_eq!(
            negotiate(&h("accept", "application/yang-data+xml;q=0.5, application/yang-data+json")).unwrap(),
            Media::Json
        );
        assert_eq!(negotiate(&h("accept", "text/html")).unwrap_err().status, StatusCode::NOT_ACCEPTABLE);
        assert_eq!(
            body_media(&h("content-type", "text/plain")).unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(body_media(&h("content-type", "application/yang-data+json; charset=utf-8")).unwrap(), Media::Json);
    }
}
