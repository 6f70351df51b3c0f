//! The gateway's tables (sqlx `Any`: SQLite in dev mode, PostgreSQL in deployment).
//!
//! | table           | what                                                                |
//! |-----------------|---------------------------------------------------------------------|
//! | `domains`       | one row per configuration domain, its own leaves as JSON            |
//! | `cucs`          | one row per (domain, CUC)                                           |
//! | `streams`       | one row per stream: the config subtree the client wrote (JSON), the config-false status from pipeline outcomes (JSON), `stream_status` |
//! | `requests`      | compute/remove requests and, once known, their outcome              |
//! | `outbox`        | bus messages written with their request, published by a task       |
//! | `notifications` | the notification log replayed to SSE clients                        |
//! | `stream_ids`    | stream ids handed out by `request_free_stream_id`                   |
//! | `meta`          | schema version and the datastore's last change                      |
//! | `deployed`      | the schedule the network runs, as the visualizer shows it (JSON)    |

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};

use crate::error::GatewayError;

/// The SQL dialect behind the `Any` pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (dev mode).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

const SCHEMA_VERSION: &str = "1";

fn ddl(d: Dialect) -> Vec<String> {
    let (autoinc, blob) = match d {
        Dialect::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
        Dialect::Postgres => ("BIGSERIAL PRIMARY KEY", "BYTEA"),
    };
    vec![
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)".into(),
        "CREATE TABLE IF NOT EXISTS domains (domain_id TEXT PRIMARY KEY, config TEXT NOT NULL, modified_ms BIGINT NOT NULL)"
            .into(),
        "CREATE TABLE IF NOT EXISTS cucs (domain_id TEXT NOT NULL, cuc_id TEXT NOT NULL, modified_ms BIGINT NOT NULL, \
         PRIMARY KEY (domain_id, cuc_id))"
            .into(),
        "CREATE TABLE IF NOT EXISTS streams (domain_id TEXT NOT NULL, cuc_id TEXT NOT NULL, stream_id TEXT NOT NULL, \
         config TEXT NOT NULL, status TEXT, stream_status TEXT NOT NULL, modified_ms BIGINT NOT NULL, \
         PRIMARY KEY (domain_id, cuc_id, stream_id))"
            .into(),
        "CREATE TABLE IF NOT EXISTS requests (request_id TEXT PRIMARY KEY, kind TEXT NOT NULL, domain_id TEXT NOT NULL, \
         cuc_id TEXT NOT NULL, streams TEXT NOT NULL, created_ms BIGINT NOT NULL, outcome TEXT, completed_ms BIGINT)"
            .into(),
        format!(
            "CREATE TABLE IF NOT EXISTS outbox (id {autoinc}, request_id TEXT NOT NULL, topic TEXT NOT NULL, \
             payload {blob} NOT NULL, created_ms BIGINT NOT NULL, published_ms BIGINT)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS notifications (seq {autoinc}, event_ms BIGINT NOT NULL, domain_id TEXT NOT NULL, \
             cuc_id TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL)"
        ),
        "CREATE TABLE IF NOT EXISTS stream_ids (domain_id TEXT NOT NULL, stream_id TEXT NOT NULL, cuc_id TEXT NOT NULL, \
         created_ms BIGINT NOT NULL, PRIMARY KEY (domain_id, stream_id))"
            .into(),
        "CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (published_ms, id)".into(),
        "CREATE TABLE IF NOT EXISTS deployed (id TEXT PRIMARY KEY, body TEXT NOT NULL, modified_ms BIGINT NOT NULL)"
            .into(),
    ]
}

/// Which part of the datastore an operation touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// One domain, or all.
    pub domain: Option<String>,
    /// One CUC of that domain, or all.
    pub cuc: Option<String>,
    /// One stream of that CUC, or all.
    pub stream: Option<String>,
}

/// A stored stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRow {
    /// Domain.
    pub domain_id: String,
    /// CUC.
    pub cuc_id: String,
    /// Stream id.
    pub stream_id: String,
    /// The config subtree of the stream entry (RFC 7951 member names, no module prefix).
    pub config: Value,
    /// Config-false status from pipeline outcomes (same shape, state members only).
    pub status: Option<Value>,
    /// `planned`, `configured` or `modified`.
    pub stream_status: String,
    /// Last change of this row.
    pub modified_ms: i64,
}

/// The rows of a scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// (domain id, domain leaves other than the key and `cuc`).
    pub domains: Vec<(String, Map<String, Value>)>,
    /// (domain id, CUC id).
    pub cucs: Vec<(String, String)>,
    /// Streams.
    pub streams: Vec<StreamRow>,
    /// Newest modification time among the rows, or the datastore's last change for a
    /// scope that includes deletions (the whole datastore).
    pub last_modified_ms: i64,
}

/// A compute or remove request waiting for its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    /// Correlation id (envelope `request_id`).
    pub request_id: String,
    /// `compute` or `remove`.
    pub kind: String,
    /// Domain.
    pub domain_id: String,
    /// CUC.
    pub cuc_id: String,
    /// Stream ids named by the request.
    pub streams: Vec<String>,
}

/// A bus message waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// Envelope request id.
    pub request_id: String,
    /// Topic.
    pub topic: String,
    /// Protobuf body.
    pub body: Vec<u8>,
}

/// One stored notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    /// Sequence number (SSE event id).
    pub seq: i64,
    /// Event time.
    pub event_ms: i64,
    /// Domain.
    pub domain_id: String,
    /// CUC.
    pub cuc_id: String,
    /// Notification name (e.g. `compute_streams_completed`).
    pub name: String,
    /// The notification content as RFC 7951 JSON (`{"module:name": {...}}`).
    pub body: String,
}

/// The gateway's database.
#[derive(Debug)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// Serialises every write of this process: read-modify-write of the datastore, request
    /// and outbox rows, outcomes. (SQLite fails a transaction that read before another
    /// connection's write with SQLITE_BUSY_SNAPSHOT instead of waiting.) PostgreSQL
    /// deployments with several gateways also take an advisory lock in the transaction.
    pub write_lock: tokio::sync::Mutex<()>,
}

fn corrupt(what: &'static str, e: impl std::fmt::Display) -> GatewayError {
    GatewayError::Corrupt { what, detail: e.to_string() }
}

impl Store {
    /// Connects to `url` and creates the tables.
    pub async fn connect(url: &str) -> Result<Self, GatewayError> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") { Dialect::Sqlite } else { Dialect::Postgres };
        let max = if dialect == Dialect::Sqlite { 4 } else { 8 };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await?;
        if dialect == Dialect::Sqlite {
            sqlx::query("PRAGMA journal_mode=WAL").execute(&pool).await?;
        }
        let store = Store { pool, dialect, write_lock: tokio::sync::Mutex::new(()) };
        store.migrate().await?;
        Ok(store)
    }

    /// The SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    async fn migrate(&self) -> Result<(), GatewayError> {
        let mut tx = self.pool.begin().await?;
        if self.dialect == Dialect::Postgres {
            // Two gateways starting at once must not race on CREATE TABLE.
            sqlx::query("SELECT pg_advisory_xact_lock(7410001)").execute(&mut *tx).await?;
        }
        for stmt in ddl(self.dialect) {
            sqlx::query(&stmt).execute(&mut *tx).await?;
        }
        let version: Option<String> = sqlx::query("SELECT value FROM meta WHERE key = 'schema_version'")
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get(0));
        match version.as_deref() {
            None => {
                sqlx::query("INSERT INTO meta (key, value) VALUES ('schema_version', $1)")
                    .bind(SCHEMA_VERSION)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO meta (key, value) VALUES ('last_modified_ms', $1)")
                    .bind(now_ms().to_string())
                    .execute(&mut *tx)
                    .await?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(other) => {
                return Err(GatewayError::Config(format!(
                    "the database has schema version {other}, this gateway knows {SCHEMA_VERSION}"
                )))
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Starts a transaction (with the cross-process lock on PostgreSQL when `exclusive`).
    pub async fn begin(&self, exclusive: bool) -> Result<Transaction<'static, Any>, GatewayError> {
        let mut tx = self.pool.begin().await?;
        if exclusive && self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7410002)").execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// The rows of `scope`, read in `tx`.
    pub async fn load(&self, tx: &mut Transaction<'static, Any>, scope: &Scope) -> Result<Snapshot, GatewayError> {
        let d = scope.domain.clone().unwrap_or_default();
        let c = scope.cuc.clone().unwrap_or_default();
        let s = scope.stream.clone().unwrap_or_default();
        let (dall, call, sall) =
            (scope.domain.is_none() as i64, scope.cuc.is_none() as i64, scope.stream.is_none() as i64);
        let mut snap = Snapshot::default();
        let rows = sqlx::query(
            "SELECT domain_id, config, modified_ms FROM domains WHERE ($1 = 1 OR domain_id = $2) ORDER BY domain_id",
        )
        .bind(dall)
        .bind(&d)
        .fetch_all(&mut **tx)
        .await?;
        for r in rows {
            let config: String = r.get(1);
            let config: Map<String, Value> = serde_json::from_str(&config).map_err(|e| corrupt("domain row", e))?;
            snap.domains.push((r.get(0), config));
            snap.last_modified_ms = snap.last_modified_ms.max(r.get::<i64, _>(2));
        }
        let rows = sqlx::query(
            "SELECT domain_id, cuc_id, modified_ms FROM cucs WHERE ($1 = 1 OR domain_id = $2) AND ($3 = 1 OR cuc_id = $4) \
             ORDER BY domain_id, cuc_id",
        )
        .bind(dall)
        .bind(&d)
        .bind(call)
        .bind(&c)
        .fetch_all(&mut **tx)
        .await?;
        for r in rows {
            snap.cucs.push((r.get(0), r.get(1)));
            snap.last_modified_ms = snap.last_modified_ms.max(r.get::<i64, _>(2));
        }
        let rows = sqlx::query(
            "SELECT domain_id, cuc_id, stream_id, config, status, stream_status, modified_ms FROM streams \
             WHERE ($1 = 1 OR domain_id = $2) AND ($3 = 1 OR cuc_id = $4) AND ($5 = 1 OR stream_id = $6) \
             ORDER BY domain_id, cuc_id, stream_id",
        )
        .bind(dall)
        .bind(&d)
        .bind(call)
        .bind(&c)
        .bind(sall)
        .bind(&s)
        .fetch_all(&mut **tx)
        .await?;
        for r in rows {
            let row = stream_row(&r)?;
            snap.last_modified_ms = snap.last_modified_ms.max(row.modified_ms);
            snap.streams.push(row);
        }
        if scope.domain.is_none() {
            let lm: Option<String> = sqlx::query("SELECT value FROM meta WHERE key = 'last_modified_ms'")
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| r.get(0));
            snap.last_modified_ms = snap.last_modified_ms.max(lm.and_then(|v| v.parse().ok()).unwrap_or(0));
        }
        Ok(snap)
    }

    /// Replaces the rows of `old` by those of `new` (both snapshots of the same scope):
    /// inserts, updates and deletes only what differs.
    pub async fn save(
        &self,
        tx: &mut Transaction<'static, Any>,
        old: &Snapshot,
        new: &Snapshot,
    ) -> Result<usize, GatewayError> {
        let now = now_ms();
        let mut changes = 0;
        for (id, cfg) in &new.domains {
            match old.domains.iter().find(|(o, _)| o == id) {
                Some((_, ocfg)) if ocfg == cfg => {}
                Some(_) => {
                    sqlx::query("UPDATE domains SET config = $1, modified_ms = $2 WHERE domain_id = $3")
                        .bind(Value::Object(cfg.clone()).to_string())
                        .bind(now)
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                    changes += 1;
                }
                None => {
                    sqlx::query("INSERT INTO domains (domain_id, config, modified_ms) VALUES ($1, $2, $3)")
                        .bind(id)
                        .bind(Value::Object(cfg.clone()).to_string())
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                    changes += 1;
                }
            }
        }
        for (d, c) in &new.cucs {
            if !old.cucs.iter().any(|(od, oc)| od == d && oc == c) {
                sqlx::query("INSERT INTO cucs (domain_id, cuc_id, modified_ms) VALUES ($1, $2, $3)")
                    .bind(d)
                    .bind(c)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                changes += 1;
            }
        }
        for s in &new.streams {
            let old_row = old
                .streams
                .iter()
                .find(|o| o.domain_id == s.domain_id && o.cuc_id == s.cuc_id && o.stream_id == s.stream_id);
            match old_row {
                Some(o) if o.config == s.config && o.stream_status == s.stream_status => {}
                Some(_) => {
                    sqlx::query(
                        "UPDATE streams SET config = $1, stream_status = $2, modified_ms = $3 \
                         WHERE domain_id = $4 AND cuc_id = $5 AND stream_id = $6",
                    )
                    .bind(s.config.to_string())
                    .bind(&s.stream_status)
                    .bind(now)
                    .bind(&s.domain_id)
                    .bind(&s.cuc_id)
                    .bind(&s.stream_id)
                    .execute(&mut **tx)
                    .await?;
                    changes += 1;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO streams (domain_id, cuc_id, stream_id, config, status, stream_status, modified_ms) \
                         VALUES ($1, $2, $3, $4, NULL, $5, $6)",
                    )
                    .bind(&s.domain_id)
                    .bind(&s.cuc_id)
                    .bind(&s.stream_id)
                    .bind(s.config.to_string())
                    .bind(&s.stream_status)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                    changes += 1;
                }
            }
        }
        for o in &old.streams {
            if !new
                .streams
                .iter()
                .any(|s| s.domain_id == o.domain_id && s.cuc_id == o.cuc_id && s.stream_id == o.stream_id)
            {
                sqlx::query("DELETE FROM streams WHERE domain_id = $1 AND cuc_id = $2 AND stream_id = $3")
                    .bind(&o.domain_id)
                    .bind(&o.cuc_id)
                    .bind(&o.stream_id)
                    .execute(&mut **tx)
                    .await?;
                changes += 1;
            }
        }
        for (d, c) in &old.cucs {
            if !new.cucs.iter().any(|(nd, nc)| nd == d && nc == c) {
                sqlx::query("DELETE FROM cucs WHERE domain_id = $1 AND cuc_id = $2")
                    .bind(d)
                    .bind(c)
                    .execute(&mut **tx)
                    .await?;
                changes += 1;
            }
        }
        for (id, _) in &old.domains {
            if !new.domains.iter().any(|(n, _)| n == id) {
                sqlx::query("DELETE FROM domains WHERE domain_id = $1").bind(id).execute(&mut **tx).await?;
                changes += 1;
            }
        }
        if changes > 0 {
            sqlx::query("UPDATE meta SET value = $1 WHERE key = 'last_modified_ms'")
                .bind(now.to_string())
                .execute(&mut **tx)
                .await?;
        }
        Ok(changes)
    }

    /// Records a request and its outbox message (topic, protobuf body) in `tx`.
    pub async fn add_request(
        &self,
        tx: &mut Transaction<'static, Any>,
        req: &RequestRow,
        topic: &str,
        body: &[u8],
    ) -> Result<(), GatewayError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO requests (request_id, kind, domain_id, cuc_id, streams, created_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&req.request_id)
        .bind(&req.kind)
        .bind(&req.domain_id)
        .bind(&req.cuc_id)
        .bind(serde_json::to_string(&req.streams).unwrap_or_else(|_| "[]".into()))
        .bind(now)
        .execute(&mut **tx)
        .await?;
        sqlx::query("INSERT INTO outbox (request_id, topic, payload, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(&req.request_id)
            .bind(topic)
            .bind(body.to_vec())
            .bind(now)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Unpublished outbox rows, oldest first.
    pub async fn unpublished(&self, limit: i64) -> Result<Vec<OutboxRow>, GatewayError> {
        let rows = sqlx::query(
            "SELECT id, request_id, topic, payload FROM outbox WHERE published_ms IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| OutboxRow { id: r.get(0), request_id: r.get(1), topic: r.get(2), body: r.get(3) })
            .collect())
    }

    /// Marks an outbox row as published.
    pub async fn mark_published(&self, id: i64) -> Result<(), GatewayError> {
        sqlx::query("UPDATE outbox SET published_ms = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Number of unpublished outbox rows.
    pub async fn outbox_backlog(&self) -> Result<i64, GatewayError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM outbox WHERE published_ms IS NULL").fetch_one(&self.pool).await?.get(0))
    }

    /// Claims the outcome of `request_id` in `tx`: the request row if this is the first
    /// outcome for it, None if it is unknown or already applied (duplicate delivery).
    pub async fn claim_outcome(
        &self,
        tx: &mut Transaction<'static, Any>,
        request_id: &str,
        outcome: &str,
    ) -> Result<Option<RequestRow>, GatewayError> {
        let updated = sqlx::query(
            "UPDATE requests SET outcome = $1, completed_ms = $2 WHERE request_id = $3 AND outcome IS NULL",
        )
        .bind(outcome)
        .bind(now_ms())
        .bind(request_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(None);
        }
        let r = sqlx::query("SELECT request_id, kind, domain_id, cuc_id, streams FROM requests WHERE request_id = $1")
            .bind(request_id)
            .fetch_one(&mut **tx)
            .await?;
        let streams: String = r.get(4);
        Ok(Some(RequestRow {
            request_id: r.get(0),
            kind: r.get(1),
            domain_id: r.get(2),
            cuc_id: r.get(3),
            streams: serde_json::from_str(&streams).map_err(|e| corrupt("request row", e))?,
        }))
    }

    /// Records the outcome of a request the gateway did not send: one the CNC made of its own,
    /// such as preprocess's reroute of admitted streams after a topology change. True the first
    /// time `request_id` is seen; false for a duplicate delivery, or for a request of this
    /// gateway's that already has its outcome.
    pub async fn claim_network_outcome(
        &self,
        tx: &mut Transaction<'static, Any>,
        request_id: &str,
        outcome: &str,
        streams: &[String],
    ) -> Result<bool, GatewayError> {
        let now = now_ms();
        let streams = serde_json::to_string(streams).map_err(|e| corrupt("request row", e))?;
        let inserted = sqlx::query(
            "INSERT INTO requests (request_id, kind, domain_id, cuc_id, streams, created_ms, outcome, completed_ms) \
             VALUES ($1, 'network', '', '', $2, $3, $4, $3) ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(request_id)
        .bind(streams)
        .bind(now)
        .bind(outcome)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Every stream with this id, in whichever domain and CUC holds it (802.1Qcc stream ids
    /// start with the talker's MAC address, so in practice there is one).
    pub async fn streams_with_id(
        &self,
        tx: &mut Transaction<'static, Any>,
        stream: &str,
    ) -> Result<Vec<StreamRow>, GatewayError> {
        let rows = sqlx::query(
            "SELECT domain_id, cuc_id, stream_id, config, status, stream_status, modified_ms FROM streams \
             WHERE stream_id = $1 ORDER BY domain_id, cuc_id",
        )
        .bind(stream)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(stream_row).collect()
    }

    /// One stream, read in `tx`.
    pub async fn stream(
        &self,
        tx: &mut Transaction<'static, Any>,
        domain: &str,
        cuc: &str,
        stream: &str,
    ) -> Result<Option<StreamRow>, GatewayError> {
        let r = sqlx::query(
            "SELECT domain_id, cuc_id, stream_id, config, status, stream_status, modified_ms FROM streams \
             WHERE domain_id = $1 AND cuc_id = $2 AND stream_id = $3",
        )
        .bind(domain)
        .bind(cuc)
        .bind(stream)
        .fetch_optional(&mut **tx)
        .await?;
        r.as_ref().map(stream_row).transpose()
    }

    /// Sets the status of a stream (pipeline outcome).
    pub async fn set_status(
        &self,
        tx: &mut Transaction<'static, Any>,
        row: &StreamRow,
        stream_status: &str,
        status: &Value,
    ) -> Result<(), GatewayError> {
        sqlx::query(
            "UPDATE streams SET status = $1, stream_status = $2, modified_ms = $3 \
             WHERE domain_id = $4 AND cuc_id = $5 AND stream_id = $6",
        )
        .bind(status.to_string())
        .bind(stream_status)
        .bind(now_ms())
        .bind(&row.domain_id)
        .bind(&row.cuc_id)
        .bind(&row.stream_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Deletes a stream (after its removal from the network).
    pub async fn delete_stream(
        &self,
        tx: &mut Transaction<'static, Any>,
        domain: &str,
        cuc: &str,
        stream: &str,
    ) -> Result<(), GatewayError> {
        sqlx::query("DELETE FROM streams WHERE domain_id = $1 AND cuc_id = $2 AND stream_id = $3")
            .bind(domain)
            .bind(cuc)
            .bind(stream)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE meta SET value = $1 WHERE key = 'last_modified_ms'")
            .bind(now_ms().to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Appends a notification in `tx`; returns its sequence number.
    pub async fn add_notification(
        &self,
        tx: &mut Transaction<'static, Any>,
        event_ms: i64,
        domain: &str,
        cuc: &str,
        name: &str,
        body: &str,
    ) -> Result<i64, GatewayError> {
        let r = sqlx::query(
            "INSERT INTO notifications (event_ms, domain_id, cuc_id, name, body) VALUES ($1, $2, $3, $4, $5) RETURNING seq",
        )
        .bind(event_ms)
        .bind(domain)
        .bind(cuc)
        .bind(name)
        .bind(body)
        .fetch_one(&mut **tx)
        .await?;
        Ok(r.get(0))
    }

    /// Notifications with `seq > after` and `event_ms >= since_ms`, oldest first.
    pub async fn notifications_after(
        &self,
        after: i64,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, GatewayError> {
        let rows = sqlx::query(
            "SELECT seq, event_ms, domain_id, cuc_id, name, body FROM notifications WHERE seq > $1 AND event_ms >= $2 \
             ORDER BY seq LIMIT $3",
        )
        .bind(after)
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| NotificationRow {
                seq: r.get(0),
                event_ms: r.get(1),
                domain_id: r.get(2),
                cuc_id: r.get(3),
                name: r.get(4),
                body: r.get(5),
            })
            .collect())
    }

    /// Time of the first stored notification (replay-log-creation-time), if any.
    pub async fn first_notification_ms(&self) -> Result<Option<i64>, GatewayError> {
        Ok(sqlx::query("SELECT MIN(event_ms) FROM notifications")
            .fetch_one(&self.pool)
            .await?
            .try_get::<Option<i64>, _>(0)?)
    }

    /// Every stream id used or handed out in `domain`.
    pub async fn used_stream_ids(
        &self,
        tx: &mut Transaction<'static, Any>,
        domain: &str,
    ) -> Result<Vec<String>, GatewayError> {
        let mut ids: Vec<String> = sqlx::query("SELECT stream_id FROM streams WHERE domain_id = $1")
            .bind(domain)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        ids.extend(
            sqlx::query("SELECT stream_id FROM stream_ids WHERE domain_id = $1")
                .bind(domain)
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| r.get::<String, _>(0)),
        );
        Ok(ids)
    }

    /// Records a handed-out stream id.
    pub async fn reserve_stream_id(
        &self,
        tx: &mut Transaction<'static, Any>,
        domain: &str,
        stream: &str,
        cuc: &str,
    ) -> Result<(), GatewayError> {
        sqlx::query("INSERT INTO stream_ids (domain_id, stream_id, cuc_id, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(domain)
            .bind(stream)
            .bind(cuc)
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// The domains that hold CUC `cuc`.
    pub async fn domains_of_cuc(&self, cuc: &str) -> Result<Vec<String>, GatewayError> {
        Ok(sqlx::query("SELECT domain_id FROM cucs WHERE cuc_id = $1 ORDER BY domain_id")
            .bind(cuc)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    /// Counts of rows, for metrics: (streams, pending requests).
    pub async fn counts(&self) -> Result<(i64, i64), GatewayError> {
        let s: i64 = sqlx::query("SELECT COUNT(*) FROM streams").fetch_one(&self.pool).await?.get(0);
        let r: i64 =
            sqlx::query("SELECT COUNT(*) FROM requests WHERE outcome IS NULL").fetch_one(&self.pool).await?.get(0);
        Ok((s, r))
    }

    /// The deployed schedule the visualizer keeps ([`crate::viz::Deployed`] as JSON).
    pub async fn deployed_schedule(&self) -> Result<Option<String>, GatewayError> {
        Ok(sqlx::query("SELECT body FROM deployed WHERE id = 'current'")
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get(0)))
    }

    /// Replaces the deployed schedule (call with [`Store::write_lock`] held).
    pub async fn save_deployed_schedule(&self, body: &str) -> Result<(), GatewayError> {
        let mut tx = self.begin(true).await?;
        sqlx::query("DELETE FROM deployed WHERE id = 'current'").execute(&mut *tx).await?;
        sqlx::query("INSERT INTO deployed (id, body, modified_ms) VALUES ('current', $1, $2)")
            .bind(body)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The pool (for tests).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

fn stream_row(r: &AnyRow) -> Result<StreamRow, GatewayError> {
    let config: String = r.get(3);
    let status: Option<String> = r.get(4);
    Ok(StreamRow {
        domain_id: r.get(0),
        cuc_id: r.get(1),
        stream_id: r.get(2),
        config: serde_json::from_str(&config).map_err(|e| corrupt("stream config", e))?,
        status: status.map(|s| serde_json::from_str(&s)).transpose().map_err(|e| corrupt("stream status", e))?,
        stream_status: r.get(5),
        modified_ms: r.get(6),
    })
}
