//! Clouddriver operations lists (`[{"createServerGroup": {...}}, {"disableServerGroup": {...}}]`)
//! run in order, stopping at the first failure, reported in the shape of Clouddriver's task
//! (`status`, `history`, `resultObjects`) so a pipeline can read the result as it would from
//! Clouddriver. Every operation is parsed and validated before the first one runs.

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Config;
use crate::deploy::{self, DeployOptions};
use crate::description::{CreateServerGroup, create_server_group_from_json, server_group_operation_from_json};
use crate::error::{Error, Result};
use crate::lifecycle::Progress;
use crate::operations::{self, Kind, Target};

/// One parsed, validated operation.
enum Op {
    Create(Box<CreateServerGroup>),
    Lifecycle(Kind, Box<Target>),
}

/// Clouddriver's task status.
#[derive(Debug, Clone, Serialize)]
pub struct TaskStatus {
    pub phase: String,
    pub status: String,
    pub completed: bool,
    pub failed: bool,
    pub retryable: bool,
}

/// One line of a task's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryLine {
    pub phase: String,
    pub status: String,
}

/// The task an operations list produced.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub status: TaskStatus,
    pub history: Vec<HistoryLine>,
    pub result_objects: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<Value>,
}

fn parse(config: &Config, value: Value) -> Result<Vec<(String, Op)>> {
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
        let Some((name, body)) =
            item.as_object().filter(|m| m.len() == 1).and_then(|m| m.iter().next()).map(|(k, v)| (k.clone(), v.clone()))
        else {
            errors.push(crate::error::FieldError::new(
                format!("[{i}]"),
                "operations.invalid",
                "each operation is an object with one key, the operation name",
            ));
            continue;
        };
        let kind = match name.as_str() {
            "createServerGroup" => None,
            "disableServerGroup" => Some(Kind::Disable),
            "enableServerGroup" => Some(Kind::Enable),
            "resizeServerGroup" => Some(Kind::Resize),
            "destroyServerGroup" => Some(Kind::Destroy),
            other => {
                errors.push(crate::error::FieldError::new(
                    format!("[{i}]"),
                    "operations.invalid",
                    format!("operation `{other}` is not supported; use createServerGroup, disableServerGroup, enableServerGroup, resizeServerGroup or destroyServerGroup"),
                ));
                continue;
            }
        };
        let parsed = match kind {
            None => create_server_group_from_json(body).map(|d| Op::Create(Box::new(d))),
            Some(kind) => server_group_operation_from_json(body, kind.operation())
                .and_then(|op| operations::validate(kind, config, &op))
                .map(|t| Op::Lifecycle(kind, Box::new(t))),
        };
        match parsed {
            Ok(op) => ops.push((name, op)),
            Err(Error::Invalid(e)) => errors.extend(e.into_iter().map(|mut fe| {
                fe.field = format!("[{i}].{name}.{}", fe.field);
                fe
            })),
            Err(e) => return Err(e),
        }
    }
    if errors.is_empty() { Ok(ops) } else { Err(Error::Invalid(errors)) }
}

/// Runs an operations list; the task says how far it got.
pub async fn run(config: &Config, value: Value, progress: &mut dyn Progress) -> Result<Task> {
    let ops = parse(config, value)?;
    let mut task = Task {
        status: TaskStatus {
            phase: "ORCHESTRATION".into(),
            status: "Initializing Orchestration Task...".into(),
            completed: false,
            failed: false,
            retryable: false,
        },
        history: vec![HistoryLine { phase: "ORCHESTRATION".into(), status: "Initializing Orchestration Task...".into() }],
        result_objects: Vec::new(),
        exception: None,
    };
    for (name, op) in ops {
        let phase = match &op {
            Op::Create(_) => "CREATE_ECS_SERVER_GROUP".to_string(),
            Op::Lifecycle(kind, _) => kind.operation().to_string(),
        };
        task.history.push(HistoryLine { phase: phase.clone(), status: format!("Processing op: {name}") });
        let result = match op {
            Op::Create(d) => {
                deploy::deploy(config, *d, &DeployOptions::default(), progress).await.map(|o| serde_json::to_value(o).unwrap_or_default())
            }
            Op::Lifecycle(kind, target) => operations::run(kind, &target, None).await.map(|r| serde_json::to_value(r).unwrap_or_default()),
        };
        match result {
            Ok(v) => {
                task.history.push(HistoryLine { phase, status: format!("Done: {name}") });
                task.result_objects.push(v);
            }
            Err(e) => {
                task.history.push(HistoryLine { phase, status: format!("Failed: {name}: {e}") });
                task.status = TaskStatus {
                    phase: "ORCHESTRATION".into(),
                    status: format!("Orchestration failed: {name}"),
                    completed: true,
                    failed: true,
                    retryable: false,
                };
                let report = match &e {
                    Error::Aws { report, .. } | Error::Failed { report, .. } => report.clone(),
                    _ => Vec::new(),
                };
                task.exception = Some(json!({"operation": name, "message": e.to_string(), "exitCode": e.exit_code(), "report": report}));
                return Ok(task);
            }
        }
    }
    task.status = TaskStatus {
        phase: "ORCHESTRATION".into(),
        status: "Orchestration completed.".into(),
        completed: true,
        failed: false,
        retryable: false,
    };
    task.history.push(HistoryLine { phase: "ORCHESTRATION".into(), status: "Orchestration completed.".into() });
    Ok(task)
}
