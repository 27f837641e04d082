//! When is a new server group healthy, and when has it failed for good? A pure judgement over one
//! snapshot of the service, its stopped tasks and its targets. Healthy: the deployment this deploy
//! started is the PRIMARY one and has rolled out (`rolloutState COMPLETED`, or, where the API gives
//! no rollout state, one deployment with running == desired), and every target is healthy. Failed,
//! without waiting for the timeout: the circuit breaker rolled back or failed the deployment, the
//! service is gone, or tasks keep stopping (their reason is reported).

use serde::Serialize;

use crate::core::deployment::{Judgement, ServiceDeployment, stopped_story};
use crate::core::model::{ServiceState, StoppedTask, TargetHealth};

/// Tasks of the new task definition that may stop before the deploy is called failed.
pub const STOPPED_TASK_LIMIT: usize = 3;

/// What was read on one poll.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub service: Option<ServiceState>,
    pub stopped_tasks: Vec<StoppedTask>,
    pub targets: Vec<TargetHealth>,
    /// ECS's service deployment of a new server group, when it is followed and readable.
    pub deployment: Option<ServiceDeployment>,
}

/// The judgement of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "lowercase")]
pub enum Verdict {
    Healthy,
    /// Still rolling out; says what it waits for.
    Waiting(String),
    Failed(String),
}

/// The reason tasks stop, most specific first (a container's reason names pull errors).
fn stop_reason(t: &StoppedTask) -> String {
    t.container_reasons.first().cloned().filter(|r| !r.is_empty()).unwrap_or_else(|| t.stopped_reason.clone())
}

/// Judges `snapshot` for a service that should run `task_definition`: ECS's service deployment
/// first, when there is one (a failure it reports ends the wait at once; its success still needs
/// the counts and targets below), then the deployments, stopped tasks and targets.
pub fn assess(snapshot: &Snapshot, task_definition: &str) -> Verdict {
    let Some(service) = &snapshot.service else {
        return Verdict::Failed("the service does not exist".into());
    };
    if service.status != "ACTIVE" {
        return Verdict::Failed(format!("the service is {}", service.status));
    }
    let paused = match snapshot.deployment.as_ref().map(ServiceDeployment::judgement) {
        Some(Judgement::Failed(cause)) => {
            let story = stopped_story(&snapshot.stopped_tasks).map(|s| format!("; {s}")).unwrap_or_default();
            return Verdict::Failed(format!("{cause}{story}"));
        }
        Some(Judgement::Going(paused)) => paused,
        Some(Judgement::Succeeded) | None => None,
    };
    let verdict = assess_counts(snapshot, service, task_definition);
    match (verdict, paused) {
        (Verdict::Waiting(what), Some(paused)) => Verdict::Waiting(format!("{paused}; {what}")),
        (verdict, _) => verdict,
    }
}

/// The judgement by the service's deployments, stopped tasks and targets.
fn assess_counts(snapshot: &Snapshot, service: &ServiceState, task_definition: &str) -> Verdict {
    let Some(primary) = service.deployments.iter().find(|d| d.status == "PRIMARY") else {
        return Verdict::Waiting("no deployment has started yet".into());
    };
    if !task_definition.is_empty() && primary.task_definition != task_definition {
        return Verdict::Failed(format!(
            "the deployment was rolled back: the service now runs {} instead of {task_definition}{}",
            primary.task_definition,
            primary.rollout_state_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
        ));
    }
    if primary.rollout_state.as_deref() == Some("FAILED") {
        return Verdict::Failed(format!(
            "the deployment failed: {}",
            primary.rollout_state_reason.as_deref().unwrap_or("rolloutState FAILED")
        ));
    }
    let ours: Vec<&StoppedTask> =
        snapshot.stopped_tasks.iter().filter(|t| task_definition.is_empty() || t.task_definition == task_definition).collect();
    if ours.len() >= STOPPED_TASK_LIMIT {
        return Verdict::Failed(format!("tasks keep stopping ({} stopped): {}", ours.len(), stop_reason(ours[0])));
    }
    let rolled_out = match primary.rollout_state.as_deref() {
        Some(state) => state == "COMPLETED",
        None => service.deployments.len() == 1 && primary.running_count >= primary.desired_count,
    };
    let counts = format!("desired {}, running {}, pending {}", service.desired_count, service.running_count, service.pending_count);
    if !rolled_out || service.running_count < service.desired_count {
        let state = primary.rollout_state.as_deref().unwrap_or("IN_PROGRESS");
        let extra = if service.deployments.len() > 1 { format!(", {} deployments", service.deployments.len()) } else { String::new() };
        return Verdict::Waiting(format!("rollout {state} ({counts}{extra})"));
    }
    if !snapshot.targets.is_empty() {
        let count = |state: &str| snapshot.targets.iter().filter(|t| t.state == state).count();
        let (healthy, initial, unhealthy) = (count("healthy"), count("initial"), count("unhealthy"));
        if initial + unhealthy > 0 || (healthy as i64) < service.desired_count {
            return Verdict::Waiting(format!("targets: {healthy} healthy, {initial} initial, {unhealthy} unhealthy ({counts})"));
        }
    }
    Verdict::Healthy
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Deployment;

    const TD: &str = "arn:aws:ecs:us-west-2:1:task-definition/app:2";

    fn snapshot(rollout: Option<&str>, running: i64, td: &str) -> Snapshot {
        Snapshot {
            service: Some(ServiceState {
                status: "ACTIVE".into(),
                desired_count: 2,
                running_count: running,
                deployments: vec![Deployment {
                    status: "PRIMARY".into(),
                    task_definition: td.into(),
                    desired_count: 2,
                    running_count: running,
                    rollout_state: rollout.map(str::to_string),
                    rollout_state_reason: Some("reason".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn rollout_states() {
        assert_eq!(assess(&snapshot(Some("COMPLETED"), 2, TD), TD), Verdict::Healthy);
        assert!(matches!(assess(&snapshot(Some("IN_PROGRESS"), 1, TD), TD), Verdict::Waiting(w) if w.contains("running 1")));
        assert!(matches!(assess(&snapshot(Some("FAILED"), 0, TD), TD), Verdict::Failed(f) if f.contains("failed: reason")));
        // Without rollout state: one deployment with running == desired.
        assert_eq!(assess(&snapshot(None, 2, TD), TD), Verdict::Healthy);
        assert!(matches!(assess(&snapshot(None, 1, TD), TD), Verdict::Waiting(_)));
    }

    #[test]
    fn rolled_back_and_missing_services_fail() {
        assert!(matches!(assess(&snapshot(Some("COMPLETED"), 2, "arn:old:1"), TD), Verdict::Failed(f) if f.contains("rolled back")));
        assert!(matches!(assess(&Snapshot::default(), TD), Verdict::Failed(_)));
        let mut s = snapshot(Some("COMPLETED"), 2, TD);
        s.service.as_mut().unwrap().status = "DRAINING".into();
        assert!(matches!(assess(&s, TD), Verdict::Failed(f) if f.contains("DRAINING")));
    }

    #[test]
    fn stopped_tasks_fail_with_their_reason() {
        let mut s = snapshot(Some("IN_PROGRESS"), 0, TD);
        let stopped = StoppedTask {
            task_definition: TD.into(),
            stopped_reason: "Essential container in task exited".into(),
            container_reasons: vec!["CannotPullContainerError: pull image manifest has been retried 5 time(s)".into()],
            ..Default::default()
        };
        s.stopped_tasks = vec![stopped.clone(); 2];
        assert!(matches!(assess(&s, TD), Verdict::Waiting(_)));
        s.stopped_tasks.push(stopped);
        assert!(matches!(assess(&s, TD), Verdict::Failed(f) if f.contains("CannotPullContainerError")));
        // Stopped tasks of another task definition (the previous version) do not count.
        s.stopped_tasks.iter_mut().for_each(|t| t.task_definition = "arn:old".into());
        assert!(matches!(assess(&s, TD), Verdict::Waiting(_)));
    }

    #[test]
    fn targets_must_be_healthy() {
        let mut s = snapshot(Some("COMPLETED"), 2, TD);
        let t = |state: &str| TargetHealth { state: state.into(), ..Default::default() };
        s.targets = vec![t("healthy"), t("initial")];
        assert!(matches!(assess(&s, TD), Verdict::Waiting(w) if w.contains("1 initial")));
        s.targets = vec![t("healthy"), t("healthy"), t("draining")];
        assert_eq!(assess(&s, TD), Verdict::Healthy);
    }
}
