//! ECS decides the verdict on a new server group (faithful-copy.md §7, Decisions D10): its
//! service deployment, as the emulator plays it, ends a deploy's wait at once when ECS stopped or
//! rolled it back, passes it with the counts when it succeeded, and — where the API is refused —
//! the wait falls back to the `deployments[]` judgement and says so once.

use serde_json::json;

use crate::harness::{TestEnv, http};

fn rule(rules: serde_json::Value) {
    http("POST", "/_harness", &json!({ "ecs": rules }).to_string());
}

#[test]
fn a_rolled_back_or_stopped_deployment_fails_the_deploy_at_once_with_its_cause() {
    let env = TestEnv::new("verdict_fail", false);
    rule(json!([{"match": "kite-prod", "deployment": {"status": "ROLLBACK_SUCCESSFUL", "statusReason": "tasks failed their health checks",
        "rollback": {"reason": "ECS deployment circuit breaker: tasks failed to start."}}}]));
    let started = std::time::Instant::now();
    let run = env.deploy(&crate::scaling::description("kite", None), &["--wait", "--timeout", "5m", "--output", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    let text = run.json.to_string();
    assert!(text.contains("ROLLBACK_SUCCESSFUL") && text.contains("tasks failed their health checks"), "{text}");
    assert!(text.contains("rolled back: ECS deployment circuit breaker"), "the cause is named: {text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "failed at once, not at the timeout");

    // STOPPED with the circuit breaker triggered (the emulator's `failed`): the same.
    rule(json!([{"match": "lark-prod", "deployment": {"status": "STOPPED", "statusReason": "circuit breaker",
        "deploymentCircuitBreaker": {"status": "TRIGGERED", "failureCount": 3, "threshold": 3}}}]));
    let run = env.deploy(&crate::scaling::description("lark", None), &["--wait", "--timeout", "5m", "--output", "json"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.json.to_string().contains("circuit breaker TRIGGERED (3 failed tasks, threshold 3)"), "{}", run.json);
}

#[test]
fn a_successful_deployment_passes_and_a_refused_api_falls_back_once() {
    let env = TestEnv::new("verdict_pass", false);
    rule(json!([{"match": "merlin-prod", "behaviour": "healthy"}]));
    let run = env.deploy(&crate::scaling::description("merlin", None), &["--wait", "--timeout", "2m"]);
    assert_eq!(run.code, 0, "SUCCESSFUL, and the counts agree: {run:?}");
    assert!(!run.stderr.contains("cannot be read"), "nothing fell back: {}", run.stderr);

    rule(json!([{"match": "osprey-prod", "behaviour": "healthy"}, {"match": "osprey-prod", "serviceDeployments": "unsupported"}]));
    let run = env.deploy(&crate::scaling::description("osprey", None), &["--wait", "--timeout", "2m"]);
    assert_eq!(run.code, 0, "the deployments[] judgement decides: {run:?}");
    assert_eq!(run.stderr.matches("cannot be read").count(), 1, "said once: {}", run.stderr);
    assert!(run.stderr.contains("UnsupportedFeatureException"), "{}", run.stderr);
}
