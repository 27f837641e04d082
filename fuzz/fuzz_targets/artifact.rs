//! Fuzzes the task-definition artifact parser: JSON text → the artifact check against the
//! RegisterTaskDefinition key tree → the artifact-mode task definition of a Fargate deploy with
//! container images and target-group mappings (`deploy::prepare` with `--artifact`).
#![no_main]

mod common;

use ecs_deployer::{deploy, description, taskdef};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(artifact) = description::parse_json_text(text, "fuzz") else { return };
    let _ = taskdef::load_artifact(artifact.clone());
    let d = json!({
        "credentials": "ecs-main", "moniker": {"app": "fuzz", "stack": "web"}, "ecsClusterName": "main",
        "availabilityZones": {"us-west-2": ["us-west-2a"]}, "capacity": {"min": 1, "max": 2, "desired": 1},
        "launchType": "FARGATE", "networkMode": "awsvpc", "subnetTypes": ["internal"], "securityGroupNames": ["web"],
        "useTaskDefinitionArtifact": true, "placementStrategySequence": [],
        "containerToImageMap": {"web": "nginx:1.27"},
        "targetGroupMappings": [{"containerName": "web", "containerPort": 80, "targetGroup": "web-tg"}]
    });
    let d = description::create_server_group_from_json(d).expect("the fuzz description is valid");
    let options = deploy::DeployOptions { artifact: Some(artifact), ..Default::default() };
    let _ = deploy::prepare(&common::config(), d, &options);
});
