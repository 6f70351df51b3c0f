//! The cnc-config operations: `compute_streams`, `compute_planned_and_modified_streams`,
//! `compute_all_streams`, `request_domain_id`, `request_free_stream_id` and the
//! `remove_streams` action. Compute and remove requests are written with their outbox row
//! in one transaction; the outbox publisher sends them.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use prost::Message as _;
use serde_json::{json, Value};
use sqlx::{Any, Transaction};
use tsn_pipeline::v1;

use crate::app::App;
use crate::auth::Principal;
use crate::convert;
use crate::doc::{MODULE, TOP};
use crate::error::{ErrorTag, ErrorType, GatewayError, RestconfError};
use crate::path::Target;
use crate::store::{RequestRow, Scope, StreamRow};

fn output(result: impl Into<String>) -> Value {
    json!({ format!("{MODULE}:output"): {"result": result.into()} })
}

fn list<'a>(v: &'a Value, name: &str) -> impl Iterator<Item = &'a Value> {
    v.get(name).and_then(Value::as_array).into_iter().flatten()
}

fn text<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v.get(name).and_then(Value::as_str)
}

/// Runs RPC `name` with its (validated) input; `Some(output)` or `None` for no output.
pub async fn rpc(app: &App, principal: &Principal, name: &str, input: &Value) -> Result<Option<Value>, RestconfError> {
    match name {
        "compute_streams" | "compute_planned_and_modified_streams" | "compute_all_streams" => {
            compute(app, principal, name, input).await.map(Some)
        }
        "request_domain_id" => {
            let cuc = text(input, "cuc-id").ok_or_else(|| missing("cuc-id"))?;
            principal.check(cuc)?;
            let domains = app.store.domains_of_cuc(cuc).await?;
            let d = domains.first().ok_or_else(|| {
                RestconfError::new(
                    ErrorType::Application,
                    ErrorTag::InvalidValue,
                    format!("CUC {cuc:?} is in no domain"),
                )
                .path(format!("/{MODULE}:request_domain_id/cuc-id"))
            })?;
            Ok(Some(output(d.clone())))
        }
        "request_free_stream_id" => {
            let domain = text(input, "domain-id").ok_or_else(|| missing("domain-id"))?;
            let cuc = text(input, "cuc-id").ok_or_else(|| missing("cuc-id"))?;
            principal.check(cuc)?;
            free_stream_id(app, domain, cuc).await.map(|id| Some(output(id)))
        }
        other => Err(RestconfError::new(
            ErrorType::Protocol,
            ErrorTag::OperationNotSupported,
            format!("operation {other:?} is not supported"),
        )
        .status(axum::http::StatusCode::NOT_IMPLEMENTED)),
    }
}

fn missing(leaf: &str) -> RestconfError {
    RestconfError::new(ErrorType::Application, ErrorTag::MissingElement, format!("the input needs {leaf}"))
}

/// A locally administered MAC for the stream ids handed out to (domain, CUC).
fn cuc_mac(domain: &str, cuc: &str) -> String {
    let mut h = DefaultHasher::new();
    (domain, cuc).hash(&mut h);
    let b = h.finish().to_be_bytes();
    format!("02-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}", b[0], b[1], b[2], b[3], b[4])
}

async fn free_stream_id(app: &App, domain: &str, cuc: &str) -> Result<String, RestconfError> {
    let mac = cuc_mac(domain, cuc);
    let _guard = app.store.write_lock.lock().await;
    let mut tx = app.store.begin(true).await?;
    let used: Vec<String> =
        app.store.used_stream_ids(&mut tx, domain).await?.into_iter().map(|s| s.to_ascii_uppercase()).collect();
    let id = (1u32..=0xffff)
        .map(|n| format!("{mac}:{:02X}-{:02X}", n >> 8, n & 0xff))
        .find(|id| !used.contains(id))
        .ok_or_else(|| {
            RestconfError::new(ErrorType::Application, ErrorTag::OperationFailed, "no free stream id left for this CUC")
        })?;
    app.store.reserve_stream_id(&mut tx, domain, &id, cuc).await?;
    tx.commit().await?;
    Ok(id)
}

async fn compute(app: &App, principal: &Principal, name: &str, input: &Value) -> Result<Value, RestconfError> {
    // (domain, cuc, Some(stream ids) | None = by status)
    let mut wanted: Vec<(String, String, Option<Vec<String>>)> = Vec::new();
    for d in list(input, "domain") {
        let domain = text(d, "domain-id").unwrap_or_default().to_owned();
        for c in list(d, "cuc") {
            let cuc = text(c, "cuc-id").unwrap_or_default().to_owned();
            principal.check(&cuc)?;
            let ids = (name == "compute_streams")
                .then(|| list(c, "stream-list").filter_map(|s| text(s, "stream-id").map(str::to_owned)).collect());
            wanted.push((domain.clone(), cuc, ids));
        }
    }
    // Writers take the process-wide lock: SQLite cannot upgrade a read transaction to a
    // write one while another writer is active (SQLITE_BUSY without waiting).
    let _guard = app.store.write_lock.lock().await;
    let mut tx = app.store.begin(true).await?;
    let mut started = Vec::new();
    for (domain, cuc, ids) in wanted {
        let scope = Scope { domain: Some(domain.clone()), cuc: Some(cuc.clone()), stream: None };
        let snap = app.store.load(&mut tx, &scope).await?;
        if !snap.cucs.iter().any(|(d, c)| *d == domain && *c == cuc) {
            return Err(RestconfError::new(
                ErrorType::Application,
                ErrorTag::InvalidValue,
                format!("CUC {cuc:?} does not exist in domain {domain:?}"),
            )
            .app_tag("instance-required")
            .path(format!("/{MODULE}:{name}/domain[domain-id='{domain}']/cuc[cuc-id='{cuc}']/cuc-id")));
        }
        let rows: Vec<&StreamRow> = match &ids {
            Some(ids) => {
                let mut rows = Vec::new();
                for id in ids {
                    let row = snap.streams.iter().find(|s| &s.stream_id == id).ok_or_else(|| {
                        RestconfError::new(ErrorType::Application, ErrorTag::InvalidValue, format!("stream {id:?} does not exist in CUC {cuc:?}"))
                            .app_tag("instance-required")
                            .path(format!(
                                "/{MODULE}:{name}/domain[domain-id='{domain}']/cuc[cuc-id='{cuc}']/stream-list[stream-id='{id}']/stream-id"
                            ))
                    })?;
                    rows.push(row);
                }
                rows
            }
            None if name == "compute_planned_and_modified_streams" => {
                snap.streams.iter().filter(|s| s.stream_status == "planned" || s.stream_status == "modified").collect()
            }
            None => snap.streams.iter().collect(),
        };
        if rows.is_empty() {
            continue;
        }
        let mut streams = Vec::new();
        for r in &rows {
            let path =
                format!("/{TOP}/domain[domain-id='{domain}']/cuc[cuc-id='{cuc}']/stream[stream-id='{}']", r.stream_id);
            streams.push(convert::stream_request(&path, &r.config)?);
        }
        let request =
            v1::ComputeRequest { domain_id: domain.clone(), cuc_id: cuc.clone(), streams, remove: Vec::new() };
        let row = RequestRow {
            request_id: uuid::Uuid::new_v4().to_string(),
            kind: "compute".into(),
            domain_id: domain.clone(),
            cuc_id: cuc.clone(),
            streams: rows.iter().map(|r| r.stream_id.clone()).collect(),
        };
        app.store.add_request(&mut tx, &row, tsn_pipeline::COMPUTE_REQUESTED, &request.encode_to_vec()).await?;
        tracing::info!(request_id = %row.request_id, domain = %domain, cuc = %cuc, streams = rows.len(), "compute request created");
        started.push(format!("request {} for {} stream(s) of {domain}/{cuc}", row.request_id, rows.len()));
    }
    tx.commit().await?;
    if started.is_empty() {
        return Ok(output("nothing to compute"));
    }
    app.metrics.compute_requests.fetch_add(started.len() as u64, std::sync::atomic::Ordering::Relaxed);
    app.outbox_wake.notify_one();
    Ok(output(format!("computation started: {}", started.join("; "))))
}

/// Writes a removal request for `ids` of (domain, CUC) with its outbox row, in `tx`.
pub async fn enqueue_remove(
    app: &App,
    tx: &mut Transaction<'static, Any>,
    domain: &str,
    cuc: &str,
    ids: Vec<String>,
) -> Result<String, GatewayError> {
    let request =
        v1::ComputeRequest { domain_id: domain.into(), cuc_id: cuc.into(), streams: Vec::new(), remove: ids.clone() };
    let row = RequestRow {
        request_id: uuid::Uuid::new_v4().to_string(),
        kind: "remove".into(),
        domain_id: domain.into(),
        cuc_id: cuc.into(),
        streams: ids,
    };
    app.store.add_request(tx, &row, tsn_pipeline::COMPUTE_REQUESTED, &request.encode_to_vec()).await?;
    app.metrics.inc(&app.metrics.compute_requests);
    tracing::info!(request_id = %row.request_id, domain, cuc, streams = row.streams.len(), "remove request created");
    Ok(row.request_id)
}

/// Runs action `name` on `target` with its (validated) input.
pub async fn action(
    app: &App,
    principal: &Principal,
    target: &Target,
    name: &str,
    input: &Value,
) -> Result<Value, RestconfError> {
    if name != "remove_streams" {
        return Err(RestconfError::new(
            ErrorType::Protocol,
            ErrorTag::OperationNotSupported,
            format!("action {name:?} is not supported"),
        ));
    }
    let domain = target.key_of("domain").unwrap_or_default().to_owned();
    let cuc = target.key_of("cuc").unwrap_or_default().to_owned();
    principal.check(&cuc)?;
    let ids: Vec<String> = list(input, "stream-list").filter_map(|s| text(s, "stream-id").map(str::to_owned)).collect();
    if ids.is_empty() {
        return Ok(output("nothing to remove"));
    }
    let _guard = app.store.write_lock.lock().await;
    let mut tx = app.store.begin(true).await?;
    let snap =
        app.store.load(&mut tx, &Scope { domain: Some(domain.clone()), cuc: Some(cuc.clone()), stream: None }).await?;
    for id in &ids {
        if !snap.streams.iter().any(|s| &s.stream_id == id) {
            return Err(RestconfError::new(
                ErrorType::Application,
                ErrorTag::InvalidValue,
                format!("stream {id:?} does not exist in CUC {cuc:?}"),
            )
            .app_tag("instance-required")
            .path(format!("{}/input/stream-list[stream-id='{id}']/stream-id", target.xpath())));
        }
    }
    let request_id = enqueue_remove(app, &mut tx, &domain, &cuc, ids.clone()).await?;
    tx.commit().await?;
    app.outbox_wake.notify_one();
    Ok(output(format!("removal started: request {request_id} for {} stream(s)", ids.len())))
}
