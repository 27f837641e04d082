//! Snapshots of what a person reads: the `--plan` text and JSON of a deploy, and the error
//! rendering of an invalid description (text and JSON). A change to any of them shows as a diff
//! of `tests/it/snapshots/*.snap` (write new ones with `INSTA_UPDATE=always`, review, commit).
//! The account id is the test's own (derived from its name), so the output is stable.

use serde_json::{Value, json};

use crate::harness::{CLUSTER, TestEnv};

fn description(app: &str) -> Value {
    json!({
        "credentials": "ecs-main", "application": app, "stack": "prod", "freeFormDetails": "",
        "ecsClusterName": CLUSTER, "availabilityZones": {"us-west-2": ["us-west-2a", "us-west-2b"]},
        "capacity": {"min": 1, "max": 3, "desired": 2}, "launchType": "EC2", "networkMode": "bridge",
        "dockerImageAddress": "nginx:1.27", "computeUnits": 128, "reservedMemory": 256,
        "placementStrategySequence": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        "environmentVariables": {"MODE": "web"}, "healthCheckGracePeriodSeconds": 45
    })
}

/// The output with the test's account id written as `ACCOUNT`.
fn stable(env: &TestEnv, text: &str) -> String {
    text.replace(&env.account_id, "ACCOUNT")
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[tokio::test]
async fn the_plan_as_text_and_json() {
    let env = TestEnv::new("snapshot_plan", false);
    let path = env.file("d.json", &description("snapplan"));
    let config = env.config.to_string_lossy().into_owned();
    let text = env.command(&["--config", &config, "deploy", "--description", &path, "--plan"]).output().unwrap();
    assert_eq!(text.status.code(), Some(0), "{}", String::from_utf8_lossy(&text.stderr));
    let json = env.run(&["deploy", "--description", &path, "--plan"], None);
    assert_eq!(json.code, 0, "{json:?}");
    settings().bind(|| {
        insta::assert_snapshot!("plan_text", stable(&env, &String::from_utf8_lossy(&text.stdout)));
        insta::assert_snapshot!("plan_json", stable(&env, &json.stdout));
    });
}

#[tokio::test]
async fn errors_of_an_invalid_description_as_text_and_json() {
    let env = TestEnv::new("snapshot_errors", false);
    let mut d = description("snaperr");
    d["capacity"] = json!({"min": 3, "max": 1, "desired": 5});
    d["launchType"] = json!("");
    d["networkMode"] = json!("bridged");
    let path = env.file("d.json", &d);
    let config = env.config.to_string_lossy().into_owned();
    let text = env.command(&["--config", &config, "deploy", "--description", &path]).output().unwrap();
    assert_eq!(text.status.code(), Some(2));
    let json = env.run(&["deploy", "--description", &path], None);
    assert_eq!(json.code, 2);
    settings().bind(|| {
        insta::assert_snapshot!("errors_text", stable(&env, &String::from_utf8_lossy(&text.stderr)));
        insta::assert_snapshot!("errors_json", stable(&env, &json.stdout));
    });
}
