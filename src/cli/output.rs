//! The only module that writes to stdout and, for the final report, to stderr: renders results
//! and errors as text for people or as JSON for programs. In JSON mode stdout carries exactly
//! one JSON document.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "this module is the program's voice")]

use serde::Serialize;
use serde_json::json;

use crate::cli::OutputFormat;
use crate::core::error::Error;
use crate::core::plan::Origin;
use crate::engine::deploy::DeployOutcome;

pub use crate::core::redact::redact;

/// Prints a successful deploy (or its plan).
pub fn deploy(format: OutputFormat, outcome: &DeployOutcome) {
    let mut shown = serde_json::to_value(outcome).unwrap_or_default();
    redact(&mut shown);
    match format {
        OutputFormat::Json => json_out(&shown),
        OutputFormat::Text => {
            let verb = if outcome.plan.is_some() { "would create" } else { "created" };
            println!("{verb} server group {} in {} ({})", outcome.server_group_name, outcome.region, outcome.account);
            println!("  ECS cluster        {}", outcome.ecs_cluster_name);
            if let Some(arn) = &outcome.task_definition_arn {
                println!("  task definition    {arn}");
            }
            if let Some(arn) = &outcome.service_arn {
                println!("  service            {arn}");
            }
            println!("  desired count      {}", outcome.desired_count);
            println!(
                "  scalable target    {} (min {}, max {})",
                outcome.scalable_target.resource_id, outcome.scalable_target.min_capacity, outcome.scalable_target.max_capacity
            );
            if let Some(scaling) = &outcome.scaling {
                match &scaling.note {
                    Some(note) => println!("  scaling copy       {note}"),
                    None => {
                        let n = |v: &Vec<_>| v.len();
                        println!(
                            "  scaling copy       {} policies, {} alarms, {} scheduled actions from {}",
                            n(&scaling.scaling_policies),
                            n(&scaling.alarms),
                            n(&scaling.scheduled_actions),
                            scaling.source_resource_id.as_deref().unwrap_or_default()
                        );
                        for item in scaling.scaling_policies.iter().chain(&scaling.alarms).chain(&scaling.scheduled_actions) {
                            println!("    {} -> {}", item.from, item.to);
                        }
                        for s in &scaling.skipped {
                            println!("    skipped {}: {}", s.name, s.reason);
                        }
                    }
                }
            }
            if let Some(plan) = &outcome.plan {
                for (origin, label) in [(Origin::Source, "from the source  "), (Origin::Default, "by default       ")] {
                    let members: Vec<&str> =
                        plan.create_service.origins.iter().filter(|(_, o)| *o == origin).map(|(m, _)| m.as_str()).collect();
                    if !members.is_empty() {
                        println!("  {label}  {}", members.join(", "));
                    }
                }
            }
            for w in &outcome.warnings {
                println!("  warning: {w}");
            }
            if let Some(plan) = shown.get("plan") {
                println!();
                for (name, key) in [
                    ("RegisterTaskDefinition", "registerTaskDefinition"),
                    ("CreateService", "createService"),
                    ("RegisterScalableTarget", "registerScalableTarget"),
                ] {
                    let body = &plan[key];
                    println!("{name}:");
                    println!("{}", serde_json::to_string_pretty(body).unwrap_or_default());
                }
                if let Some(copy) = plan.get("scalingCopy") {
                    println!("Scaling copy (PutScalingPolicy, PutScheduledAction, then PutMetricAlarm):");
                    println!("{}", serde_json::to_string_pretty(copy).unwrap_or_default());
                }
            }
        }
    }
}

/// Prints lifecycle operation results.
pub fn operations(format: OutputFormat, results: &[crate::engine::lifecycle::OperationResult]) {
    match format {
        OutputFormat::Json => {
            if let [one] = results {
                json_out(one)
            } else {
                json_out(&results)
            }
        }
        OutputFormat::Text => {
            for r in results {
                println!("{} {} ({} {}/{})", r.operation, r.server_group_name, r.ecs_cluster_name, r.account, r.region);
                for step in &r.steps {
                    println!("  {step}");
                }
            }
        }
    }
}

/// Prints what a traffic operation did: the rule's weights now, and each step.
pub fn traffic(format: OutputFormat, done: &crate::engine::traffic::TrafficOutcome) {
    match format {
        OutputFormat::Json => json_out(done),
        OutputFormat::Text => {
            println!("{} {}", done.operation, done.rule);
            for step in &done.steps {
                println!("  {step}");
            }
            let weights: Vec<String> = done.weights.iter().map(|(tg, w)| format!("{tg}={w}")).collect();
            println!("  weights now      {}", weights.join(", "));
        }
    }
}

/// Prints what `cleanup` removed (or would remove): always a JSON array, one entry per server group.
pub fn cleanup(format: OutputFormat, results: &[crate::engine::lifecycle::OperationResult]) {
    match (format, results) {
        (OutputFormat::Json, _) => json_out(&results),
        (OutputFormat::Text, []) => println!("no incomplete server group old enough to remove"),
        (OutputFormat::Text, _) => operations(format, results),
    }
}

/// Prints `list --view`: the read API's server group objects (JSON), or one line per server group
/// with its health counts.
pub fn server_group_views(format: OutputFormat, views: &[crate::core::view::ServerGroupView]) {
    match format {
        OutputFormat::Json => json_out(&views),
        OutputFormat::Text => {
            let line = |cells: [String; 9]| {
                println!(
                    "{:<40} {:<16} {:<9} {:>7} {:>8} {:>4} {:>8} {:>5} {:>7}",
                    cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], cells[8]
                )
            };
            let heading = ["SERVER GROUP", "ECS CLUSTER", "STATE", "DESIRED", "MIN/MAX", "UP", "STARTING", "DOWN", "UNKNOWN"];
            line(heading.map(str::to_string));
            for v in views {
                let (capacity, counts) = (&v.capacity, &v.instance_counts);
                line([
                    v.name.clone(),
                    v.ecs_cluster.clone(),
                    if v.disabled { "disabled" } else { "enabled" }.to_string(),
                    capacity.desired.to_string(),
                    format!("{}/{}", capacity.min, capacity.max),
                    counts.up.to_string(),
                    counts.starting_tasks().to_string(),
                    counts.down.to_string(),
                    counts.unknown.to_string(),
                ]);
            }
        }
    }
}

/// Prints `list` as a table or JSON.
pub fn server_groups(format: OutputFormat, rows: &[crate::engine::lifecycle::ServerGroupRow]) {
    match format {
        OutputFormat::Json => json_out(&rows),
        OutputFormat::Text => {
            println!(
                "{:<40} {:<16} {:<10} {:>7} {:>7} {:>7} {:>9} {:<10} TASK DEFINITION",
                "SERVER GROUP", "ECS CLUSTER", "STATE", "DESIRED", "RUNNING", "PENDING", "MIN/MAX", "SCALING"
            );
            for r in rows {
                let minmax = match (r.min_capacity, r.max_capacity) {
                    (Some(a), Some(b)) => format!("{a}/{b}"),
                    _ => "-".into(),
                };
                let scaling = if r.min_capacity.is_none() {
                    "none"
                } else if r.scaling_suspended {
                    "suspended"
                } else {
                    "active"
                };
                let td = r.task_definition.rsplit('/').next().unwrap_or(&r.task_definition);
                let why = match (&r.incomplete, r.scaling_mismatch) {
                    (Some(w), _) => format!("  ({w}; `ecs-deployer cleanup` removes it)"),
                    (None, Some(m)) => format!("  ({m}: disable or enable it again)"),
                    (None, None) => String::new(),
                };
                println!(
                    "{:<40} {:<16} {:<10} {:>7} {:>7} {:>7} {:>9} {:<10} {td}{why}",
                    r.server_group_name,
                    r.ecs_cluster_name,
                    if r.incomplete.is_some() {
                        "INCOMPLETE"
                    } else if r.scaling_mismatch.is_some() {
                        "MIXED"
                    } else if r.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    r.desired_count,
                    r.running_count,
                    r.pending_count,
                    minmax,
                    scaling
                );
            }
        }
    }
}

/// Shows a wait's progress on stderr: on a terminal one live status line, elsewhere (CI logs)
/// one line per change; service events once each. Stdout stays for the result.
pub struct StderrProgress {
    tty: bool,
    last: String,
    open_line: bool,
}

impl StderrProgress {
    pub fn new() -> Self {
        use std::io::IsTerminal;
        StderrProgress { tty: std::io::stderr().is_terminal(), last: String::new(), open_line: false }
    }
}

impl Default for StderrProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl crate::engine::lifecycle::Progress for StderrProgress {
    fn status(&mut self, line: &str) {
        if line == self.last {
            return;
        }
        self.last = line.to_string();
        if self.tty {
            eprint!("\r\x1b[2K{line}");
            self.open_line = true;
        } else {
            eprintln!("{line}");
        }
    }

    fn event(&mut self, message: &str) {
        if self.open_line {
            eprint!("\r\x1b[2K");
        }
        eprintln!("event: {message}");
        if self.open_line {
            eprint!("{}", self.last);
        }
    }

    fn done(&mut self) {
        if self.open_line {
            eprintln!();
            self.open_line = false;
        }
    }
}

/// Prints doctor's checks.
pub fn checks(format: OutputFormat, checks: &[crate::engine::doctor::Check]) {
    match format {
        OutputFormat::Json => json_out(&checks),
        OutputFormat::Text => {
            for c in checks {
                let mark = match c.status {
                    crate::engine::doctor::Status::Ok => "ok     ",
                    crate::engine::doctor::Status::Warning => "warning",
                    crate::engine::doctor::Status::Failed => "FAILED ",
                };
                println!("{mark} {}: {}", c.check, c.detail);
                if let Some(fix) = &c.fix {
                    println!("        fix: {fix}");
                }
            }
        }
    }
}

/// Prints the accounts of the configuration.
pub fn accounts(format: OutputFormat, accounts: &[crate::core::config::Account]) {
    match format {
        OutputFormat::Json => json_out(&accounts),
        OutputFormat::Text => {
            println!(
                "{:<20} {:<20} {:<13} {:<24} {:<9} {:<15} ROLE",
                "ECS ACCOUNT", "AWS ACCOUNT", "ACCOUNT ID", "REGIONS", "NAMING", "IAM ROLE MODE"
            );
            for a in accounts {
                let mode = serde_json::to_value(a.iam_role_mode).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                let naming = serde_json::to_value(a.naming_strategy).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                let role = a.regions.first().and_then(|r| a.role_arn(&r.name)).unwrap_or_else(|| "-".into());
                println!(
                    "{:<20} {:<20} {:<13} {:<24} {:<9} {:<15} {role}",
                    a.name,
                    a.aws_account,
                    a.account_id,
                    a.region_names().join(","),
                    naming,
                    mode
                );
            }
        }
    }
}

/// Prints a one-line confirmation (or `{"ok": ..}` in JSON).
pub fn message(format: OutputFormat, message: &str) {
    match format {
        OutputFormat::Json => json_out(&json!({"ok": true, "message": message})),
        OutputFormat::Text => println!("{message}"),
    }
}

/// Prints a confirmation with the warnings that do not make it fail (`accounts validate`):
/// `warning: KEY: MESSAGE` lines after it, or `{"ok", "message", "warnings": [{key, message}]}`.
pub fn message_with_warnings(format: OutputFormat, message: &str, warnings: &[crate::core::config::Problem]) {
    match format {
        OutputFormat::Json => {
            let warnings: Vec<serde_json::Value> = warnings.iter().map(|w| json!({"key": w.key, "message": w.message})).collect();
            json_out(&json!({"ok": true, "message": message, "warnings": warnings}))
        }
        OutputFormat::Text => {
            println!("{message}");
            for w in warnings {
                println!("warning: {}: {}", w.key, w.message);
            }
        }
    }
}

/// Prints any serialisable result as JSON on stdout.
pub fn json_out<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// Reports an error: JSON on stdout in JSON mode, text on stderr otherwise.
pub fn error(format: OutputFormat, err: &Error) {
    match format {
        OutputFormat::Json => {
            let body = match err {
                Error::Invalid(errors) => json!({ "errors": crate::core::error::shown(errors) }),
                Error::Config(message) => {
                    json!({ "errors": [{"field": "config", "code": "config.invalid", "message": message}] })
                }
                Error::Aws { error, report } => {
                    json!({ "errors": [{"operation": error.operation, "code": error.code, "message": error.message}], "report": report })
                }
                Error::Failed { message, report } => {
                    json!({ "errors": [{"message": message}], "report": report })
                }
                Error::Interrupted { report } => {
                    json!({ "errors": [{"code": "Interrupted", "message": err.to_string()}], "report": report })
                }
                // Only `serve` hands work over; said here for completeness.
                Error::HandedOver => json!({ "errors": [{"code": "HandedOver", "message": err.to_string()}] }),
            };
            println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
        }
        OutputFormat::Text => match err {
            Error::Invalid(errors) => {
                eprintln!(
                    "error: invalid input ({} problem{}); nothing was changed:",
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                );
                for e in crate::core::error::shown(errors) {
                    eprintln!("  - {}: {} [{}]", e.field, e.message, e.code);
                }
            }
            Error::Config(message) => {
                eprintln!("error: configuration: {message}; nothing was changed")
            }
            Error::Aws { error, report } => {
                eprintln!("error: {error}");
                for line in report {
                    eprintln!("  {line}");
                }
            }
            Error::Failed { report, .. } | Error::Interrupted { report } => {
                eprintln!("error: {err}");
                for line in report {
                    eprintln!("  {line}");
                }
            }
            Error::HandedOver => eprintln!("error: {err}"),
        },
    }
}
