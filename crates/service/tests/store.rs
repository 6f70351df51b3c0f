//! The store against the real databases: a SQLite file and the local PostgreSQL (a database
//! created for this test and dropped afterwards). Same migrations, same queries.

use std::process::Command;

use sqlx::Row;
use tsn_service::store::{hex, unhex, Backend};
use tsn_service::Store;

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS t_items (id TEXT PRIMARY KEY, n BIGINT NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS t_more (k BIGINT PRIMARY KEY); INSERT INTO t_more (k) VALUES (7)",
];

async fn exercise(url: &str, backend: Backend) {
    let store = Store::open(url).await.unwrap();
    assert_eq!(store.backend(), backend);
    assert!(store.ping().await);
    store.migrate("t", MIGRATIONS).await.unwrap();
    // Migrations run once: the second time the INSERT of migration 2 would violate the key.
    store.migrate("t", MIGRATIONS).await.unwrap();
    let insert = "INSERT INTO t_items (id, n, body) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";
    let body = hex(&[0, 1, 254, 255]);
    let first = sqlx::query(insert).bind("a").bind(5i64).bind(&body).execute(store.pool()).await.unwrap();
    let again = sqlx::query(insert).bind("a").bind(6i64).bind(&body).execute(store.pool()).await.unwrap();
    assert_eq!((first.rows_affected(), again.rows_affected()), (1, 0), "dedup by key");
    let row = sqlx::query("SELECT n, body FROM t_items WHERE id = $1").bind("a").fetch_one(store.pool()).await.unwrap();
    assert_eq!(row.try_get::<i64, _>("n").unwrap(), 5);
    assert_eq!(unhex(&row.try_get::<String, _>("body").unwrap()).unwrap(), vec![0, 1, 254, 255]);
    let k: i64 = sqlx::query("SELECT k FROM t_more").fetch_one(store.pool()).await.unwrap().try_get("k").unwrap();
    assert_eq!(k, 7);
    store.close().await;
}

#[tokio::test]
async fn sqlite_file() {
    let dir = std::env::temp_dir().join(format!("tsn-service-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    exercise(&format!("sqlite://{}?mode=rwc", dir.join("s.db").display()), Backend::Sqlite).await;
    std::fs::remove_dir_all(dir).unwrap();
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql is installed (scripts/setup)");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn postgres() {
    let name = format!("tsn_service_store_{}", std::process::id());
    psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    psql(&format!("CREATE DATABASE {name}"));
    exercise(&format!("postgres://postgres@127.0.0.1:5432/{name}"), Backend::Postgres).await;
    psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
}

#[tokio::test]
async fn unreachable_database_is_a_clear_error() {
    let e = Store::open("postgres://postgres@127.0.0.1:1/nothing").await.unwrap_err().to_string();
    assert!(e.contains("cannot open the database postgres://postgres"), "{e}");
}
