//! Preprocess's tables: the latest topology, the compute requests (queued, in flight, done;
//! also the dedup record of every request id) and the admitted network state per network.

use prost::Message as _;
use sqlx::Row;
use tsn_model::Topology;
use tsn_pipeline::v1;
use tsn_service::store::{hex, unhex};
use tsn_service::{Store, StoreError};

/// Preprocess's migrations, in order.
pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS preprocess_topology (id BIGINT PRIMARY KEY, version BIGINT NOT NULL, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS preprocess_requests (
        request_id TEXT PRIMARY KEY, seq BIGINT NOT NULL, network TEXT NOT NULL, state TEXT NOT NULL,
        topology_version BIGINT NOT NULL, body TEXT NOT NULL);
     CREATE TABLE IF NOT EXISTS preprocess_admitted (network TEXT PRIMARY KEY, version BIGINT NOT NULL, body TEXT NOT NULL)",
];

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestState {
    /// Waiting for the network's request in flight to finish.
    Queued,
    /// Its problem is out (scheduler, southbound).
    InFlight,
    /// Its outcome was seen.
    Done,
}

impl RequestState {
    fn as_str(self) -> &'static str {
        match self {
            RequestState::Queued => "queued",
            RequestState::InFlight => "in-flight",
            RequestState::Done => "done",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "queued" => Ok(RequestState::Queued),
            "in-flight" => Ok(RequestState::InFlight),
            "done" => Ok(RequestState::Done),
            other => Err(StoreError::Corrupt(format!("request state {other:?}"))),
        }
    }
}

/// A stored compute request.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRequest {
    /// Its correlation id.
    pub request_id: String,
    /// Where it is.
    pub state: RequestState,
    /// The request body.
    pub request: v1::ComputeRequest,
}

/// Preprocess's view of its tables.
#[derive(Debug, Clone)]
pub struct State {
    store: Store,
}

impl State {
    /// Opens the tables (migrating them).
    pub async fn open(store: Store) -> Result<State, StoreError> {
        store.migrate("preprocess", MIGRATIONS).await?;
        Ok(State { store })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The latest topology and its version.
    pub async fn topology(&self) -> Result<Option<(u64, Topology)>, StoreError> {
        let row = sqlx::query("SELECT version, body FROM preprocess_topology WHERE id = 1")
            .fetch_optional(self.store.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let version: i64 = row.try_get("version")?;
        let body: String = row.try_get("body")?;
        let topology = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("topology: {e}")))?;
        Ok(Some((version as u64, topology)))
    }

    /// Replaces the topology.
    pub async fn set_topology(&self, version: u64, topology: &Topology) -> Result<(), StoreError> {
        let body = serde_json::to_string(topology).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.store.pool().begin().await?;
        sqlx::query("DELETE FROM preprocess_topology WHERE id = 1").execute(&mut *tx).await?;
        sqlx::query("INSERT INTO preprocess_topology (id, version, body) VALUES (1, $1, $2)")
            .bind(version as i64)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores a new request as queued; `false` when its id is already known (a duplicate).
    pub async fn insert_request(
        &self,
        request_id: &str,
        network: &str,
        topology_version: u64,
        request: &v1::ComputeRequest,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM preprocess_requests")
            .fetch_one(&mut *tx)
            .await?
            .try_get("next")?;
        let inserted = sqlx::query(
            "INSERT INTO preprocess_requests (request_id, seq, network, state, topology_version, body)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id) DO NOTHING",
        )
        .bind(request_id)
        .bind(seq)
        .bind(network)
        .bind(RequestState::Queued.as_str())
        .bind(topology_version as i64)
        .bind(hex(&request.encode_to_vec()))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(inserted == 1)
    }

    fn row_to_request(row: &sqlx::any::AnyRow) -> Result<StoredRequest, StoreError> {
        let body: String = row.try_get("body")?;
        let request = v1::ComputeRequest::decode(unhex(&body)?.as_slice())
            .map_err(|e| StoreError::Corrupt(format!("request body: {e}")))?;
        Ok(StoredRequest {
            request_id: row.try_get("request_id")?,
            state: RequestState::parse(&row.try_get::<String, _>("state")?)?,
            request,
        })
    }

    /// The request `request_id`, if known.
    pub async fn request(&self, request_id: &str) -> Result<Option<StoredRequest>, StoreError> {
        let row = sqlx::query("SELECT request_id, state, body FROM preprocess_requests WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(Self::row_to_request).transpose()
    }

    /// The request of `network` in flight, if any.
    pub async fn in_flight(&self, network: &str) -> Result<Option<StoredRequest>, StoreError> {
        self.first_in(network, RequestState::InFlight).await
    }

    /// The oldest queued request of `network`.
    pub async fn next_queued(&self, network: &str) -> Result<Option<StoredRequest>, StoreError> {
        self.first_in(network, RequestState::Queued).await
    }

    async fn first_in(&self, network: &str, state: RequestState) -> Result<Option<StoredRequest>, StoreError> {
        let row = sqlx::query(
            "SELECT request_id, state, body FROM preprocess_requests WHERE network = $1 AND state = $2 ORDER BY seq LIMIT 1",
        )
        .bind(network)
        .bind(state.as_str())
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(Self::row_to_request).transpose()
    }

    /// Number of requests of `network` in `state`.
    pub async fn count(&self, network: &str, state: RequestState) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM preprocess_requests WHERE network = $1 AND state = $2")
            .bind(network)
            .bind(state.as_str())
            .fetch_one(self.store.pool())
            .await?
            .try_get("n")?)
    }

    /// Moves a request to `state`.
    pub async fn set_state(&self, request_id: &str, state: RequestState) -> Result<(), StoreError> {
        sqlx::query("UPDATE preprocess_requests SET state = $1 WHERE request_id = $2")
            .bind(state.as_str())
            .bind(request_id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// The admitted state of `network` (version 0, empty, before the first deploy).
    pub async fn admitted(&self, network: &str) -> Result<v1::AdmittedState, StoreError> {
        let row = sqlx::query("SELECT body FROM preprocess_admitted WHERE network = $1")
            .bind(network)
            .fetch_optional(self.store.pool())
            .await?;
        match row {
            None => Ok(v1::AdmittedState { network: network.to_owned(), ..Default::default() }),
            Some(row) => {
                let body: String = row.try_get("body")?;
                v1::AdmittedState::decode(unhex(&body)?.as_slice())
                    .map_err(|e| StoreError::Corrupt(format!("admitted state: {e}")))
            }
        }
    }

    /// Marks `request_id` done and, when `admitted` is given and is the successor of the
    /// stored state, makes it the admitted state: one transaction. Returns whether the
    /// admitted state changed.
    pub async fn complete(
        &self,
        request_id: &str,
        network: &str,
        admitted: Option<&v1::AdmittedState>,
    ) -> Result<bool, StoreError> {
        let current = self.admitted(network).await?;
        let mut tx = self.store.pool().begin().await?;
        let mut changed = false;
        if let Some(next) = admitted {
            if next.version == current.version + 1 {
                sqlx::query("DELETE FROM preprocess_admitted WHERE network = $1")
                    .bind(network)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("INSERT INTO preprocess_admitted (network, version, body) VALUES ($1, $2, $3)")
                    .bind(network)
                    .bind(next.version as i64)
                    .bind(hex(&next.encode_to_vec()))
                    .execute(&mut *tx)
                    .await?;
                changed = true;
            } else {
                tracing::warn!(
                    request_id,
                    stored = current.version,
                    reported = next.version,
                    "deploy result does not follow the stored admitted state; ignored"
                );
            }
        }
        sqlx::query("UPDATE preprocess_requests SET state = $1 WHERE request_id = $2")
            .bind(RequestState::Done.as_str())
            .bind(request_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(changed)
    }
}
