//! `deploy` (createServerGroup) against the emulator: naming, task definitions in both modes,
//! roles, networking, load balancers, tags, capacity, scalable target, validation and cleanup.

use serde_json::{Value, json};

use crate::harness::{Aws, CLUSTER, TestEnv, http, recorded};

/// An EC2 / bridge inputs-mode description for `app`.
pub(crate) fn inputs(app: &str) -> Value {
    json!({
        "credentials": "ecs-main", "application": app, "stack": "prod", "freeFormDetails": "",
        "ecsClusterName": CLUSTER, "availabilityZones": {"us-west-2": ["us-west-2a", "us-west-2b"]},
        "capacity": {"min": 1, "max": 3, "desired": 2}, "launchType": "EC2", "networkMode": "bridge",
        "dockerImageAddress": "nginx:1.27", "computeUnits": 128, "reservedMemory": 256,
        "placementStrategySequence": [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}],
        "placementConstraints": [{"type": "distinctInstance"}],
        "environmentVariables": {"MODE": "web"}, "dockerLabels": {"team": "x"},
        "healthCheckGracePeriodSeconds": 45, "enableExecuteCommand": true,
        "strategy": "", "cloudProvider": "ecs", "useSourceCapacity": true
    })
}

/// A Fargate / awsvpc artifact-mode description for `app`.
pub(crate) fn fargate(app: &str) -> Value {
    json!({
        "credentials": "ecs-main", "moniker": {"app": app, "stack": "web"},
        "ecsClusterName": CLUSTER, "availabilityZones": {"us-west-2": ["us-west-2a", "us-west-2b"]},
        "capacity": {"min": 2, "max": 6, "desired": 3}, "launchType": "FARGATE", "platformVersion": "1.4.0",
        "networkMode": "awsvpc", "subnetTypes": ["internal"], "securityGroupNames": ["web"], "associatePublicIpAddress": true,
        "useTaskDefinitionArtifact": true, "evaluateTaskDefinitionArtifactExpressions": true,
        "spelProcessedTaskDefinitionArtifact": serde_json::from_str::<Value>(include_str!("../../task-definitions/web-fargate.json")).unwrap(),
        "containerToImageMap": {"web": "nginx:1.27.9"},
        "targetGroupMappings": [{"containerName": "web", "containerPort": 80, "targetGroup": "web-tg"}],
        "placementStrategySequence": [], "enableDeploymentCircuitBreaker": true
    })
}

#[tokio::test]
async fn inputs_mode_first_and_second_deploy() {
    let env = TestEnv::new("inputs_mode_first_and_second_deploy", false);
    let run = env.deploy(&inputs("alpha"), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["serverGroupNames"], json!(["us-west-2:alpha-prod-v000"]));
    assert_eq!(run.json["serverGroupNameByRegion"], json!({"us-west-2": "alpha-prod-v000"}));
    assert_eq!(run.json["ecsClusterName"], CLUSTER);
    assert_eq!(run.json["scalableTarget"], json!({"resourceId": "service/main/alpha-prod-v000", "minCapacity": 1, "maxCapacity": 3}));

    let aws = env.aws().await;
    let service = aws.service("alpha-prod-v000").await.unwrap();
    assert_eq!(service.desired_count, 2);
    assert_eq!(service.status.as_deref(), Some("ACTIVE"));
    let td = aws.task_definition(service.task_definition.as_deref().unwrap()).await;
    assert_eq!(td.family.as_deref(), Some("alpha-prod"));
    assert_eq!(td.network_mode.as_ref().map(|m| m.as_str()), Some("bridge"));
    assert_eq!(td.requires_compatibilities().iter().map(|c| c.as_str()).collect::<Vec<_>>(), vec!["EC2"]);
    let c = &td.container_definitions()[0];
    assert_eq!(c.name(), Some("v000"));
    assert_eq!(c.image(), Some("nginx:1.27"));
    assert_eq!(c.cpu, 128);
    assert_eq!(c.memory_reservation, Some(256));
    let env_vars: Vec<(String, String)> =
        c.environment().iter().map(|e| (e.name().unwrap().into(), e.value().unwrap_or("").into())).collect();
    assert_eq!(
        env_vars,
        vec![
            ("MODE".into(), "web".into()),
            ("SERVER_GROUP".into(), "alpha-prod-v000".into()),
            ("CLOUD_STACK".into(), "prod".into()),
            ("CLOUD_DETAIL".into(), "".into())
        ]
    );
    let labels = c.docker_labels().unwrap();
    assert_eq!(labels["spinnaker.servergroup"], "alpha-prod-v000");
    assert_eq!(labels["spinnaker.stack"], "prod");
    assert_eq!(labels["team"], "x");
    assert!(!labels.contains_key("spinnaker.detail"));
    assert!(td.execution_role_arn.is_none(), "EC2 gets no execution role");
    let target = aws.scalable_target("alpha-prod-v000").await.unwrap();
    assert_eq!((target.min_capacity, target.max_capacity), (1, 3));

    // Fields moto drops from its model reach AWS: check what was sent.
    let sent = recorded("CreateService", "alpha-prod-v000");
    let body = &sent[0];
    assert_eq!(
        body["deploymentConfiguration"],
        json!({"maximumPercent": 200, "minimumHealthyPercent": 100, "deploymentCircuitBreaker": {"enable": false, "rollback": false}})
    );
    assert_eq!(
        body["placementStrategy"],
        json!([{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}])
    );
    assert_eq!(body["placementConstraints"], json!([{"type": "distinctInstance"}]));
    assert_eq!(body["healthCheckGracePeriodSeconds"], 45);
    assert_eq!(body["enableExecuteCommand"], true);
    assert_eq!(body["launchType"], "EC2");
    assert_eq!(body["serviceRegistries"], json!([]));
    assert!(body.get("networkConfiguration").is_none() && body.get("role").is_none() && body.get("tags").is_none());
    assert_eq!(body["clientToken"].as_str().unwrap().len(), 32);

    // The second deploy takes the next version; the first is left alone.
    let mut second = inputs("alpha");
    second["source"] = json!({"account": "ecs-main", "region": "us-west-2", "asgName": "alpha-prod-v000", "useSourceCapacity": true});
    second["capacity"] = json!({"min": 0, "max": 10, "desired": 1});
    let run = env.deploy(&second, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["serverGroupName"], "alpha-prod-v001");
    // useSourceCapacity: desired from the source service, min/max from its scalable target.
    assert_eq!(run.json["desiredCount"], 2);
    assert_eq!(run.json["scalableTarget"]["minCapacity"], 1);
    assert_eq!(run.json["scalableTarget"]["maxCapacity"], 3);
    let v1 = aws.service("alpha-prod-v001").await.unwrap();
    assert_eq!(v1.desired_count, 2);
    let td1 = aws.task_definition(v1.task_definition.as_deref().unwrap()).await;
    assert_eq!(td1.container_definitions()[0].name(), Some("v001"));
    assert_eq!(td1.revision, 2);
    let v0 = aws.service("alpha-prod-v000").await.unwrap();
    assert_eq!(v0.desired_count, 2);
    assert_eq!(v0.task_definition, service.task_definition);
}

#[tokio::test]
async fn fargate_artifact_awsvpc_target_groups_and_roles() {
    let env = TestEnv::new("fargate_artifact_awsvpc_target_groups_and_roles", false);
    let run = env.deploy(&fargate("bravo"), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["serverGroupName"], "bravo-web-v000");
    let aws = env.aws().await;
    let service = aws.service("bravo-web-v000").await.unwrap();
    let td = aws.task_definition(service.task_definition.as_deref().unwrap()).await;
    assert_eq!(td.family.as_deref(), Some("bravo-web"));
    assert_eq!(td.cpu.as_deref(), Some("256"));
    assert_eq!(td.container_definitions()[0].image(), Some("nginx:1.27.9"));
    // Fargate without an execution role in the artifact: the account role.
    assert_eq!(td.execution_role_arn.as_deref(), Some(format!("arn:aws:iam::{}:role/SpinnakerManaged", env.account_id).as_str()));
    let labels = td.container_definitions()[0].docker_labels().unwrap();
    assert_eq!(labels["spinnaker.servergroup"], "bravo-web-v000");

    let f = &env.fixtures;
    let sent = recorded("CreateService", "bravo-web-v000");
    let body = &sent[0];
    let awsvpc = &body["networkConfiguration"]["awsvpcConfiguration"];
    // Subnets with purpose `internal` in zones a and b only (not zone c, not `external`).
    let mut subnets: Vec<&str> = awsvpc["subnets"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    subnets.sort();
    let mut expected = vec![f["subnets"]["internal-a"].as_str().unwrap(), f["subnets"]["internal-b"].as_str().unwrap()];
    expected.sort();
    assert_eq!(subnets, expected);
    // The security group named `web` in the subnets' VPC, not the one in the other VPC.
    assert_eq!(awsvpc["securityGroups"], json!([f["securityGroup"]]));
    assert_eq!(awsvpc["assignPublicIp"], "ENABLED");
    assert_eq!(body["loadBalancers"], json!([{"targetGroupArn": f["targetGroup"], "containerName": "web", "containerPort": 80}]));
    assert_eq!(body["launchType"], "FARGATE");
    assert_eq!(body["platformVersion"], "1.4.0");
    assert_eq!(body["deploymentConfiguration"]["deploymentCircuitBreaker"], json!({"enable": true, "rollback": false}));
    // What AWS holds agrees.
    assert_eq!(service.load_balancers()[0].target_group_arn(), f["targetGroup"].as_str());
    assert_eq!(service.desired_count, 3);
}

#[tokio::test]
async fn artifact_file_in_describe_shape_with_sidecar_and_image_flags() {
    let env = TestEnv::new("artifact_file_in_describe_shape_with_sidecar", true);
    let mut d = fargate("charlie");
    for k in [
        "spelProcessedTaskDefinitionArtifact",
        "evaluateTaskDefinitionArtifactExpressions",
        "containerToImageMap",
        "useTaskDefinitionArtifact",
    ] {
        d.as_object_mut().unwrap().remove(k);
    }
    d["targetGroupMappings"] = json!([{"containerName": "app", "containerPort": 8000, "targetGroup": "web-tg"}]);
    d["iamRole"] = json!("app-task");
    d["tags"] = json!({"cost-center": "42"});
    let artifact = concat!(env!("CARGO_MANIFEST_DIR"), "/task-definitions/app-with-sidecar.json");
    let run = env.deploy(&d, &["--artifact", artifact, "--image", "app=python:3.13-slim"]);
    assert_eq!(run.code, 0, "{run:?}");
    let aws = env.aws().await;
    let service = aws.service("charlie-web-v000").await.unwrap();
    let td = aws.task_definition(service.task_definition.as_deref().unwrap()).await;
    let images: Vec<(&str, &str)> = td.container_definitions().iter().map(|c| (c.name().unwrap(), c.image().unwrap())).collect();
    assert_eq!(images, vec![("app", "python:3.13-slim"), ("envoy", "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod")]);
    assert_eq!(td.container_definitions()[0].depends_on().len(), 1);
    assert_eq!(td.family.as_deref(), Some("charlie-web"));
    // iamRole resolved through IAM, keeping the role's path.
    assert_eq!(td.task_role_arn.as_deref(), Some(format!("arn:aws:iam::{}:role/apps/app-task", env.account_id).as_str()));
    // Tagging enabled: service tags, managed tags, propagation.
    let tags: Vec<(String, String)> = service.tags().iter().map(|t| (t.key().unwrap().into(), t.value().unwrap().into())).collect();
    assert_eq!(tags, vec![("cost-center".to_string(), "42".to_string())]);
    let body = &recorded("CreateService", "charlie-web-v000")[0];
    assert_eq!(body["enableECSManagedTags"], true);
    assert_eq!(body["propagateTags"], "SERVICE");
}

#[tokio::test]
async fn tags_naming_strategy_writes_moniker_tags() {
    let env = TestEnv::new("tags_naming_strategy_writes_moniker_tags", true);
    let mut d = inputs("delta");
    d["credentials"] = json!("ecs-tags");
    d["freeFormDetails"] = json!("blue");
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["serverGroupName"], "delta-prod-blue-v000");
    let aws = env.aws().await;
    let service = aws.service("delta-prod-blue-v000").await.unwrap();
    let mut tags: Vec<(String, String)> = service.tags().iter().map(|t| (t.key().unwrap().into(), t.value().unwrap().into())).collect();
    tags.sort();
    assert_eq!(
        tags,
        vec![
            ("moniker.spinnaker.io/application".into(), "delta".into()),
            ("moniker.spinnaker.io/detail".into(), "blue".into()),
            ("moniker.spinnaker.io/sequence".into(), "0".into()),
            ("moniker.spinnaker.io/stack".into(), "prod".into()),
        ]
    );
    let run = env.deploy(&d, &[]);
    assert_eq!(run.json["serverGroupName"], "delta-prod-blue-v001", "{run:?}");
}

#[tokio::test]
async fn naming_wraps_reuses_inactive_and_ignores_other_clusters() {
    let env = TestEnv::new("naming_wraps_reuses_inactive", false);
    let aws = env.aws().await;
    aws.create_service("echo-prod-v999", 0).await;
    aws.create_service("echo-prod-canary-v005", 0).await;
    aws.create_service("echo-prod-v000", 0).await;
    // v999 is the max, so the next is v000 — taken — then v001.
    let run = env.deploy(&inputs("echo"), &[]);
    assert_eq!(run.json["serverGroupName"], "echo-prod-v001", "{run:?}");
    // A deleted (INACTIVE) name is free again.
    aws.ecs.update_service().cluster(CLUSTER).service("echo-prod-v001").desired_count(0).send().await.unwrap();
    aws.ecs.delete_service().cluster(CLUSTER).service("echo-prod-v001").send().await.unwrap();
    let run = env.deploy(&inputs("echo"), &[]);
    assert_eq!(run.json["serverGroupName"], "echo-prod-v001", "{run:?}");
    let mut names = aws.service_names().await;
    names.sort();
    assert_eq!(names, vec!["echo-prod-canary-v005", "echo-prod-v000", "echo-prod-v001", "echo-prod-v999"]);
}

#[tokio::test]
async fn next_version_is_max_plus_one() {
    let env = TestEnv::new("next_version_is_max_plus_one", false);
    let aws = env.aws().await;
    for v in [1, 3, 7, 12] {
        aws.create_service(&format!("foxtrot-prod-v{v:03}"), 0).await;
    }
    let run = env.deploy(&inputs("foxtrot"), &[]);
    // Gaps below the max are not reused: the next is max + 1.
    assert_eq!(run.json["serverGroupName"], "foxtrot-prod-v013", "{run:?}");
}

#[tokio::test]
async fn invalid_input_exits_2_with_every_error_and_writes_nothing() {
    let env = TestEnv::new("invalid_input_exits_2", false);
    let mut d = inputs("golf");
    d["capacity"] = json!({"min": 3, "max": 2, "desired": 5});
    d["networkMode"] = json!("aws-vpc");
    d["environmentVariables"] = json!({"SERVER_GROUP": "x"});
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let codes: Vec<&str> = run.json["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    for code in [
        "createServerGroupDescription.capacity.min.max.range.invalid",
        "createServerGroupDescription.capacity.desired.exceeds.max",
        "createServerGroupDescription.networkMode.invalid",
        "createServerGroupDescription.environmentVariables.invalid",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    for e in run.json["errors"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap().is_empty() && !e["field"].as_str().unwrap().is_empty());
    }
    let aws = env.aws().await;
    assert!(aws.task_definition_arns().await.is_empty());
    assert!(aws.service_names().await.is_empty());

    // Unknown account, region not in the account.
    let mut d = inputs("golf");
    d["credentials"] = json!("nope");
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("no ECS account named `nope`"), "{run:?}");
    let mut d = inputs("golf");
    d["availabilityZones"] = json!({"eu-west-1": ["eu-west-1a"]});
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("region.not.configured"), "{run:?}");
}

#[tokio::test]
async fn problems_found_in_aws_state_exit_2_before_any_write() {
    let env = TestEnv::new("problems_found_in_aws_state", false);
    let mut d = fargate("hotel");
    d["securityGroupNames"] = json!(["web", "no-such-group"]);
    d["targetGroupMappings"] = json!([{"containerName": "web", "containerPort": 80, "targetGroup": "no-such-tg"}]);
    d["iamRole"] = json!("ec2-only");
    d["tags"] = json!({"a": "b"});
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let text = run.stdout.clone();
    assert!(text.contains("no-such-group"), "{text}");
    assert!(text.contains("There is no target group with the name no-such-tg"), "{text}");
    assert!(text.contains("does not have a trust relationship to ecs-tasks.amazonaws.com"), "{text}");
    assert!(text.contains("do not allow tagging"), "{text}");
    let mut d = fargate("hotel");
    d["iamRole"] = json!("missing-role");
    d["targetGroupMappings"] = json!([{"containerName": "web", "containerPort": 8080, "targetGroup": "web-tg"}]);
    d["containerToImageMap"] = json!({"nope": "x"});
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("missing-role"), "{run:?}");
    assert!(run.stdout.contains("maps no containerPort 8080"), "{run:?}");
    assert!(run.stdout.contains("Have 0 but expected 1"), "{run:?}");
    let aws = env.aws().await;
    assert!(aws.task_definition_arns().await.is_empty(), "a task definition was registered");
    assert!(aws.service_names().await.is_empty());
}

/// Cost grows with the server group, not the ECS cluster: with 250 services of other
/// applications in the ECS cluster, a deploy makes exactly the requests it makes in an almost
/// empty one, plus the ListServices pages for the other names (100 a page). Nothing else reads
/// them: they are neither described nor looked at otherwise. A dedicated emulator: the test
/// counts every request it serves.
#[tokio::test]
async fn cost_grows_with_the_server_group_not_the_ecs_cluster() {
    let env = TestEnv::dedicated("cluster_cost");
    let deploy_logged = |description: &Value| -> Vec<String> {
        env.http("DELETE", "/_harness/requests", "");
        let run = env.deploy(description, &[]);
        assert_eq!(run.code, 0, "{run:?}");
        let log: Vec<Value> = serde_json::from_str(&env.http("GET", "/_harness/requests", "")).unwrap();
        let mut operations: Vec<String> = log.iter().map(|r| r["operation"].as_str().unwrap().to_string()).collect();
        operations.sort();
        operations
    };
    let small = deploy_logged(&fargate("uno"));

    let aws = env.aws().await;
    for batch in (0..250).collect::<Vec<_>>().chunks(25) {
        let names: Vec<String> = batch.iter().map(|i| format!("other{}-svc-v{:03}", i % 25, i / 25)).collect();
        futures::future::join_all(names.iter().map(|name| aws.create_service(name, 0))).await;
    }
    let big = deploy_logged(&fargate("dos"));

    let count = |ops: &[String], op: &str| ops.iter().filter(|o| *o == op).count();
    assert_eq!(count(&small, "ListServices"), 1, "{small:?}");
    assert_eq!(count(&big, "ListServices"), 3, "{big:?}");
    let without_lists = |ops: &[String]| ops.iter().filter(|o| *o != "ListServices").cloned().collect::<Vec<_>>();
    assert_eq!(without_lists(&big), without_lists(&small));
    assert_eq!(aws.service_names().await.len(), 252);
}

#[tokio::test]
async fn plan_prints_the_requests_and_writes_nothing() {
    let env = TestEnv::new("plan_prints_the_requests", false);
    let run = env.deploy(&fargate("india"), &["--plan"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["serverGroupName"], "india-web-v000");
    let plan = &run.json["plan"];
    assert_eq!(plan["registerTaskDefinition"]["family"], "india-web");
    assert_eq!(plan["createService"]["serviceName"], "india-web-v000");
    assert_eq!(plan["createService"]["taskDefinition"], "${taskDefinitionArn}");
    assert_eq!(plan["registerScalableTarget"]["ResourceId"], "service/main/india-web-v000");
    let aws = env.aws().await;
    assert!(aws.task_definition_arns().await.is_empty());
    assert!(aws.service_names().await.is_empty());
    // What apply sends is the plan: the recorded RegisterTaskDefinition equals the planned one.
    let run = env.deploy(&fargate("india"), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let sent = recorded("RegisterTaskDefinition", "india-web-v000");
    assert_eq!(sent[0], plan["registerTaskDefinition"]);
}

#[tokio::test]
async fn failure_after_create_service_removes_the_new_server_group() {
    let env = TestEnv::new("failure_after_create_service", false);
    let first = env.deploy(&inputs("juliet"), &[]);
    assert_eq!(first.code, 0, "{first:?}");
    http(
        "POST",
        "/_harness",
        &json!({"rules": [{"operation": "RegisterScalableTarget", "match": "juliet-prod-v001", "action": "error", "status": 400,
            "code": "ValidationException", "message": "injected: scalable target rejected", "times": 1}]})
        .to_string(),
    );
    let run = env.deploy(&inputs("juliet"), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.json["report"].to_string();
    assert!(report.contains("removed service juliet-prod-v001"), "{report}");
    assert!(report.contains("deregistered task definition"), "{report}");
    let aws = env.aws().await;
    let v1 = aws.service("juliet-prod-v001").await.unwrap();
    assert_eq!(v1.status.as_deref(), Some("INACTIVE"));
    let v0 = aws.service("juliet-prod-v000").await.unwrap();
    assert_eq!((v0.status.as_deref(), v0.desired_count), (Some("ACTIVE"), 2));
    let td = aws.task_definition(&format!("arn:aws:ecs:us-west-2:{}:task-definition/juliet-prod:2", env.account_id)).await;
    assert_eq!(td.status.as_ref().map(|s| s.as_str()), Some("INACTIVE"));

    // With --keep-failed the new server group stays and the report says so.
    http(
        "POST",
        "/_harness",
        &json!({"rules": [{"operation": "RegisterScalableTarget", "match": "juliet-prod-v001", "action": "error", "status": 400,
            "code": "ValidationException", "message": "injected", "times": 1}]})
        .to_string(),
    );
    let run = env.deploy(&inputs("juliet"), &["--keep-failed"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.json["report"].to_string().contains("kept (--keep-failed)"), "{run:?}");
    assert_eq!(aws.service("juliet-prod-v001").await.unwrap().status.as_deref(), Some("ACTIVE"));
}

#[tokio::test]
async fn legacy_iam_role_mode_and_capacity_providers() {
    let env = TestEnv::new("legacy_iam_role_mode", false);
    let mut d = inputs("kilo");
    d["credentials"] = json!("ecs-legacy");
    d["targetGroup"] = json!("admin-tg");
    d["containerPort"] = json!(8080);
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let role = format!("arn:aws:iam::{}:role/SpinnakerManaged", env.account_id);
    let body = &recorded("CreateService", "kilo-prod-v000")[0];
    assert_eq!(body["role"], json!(role));
    assert_eq!(
        body["loadBalancers"],
        json!([{"targetGroupArn": env.fixtures["adminTargetGroup"], "containerName": "v000", "containerPort": 8080}])
    );
    let target = &recorded("RegisterScalableTarget", "kilo-prod-v000")[0];
    assert_eq!(target["RoleARN"], json!(role));

    let mut d = inputs("lima");
    d.as_object_mut().unwrap().remove("launchType");
    d["capacityProviderStrategy"] =
        json!([{"capacityProvider": "FARGATE_SPOT", "weight": 3}, {"capacityProvider": "FARGATE", "base": 1, "weight": 1}]);
    d["networkMode"] = json!("awsvpc");
    d["subnetType"] = json!("external");
    d["availabilityZones"] = json!({"us-west-2": ["us-west-2a"]});
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let body = &recorded("CreateService", "lima-prod-v000")[0];
    assert_eq!(
        body["capacityProviderStrategy"],
        json!([{"capacityProvider": "FARGATE_SPOT", "weight": 3}, {"capacityProvider": "FARGATE", "weight": 1, "base": 1}])
    );
    assert!(body.get("launchType").is_none());
    assert_eq!(body["networkConfiguration"]["awsvpcConfiguration"]["subnets"], json!([env.fixtures["subnets"]["external-a"]]));
    let td = &recorded("RegisterTaskDefinition", "lima-prod-v000")[0];
    assert_eq!(td["requiresCompatibilities"], json!(["FARGATE"]));
    assert_eq!(td["executionRoleArn"], json!(format!("arn:aws:iam::{}:role/SpinnakerManaged", env.account_id)));
    assert_eq!(td["cpu"], "128");
}

#[tokio::test]
async fn operations_list_from_stdin_and_embedded_base64_artifact() {
    use base64::Engine;
    let env = TestEnv::new("operations_list_from_stdin", false);
    let mut d = fargate("mike");
    let artifact = d["spelProcessedTaskDefinitionArtifact"].clone();
    d.as_object_mut().unwrap().remove("spelProcessedTaskDefinitionArtifact");
    d["evaluateTaskDefinitionArtifactExpressions"] = json!(false);
    d["resolvedTaskDefinitionArtifact"] = json!({"type": "embedded/base64", "name": "td.json",
        "reference": base64::engine::general_purpose::STANDARD.encode(artifact.to_string())});
    let ops = json!([{"createServerGroup": d}]).to_string();
    let run = env.run(&["deploy", "--description", "-"], Some(&ops));
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["serverGroupName"], "mike-web-v000");
    let aws: Aws = env.aws().await;
    assert!(aws.service("mike-web-v000").await.is_some());
}

/// The SDK's HTTP client is shared by a session's clients (aws::http_client); it keeps what the
/// SDK's default one does with the environment: requests go through `HTTP_PROXY`.
#[test]
fn requests_go_through_the_proxy_the_environment_names() {
    use std::io::{Read, Write};
    let env = TestEnv::new("through_proxy", false);
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = proxy.local_addr().unwrap();
    let proxy_url = format!("http://{proxy_addr}");
    let seen = std::thread::spawn(move || {
        let (mut conn, _) = proxy.accept().unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let _ = conn.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_string()
    });
    let child = env.spawn_with_env(
        &["--output", "json", "list", "--account", "ecs-main", "--region", "us-west-2", "--ecs-cluster", CLUSTER],
        &[("HTTP_PROXY", &proxy_url), ("http_proxy", &proxy_url), ("NO_PROXY", ""), ("no_proxy", ""), ("ECS_DEPLOYER_MAX_ATTEMPTS", "1")],
    );
    let out = child.wait_with_output().unwrap();
    // Unblocks the proxy's accept if nothing came through it (then it records an empty line).
    let _ = std::net::TcpStream::connect(proxy_addr);
    let request_line = seen.join().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // A proxied request names the absolute URL of the endpoint.
    assert!(request_line.starts_with(&format!("POST {}/", env.endpoint)), "{request_line}");
}
