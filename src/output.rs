//! The only module that writes to stdout and, for the final report, to stderr: renders results
//! and errors as text for people or as JSON for programs. In JSON mode stdout carries exactly
//! one JSON document.

#![allow(clippy::print_stdout, clippy::print_stderr, reason = "this module is the program's voice")]

use serde::Serialize;
use serde_json::json;

use crate::cli::OutputFormat;
use crate::deploy::DeployOutcome;
use crate::error::Error;

/// Prints a successful deploy (or its plan).
pub fn deploy(format: OutputFormat, outcome: &DeployOutcome) {
    match format {
        OutputFormat::Json => json_out(outcome),
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
            for w in &outcome.warnings {
                println!("  warning: {w}");
            }
            if let Some(plan) = &outcome.plan {
                println!();
                for (name, body) in [
                    ("RegisterTaskDefinition", &plan.register_task_definition),
                    ("CreateService", &plan.create_service),
                    ("RegisterScalableTarget", &plan.register_scalable_target),
                ] {
                    println!("{name}:");
                    println!("{}", serde_json::to_string_pretty(body).unwrap_or_default());
                }
                if let Some(copy) = &plan.scaling_copy {
                    println!("Scaling copy (PutScalingPolicy, PutScheduledAction, then PutMetricAlarm):");
                    println!("{}", serde_json::to_string_pretty(copy).unwrap_or_default());
                }
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
                Error::Invalid(errors) => json!({ "errors": errors }),
                Error::Config(message) => {
                    json!({ "errors": [{"field": "config", "code": "config.invalid", "message": message}] })
                }
                Error::Aws { error, report } => {
                    json!({ "errors": [{"operation": error.operation, "code": error.code, "message": error.message}], "report": report })
                }
                Error::Failed { message, report } => {
                    json!({ "errors": [{"message": message}], "report": report })
                }
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
                for e in errors {
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
            Error::Failed { message, report } => {
                eprintln!("error: {message}");
                for line in report {
                    eprintln!("  {line}");
                }
            }
        },
    }
}
