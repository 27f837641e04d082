//! Where `serve` keeps its tasks so that none is lost or run twice: an embedded SQLite file (one
//! replica) or a shared PostgreSQL database (several replicas behind a load balancer). Each row
//! holds the posted operations list, the task in Clouddriver's shape and, while it runs, the
//! replica that owns it with a lease that replica keeps renewing. A task is claimed by exactly one
//! replica (an atomic `queued → running` update); a running task whose lease ran out — its
//! replica crashed or was killed — is never run again: another replica (or the same one after a
//! restart) adopts it (`undoing`), removes what its deploy had left incomplete, using the server
//! groups the task wrote down before each deploy's first write (`creating`), and ends it failed.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::OptionalExtension;

use crate::engine::operations::list::Task;

/// A store that cannot be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Opening, reading or writing failed.
    #[error("task store: {0}")]
    Failed(String),
    /// The SQLite file is held by another `serve`, or the store's URL is wrong: a choice to
    /// make, not a failure to retry.
    #[error("task store: {0}")]
    InUse(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Failed(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Failed(e.to_string())
    }
}

/// Connects, and drives the connection in the background until it closes.
async fn connect<T>(url: &str, tls: T) -> StoreResult<tokio_postgres::Client>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>,
    T::Stream: Send + 'static,
{
    let (client, mut connection) = tokio_postgres::connect(url, tls).await.map_err(|e| StoreError::Failed(with_causes(&e)))?;
    // Driven message by message, so the views channel's notifications reach `views`.
    tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(n))) => super::views::notified(n.channel(), n.payload()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return tracing::error!("PostgreSQL connection closed: {e}"),
                None => return,
            }
        }
    });
    Ok(client)
}

/// An error with its causes (a TLS handshake's says why the certificate was refused).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Failed(format!("a stored task is not valid JSON: {e}"))
    }
}

pub(super) type StoreResult<T> = std::result::Result<T, StoreError>;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS ecs_deployer_tasks (
    id TEXT PRIMARY KEY,
    created_ms BIGINT NOT NULL,
    state TEXT NOT NULL,
    owner TEXT,
    lease_until_ms BIGINT,
    operations TEXT NOT NULL,
    task TEXT NOT NULL
)";

/// Orca's `clientRequestId` of each post and the SHA-256 of its body: a repeated post (Orca
/// retries up to 3 times with the same id) finds the task it already made, on any replica.
/// `creating`: the JSON list of server groups the task's deploys were about to create, written
/// before each one's first write, so what a crash cut short can be undone.
/// `principal`, `owner_id` and `accounts` (`,a,b,`): who may see the task, so listings filter in
/// the query (a principal's tasks stay listed however many others post).
/// `canceled_by`: who asked a running task to stop (its replica sees it when it renews the lease).
/// `resume`: where a handed-over task's deploy stopped (see `super::handover`).
const ADDED_COLUMNS: [&str; 8] = [
    "client_request_id TEXT",
    "body_sha256 TEXT",
    "creating TEXT",
    "principal TEXT",
    "owner_id TEXT",
    "accounts TEXT",
    "canceled_by TEXT",
    "resume TEXT",
];

/// What renewing a running task's lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// Still this replica's; `canceled_by` says who asked it to stop, if anyone did.
    Held { canceled_by: Option<String> },
    /// Another replica holds it now (its lease ran out).
    Lost,
}

/// What asking a task to stop did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancel {
    /// It had not started: it is ended, failed, and will never run.
    Dequeued,
    /// It runs: its replica stops it at its next step.
    Asked,
    /// It had ended already, or does not exist.
    Finished,
}

/// The `accounts` column of a task: its accounts between commas, so one can be matched with LIKE.
fn accounts_column(accounts: &[String]) -> String {
    format!(",{},", accounts.join(","))
}

/// A LIKE pattern matching `text` anywhere, its `%`, `_` and `\` taken literally.
fn containing(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// Which tasks a listing returns: those a caller may see (None: every task, for an admin) and,
/// optionally, only those whose operations, task or creations mention `mentioning`.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// (principal, owner): the tasks this principal posted for this owner are visible.
    pub own: Option<(String, String)>,
    /// Every task whose accounts avoid these is visible too; None: every task is (an admin).
    pub unreadable_accounts: Option<Vec<String>>,
    pub mentioning: Option<String>,
}

impl TaskFilter {
    /// The WHERE clause with `$N` parameters from 2 on (1 is the limit) and their values.
    fn clause(&self) -> (String, Vec<String>) {
        let mut params: Vec<String> = Vec::new();
        let mut param = |value: String| {
            params.push(value);
            format!("${}", params.len() + 1)
        };
        let mut conditions = Vec::new();
        if let Some(hidden) = &self.unreadable_accounts {
            let mut visible = Vec::new();
            if let Some((principal, owner)) = &self.own {
                visible.push(format!("(principal = {} AND owner_id = {})", param(principal.clone()), param(owner.clone())));
            }
            let mut readable = vec!["(accounts IS NOT NULL AND accounts <> ',,'".to_string()];
            for account in hidden {
                readable.push(format!("accounts NOT LIKE {} ESCAPE '\\'", param(containing(&format!(",{account},")))));
            }
            visible.push(format!("{})", readable.join(" AND ")));
            conditions.push(format!("({})", visible.join(" OR ")));
        }
        if let Some(needle) = &self.mentioning {
            let like = containing(needle);
            let (a, b, c) = (param(like.clone()), param(like.clone()), param(like));
            conditions.push(format!(
                "(operations LIKE {a} ESCAPE '\\' OR task LIKE {b} ESCAPE '\\' OR COALESCE(creating, '') LIKE {c} ESCAPE '\\')"
            ));
        }
        let clause = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        (clause, params)
    }
}
const CLIENT_REQUEST_INDEX: &str =
    "CREATE UNIQUE INDEX IF NOT EXISTS ecs_deployer_tasks_client_request ON ecs_deployer_tasks (client_request_id)";

const STATE_INDEX: &str = "CREATE INDEX IF NOT EXISTS ecs_deployer_tasks_state ON ecs_deployer_tasks (state, created_ms)";

/// Creates the SQLite file readable by its owner only (tasks hold descriptions), or makes an
/// existing one so; SQLite gives its `-wal` and `-shm` files the database file's mode.
fn owner_only(path: &Path) -> StoreResult<()> {
    let fail = |e: std::io::Error| StoreError::Failed(format!("{}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        options.open(path).map_err(fail)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
    }
    #[cfg(not(unix))]
    options.open(path).map_err(fail)?;
    Ok(())
}

/// What an insert did.
#[derive(Debug, PartialEq, Eq)]
pub enum Inserted {
    /// A new queued task.
    New,
    /// The client request id was seen before: its task, and whether the body was the same.
    Existing { id: String, same_body: bool },
}

/// A task taken by this replica to run.
#[derive(Debug)]
pub struct Claimed {
    pub id: String,
    pub operations: String,
    pub task: Task,
    /// Where its deploy stopped when another replica handed it over (JSON).
    pub resume: Option<String>,
}

/// The task store.
#[derive(Clone)]
pub enum Store {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(Arc<tokio_postgres::Client>),
}

/// The 64-bit key of the advisory lock `name`.
fn lock_key(name: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().expect("a SHA-256 digest has 32 bytes"))
}

/// Takes the exclusive lock of the store file `path` (on `path.lock`, so SQLite's own locks are
/// untouched); the lock lasts as long as the returned file is open, and ends with the process.
fn lock_exclusively(path: &Path) -> StoreResult<std::fs::File> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = std::path::PathBuf::from(lock_path);
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(&lock_path).map_err(|e| StoreError::Failed(format!("{}: {e}", lock_path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse(format!(
            "{} is in use by another ecs-deployer serve (it holds {}); stop that one first, or give this one its own \
             --store-file (several replicas share a store through --postgres-url)",
            path.display(),
            lock_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Failed(format!("{}: cannot lock: {e}", lock_path.display()))),
    }
}

impl Store {
    /// Opens (creating if needed) the SQLite file and takes the exclusive lock on it (`FILE.lock`,
    /// held by the returned file for as long as it is open): one process owns the file, so a task
    /// still marked running was cut short by a crash or a kill (`serve` adopts them all at start).
    /// A second `serve` on the same file is refused while the first one runs.
    pub async fn open_sqlite(path: &Path) -> StoreResult<(Store, std::fs::File)> {
        let lock = lock_exclusively(path)?;
        let path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || -> StoreResult<rusqlite::Connection> {
            owner_only(&path)?;
            let conn = rusqlite::Connection::open(&path).map_err(|e| StoreError::Failed(format!("{}: {e}", path.display())))?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.execute(SCHEMA, [])?;
            for column in ADDED_COLUMNS {
                match conn.execute(&format!("ALTER TABLE ecs_deployer_tasks ADD COLUMN {column}"), []) {
                    Err(e) if e.to_string().contains("duplicate column") => {}
                    other => {
                        other?;
                    }
                }
            }
            conn.execute(CLIENT_REQUEST_INDEX, [])?;
            conn.execute(STATE_INDEX, [])?;
            Ok(conn)
        })
        .await
        .map_err(|e| StoreError::Failed(e.to_string()))??;
        let store = Store::Sqlite(Arc::new(Mutex::new(conn)));
        store.backfill_visibility().await?;
        Ok((store, lock))
    }

    /// Connects to PostgreSQL (`postgres://user@host:port/db`, with libpq's `sslmode` and
    /// `sslrootcert`: see [`super::pg_tls`]) and creates the table if needed.
    pub async fn open_postgres(url: &str) -> StoreResult<Store> {
        let target = super::pg_tls::target(url).map_err(StoreError::InUse)?;
        let client = match target.mode {
            super::pg_tls::SslMode::Disable => connect(&target.url, tokio_postgres::NoTls).await?,
            _ => {
                let config = super::pg_tls::client_config(&target).map_err(StoreError::InUse)?;
                connect(&target.url, super::pg_tls::Connector::new(config)).await?
            }
        };
        client.batch_execute(SCHEMA).await?;
        client.batch_execute(STATE_INDEX).await?;
        for column in ADDED_COLUMNS {
            client.batch_execute(&format!("ALTER TABLE ecs_deployer_tasks ADD COLUMN IF NOT EXISTS {column}")).await?;
        }
        client.batch_execute(CLIENT_REQUEST_INDEX).await?;
        let store = Store::Postgres(Arc::new(client));
        store.backfill_visibility().await?;
        Ok(store)
    }

    pub(super) async fn sqlite<T: Send + 'static>(
        conn: &Arc<Mutex<rusqlite::Connection>>,
        f: impl FnOnce(&mut rusqlite::Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let conn = conn.clone();
        tokio::task::spawn_blocking(move || f(&mut crate::core::sync::lock(&conn))).await.map_err(|e| StoreError::Failed(e.to_string()))?
    }

    /// Adds a queued task, unless `client_request_id` names one already stored (then that one is
    /// returned and nothing is added: a retried post starts nothing).
    pub async fn insert(
        &self,
        id: &str,
        created_ms: i64,
        operations: &str,
        task: &Task,
        client_request_id: Option<&str>,
    ) -> StoreResult<Inserted> {
        let text = serde_json::to_string(task)?;
        let body_sha256 = crate::serve::sha256_hex(operations.as_bytes());
        let sql = "INSERT INTO ecs_deployer_tasks
                   (id, created_ms, state, operations, task, client_request_id, body_sha256, principal, owner_id, accounts)
                   VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (client_request_id) DO NOTHING";
        let (principal, owner_id, accounts) = (task.principal.clone(), task.owner_id.clone(), accounts_column(&task.accounts));
        let select = "SELECT id, body_sha256 FROM ecs_deployer_tasks WHERE client_request_id = $1";
        let client = client_request_id.map(str::to_string);
        let (n, existing): (u64, Option<(String, Option<String>)>) = match self {
            Store::Sqlite(c) => {
                let (id, operations, hash) = (id.to_string(), operations.to_string(), body_sha256.clone());
                Store::sqlite(c, move |c| {
                    let values = rusqlite::params![id, created_ms, operations, text, client, hash, principal, owner_id, accounts];
                    let n = c.execute(sql, values)? as u64;
                    let existing = match (&client, n) {
                        (Some(client), 0) => c.query_row(select, [client], |r| Ok((r.get(0)?, r.get(1)?))).optional()?,
                        _ => None,
                    };
                    Ok((n, existing))
                })
                .await?
            }
            Store::Postgres(c) => {
                let n = c
                    .execute(sql, &[&id, &created_ms, &operations, &text, &client, &body_sha256, &principal, &owner_id, &accounts])
                    .await?;
                let existing = match (&client, n) {
                    (Some(client), 0) => c.query_opt(select, &[client]).await?.map(|r| (r.get(0), r.get(1))),
                    _ => None,
                };
                (n, existing)
            }
        };
        match (n, existing) {
            (1, _) => Ok(Inserted::New),
            (_, Some((id, hash))) => Ok(Inserted::Existing { id, same_body: hash.as_deref() == Some(body_sha256.as_str()) }),
            _ => Err(StoreError::Failed("the task was neither stored nor found by its clientRequestId".into())),
        }
    }

    /// The task stored under a `clientRequestId`, with the SHA-256 of the body it was posted with.
    pub async fn find_client_request(&self, client_request_id: &str) -> StoreResult<Option<(String, Option<String>)>> {
        let sql = "SELECT id, body_sha256 FROM ecs_deployer_tasks WHERE client_request_id = $1";
        let id = client_request_id.to_string();
        match self {
            Store::Sqlite(c) => Store::sqlite(c, move |c| Ok(c.query_row(sql, [id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?)).await,
            Store::Postgres(c) => Ok(c.query_opt(sql, &[&id]).await?.map(|r| (r.get(0), r.get(1)))),
        }
    }

    /// Takes the oldest queued task for `owner`, with a lease until `lease_until_ms`. Exactly
    /// one caller gets each task, whatever the number of replicas.
    /// A principal with `per_principal` tasks running is skipped (its next task waits; other
    /// principals' go first), so one principal cannot take every worker.
    pub async fn claim(&self, owner: &str, lease_until_ms: i64, per_principal: i64) -> StoreResult<Option<Claimed>> {
        let busy = "(SELECT count(*) FROM ecs_deployer_tasks r WHERE r.state IN ('running', 'undoing')
                      AND COALESCE(r.principal, '') = COALESCE(t.principal, ''))";
        let row = match self {
            Store::Sqlite(c) => {
                let owner = owner.to_string();
                let sql = format!(
                    "UPDATE ecs_deployer_tasks SET state = 'running', owner = ?1, lease_until_ms = ?2
                     WHERE id = (SELECT t.id FROM ecs_deployer_tasks t WHERE t.state = 'queued' AND {busy} < ?3
                                 ORDER BY t.created_ms, t.id LIMIT 1)
                       AND state = 'queued'
                     RETURNING id, operations, task, resume"
                );
                Store::sqlite(c, move |c| {
                    let params = rusqlite::params![owner, lease_until_ms, per_principal];
                    Ok(c.query_row(&sql, params, |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?, r.get(3)?))).optional()?)
                })
                .await?
            }
            Store::Postgres(c) => {
                let sql = format!(
                    "UPDATE ecs_deployer_tasks SET state = 'running', owner = $1, lease_until_ms = $2
                     WHERE id = (SELECT t.id FROM ecs_deployer_tasks t WHERE t.state = 'queued' AND {busy} < $3
                                 ORDER BY t.created_ms, t.id LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING id, operations, task, resume"
                );
                let row = c.query_opt(&sql, &[&owner, &lease_until_ms, &per_principal]).await?;
                row.map(|r| (r.get(0), r.get(1), r.get::<_, String>(2), r.get(3)))
            }
        };
        match row {
            Some((id, operations, task, resume)) => Ok(Some(Claimed { id, operations, task: serde_json::from_str(&task)?, resume })),
            None => Ok(None),
        }
    }

    /// Saves a running task's progress and renews its lease; with `done` the task ends. False
    /// when `owner` no longer holds the task (its lease ran out and it was marked failed).
    pub async fn save(&self, id: &str, owner: &str, task: &Task, lease_until_ms: i64, done: bool) -> StoreResult<bool> {
        let task = serde_json::to_string(task)?;
        let state = if done { "done" } else { "running" };
        let sql = "UPDATE ecs_deployer_tasks SET task = $1, lease_until_ms = $2, state = $3
                   WHERE id = $4 AND owner = $5 AND state IN ('running', 'undoing')";
        let n = match self {
            Store::Sqlite(c) => {
                let (id, owner) = (id.to_string(), owner.to_string());
                Store::sqlite(c, move |c| Ok(c.execute(sql, rusqlite::params![task, lease_until_ms, state, id, owner])? as u64)).await?
            }
            Store::Postgres(c) => c.execute(sql, &[&task, &lease_until_ms, &state, &id, &owner]).await?,
        };
        Ok(n == 1)
    }

    /// Saves a running task's progress and renews its lease, reading whether someone asked it
    /// to stop.
    pub async fn renew(&self, id: &str, owner: &str, task: &Task, lease_until_ms: i64) -> StoreResult<Renewal> {
        let task = serde_json::to_string(task)?;
        let sql = "UPDATE ecs_deployer_tasks SET task = $1, lease_until_ms = $2
                   WHERE id = $3 AND owner = $4 AND state = 'running' RETURNING canceled_by";
        let row: Option<Option<String>> = match self {
            Store::Sqlite(c) => {
                let (id, owner, sql) = (id.to_string(), owner.to_string(), sql.replace('$', "?"));
                let params = move |c: &mut rusqlite::Connection| {
                    Ok(c.query_row(&sql, rusqlite::params![task, lease_until_ms, id, owner], |r| r.get(0)).optional()?)
                };
                Store::sqlite(c, params).await?
            }
            Store::Postgres(c) => c.query_opt(sql, &[&task, &lease_until_ms, &id, &owner]).await?.map(|r| r.get(0)),
        };
        Ok(match row {
            Some(canceled_by) => Renewal::Held { canceled_by },
            None => Renewal::Lost,
        })
    }

    /// Asks a task to stop on behalf of `by`: a queued one ends at once as `ended` says; a
    /// running one is flagged for its replica.
    pub async fn cancel(&self, id: &str, by: &str, ended: &Task) -> StoreResult<Cancel> {
        let ended = serde_json::to_string(ended)?;
        let dequeue = "UPDATE ecs_deployer_tasks SET state = 'done', task = $1, canceled_by = $2 WHERE id = $3 AND state = 'queued'";
        let flag = "UPDATE ecs_deployer_tasks SET canceled_by = $1 WHERE id = $2 AND state = 'running'";
        let (dequeued, flagged) = match self {
            Store::Sqlite(c) => {
                let (id, by) = (id.to_string(), by.to_string());
                Store::sqlite(c, move |c| {
                    let dequeued = c.execute(dequeue, rusqlite::params![ended, by, id])?;
                    let flagged = if dequeued == 0 { c.execute(flag, rusqlite::params![by, id])? } else { 0 };
                    Ok((dequeued as u64, flagged as u64))
                })
                .await?
            }
            Store::Postgres(c) => {
                let dequeued = c.execute(dequeue, &[&ended, &by, &id]).await?;
                let flagged = if dequeued == 0 { c.execute(flag, &[&by, &id]).await? } else { 0 };
                (dequeued, flagged)
            }
        };
        Ok(match (dequeued, flagged) {
            (1, _) => Cancel::Dequeued,
            (_, 1) => Cancel::Asked,
            _ => Cancel::Finished,
        })
    }

    /// How many tasks a principal has queued or running.
    pub async fn active_of(&self, principal: &str) -> StoreResult<i64> {
        let sql = "SELECT count(*) FROM ecs_deployer_tasks WHERE state IN ('queued', 'running', 'undoing') AND principal = $1";
        match self {
            Store::Sqlite(c) => {
                let principal = principal.to_string();
                Store::sqlite(c, move |c| Ok(c.query_row(sql, [principal], |r| r.get(0))?)).await
            }
            Store::Postgres(c) => Ok(c.query_one(sql, &[&principal]).await?.get(0)),
        }
    }

    /// How many tasks wait for a replica (also the readiness probe's store check).
    pub async fn queued(&self) -> StoreResult<i64> {
        let sql = "SELECT count(*) FROM ecs_deployer_tasks WHERE state = 'queued'";
        match self {
            Store::Sqlite(c) => Store::sqlite(c, move |c| Ok(c.query_row(sql, [], |r| r.get(0))?)).await,
            Store::Postgres(c) => Ok(c.query_one(sql, &[]).await?.get(0)),
        }
    }

    /// One task.
    pub async fn get(&self, id: &str) -> StoreResult<Option<Task>> {
        let sql = "SELECT task FROM ecs_deployer_tasks WHERE id = $1";
        let text: Option<String> = match self {
            Store::Sqlite(c) => {
                let id = id.to_string();
                Store::sqlite(c, move |c| Ok(c.query_row(sql, [id], |r| r.get(0)).optional()?)).await?
            }
            Store::Postgres(c) => c.query_opt(sql, &[&id]).await?.map(|r| r.get(0)),
        };
        Ok(match text {
            Some(t) => Some(serde_json::from_str(&t)?),
            None => None,
        })
    }

    /// The operations list task `id` was posted with, as stored.
    pub async fn operations(&self, id: &str) -> StoreResult<Option<String>> {
        let sql = "SELECT operations FROM ecs_deployer_tasks WHERE id = $1";
        Ok(match self {
            Store::Sqlite(c) => {
                let id = id.to_string();
                Store::sqlite(c, move |c| Ok(c.query_row(sql, [id], |r| r.get(0)).optional()?)).await?
            }
            Store::Postgres(c) => c.query_opt(sql, &[&id]).await?.map(|r| r.get(0)),
        })
    }

    /// The newest `limit` tasks, newest first.
    pub async fn list(&self, filter: &TaskFilter, limit: i64) -> StoreResult<Vec<Task>> {
        let (clause, params) = filter.clause();
        let sql = format!("SELECT task FROM ecs_deployer_tasks {clause} ORDER BY created_ms DESC, id DESC LIMIT $1");
        let texts: Vec<String> = match self {
            Store::Sqlite(c) => {
                // SQLite numbers `$N` parameters by first appearance; `?N` binds by N.
                let sql = sql.replace('$', "?");
                Store::sqlite(c, move |c| {
                    let mut stmt = c.prepare(&sql)?;
                    let mut values: Vec<&dyn rusqlite::ToSql> = vec![&limit];
                    values.extend(params.iter().map(|p| p as &dyn rusqlite::ToSql));
                    let rows = stmt.query_map(values.as_slice(), |r| r.get(0))?;
                    Ok(rows.collect::<Result<Vec<String>, _>>()?)
                })
                .await?
            }
            Store::Postgres(c) => {
                let mut values: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&limit];
                values.extend(params.iter().map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync)));
                c.query(&sql, &values).await?.into_iter().map(|r| r.get(0)).collect()
            }
        };
        texts.iter().map(|t| Ok(serde_json::from_str(t)?)).collect()
    }

    /// Fills `principal`, `owner_id` and `accounts` of tasks stored before those columns existed.
    async fn backfill_visibility(&self) -> StoreResult<()> {
        let select = "SELECT id, task FROM ecs_deployer_tasks WHERE accounts IS NULL";
        let update = "UPDATE ecs_deployer_tasks SET principal = $1, owner_id = $2, accounts = $3 WHERE id = $4";
        let rows: Vec<(String, String)> = match self {
            Store::Sqlite(c) => {
                Store::sqlite(c, move |c| {
                    let mut stmt = c.prepare(select)?;
                    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .await?
            }
            Store::Postgres(c) => c.query(select, &[]).await?.into_iter().map(|r| (r.get(0), r.get(1))).collect(),
        };
        for (id, text) in rows {
            let task: Task = serde_json::from_str(&text)?;
            let (principal, owner, accounts) = (task.principal, task.owner_id, accounts_column(&task.accounts));
            match self {
                Store::Sqlite(c) => {
                    Store::sqlite(c, move |c| Ok(c.execute(update, rusqlite::params![principal, owner, accounts, id])?)).await?;
                }
                Store::Postgres(c) => {
                    c.execute(update, &[&principal, &owner, &accounts, &id]).await?;
                }
            }
        }
        Ok(())
    }

    /// Deletes the finished tasks created before `before_ms`; returns how many.
    pub async fn prune(&self, before_ms: i64) -> StoreResult<u64> {
        let sql = "DELETE FROM ecs_deployer_tasks WHERE state = 'done' AND created_ms < $1";
        match self {
            Store::Sqlite(c) => Store::sqlite(c, move |c| Ok(c.execute(sql, [before_ms])? as u64)).await,
            Store::Postgres(c) => Ok(c.execute(sql, &[&before_ms]).await?),
        }
    }

    /// Tries to take PostgreSQL's session-level advisory lock `name` (replicas exclude each other
    /// by it; a replica that dies loses its locks with its connection). SQLite: always true, one
    /// process owns the file.
    pub async fn try_lock(&self, name: &str) -> StoreResult<bool> {
        match self {
            Store::Sqlite(_) => Ok(true),
            Store::Postgres(c) => Ok(c.query_one("SELECT pg_try_advisory_lock($1)", &[&lock_key(name)]).await?.get(0)),
        }
    }

    /// Releases the advisory lock `name`.
    pub async fn unlock(&self, name: &str) -> StoreResult<()> {
        if let Store::Postgres(c) = self {
            c.execute("SELECT pg_advisory_unlock($1)", &[&lock_key(name)]).await?;
        }
        Ok(())
    }

    /// Writes down, before the first write of a deploy, what the running task is about to create
    /// (`creating`: the JSON list of all it has said so far). False when `owner` no longer holds it.
    pub async fn record_creating(&self, id: &str, owner: &str, creating: &str) -> StoreResult<bool> {
        let sql = "UPDATE ecs_deployer_tasks SET creating = $1 WHERE id = $2 AND owner = $3 AND state = 'running'";
        let n = match self {
            Store::Sqlite(c) => {
                let (creating, id, owner) = (creating.to_string(), id.to_string(), owner.to_string());
                Store::sqlite(c, move |c| Ok(c.execute(sql, rusqlite::params![creating, id, owner])? as u64)).await?
            }
            Store::Postgres(c) => c.execute(sql, &[&creating, &id, &owner]).await?,
        };
        Ok(n == 1)
    }
}
