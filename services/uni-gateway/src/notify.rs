//! Notifications: the stored log, live fan-out, and the RFC 8040 §6 event stream (SSE).

use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::auth::Principal;
use crate::store::{NotificationRow, Store};

/// The name of the event stream (RFC 5277 default stream).
pub const STREAM_NAME: &str = "NETCONF";

/// Live fan-out of notifications after they are stored.
#[derive(Debug, Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<NotificationRow>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub { tx: broadcast::channel(1024).0 }
    }
}

impl Hub {
    /// Sends a stored notification to every connected client.
    pub fn publish(&self, row: NotificationRow) {
        let _ = self.tx.send(Arc::new(row));
    }

    /// A receiver of live notifications.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<NotificationRow>> {
        self.tx.subscribe()
    }

    /// Number of connected clients.
    pub fn clients(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// RFC 3339 UTC time of `ms` since the epoch, e.g. `2024-01-31T12:00:00.123Z`.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (H. Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parses an RFC 3339 date-time (`start-time`) into ms since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return None;
        }
        millis = format!("{:0<3}", &digits[..digits.len().min(3)]).parse::<i64>().ok()?;
        rest = &frac[digits.len()..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (o[1..3].parse::<i64>().ok()? * 60 + o[4..6].parse::<i64>().ok()?)
        }
        _ => return None,
    };
    // Days from civil (H. Hinnant).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = if mo > 2 { mo - 3 } else { mo + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + mi * 60 + se) - offset_min * 60) * 1000 + millis)
}

/// The SSE `data:` of a stored notification (RFC 8040 §6.4, JSON encoding).
pub fn event_json(row: &NotificationRow) -> String {
    let mut inner = serde_json::Map::new();
    inner.insert("eventTime".into(), Value::String(rfc3339(row.event_ms)));
    if let Ok(Value::Object(body)) = serde_json::from_str::<Value>(&row.body) {
        for (k, v) in body {
            inner.insert(k, v);
        }
    }
    serde_json::json!({"ietf-restconf:notification": inner}).to_string()
}

/// The event stream for `principal`: stored notifications after `last_event_id` and at or
/// after `start_ms` first (when either is given), then live ones, until `shutdown`.
pub fn event_stream(
    store: Arc<Store>,
    hub: Hub,
    principal: Principal,
    last_event_id: Option<i64>,
    start_ms: Option<i64>,
    shutdown: CancellationToken,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut rx = hub.subscribe();
    let replay = last_event_id.is_some() || start_ms.is_some();
    let stream = async_stream(move |tx| async move {
        let mut last = last_event_id.unwrap_or(0);
        if replay {
            match store.notifications_after(last, start_ms.unwrap_or(0), 10_000).await {
                Ok(rows) => {
                    for row in rows {
                        last = last.max(row.seq);
                        if principal.may(&row.cuc_id) && tx.send(to_event(&row)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => e.log("notification replay"),
            }
        }
        loop {
            let row = tokio::select! {
                _ = shutdown.cancelled() => return,
                r = rx.recv() => r,
            };
            match row {
                Ok(row) => {
                    if row.seq <= last {
                        continue;
                    }
                    last = row.seq;
                    if principal.may(&row.cuc_id) && tx.send(to_event(&row)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Catch up from the log rather than lose notifications.
                    if let Ok(rows) = store.notifications_after(last, 0, 10_000).await {
                        for row in rows {
                            last = last.max(row.seq);
                            if principal.may(&row.cuc_id) && tx.send(to_event(&row)).await.is_err() {
                                return;
                            }
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

fn to_event(row: &NotificationRow) -> Result<Event, Infallible> {
    Ok(Event::default().id(row.seq.to_string()).data(event_json(row)))
}

/// A stream fed by a producer task through a small channel (ends when the task ends).
fn async_stream<F, Fut>(producer: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Event, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(producer(tx));
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_706_702_400_123), "2024-01-31T12:00:00.123Z");
        assert_eq!(parse_rfc3339("2024-01-31T12:00:00.123Z"), Some(1_706_702_400_123));
        assert_eq!(parse_rfc3339("2024-01-31T13:00:00+01:00"), Some(1_706_702_400_000));
        assert_eq!(parse_rfc3339("2024-13-31T13:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(ms in 0i64..4_102_444_800_000) {
            prop_assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,40}") {
            let _ = parse_rfc3339(&s);
        }
    }
}
