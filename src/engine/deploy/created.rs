//! The ledger of what one deploy created so far — task definition, service, scalable target,
//! alarms, and what a failed write may have left that could not be read back — so a failure can
//! say exactly what exists and remove it, newest first, reading back before it claims a removal.

use crate::aws::Session;
use crate::core::model::ServiceState;
use crate::engine::lifecycle;

/// What a deploy created so far, so a failure can say it and remove it.
#[derive(Debug, Default)]
pub(super) struct Created {
    pub(super) task_definition_arn: Option<String>,
    pub(super) service: Option<(String, String)>,
    pub(super) scalable_target: Option<String>,
    /// Alarms this deploy put (or tried to): deleting a missing alarm is a no-op.
    pub(super) alarms: Vec<String>,
    /// What a failed write may have created that could not be read back.
    pub(super) may_exist: Vec<String>,
}

impl Created {
    pub(super) fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(arn) = &self.task_definition_arn {
            out.push(format!("task definition {arn}"));
        }
        if let Some((cluster, name)) = &self.service {
            out.push(format!("service {name} in ECS cluster {cluster}"));
        }
        if let Some(id) = &self.scalable_target {
            out.push(format!("scalable target {id} (with the policies and scheduled actions copied onto it)"));
        }
        for name in &self.alarms {
            out.push(format!("alarm {name}"));
        }
        out.extend(self.may_exist.iter().map(|m| format!("may exist: {m}")));
        out
    }

    /// Removes what was created, newest first; returns one report line per resource.
    pub(super) async fn remove(&self, session: &Session) -> Vec<String> {
        let mut report = Vec::new();
        if !self.alarms.is_empty() {
            match session.delete_alarms(&self.alarms).await {
                Ok(()) => {
                    report.push(format!("removed alarms {} (each that had been created: none of them is left)", self.alarms.join(", ")))
                }
                Err(e) => report.push(format!("could not remove alarms {}: {e}", self.alarms.join(", "))),
            }
        }
        if let Some(id) = &self.scalable_target {
            match session.deregister_scalable_target(id).await {
                Ok(()) => report.push(format!("removed scalable target {id} (AWS removes its policies and scheduled actions with it)")),
                Err(e) if lifecycle::is_gone(&e) => {
                    report.push(format!("scalable target {id} was already gone (another operation removed it)"))
                }
                Err(e) => report.push(format!("could not remove scalable target {id}: {e}")),
            }
        }
        if let Some((cluster, name)) = &self.service {
            // Read back first: another operation may have deleted it already.
            let names = [name.clone()];
            let live = |s: &ServiceState| s.status == "ACTIVE" || s.status == "DRAINING";
            let result = async {
                if !session.describe_services(cluster, &names, false).await?.iter().any(live) {
                    return Ok(false);
                }
                session.update_desired_count(cluster, name, 0).await?;
                session.delete_service(cluster, name).await.map(|_| true)
            };
            match result.await {
                Ok(true) => report.push(format!("removed service {name} (scaled to 0, deleted)")),
                Ok(false) => report.push(format!("service {name} was already deleted (by another operation)")),
                Err(e) if lifecycle::is_gone(&e) => report.push(format!("service {name} was already deleted (by another operation)")),
                Err(e) => report.push(format!("could not remove service {name}: {e}; it still exists")),
            }
        }
        if let Some(arn) = &self.task_definition_arn {
            match session.deregister_task_definition(arn).await {
                Ok(()) => report.push(format!("deregistered task definition {arn}")),
                Err(e) => report.push(format!("could not deregister task definition {arn}: {e}; it is still ACTIVE")),
            }
        }
        report.extend(self.may_exist.iter().map(|m| format!("may exist: {m}: it could not be read back; check and remove it by hand")));
        report
    }
}
