//! Handing a running deploy over (issue #30): when `serve` shuts down, a deploy that can be
//! continued elsewhere stops where nothing is half-done — before it starts creating, while it
//! waits for its new server group to become healthy, between its strategy's steps — instead of
//! undoing its work. It leaves where it stopped (a [`Resume`]: the created server group and what
//! was done so far, or nothing when it had not started creating); `serve` puts the task back in
//! the queue with it, and another replica (or the next start) continues the deploy there.
//! Task-local, as the journal is: the deploy's functions need no extra parameter.

use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::outcome::DeployOutcome;
use crate::core::error::Error;

/// Where a handed-over deploy stopped: its server group is created and complete; `outcome` is
/// the result so far (healthy once seen healthy, the strategy steps done).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resume {
    pub outcome: DeployOutcome,
}

tokio::task_local! {
    static LEFT: Arc<Mutex<Option<Resume>>>;
}

/// Runs `work`, which may hand over; returns its output and where it stopped (None: it did not
/// stop after creating anything, so a hand-over starts it again from the beginning).
pub async fn collecting<F: Future>(work: F) -> (F::Output, Option<Resume>) {
    let left = Arc::new(Mutex::new(None));
    let output = LEFT.scope(left.clone(), work).await;
    let resume = crate::core::sync::lock(&left).take();
    (output, resume)
}

/// Stops the deploy here for a hand-over, its server group created: records the outcome so far
/// and returns the error that says the deploy was handed over.
pub(super) fn stop_at(outcome: DeployOutcome) -> Error {
    let _ = LEFT.try_with(|left| *crate::core::sync::lock(left) = Some(Resume { outcome }));
    Error::HandedOver
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_a_deploy_stopped_reads_back_as_it_was_written() {
        // As the store keeps it: every field a created group's outcome carries, steps done included.
        let written = serde_json::json!({"outcome": {
            "serverGroupNames": ["us-west-2:web-prod-v004"], "serverGroupNameByRegion": {"us-west-2": "web-prod-v004"},
            "serverGroupName": "web-prod-v004", "region": "us-west-2", "account": "ecs-main", "ecsClusterName": "main",
            "taskDefinitionArn": "arn:aws:ecs:us-west-2:123456789012:task-definition/web-prod:4",
            "serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/main/web-prod-v004", "desiredCount": 2,
            "scalableTarget": {"resourceId": "service/main/web-prod-v004", "minCapacity": 1, "maxCapacity": 4},
            "scaling": {"copied": true, "sourceResourceId": "service/main/web-prod-v003", "scalingPolicies": [
                {"from": "cpu", "to": "cpu-v004", "arn": "arn:aws:autoscaling:policy/cpu-v004"}], "alarms": [], "scheduledActions": [],
                "skipped": [{"name": "TargetTracking-x", "reason": "made by its policy"}]},
            "warnings": ["a warning"], "healthy": true, "strategy": "redblack",
            "strategySteps": [{"operation": "disableServerGroup", "serverGroupName": "web-prod-v003", "ecsClusterName": "main",
                "account": "ecs-main", "region": "us-west-2", "steps": ["Disabling web-prod-v003"]}]
        }});
        let resume: Resume = serde_json::from_value(written.clone()).unwrap();
        assert_eq!(resume.outcome.healthy, Some(true));
        assert_eq!(serde_json::to_value(&resume).unwrap(), written);
    }
}
