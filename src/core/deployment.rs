//! ECS's own verdict on a new server group (faithful-copy.md §7, Decisions D10): the service
//! deployment CreateService started, read from DescribeServiceDeployments. `SUCCESSFUL` (with the
//! existing count and target check) is healthy; `STOPPED`, `STOP_REQUESTED`, every `ROLLBACK_*`,
//! and a circuit breaker or deployment alarm that `TRIGGERED` fail at once, saying why — with the
//! last stopped tasks' reasons and exit codes, task by task, as `ecsta trace` shows a task's life.
//! Pure: parses AWS's JSON (an edge) into [`ServiceDeployment`] and judges it.

use serde_json::Value;

use crate::core::model::StoppedTask;

/// A service deployment as the verdict needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceDeployment {
    pub arn: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// `deploymentCircuitBreaker`: status, failure count, threshold.
    pub circuit_breaker: Option<(String, i64, i64)>,
    /// `alarms`: status and the alarms that triggered.
    pub alarms: Option<(String, Vec<String>)>,
    pub rollback_reason: Option<String>,
    /// A lifecycle hook ECS waits on (`AWAITING_ACTION`): its stage and id.
    pub awaiting_hook: Option<(String, String)>,
}

/// What the deployment says of the new server group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Still going (or paused: the text says at what).
    Going(Option<String>),
    /// ECS says it succeeded: the count and target check decides the rest.
    Succeeded,
    Failed(String),
}

impl ServiceDeployment {
    /// A DescribeServiceDeployments entry.
    pub fn from_json(d: &Value) -> Option<ServiceDeployment> {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let breaker = d.get("deploymentCircuitBreaker").map(|b| {
            let n = |k: &str| b.get(k).and_then(Value::as_i64).unwrap_or_default();
            (text(b.get("status")).unwrap_or_default(), n("failureCount"), n("threshold"))
        });
        let alarms = d.get("alarms").map(|a| {
            let names = a.get("triggeredAlarmNames").and_then(Value::as_array).into_iter().flatten();
            (text(a.get("status")).unwrap_or_default(), names.filter_map(|n| n.as_str().map(str::to_string)).collect())
        });
        let hooks = d.get("lifecycleHookDetails").and_then(Value::as_array).into_iter().flatten();
        let awaiting_hook = hooks
            .filter(|h| h.get("status").and_then(Value::as_str) == Some("AWAITING_ACTION"))
            .map(|h| (text(h.get("lifecycleStage")).unwrap_or_default(), text(h.get("hookId")).unwrap_or_default()))
            .next();
        Some(ServiceDeployment {
            arn: text(d.get("serviceDeploymentArn"))?,
            status: text(d.get("status")).unwrap_or_default(),
            status_reason: text(d.get("statusReason")),
            circuit_breaker: breaker,
            alarms,
            rollback_reason: text(d.get("rollback").and_then(|r| r.get("reason"))),
            awaiting_hook,
        })
    }

    /// The verdict for a brand-new service (§7.2).
    pub fn judgement(&self) -> Judgement {
        let tripped = |status: &str| status == "TRIGGERED";
        match self.status.as_str() {
            "SUCCESSFUL" => Judgement::Succeeded,
            "STOPPED" | "STOP_REQUESTED" | "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" | "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED" => {
                Judgement::Failed(self.cause())
            }
            _ if self.circuit_breaker.as_ref().is_some_and(|(s, _, _)| tripped(s)) => Judgement::Failed(self.cause()),
            _ if self.alarms.as_ref().is_some_and(|(s, _)| tripped(s)) => Judgement::Failed(self.cause()),
            _ => Judgement::Going(self.awaiting_hook.as_ref().map(|(stage, id)| format!("paused at {stage}, lifecycle hook {id}"))),
        }
    }

    /// Why ECS ended the deployment, in one line.
    fn cause(&self) -> String {
        let mut parts = vec![format!("ECS's service deployment is {}", self.status)];
        parts.extend(self.status_reason.clone());
        if let Some((status, failures, threshold)) = self.circuit_breaker.as_ref().filter(|(s, _, _)| s == "TRIGGERED") {
            parts.push(format!("the circuit breaker {status} ({failures} failed tasks, threshold {threshold})"));
        }
        if let Some((_, names)) = self.alarms.as_ref().filter(|(s, _)| s == "TRIGGERED") {
            parts.push(format!("deployment alarms in ALARM: {}", names.join(", ")));
        }
        if let Some(reason) = &self.rollback_reason {
            parts.push(format!("rolled back: {reason}"));
        }
        parts.join("; ")
    }
}

/// The ARN of the newest of ListServiceDeployments' `serviceDeployments[]` (newest first).
pub fn newest_arn(listed: &[Value]) -> Option<String> {
    listed.first()?.get("serviceDeploymentArn")?.as_str().map(str::to_string)
}

/// The last stopped tasks' stories, newest first, at most three: how each stopped, and each
/// container's exit code and reason.
pub fn stopped_story(tasks: &[StoppedTask]) -> Option<String> {
    let told: Vec<String> = tasks
        .iter()
        .take(3)
        .map(|t| {
            let id = t.task_arn.rsplit('/').next().unwrap_or_default();
            let mut parts = vec![format!("task {id}: {}", if t.stopped_reason.is_empty() { "stopped" } else { &t.stopped_reason })];
            parts.extend(t.stop_code.clone());
            parts.extend(t.exit_codes.iter().map(|(name, code)| format!("container {name} exited {code}")));
            parts.extend(t.container_reasons.iter().cloned());
            parts.join(", ")
        })
        .collect();
    (!told.is_empty()).then(|| format!("last stopped tasks: {}", told.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(extra: Value) -> ServiceDeployment {
        let mut d = json!({"serviceDeploymentArn": "arn:sd/1", "status": "IN_PROGRESS"});
        d.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        ServiceDeployment::from_json(&d).unwrap()
    }

    #[test]
    fn ecs_statuses_decide_at_once_for_a_new_service() {
        assert_eq!(deployment(json!({})).judgement(), Judgement::Going(None));
        assert_eq!(deployment(json!({"status": "SUCCESSFUL"})).judgement(), Judgement::Succeeded);
        for status in ["STOPPED", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"]
        {
            assert!(matches!(deployment(json!({"status": status})).judgement(), Judgement::Failed(f) if f.contains(status)), "{status}");
        }
        let tripped = deployment(json!({"deploymentCircuitBreaker": {"status": "TRIGGERED", "failureCount": 3, "threshold": 3}}));
        assert!(
            matches!(tripped.judgement(), Judgement::Failed(f) if f.contains("circuit breaker TRIGGERED (3 failed tasks, threshold 3)"))
        );
        let alarmed = deployment(json!({"alarms": {"status": "TRIGGERED", "triggeredAlarmNames": ["app-v001-5xx"]}}));
        assert!(matches!(alarmed.judgement(), Judgement::Failed(f) if f.contains("app-v001-5xx")));
        let rolled =
            deployment(json!({"status": "ROLLBACK_SUCCESSFUL", "rollback": {"reason": "circuit breaker"}, "statusReason": "tasks failed"}));
        assert!(
            matches!(rolled.judgement(), Judgement::Failed(f) if f.contains("tasks failed") && f.contains("rolled back: circuit breaker"))
        );
        let hooked =
            deployment(json!({"lifecycleHookDetails": [{"status": "AWAITING_ACTION", "lifecycleStage": "POST_SCALE_UP", "hookId": "h1"}]}));
        assert_eq!(hooked.judgement(), Judgement::Going(Some("paused at POST_SCALE_UP, lifecycle hook h1".into())));
    }

    #[test]
    fn stopped_tasks_tell_their_story() {
        let task = StoppedTask {
            task_arn: "arn:aws:ecs:r:1:task/main/abc".into(),
            stopped_reason: "Essential container in task exited".into(),
            stop_code: Some("EssentialContainerExited".into()),
            exit_codes: vec![("web".into(), 137)],
            container_reasons: vec!["OutOfMemoryError: Container killed due to memory usage".into()],
            ..Default::default()
        };
        let story = stopped_story(&[task]).unwrap();
        assert!(
            story.contains(
                "task abc: Essential container in task exited, EssentialContainerExited, container web exited 137, OutOfMemoryError"
            ),
            "{story}"
        );
        assert_eq!(stopped_story(&[]), None);
    }
}
