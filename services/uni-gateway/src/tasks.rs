//! The gateway's background tasks.
//!
//! ```text
//!  handlers ──(request + outbox row, one transaction)──▶ store
//!      │ wake                                              │ unpublished rows
//!      ▼                                                   ▼
//!  outbox publisher ──publish (confirmed), mark published──▶ bus: compute.requested
//!                                                          │
//!  bus: schedule.failed / deploy.completed ──▶ queue "uni-gateway.results"
//!      ▼
//!  results consumer ──(claim request, status, notifications; one transaction)──▶ store
//!      └──▶ hub ──▶ SSE clients
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tsn_bus::{ConsumerOptions, Message};
use tsn_pipeline::v1;

use crate::app::App;
use crate::convert;
use crate::doc::MODULE;
use crate::error::GatewayError;
use crate::store::{now_ms, NotificationRow};

/// Durable queue of outcomes for the gateway.
pub const RESULTS_QUEUE: &str = "uni-gateway.results";

/// Publishes outbox rows until `shutdown`; woken by handlers, and polls as a fallback.
pub async fn outbox_publisher(app: Arc<App>, shutdown: CancellationToken) {
    let poll = Duration::from_millis(app.config.outbox_poll_ms.max(10));
    let mut backoff = Duration::from_millis(100);
    loop {
        match publish_pending(&app).await {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(e) => {
                e.log("outbox publisher");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = app.outbox_wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

async fn publish_pending(app: &App) -> Result<(), GatewayError> {
    loop {
        let rows = app.store.unpublished(100).await?;
        if rows.is_empty() {
            return Ok(());
        }
        for row in rows {
            let message = Message::new(row.topic.clone(), row.request_id.clone(), 0, row.body);
            app.bus.publish(&row.topic, &message).await?;
            {
                // Every write of this process goes under the lock (see `ops::compute`).
                let _guard = app.store.write_lock.lock().await;
                app.store.mark_published(row.id).await?;
            }
            app.metrics.inc(&app.metrics.outbox_published);
            tracing::debug!(request_id = %row.request_id, topic = %row.topic, "published");
        }
    }
}

/// Declares and binds the results queue and consumes it.
pub async fn subscribe_results(bus: &dyn tsn_bus::Bus) -> Result<tsn_bus::Subscription, tsn_bus::BusError> {
    bus.subscribe(
        RESULTS_QUEUE,
        &[tsn_pipeline::SCHEDULE_FAILED, tsn_pipeline::DEPLOY_COMPLETED],
        ConsumerOptions::default(),
    )
    .await
}

/// Subscribes with `subscribe` until it succeeds, sleeping `backoff` after each failure
/// (doubled each time, up to `max`); None when `shutdown` comes first.
pub(crate) async fn subscribe_retrying<F, Fut>(
    what: &str,
    backoff: &mut Duration,
    max: Duration,
    shutdown: &CancellationToken,
    mut subscribe: F,
) -> Option<tsn_bus::Subscription>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tsn_bus::Subscription, tsn_bus::BusError>>,
{
    loop {
        match subscribe().await {
            Ok(s) => return Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "cannot subscribe to {what}; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(*backoff) => {}
                }
                *backoff = (*backoff * 2).min(max);
            }
        }
    }
}

/// Consumes outcomes until `shutdown` (subscribing first when `sub` is None).
pub async fn results_consumer(app: Arc<App>, sub: Option<tsn_bus::Subscription>, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    let mut sub = match sub {
        Some(s) => s,
        None => {
            let subscribe = || subscribe_results(app.bus.as_ref());
            match subscribe_retrying("outcomes", &mut backoff, Duration::from_secs(10), &shutdown, subscribe).await {
                Some(s) => s,
                None => return,
            }
        }
    };
    loop {
        let delivery = tokio::select! {
            _ = shutdown.cancelled() => return,
            d = sub.next() => d,
        };
        let delivery = match delivery {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "outcome subscription failed");
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        let message = delivery.message().clone();
        let outcome: v1::RequestOutcome = match tsn_pipeline::decode(&message.kind, &message) {
            Ok(o)
                if message.kind == tsn_pipeline::SCHEDULE_FAILED || message.kind == tsn_pipeline::DEPLOY_COMPLETED =>
            {
                o
            }
            Ok(_) | Err(_) => {
                tracing::warn!(kind = %message.kind, request_id = %message.request_id, "malformed outcome; dead-lettered");
                let _ = delivery.nack(false).await;
                continue;
            }
        };
        match apply_outcome(&app, &message.request_id, &message.kind, &outcome).await {
            Ok(rows) => {
                let _ = delivery.ack().await;
                for row in rows {
                    app.hub.publish(row);
                }
            }
            Err(e) => {
                e.log("applying an outcome");
                let _ = delivery.nack(true).await;
            }
        }
    }
}

fn notification(name: &str, domain: &str, cuc: &str, streams: &[(String, u32)]) -> String {
    let streams: Vec<_> = streams.iter().map(|(id, code)| json!({"stream-id": id, "failure-code": code})).collect();
    json!({ format!("{MODULE}:{name}"): {"domain": [{"domain-id": domain, "cuc": [{"cuc-id": cuc, "stream": streams}]}]} })
        .to_string()
}

/// Applies an outcome once (a duplicate delivery of the same request id changes nothing);
/// returns the notifications it stored.
///
/// Most outcomes answer a request of this gateway's, for one CUC. The CNC also makes
/// requests of its own: after a topology change preprocess re-routes the admitted streams
/// that lost their route (`reroute-…`), across CUCs. Such an outcome updates every stream it
/// names wherever it is held, so the UNI shows the new offset, latency and status (or the
/// failure), and each CUC concerned is notified as if it had asked.
pub async fn apply_outcome(
    app: &App,
    request_id: &str,
    topic: &str,
    outcome: &v1::RequestOutcome,
) -> Result<Vec<NotificationRow>, GatewayError> {
    let _guard = app.store.write_lock.lock().await;
    let mut tx = app.store.begin(true).await?;
    let summary = format!("{topic}: {}", if outcome.deployed { "deployed" } else { "failed" });
    let req = match app.store.claim_outcome(&mut tx, request_id, &summary).await? {
        Some(req) => Some(req),
        None => {
            let ids: Vec<String> = outcome.streams.iter().map(|s| s.stream_id.clone()).collect();
            if !app.store.claim_network_outcome(&mut tx, request_id, &summary, &ids).await? {
                tracing::debug!(request_id, "outcome for an already completed request; ignored");
                tx.commit().await?;
                app.metrics.inc(&app.metrics.outcomes_duplicate);
                return Ok(Vec::new());
            }
            None
        }
    };
    let now = now_ms();
    let mut rows = Vec::new();
    let notify = |rows: &mut Vec<NotificationRow>, seq: i64, d: &str, c: &str, name: &str, body: String| {
        rows.push(NotificationRow {
            seq,
            event_ms: now,
            domain_id: d.into(),
            cuc_id: c.into(),
            name: name.into(),
            body,
        })
    };
    if let Some(req) = req.as_ref().filter(|r| r.kind == "remove") {
        let (d, c) = (req.domain_id.as_str(), req.cuc_id.as_str());
        let mut codes = Vec::new();
        for s in &outcome.streams {
            let removed = s.status == v1::StreamStatus::Removed as i32;
            if removed {
                app.store.delete_stream(&mut tx, d, c, &s.stream_id).await?;
            }
            codes.push((s.stream_id.clone(), if removed { 0 } else { 1 }));
        }
        let body = notification("remove_streams_completed", d, c, &codes);
        let seq = app.store.add_notification(&mut tx, now, d, c, "remove_streams_completed", &body).await?;
        notify(&mut rows, seq, d, c, "remove_streams_completed", body);
    } else {
        // (domain, cuc) → the streams of the outcome it holds, with their failure codes.
        let mut codes: BTreeMap<(String, String), Vec<(String, u32)>> = BTreeMap::new();
        if let Some(req) = &req {
            codes.insert((req.domain_id.clone(), req.cuc_id.clone()), Vec::new());
        }
        for s in &outcome.streams {
            if req.is_none() && s.status == v1::StreamStatus::Removed as i32 {
                continue; // the CNC removes no stream of its own accord
            }
            let code = if s.status == v1::StreamStatus::Ready as i32 { 0 } else { s.failure_code.clamp(1, 255) };
            let held = match &req {
                Some(req) => {
                    let key = (req.domain_id.clone(), req.cuc_id.clone());
                    codes.entry(key).or_default().push((s.stream_id.clone(), code));
                    app.store.stream(&mut tx, &req.domain_id, &req.cuc_id, &s.stream_id).await?.into_iter().collect()
                }
                None => app.store.streams_with_id(&mut tx, &s.stream_id).await?,
            };
            for row in held {
                if req.is_none() {
                    let key = (row.domain_id.clone(), row.cuc_id.clone());
                    codes.entry(key).or_default().push((s.stream_id.clone(), code));
                }
                let (stream_status, status) = convert::status_from_outcome(&row.config, s);
                // A stream the user changed after the request keeps "modified".
                let stream_status = if row.stream_status == "modified" && stream_status == "configured" {
                    "modified".to_owned()
                } else {
                    stream_status
                };
                app.store.set_status(&mut tx, &row, &stream_status, &status).await?;
            }
        }
        for ((d, c), codes) in &codes {
            let mut names = vec!["compute_streams_completed"];
            if topic == tsn_pipeline::DEPLOY_COMPLETED {
                names.push("configure_streams_completed");
            }
            for name in names {
                let body = notification(name, d, c, codes);
                let seq = app.store.add_notification(&mut tx, now, d, c, name, &body).await?;
                notify(&mut rows, seq, d, c, name, body);
            }
        }
    }
    tx.commit().await?;
    app.metrics.inc(&app.metrics.outcomes_applied);
    tracing::info!(
        request_id,
        domain = req.as_ref().map_or("(network)", |r| r.domain_id.as_str()),
        cuc = req.as_ref().map_or("(network)", |r| r.cuc_id.as_str()),
        deployed = outcome.deployed,
        streams = outcome.streams.len(),
        "outcome applied"
    );
    Ok(rows)
}
