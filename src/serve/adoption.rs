//! Abandoned tasks: a task whose replica died while running it is adopted once its lease and the
//! longest AWS call have passed, undone in the background (what its deploys were creating is
//! removed if incomplete, what its lifecycle operations left is read back), audited as `serve`'s
//! own work, and ended failed with the report. The store query that takes them over is here too.

use std::sync::Arc;

use tracing::{error, warn};

use super::audit::Event;
use super::store::{Store, StoreResult};
use super::{App, now_ms};
use crate::engine::abandoned;
use crate::engine::operations::list::{self as ops, Task};

/// A task whose replica went away while running it, now held by this replica to undo and end.
#[derive(Debug)]
pub struct Abandoned {
    pub id: String,
    pub previous_owner: String,
    pub task: Task,
    /// What its deploys were about to create, in order.
    pub creating: Vec<crate::engine::journal::Creating>,
}

/// The message a task gets when the replica running it went away.
pub fn abandoned_message(owner: &str) -> String {
    format!(
        "ecs-deployer stopped while this task was running (replica {owner}); it was not run again: what it had begun to create \
         and left incomplete was removed (the report says what), so the operation can be posted again"
    )
}

impl Store {
    /// Takes over, for `owner` with a lease until `lease_until_ms`, every task whose replica went
    /// away while running it (its lease ended before `now_ms`), or while undoing one: each moves to
    /// `undoing`, for the caller to undo what it was creating and then end it with [`Store::save`].
    /// The update is conditional on the lease, so a replica that renewed meanwhile keeps its task.
    pub async fn adopt_abandoned(&self, now_ms: i64, owner: &str, lease_until_ms: i64) -> StoreResult<Vec<Abandoned>> {
        let select = "SELECT id, owner, task, lease_until_ms, creating FROM ecs_deployer_tasks
                      WHERE state IN ('running', 'undoing') AND lease_until_ms < $1";
        type Row = (String, Option<String>, String, i64, Option<String>);
        let rows: Vec<Row> = match self {
            Store::Sqlite(c) => {
                Store::sqlite(c, move |c| {
                    let mut stmt = c.prepare(select)?;
                    let rows = stmt.query_map([now_ms], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .await?
            }
            Store::Postgres(c) => {
                c.query(select, &[&now_ms]).await?.into_iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect()
            }
        };
        let mut adopted = Vec::new();
        for (id, previous_owner, task, lease, creating) in rows {
            let update = "UPDATE ecs_deployer_tasks SET state = 'undoing', owner = $1, lease_until_ms = $2
                          WHERE id = $3 AND state IN ('running', 'undoing') AND lease_until_ms = $4";
            let n = match self {
                Store::Sqlite(c) => {
                    let (owner, id) = (owner.to_string(), id.clone());
                    Store::sqlite(c, move |c| Ok(c.execute(update, rusqlite::params![owner, lease_until_ms, id, lease])? as u64)).await?
                }
                Store::Postgres(c) => c.execute(update, &[&owner, &lease_until_ms, &id, &lease]).await?,
            };
            if n == 1 {
                let creating = match creating.as_deref() {
                    Some(text) => serde_json::from_str(text)?,
                    None => Vec::new(),
                };
                adopted.push(Abandoned {
                    id,
                    previous_owner: previous_owner.unwrap_or_default(),
                    task: serde_json::from_str(&task)?,
                    creating,
                });
            }
        }
        Ok(adopted)
    }
}

/// Takes over the tasks whose replica went away while running them (leases ended before
/// `before_ms`) and undoes each in the background: it reads as being undone at once, then ends
/// failed, saying what was removed. Serving never waits for an undo.
pub(super) async fn adopt_abandoned(app: &Arc<App>, before_ms: i64) {
    let lease = now_ms() + app.lease.as_millis() as i64;
    let adopted = match app.store.adopt_abandoned(before_ms, &app.replica, lease).await {
        Ok(adopted) => adopted,
        Err(e) => return error!("{e}"),
    };
    for abandoned in adopted {
        crate::core::metrics::lease("takeover");
        tokio::task::spawn_local(undo_abandoned(app.clone(), abandoned));
    }
}

/// Undoes what an abandoned task was creating, renewing this replica's lease on it meanwhile, and
/// ends it failed with the report.
pub(super) async fn undo_abandoned(app: Arc<App>, abandoned: Abandoned) {
    let Abandoned { id, previous_owner, mut task, creating } = abandoned;
    let lease = || now_ms() + app.lease.as_millis() as i64;
    let message = abandoned_message(&previous_owner);
    let phase = task.status.phase.clone();
    task.push(&phase, format!("Being undone: {message}; removing what it left incomplete"));
    if let Err(e) = app.store.save(&id, &app.replica, &task, lease(), false).await {
        error!("task {id}: {e}");
    }
    let undo = async {
        let mut report = Vec::new();
        for c in &creating {
            report.push(abandoned::undo_create(&app.config, c).await);
        }
        // A disable, enable, resize or rollback cut short: what its server groups are now.
        let states = lifecycle_states(&app, &id).await;
        if creating.is_empty() && states.is_empty() {
            report.push("it had not started creating anything".to_string());
        }
        report.extend(states);
        report
    };
    let renew = async {
        loop {
            tokio::time::sleep(app.lease / 3).await;
            if let Err(e) = app.store.save(&id, &app.replica, &task, lease(), false).await {
                error!("task {id}: renewing the lease while undoing: {e}");
            }
        }
    };
    let report = tokio::select! {
        report = undo => report,
        _ = renew => unreachable!("renewing never ends"),
    };
    audit_own_work(&app, &id, &task.accounts, &report);
    task.push(&phase, format!("Failed: {message}"));
    report.iter().for_each(|line| task.push(&phase, line.clone()));
    task.fail("task", "TaskAbandoned", &message, 1, report);
    match app.store.save(&id, &app.replica, &task, lease(), true).await {
        Ok(true) => warn!("task {id} was running when ecs-deployer stopped; marked failed after undoing its work"),
        Ok(false) => warn!("task {id}: another replica took it over while this one was undoing it"),
        Err(e) => error!("task {id}: {e}"),
    }
}

/// What the server groups of an abandoned task's lifecycle operations are now (read back), and
/// the traffic journals its shifts left, restored.
pub(super) async fn lifecycle_states(app: &App, id: &str) -> Vec<String> {
    let Ok(Some(text)) = app.store.operations(id).await else { return Vec::new() };
    let Ok(operations) =
        serde_json::from_str(&text).map_err(|e| e.to_string()).and_then(|v| ops::parse(&app.config, v).map_err(|e| e.to_string()))
    else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    for (target, name) in operations.lifecycle_targets() {
        lines.push(abandoned::state_line(&target.account, &target.region, target.ecs_cluster.as_deref(), &name).await);
    }
    // A shift cut short: the rule's journaled forward action back.
    for (account, region, rule) in operations.traffic_rules() {
        lines.push(abandoned::restore_rule(&account, &region, &rule, id).await);
    }
    lines
}

/// Audits what `serve` removed on its own (no request asked for it): an abandoned task's
/// creations undone at start-up or by adoption, a task's work undone on SIGTERM.
pub(super) fn audit_own_work(app: &App, id: &str, accounts: &[String], report: &[String]) {
    let reason = Some(report.join("; ").chars().take(2048).collect());
    app.audit.record(Event { method: "UNDO".into(), outcome: "undone", reason, ..serve_event(app, id, accounts) });
}

/// An audit line for `serve`'s own work on task `id` (principal `serve`, from this replica).
pub(super) fn serve_event(app: &App, id: &str, accounts: &[String]) -> Event {
    Event {
        principal: Some("serve".into()),
        source: format!("replica {}", app.replica),
        path: format!("/task/{id}"),
        accounts: accounts.to_vec(),
        task_id: Some(id.to_string()),
        ..Event::default()
    }
}
