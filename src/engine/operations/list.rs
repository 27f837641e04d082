//! Clouddriver operations lists (`[{"createServerGroup": {...}}, {"disableServerGroup": {...}}]`)
//! run in order, stopping at the first failure, reported in the shape of Clouddriver's task
//! (`status`, `history`, `resultObjects`) so a pipeline can read the result as it would from
//! Clouddriver. Every operation is parsed and validated before the first one runs. This is the
//! one engine behind both the `ops` command and `serve`: the task's state lives in a
//! [`TaskState`] that the runner updates as the work progresses and the caller reads or stores.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::core::config::Config;
use crate::core::description::{create_server_group_from_json, server_group_operation_from_json};
use crate::core::error::{Error, Result};
use crate::core::operation::Operation;
use crate::engine::deploy::handover::Resume;
use crate::engine::deploy::{self, DeployOptions};
use crate::engine::journal::{self, Journal};
use crate::engine::lifecycle::Progress;
use crate::engine::operations::{self, Kind, Target};

/// One parsed, validated operation.
enum Op {
    Create(Box<deploy::Prepared>),
    Lifecycle(Kind, Box<Target>),
    /// Clouddriver's explicit `rollbackServerGroup` (`rollbackContext`): the target is the server
    /// group to restore; the name, the one to disable once the restored one is healthy.
    Rollback(Box<Target>, String),
    /// `cloneServerGroup`: the next version of a live server group, from itself (the
    /// configuration deploys the description built from it at run time).
    Clone(Box<(crate::core::clone::CloneRequest, Config)>),
    /// `shiftTraffic`, `switchBackTraffic`, `finishTrafficShift`.
    Traffic(Operation, Box<crate::core::traffic::operation::TrafficRequest>),
    /// A `createServerGroup` handed over after it created its server group, continued here.
    Resume(Box<deploy::Prepared>, Box<Resume>),
}

/// How long a rollback waits for the restored server group to be healthy.
const ROLLBACK_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// `rollbackServerGroup` as Clouddriver's AWS provider takes it: `rollbackType: EXPLICIT` with
/// `rollbackContext.restoreServerGroupName` and `rollbackServerGroupName`.
fn rollback_of(config: &Config, body: Value) -> Result<Op> {
    let (restore, current) = crate::core::operation::rollback_context(&body);
    let mut errors = Vec::new();
    for (key, value) in [("restoreServerGroupName", &restore), ("rollbackServerGroupName", &current)] {
        if value.is_none() {
            let message = format!("rollbackContext.{key} is required (an explicit rollback names both server groups)");
            errors.push(crate::core::error::FieldError::new(
                format!("rollbackContext.{key}"),
                "rollbackServerGroupDescription.invalid",
                message,
            ));
        }
    }
    if let (Some(r), Some(c)) = (&restore, &current)
        && let Some(message) = rollback_pair_problem(r, c)
    {
        errors.push(crate::core::error::FieldError::new("rollbackContext", "rollbackServerGroupDescription.invalid", message));
    }
    let described = crate::core::operation::restoring(&body, restore.as_deref().unwrap_or_default());
    let target = server_group_operation_from_json(described, Operation::RollbackServerGroup.name())
        .and_then(|op| operations::validate(Kind::Enable, config, &op));
    match (target, restore, current) {
        (Ok(t), Some(_), Some(current)) if errors.is_empty() => Ok(Op::Rollback(Box::new(t), current)),
        (Err(Error::Invalid(e)), _, _) => {
            errors.extend(e);
            Err(Error::Invalid(errors))
        }
        (Err(e), _, _) => Err(e),
        _ => Err(Error::Invalid(errors)),
    }
}

/// Why two server groups cannot be rolled between, if they cannot: the same one, or groups of
/// different clusters (a rollback restores an older version of one cluster).
fn rollback_pair_problem(restore: &str, current: &str) -> Option<String> {
    if restore == current {
        return Some(format!(
            "restoreServerGroupName and rollbackServerGroupName are both {restore}: name the version to restore and the current one"
        ));
    }
    let cluster = |name: &str| crate::core::moniker::parse_name(name).moniker.map(|m| m.cluster());
    match (cluster(restore), cluster(current)) {
        (Some(a), Some(b)) if a == b => None,
        _ => Some(format!(
            "{restore} and {current} are not versions of one cluster; a rollback restores an older version of the same cluster"
        )),
    }
}

/// Runs an explicit rollback: enable the restored server group, wait until it is healthy,
/// disable the current one.
async fn rollback(target: &Target, current: &str, progress: &mut dyn Progress) -> Result<Value> {
    journal::status("Initializing Rollback Amazon ECS Server Group Operation...");
    let session = crate::aws::Session::connect(&target.account, &target.region).await?;
    let results = crate::engine::lifecycle::rollback(
        &session,
        target.ecs_cluster.as_deref(),
        &target.server_group,
        current,
        ROLLBACK_WAIT,
        target.force,
        progress,
    )
    .await?;
    Ok(serde_json::to_value(results).unwrap_or_default())
}

/// An operations list, parsed and validated: nothing in it can fail before AWS is called.
pub struct Operations(Vec<(Operation, Op)>);

impl Operations {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the task may be handed over when `serve` stops (see
    /// [`crate::engine::deploy::handover`]): a single deploy that may be, a single rollback
    /// (handed over while it waits, it starts again elsewhere: enabling the restored group again
    /// changes nothing, then the wait and the disable follow), a single disable, enable, resize or
    /// destroy (it has no point to stop at, and finishes where it runs).
    pub fn may_hand_over(&self) -> bool {
        match self.0.as_slice() {
            [(_, Op::Create(p) | Op::Resume(p, _))] => p.may_hand_over(),
            [(_, Op::Rollback(..))] => true,
            [(_, Op::Lifecycle(..))] => true,
            _ => false,
        }
    }

    /// The operations of a handed-over task, continued where its deploy stopped (`resume`), or
    /// run again from the beginning (None: it had not started creating anything).
    pub fn resuming(self, resume: Option<Resume>) -> Self {
        let Some(resume) = resume else { return self };
        let continued = |(operation, op)| match op {
            Op::Create(p) => (operation, Op::Resume(p, Box::new(resume.clone()))),
            other => (operation, other),
        };
        Operations(self.0.into_iter().map(continued).collect())
    }

    /// The operation names, in order (`createServerGroup`, …).
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(operation, _)| operation.name()).collect()
    }

    /// The operations told to go on past the checks that a group can serve (`force: true`).
    pub fn forced(&self) -> Vec<&str> {
        let forced = |op: &Op| match op {
            Op::Lifecycle(_, t) | Op::Rollback(t, _) => t.force,
            Op::Traffic(_, t) => t.force,
            _ => false,
        };
        self.0.iter().filter(|(_, op)| forced(op)).map(|(operation, _)| operation.name()).collect()
    }

    /// True when a deploy's task definition is still to be downloaded.
    pub fn has_downloads(&self) -> bool {
        self.0.iter().any(|(_, op)| matches!(op, Op::Create(p) if p.request().pending_download().is_some()))
    }

    /// Downloads every deploy's referenced artifact (concurrently) and checks it: what `serve`
    /// does before it accepts a post, so a missing or unreadable artifact is a 400 with nothing
    /// started. Problems are reported at once, with the operation's index.
    pub async fn download_artifacts(&mut self) -> Result<()> {
        let downloads = self.0.iter_mut().enumerate().filter_map(|(i, (operation, op))| match op {
            Op::Create(prepared) if prepared.request().pending_download().is_some() => Some((i, operation.name(), prepared)),
            _ => None,
        });
        let results = futures::future::join_all(
            downloads.map(|(i, name, prepared)| async move { deploy::resolve_prepared(prepared).await.map_err(|e| (i, name, e)) }),
        )
        .await;
        let mut errors = Vec::new();
        for result in results {
            match result {
                Ok(()) => {}
                Err((i, name, Error::Invalid(e))) => errors.extend(e.into_iter().map(|mut fe| {
                    fe.field = format!("[{i}].{name}.{}", fe.field);
                    fe
                })),
                Err((_, _, e)) => return Err(e),
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(Error::Invalid(errors)) }
    }

    /// The artifact accounts the deploys download with (whoever posts them must be allowed to
    /// use each).
    pub fn artifact_accounts(&self) -> Vec<crate::core::artifact::ArtifactAccount> {
        let mut out: Vec<crate::core::artifact::ArtifactAccount> = Vec::new();
        for (_, op) in &self.0 {
            if let Op::Create(prepared) = op
                && let Some(download) = prepared.request().pending_download()
                && !out.iter().any(|a| a.name == download.account.name)
            {
                out.push(download.account.clone());
            }
        }
        out
    }

    /// The server groups the lifecycle operations act on (a rollback: both of its).
    /// The rules the traffic operations and traffic-managed deploys act on: (account, region, rule).
    pub fn traffic_rules(&self) -> Vec<(crate::core::config::Account, String, crate::core::traffic::RuleRef)> {
        self.0
            .iter()
            .filter_map(|(_, op)| match op {
                Op::Traffic(_, request) => Some((request.account.clone(), request.region.clone(), request.rule.clone())),
                Op::Create(prepared) => {
                    let req = prepared.request();
                    req.traffic_shift.as_ref().map(|t| (req.account.clone(), req.region.clone(), t.rule.clone()))
                }
                _ => None,
            })
            .collect()
    }

    pub fn lifecycle_targets(&self) -> Vec<(Target, String)> {
        let mut out = Vec::new();
        for (_, op) in &self.0 {
            match op {
                Op::Lifecycle(_, target) => out.push(((**target).clone(), target.server_group.clone())),
                Op::Rollback(target, current) => {
                    out.push(((**target).clone(), target.server_group.clone()));
                    out.push(((**target).clone(), current.clone()));
                }
                Op::Create(_) | Op::Resume(..) | Op::Clone(_) | Op::Traffic(..) => {}
            }
        }
        out
    }

    /// Every account the operations act on: each one's own, and a deploy's `source` account (it
    /// reads the source and, with a red/black strategy, disables its peers in its own account).
    pub fn accounts(&self) -> Vec<String> {
        let mut accounts = std::collections::BTreeSet::new();
        for (_, op) in &self.0 {
            match op {
                Op::Create(prepared) | Op::Resume(prepared, _) => {
                    let req = prepared.request();
                    accounts.insert(req.account.name.clone());
                    accounts.extend(req.source.as_ref().map(|s| s.account.clone()));
                }
                Op::Lifecycle(_, target) | Op::Rollback(target, _) => {
                    accounts.insert(target.account.name.clone());
                }
                Op::Clone(clone) => {
                    accounts.insert(clone.0.account.name.clone());
                }
                Op::Traffic(_, request) => {
                    accounts.insert(request.account.name.clone());
                }
            }
        }
        accounts.into_iter().collect()
    }
}

/// Clouddriver's task status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub phase: String,
    pub status: String,
    pub completed: bool,
    pub failed: bool,
    pub retryable: bool,
}

/// One line of a task's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryLine {
    pub phase: String,
    pub status: String,
}

/// Why a task failed: the operation, the message, the exit code the CLI would have ended with, and
/// the report of what exists afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskException {
    pub operation: String,
    pub message: String,
    pub exit_code: u8,
    #[serde(default)]
    pub report: Vec<String>,
}

/// The task an operations list produced, in Clouddriver's shape (`GET /task/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_ms: Option<u64>,
    /// Who the task is for: the user a trusted service acted for, else the principal (`serve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// The principal that posted it (`serve`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The accounts its operations act on (`serve`: who may read it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// The `serve` replica that ran (or runs) the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
    pub status: TaskStatus,
    pub history: Vec<HistoryLine>,
    pub result_objects: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<TaskException>,
}

impl Task {
    /// A task that has not started: Clouddriver's "Initializing Orchestration Task...".
    pub fn new() -> Self {
        let line = HistoryLine { phase: "ORCHESTRATION".into(), status: "Initializing Orchestration Task...".into() };
        Task {
            id: None,
            start_time_ms: None,
            owner_id: None,
            principal: None,
            accounts: Vec::new(),
            replica: None,
            status: TaskStatus {
                phase: line.phase.clone(),
                status: line.status.clone(),
                completed: false,
                failed: false,
                retryable: false,
            },
            history: vec![line],
            result_objects: Vec::new(),
            exception: None,
        }
    }

    /// Appends a history line and makes it the current status.
    pub fn push(&mut self, phase: &str, status: impl Into<String>) {
        let line = HistoryLine { phase: phase.into(), status: status.into() };
        self.status.phase = line.phase.clone();
        self.status.status = line.status.clone();
        self.history.push(line);
    }

    /// Ends the task as failed: the exception as Clouddriver reports it (a `type: EXCEPTION`
    /// result object, which Orca's MonitorKatoTask reads) and in `exception`.
    pub fn fail(&mut self, operation: &str, cause: &str, message: &str, exit_code: u8, report: Vec<String>) {
        self.push("ORCHESTRATION", format!("Orchestration failed: {operation}"));
        self.status.completed = true;
        self.status.failed = true;
        self.result_objects.push(json!({"type": "EXCEPTION", "operation": operation, "cause": cause, "message": message}));
        self.exception = Some(TaskException { operation: operation.into(), message: message.into(), exit_code, report });
    }
}

impl Default for Task {
    fn default() -> Self {
        Task::new()
    }
}

/// A task's state, shared by the runner that updates it and whoever shows or stores it.
#[derive(Clone, Default)]
pub struct TaskState {
    task: Arc<Mutex<Task>>,
    changed: Arc<tokio::sync::Notify>,
}

impl TaskState {
    pub fn new(task: Task) -> Self {
        TaskState { task: Arc::new(Mutex::new(task)), changed: Arc::default() }
    }

    /// The task as it is now.
    pub fn snapshot(&self) -> Task {
        crate::core::sync::lock(&self.task).clone()
    }

    /// Waits for the next change (a change made since the last call counts).
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    fn update(&self, f: impl FnOnce(&mut Task)) {
        f(&mut crate::core::sync::lock(&self.task));
        self.changed.notify_one();
    }
}

/// A wait's progress as history lines: each new state and event once.
struct HistoryProgress<'a> {
    inner: &'a mut dyn Progress,
    last: String,
}

impl Progress for HistoryProgress<'_> {
    fn status(&mut self, line: &str) {
        if line != self.last {
            self.last = line.to_string();
            journal::status(line);
        }
        self.inner.status(line);
    }
    fn event(&mut self, message: &str) {
        journal::status(message);
        self.inner.event(message);
    }
    fn done(&mut self) {
        self.inner.done();
    }
}

/// Parses and validates an operations list; every problem is reported at once.
pub fn parse(config: &Config, value: Value) -> Result<Operations> {
    let Value::Array(items) = value else {
        return Err(Error::invalid(
            "operations",
            "operations.invalid",
            "an operations list is a JSON array: [{\"createServerGroup\": {...}}, …]",
        ));
    };
    let mut ops = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let (name, body) = match crate::core::description::operation_entry(i, item) {
            Ok(entry) => entry,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let Some(operation) = Operation::parse(&name) else {
            let message = format!("operation `{name}` is not supported; use {}", Operation::names());
            errors.push(crate::core::error::FieldError::new(format!("[{i}]"), "operations.invalid", message));
            continue;
        };
        let parsed = match (operation, Kind::of(operation)) {
            // Everything a deploy checks before its first AWS call, so a bad one starts nothing.
            (Operation::CreateServerGroup, _) => create_server_group_from_json(body)
                .and_then(|d| deploy::prepare(config, d, &DeployOptions::default()))
                .map(|prepared| Op::Create(Box::new(prepared))),
            (Operation::RollbackServerGroup, _) => rollback_of(config, body),
            (Operation::ShiftTraffic | Operation::SwitchBackTraffic | Operation::FinishTrafficShift, _) => {
                crate::core::description::from_value(body, operation.name())
                    .and_then(|d| {
                        crate::core::traffic::operation::validate(config, operation.name(), operation == Operation::ShiftTraffic, d)
                            .map_err(Error::Invalid)
                    })
                    .map(|t| Op::Traffic(operation, Box::new(t)))
            }
            (Operation::CloneServerGroup, _) => crate::core::description::from_value(body, "cloneServerGroupDescription")
                .and_then(|d| crate::core::clone::validate(config, d).map_err(Error::Invalid))
                .map(|c| Op::Clone(Box::new((c, config.clone())))),
            (_, Some(kind)) => server_group_operation_from_json(body, operation.name())
                .and_then(|op| operations::validate(kind, config, &op))
                .map(|t| Op::Lifecycle(kind, Box::new(t))),
            (_, None) => unreachable!("every operation is a deploy, a rollback or a lifecycle operation"),
        };
        match parsed {
            Ok(op) => ops.push((operation, op)),
            Err(Error::Invalid(e)) => errors.extend(e.into_iter().map(|mut fe| {
                fe.field = format!("[{i}].{name}.{}", fe.field);
                fe
            })),
            Err(e) => return Err(e),
        }
    }
    if ops.is_empty() && errors.is_empty() {
        errors.push(crate::core::error::FieldError::new(
            "operations",
            "operations.invalid",
            "the operations list is empty: give at least one operation",
        ));
    }
    if errors.is_empty() { Ok(Operations(ops)) } else { Err(Error::Invalid(errors)) }
}

/// The JSON body of one operation (`POST /ecs/ops/{operation}`) as an operations list.
pub fn single(operation: &str, description: Value) -> Value {
    json!([{ operation: description }])
}

/// Runs an operations list; `state` says how far it got, as it goes. Returns the final task.
pub async fn run(ops: Operations, state: &TaskState, progress: &mut dyn Progress) -> Task {
    let recorder = state.clone();
    let phase = Arc::new(Mutex::new(String::from("ORCHESTRATION")));
    let current = phase.clone();
    let journal = Journal::new(move |line| {
        let phase = crate::core::sync::lock(&current).clone();
        recorder.update(|t| t.push(&phase, line));
    });
    let mut progress = HistoryProgress { inner: progress, last: String::new() };
    for (operation, op) in ops.0 {
        let (name, op_phase) = (operation.name(), operation.phase());
        *crate::core::sync::lock(&phase) = op_phase.to_string();
        state.update(|t| t.push(op_phase, format!("Processing op: {name}")));
        let work = async {
            match op {
                // Boxed: the deploy's state is large, and this future runs deep inside `serve`'s.
                Op::Create(prepared) => Box::pin(deploy::deploy_prepared(*prepared, &DeployOptions::default(), &mut progress))
                    .await
                    .map(|o| serde_json::to_value(o).unwrap_or_default()),
                Op::Resume(prepared, resume) => Box::pin(deploy::resume_prepared(*prepared, *resume, &mut progress))
                    .await
                    .map(|o| serde_json::to_value(o).unwrap_or_default()),
                Op::Lifecycle(kind, target) => {
                    operations::run(kind, &target, None).await.map(|r| serde_json::to_value(r).unwrap_or_default())
                }
                Op::Rollback(target, current) => rollback(&target, &current, &mut progress).await,
                Op::Traffic(operation, request) => crate::engine::traffic::run(operation, &request, &mut progress)
                    .await
                    .map(|o| serde_json::to_value(o).unwrap_or_default()),
                Op::Clone(clone) => {
                    let (request, config) = *clone;
                    Box::pin(crate::engine::clone::clone(&config, &request, &DeployOptions::default(), &mut progress))
                        .await
                        .map(|o| serde_json::to_value(o).unwrap_or_default())
                }
            }
        };
        let owner = state.snapshot().id.unwrap_or_else(|| "ops".into());
        let started = std::time::Instant::now();
        let done = journal::scope(journal.clone(), journal::owned_by(owner, work)).await;
        let outcome = match &done {
            Ok(_) => "succeeded",
            Err(Error::Invalid(_) | Error::Config(_)) => "invalid",
            Err(Error::Interrupted { .. }) => "interrupted",
            Err(Error::HandedOver) => "handed_over",
            Err(_) => "failed",
        };
        crate::core::metrics::operation(name, outcome, started.elapsed().as_secs_f64());
        match done {
            Ok(mut v) => {
                crate::core::redact::redact(&mut v);
                state.update(|t| {
                    t.push(op_phase, format!("Done: {name}"));
                    t.result_objects.push(v);
                });
            }
            // Neither failed nor completed: the task goes on elsewhere.
            Err(Error::HandedOver) => {
                state.update(|t| t.push(op_phase, format!("Handed over: this replica is shutting down; {name} goes on where it stopped")));
                return state.snapshot();
            }
            Err(e) => {
                let report = match &e {
                    Error::Aws { report, .. } | Error::Failed { report, .. } | Error::Interrupted { report } => report.clone(),
                    _ => Vec::new(),
                };
                let cause = match &e {
                    Error::Aws { error, .. } => error.code.clone().unwrap_or_else(|| "AwsError".into()),
                    Error::Invalid(_) | Error::Config(_) => "InvalidRequestException".into(),
                    Error::Interrupted { .. } => "Interrupted".into(),
                    _ => "OperationFailed".into(),
                };
                let message = e.to_string();
                state.update(|t| {
                    t.push(op_phase, format!("Failed: {name}: {message}"));
                    t.fail(name, &cause, &message, e.exit_code(), report);
                });
                return state.snapshot();
            }
        }
    }
    state.update(|t| {
        t.push("ORCHESTRATION", "Orchestration completed.");
        t.status.completed = true;
    });
    state.snapshot()
}
