//! Handing tasks over when this replica stops (issue #30; see `engine::deploy::handover`): a
//! deploy that stopped at a safe point goes back to the queue with where it stopped, its history
//! kept and its lease released, so another replica (or the next start, on SQLite) claims it at
//! once and continues it — a rolling restart undoes nothing another replica can finish.

use std::time::Duration;

use tracing::{error, info};

use super::App;
use super::audit::Event;
use super::store::{Store, StoreResult};
use crate::engine::deploy::handover::Resume;
use crate::engine::operations::list::Task;

impl Store {
    /// Puts a task `owner` runs back in the queue with `resume` (None: run it from the start).
    /// False when `owner` no longer holds it.
    pub(super) async fn hand_over(&self, id: &str, owner: &str, task: &Task, resume: Option<String>) -> StoreResult<bool> {
        let task = serde_json::to_string(task)?;
        let sql = "UPDATE ecs_deployer_tasks SET state = 'queued', owner = NULL, lease_until_ms = NULL, task = $1, resume = $2
                   WHERE id = $3 AND owner = $4 AND state = 'running'";
        let n = match self {
            Store::Sqlite(c) => {
                let (id, owner) = (id.to_string(), owner.to_string());
                Store::sqlite(c, move |c| Ok(c.execute(sql, rusqlite::params![task, resume, id, owner])? as u64)).await?
            }
            Store::Postgres(c) => c.execute(sql, &[&task, &resume, &id, &owner]).await?,
        };
        Ok(n == 1)
    }
}

/// Hands a task over: queued again with where its deploy stopped, retrying a store that fails
/// for a while (if it never answers, the lease runs out and the task is adopted as abandoned).
pub(super) async fn hand_over(app: &App, id: &str, task: &Task, resume: Option<Resume>) {
    let resume = resume.map(|r| serde_json::to_string(&r).unwrap_or_default());
    for attempt in 0..10u32 {
        match app.store.hand_over(id, &app.replica, task, resume.clone()).await {
            Ok(true) => {
                audit_hand_over(app, id, task);
                return info!("task {id}: handed over (queued again, to go on where it stopped)");
            }
            Ok(false) => return error!("task {id}: could not hand it over: another replica took it over meanwhile"),
            Err(e) => {
                error!("task {id}: handing it over failed (attempt {}): {e}", attempt + 1);
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
            }
        }
    }
}

/// Audits the hand-over as `serve`'s own work (no request asked for it).
fn audit_hand_over(app: &App, id: &str, task: &Task) {
    let event = super::adoption::serve_event(app, id, &task.accounts);
    app.audit.record(Event { method: "HANDOVER".into(), outcome: "handed-over", ..event });
}

/// The operations of a claimed task, continued where a hand-over left them: `resume` read back.
pub(super) fn resume_of(text: Option<&str>) -> Result<Option<Resume>, String> {
    text.map(|t| serde_json::from_str(t).map_err(|e| format!("where the task was handed over cannot be read ({e})"))).transpose()
}
