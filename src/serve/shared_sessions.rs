//! The console's sessions kept in the task store (issue #30), so any replica behind a load
//! balancer serves any signed-in browser: each session's principal, token digest and expiry,
//! and the key every replica makes the CSRF tokens with (created once, by whichever replica
//! opens the store first).

use super::store::{Store, StoreResult};

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS ecs_deployer_console_sessions (id TEXT PRIMARY KEY, principal TEXT NOT NULL, \
     digest TEXT NOT NULL, expires_ms BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ecs_deployer_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
];

/// A stored session: (principal, token digest as hex, expiry in ms since the epoch).
pub(super) type StoredSession = (String, String, i64);

impl Store {
    /// Creates the tables (idempotent).
    async fn sessions_schema(&self) -> StoreResult<()> {
        for sql in SCHEMA {
            self.run(sql, Vec::new()).await?;
        }
        Ok(())
    }

    /// The console's CSRF key, shared by every replica (made by the first).
    pub(super) async fn console_key(&self) -> StoreResult<String> {
        self.sessions_schema().await?;
        let fresh = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let insert = "INSERT INTO ecs_deployer_settings (name, value) VALUES ('console-key', $1) ON CONFLICT (name) DO NOTHING";
        self.run(insert, vec![fresh]).await?;
        let select = "SELECT value FROM ecs_deployer_settings WHERE name = 'console-key'";
        Ok(self.text_rows(select, Vec::new()).await?.into_iter().next().map(|mut r| r.remove(0)).unwrap_or_default())
    }

    /// Keeps a session (and forgets expired ones).
    pub(super) async fn save_session(&self, id: &str, session: StoredSession, now_ms: i64) -> StoreResult<()> {
        self.run("DELETE FROM ecs_deployer_console_sessions WHERE expires_ms < CAST(CAST($1 AS TEXT) AS BIGINT)", vec![now_ms.to_string()])
            .await?;
        let (principal, digest, expires) = session;
        let sql = "INSERT INTO ecs_deployer_console_sessions (id, principal, digest, expires_ms) VALUES ($1, $2, $3, CAST(CAST($4 AS TEXT) AS BIGINT))";
        self.run(sql, vec![id.to_string(), principal, digest, expires.to_string()]).await
    }

    /// A session, while it lasts.
    pub(super) async fn session(&self, id: &str, now_ms: i64) -> StoreResult<Option<StoredSession>> {
        let sql = "SELECT principal, digest, CAST(expires_ms AS TEXT) FROM ecs_deployer_console_sessions \
                   WHERE id = $1 AND expires_ms >= CAST(CAST($2 AS TEXT) AS BIGINT)";
        let rows = self.text_rows(sql, vec![id.to_string(), now_ms.to_string()]).await?;
        Ok(rows.into_iter().next().map(|r| (r[0].clone(), r[1].clone(), r[2].parse().unwrap_or(0))))
    }

    /// Ends a session.
    pub(super) async fn drop_session(&self, id: &str) -> StoreResult<()> {
        self.run("DELETE FROM ecs_deployer_console_sessions WHERE id = $1", vec![id.to_string()]).await
    }

    /// Runs a statement with text parameters.
    async fn run(&self, sql: &'static str, params: Vec<String>) -> StoreResult<()> {
        match self {
            Store::Sqlite(c) => {
                Store::sqlite(c, move |c| {
                    c.execute(sql, rusqlite::params_from_iter(params.iter()))?;
                    Ok(())
                })
                .await
            }
            Store::Postgres(c) => {
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params.iter().map(|p| p as _).collect();
                c.execute(sql, &refs).await?;
                Ok(())
            }
        }
    }

    /// The rows of a query whose columns are all text.
    async fn text_rows(&self, sql: &'static str, params: Vec<String>) -> StoreResult<Vec<Vec<String>>> {
        match self {
            Store::Sqlite(c) => {
                Store::sqlite(c, move |c| {
                    let mut statement = c.prepare(sql)?;
                    let columns = statement.column_count();
                    let rows = statement.query_map(rusqlite::params_from_iter(params.iter()), |row| {
                        (0..columns).map(|i| row.get::<_, String>(i)).collect::<Result<Vec<_>, _>>()
                    })?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .await
            }
            Store::Postgres(c) => {
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params.iter().map(|p| p as _).collect();
                let rows = c.query(sql, &refs).await?;
                Ok(rows.iter().map(|r| (0..r.len()).map(|i| r.get::<_, String>(i)).collect()).collect())
            }
        }
    }
}
