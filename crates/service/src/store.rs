//! The store pool, chosen by URL (DESIGN.md §7): `sqlite://FILE?mode=rwc` (dev mode, one
//! file) or `postgres://…`. Each service owns its tables and their migrations, applied in
//! order at start-up and recorded in the service's own `<service>_migrations` table.
//!
//! SQL that runs on both backends sticks to the common subset: `TEXT`, `BIGINT`,
//! `$1`-style parameters, `INSERT … ON CONFLICT DO NOTHING`. Binary bodies are stored as
//! hex text ([`hex`], [`unhex`]).

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("unsupported database URL {0:?}: use sqlite://FILE?mode=rwc or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database could not be reached.
    #[error("cannot open the database {url}: {source}")]
    Connect {
        /// The URL without its password.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migration {version} of {service} failed: {source}")]
    Migration {
        /// The service.
        service: String,
        /// The migration's number (1-based).
        version: usize,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored value is not what the service wrote.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (one file).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A connection pool on the service's database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = url[s + 3..at].split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Opens a pool on `url`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        options = match backend {
            // One writer at a time keeps SQLite free of "database is locked".
            Backend::Sqlite => options.max_connections(1),
            Backend::Postgres => options.max_connections(4),
        };
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(url).await.map_err(|source| StoreError::Connect { url: redact(url), source })?;
        Ok(Store { pool, backend })
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }

    /// Applies `migrations` (each one or more `;`-separated statements) of `service` that
    /// have not run yet, in order, each in its own transaction.
    pub async fn migrate(&self, service: &str, migrations: &[&str]) -> Result<(), StoreError> {
        let table = format!("{}_migrations", service.replace('-', "_"));
        let fail =
            |version: usize| move |source| StoreError::Migration { service: service.to_owned(), version, source };
        sqlx::query(&format!("CREATE TABLE IF NOT EXISTS {table} (version BIGINT PRIMARY KEY)"))
            .execute(&self.pool)
            .await
            .map_err(fail(0))?;
        for (i, migration) in migrations.iter().enumerate() {
            let version = i + 1;
            let mut tx = self.pool.begin().await.map_err(fail(version))?;
            let done: Option<AnyRow> = sqlx::query(&format!("SELECT version FROM {table} WHERE version = $1"))
                .bind(version as i64)
                .fetch_optional(&mut *tx)
                .await
                .map_err(fail(version))?;
            if done.is_some() {
                continue;
            }
            for statement in migration.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(statement).execute(&mut *tx).await.map_err(fail(version))?;
            }
            sqlx::query(&format!("INSERT INTO {table} (version) VALUES ($1)"))
                .bind(version as i64)
                .execute(&mut *tx)
                .await
                .map_err(fail(version))?;
            tx.commit().await.map_err(fail(version))?;
            tracing::info!(service, version, "applied migration");
        }
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Reads column `i` of `row` as text.
pub fn text(row: &AnyRow, column: &str) -> Result<String, StoreError> {
    row.try_get::<String, _>(column).map_err(StoreError::Query)
}

/// Reads column `column` of `row` as a 64-bit integer.
pub fn int(row: &AnyRow, column: &str) -> Result<i64, StoreError> {
    row.try_get::<i64, _>(column).map_err(StoreError::Query)
}

/// Lower-case hex of `bytes`, for binary bodies in `TEXT` columns.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The bytes of [`hex`] text.
pub fn unhex(text: &str) -> Result<Vec<u8>, StoreError> {
    if !text.len().is_multiple_of(2) {
        return Err(StoreError::Corrupt("hex text of odd length".into()));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| StoreError::Corrupt(format!("not hex at {i}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        }

        #[test]
        fn unhex_never_panics(s in ".{0,40}") {
            let _ = unhex(&s);
        }
    }

    #[test]
    fn urls_are_checked_and_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let e = rt.block_on(Store::open("mysql://x")).unwrap_err();
        assert!(e.to_string().contains("unsupported database URL"));
    }
}
