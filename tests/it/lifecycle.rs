//! The lifecycle commands and deploy strategies against the emulator: list, disable, enable,
//! resize, destroy, rollback, red/black, highlander, waiting.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use serde_json::{Value, json};

use crate::harness::{CLUSTER, TestEnv, ecs_behaviour};

fn description(app: &str) -> Value {
    json!({
        "credentials": "ecs-main", "application": app, "stack": "prod",
        "ecsClusterName": CLUSTER, "availabilityZones": {"us-west-2": ["us-west-2a"]},
        "capacity": {"min": 1, "max": 4, "desired": 2}, "launchType": "EC2", "networkMode": "bridge",
        "dockerImageAddress": "nginx", "computeUnits": 64, "reservedMemory": 64, "placementStrategySequence": []
    })
}

fn op(env: &TestEnv, command: &str, server_group: &str, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec![command, "--account", "ecs-main", "--region", "us-west-2", "--server-group", server_group];
    args.extend_from_slice(extra);
    env.run(&args, None)
}

#[tokio::test]
async fn list_disable_enable_resize() {
    let env = TestEnv::new("lifecycle_list_disable_enable_resize", false);
    for _ in 0..2 {
        assert_eq!(env.deploy(&description("papa"), &[]).code, 0);
    }
    let mut canary = description("papa");
    canary["freeFormDetails"] = json!("canary");
    assert_eq!(env.deploy(&canary, &[]).code, 0);

    let run = env.run(&["list", "--account", "ecs-main", "--region", "us-west-2", "--cluster", "papa-prod"], None);
    assert_eq!(run.code, 0, "{run:?}");
    let names: Vec<&str> = run.json.as_array().unwrap().iter().map(|r| r["serverGroupName"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["papa-prod-v000", "papa-prod-v001"]);
    assert_eq!(run.json[0]["minCapacity"], 1);
    assert_eq!(run.json[0]["maxCapacity"], 4);
    assert_eq!(run.json[0]["enabled"], true);
    assert_eq!(run.json[0]["version"], 0);
    let all = env.run(&["list", "--account", "ecs-main", "--region", "us-west-2"], None);
    assert_eq!(all.json.as_array().unwrap().len(), 3, "{all:?}");

    let aws = env.aws().await;
    let run = op(&env, "disable", "papa-prod-v000", &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.json["steps"].to_string().contains("Suspending autoscaling"));
    assert_eq!(aws.service("papa-prod-v000").await.unwrap().desired_count, 0);
    let t = aws.scalable_target("papa-prod-v000").await.unwrap();
    let s = t.suspended_state.unwrap();
    assert_eq!(
        (s.dynamic_scaling_in_suspended, s.dynamic_scaling_out_suspended, s.scheduled_scaling_suspended),
        (Some(true), Some(true), Some(true))
    );
    // Disabling again does not re-register the suspended target (Clouddriver PR #5218).
    let run = op(&env, "disable", "papa-prod-v000", &[]);
    assert!(run.json["steps"].to_string().contains("already suspended"), "{run:?}");
    let list = env.run(&["list", "--account", "ecs-main", "--region", "us-west-2", "--cluster", "papa-prod"], None);
    assert_eq!(list.json[0]["enabled"], false);
    assert_eq!(list.json[0]["scalingSuspended"], true);

    // Enable: desired = the scalable target's max, scaling resumed.
    let run = op(&env, "enable", "papa-prod-v000", &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(aws.service("papa-prod-v000").await.unwrap().desired_count, 4);
    let s = aws.scalable_target("papa-prod-v000").await.unwrap().suspended_state.unwrap();
    assert_eq!(s.dynamic_scaling_in_suspended, Some(false));
    let run = op(&env, "enable", "papa-prod-v000", &["--desired", "3"]);
    assert_eq!(run.code, 0);
    assert_eq!(aws.service("papa-prod-v000").await.unwrap().desired_count, 3);

    let run = op(&env, "resize", "papa-prod-v001", &["--min", "2", "--max", "6", "--desired", "5"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(aws.service("papa-prod-v001").await.unwrap().desired_count, 5);
    let t = aws.scalable_target("papa-prod-v001").await.unwrap();
    assert_eq!((t.min_capacity, t.max_capacity), (2, 6));
    let run = op(&env, "resize", "papa-prod-v001", &["--min", "7", "--max", "6", "--desired", "5"]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("resizeServiceDescription.capacity.min.max.range.invalid"), "{run:?}");
    // int32, as AWS takes it: a larger count is refused, not saturated (#14.10).
    let run = op(&env, "resize", "papa-prod-v001", &["--min", "1", "--max", "4294967296", "--desired", "1"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("4294967296") && run.stderr.contains("2147483647"), "{run:?}");
    let t = aws.scalable_target("papa-prod-v001").await.unwrap();
    assert_eq!((t.min_capacity, t.max_capacity), (2, 6), "nothing changed");

    // Clouddriver operation JSON through --description.
    let file = env.file(
        "disable.json",
        &json!([{"disableServerGroup": {"serverGroupName": "papa-prod-v001", "region": "us-west-2", "credentials": "ecs-main", "cloudProvider": "ecs"}}]),
    );
    let run = env.run(&["disable", "--description", &file], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(aws.service("papa-prod-v001").await.unwrap().desired_count, 0);
    let file = env.file("bad.json", &json!({"serverGroupName": "papa-prod-v001", "region": "eu-west-3"}));
    let run = env.run(&["enable", "--description", &file], None);
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("enableServiceDescription.credentials.not.nullable"), "{run:?}");
}

#[tokio::test]
async fn finding_the_ecs_cluster() {
    let env = TestEnv::new("lifecycle_finding_the_ecs_cluster", false);
    assert_eq!(env.deploy(&description("quebec"), &[]).code, 0);
    let run = op(&env, "disable", "quebec-prod-v999", &[]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("does not exist"), "{run:?}");
    // The same name in a second ECS cluster: ambiguous without --ecs-cluster.
    let aws = env.aws().await;
    aws.ecs.create_cluster().cluster_name("other").send().await.unwrap();
    let td = aws.service("quebec-prod-v000").await.unwrap().task_definition.unwrap();
    aws.ecs.create_service().cluster("other").service_name("quebec-prod-v000").task_definition(td).desired_count(1).send().await.unwrap();
    let run = op(&env, "disable", "quebec-prod-v000", &[]);
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("several ECS clusters") && run.stdout.contains("other"), "{run:?}");
    let run = op(&env, "disable", "quebec-prod-v000", &["--ecs-cluster", "other"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["ecsClusterName"], "other");
}

#[tokio::test]
async fn destroy_removes_alarms_scaling_service_and_task_definition() {
    let env = TestEnv::new("lifecycle_destroy", false);
    assert_eq!(env.deploy(&description("romeo"), &[]).code, 0);
    let aws = env.aws().await;
    let resource = format!("service/{CLUSTER}/romeo-prod-v000");
    let policy = aws
        .scaling
        .put_scaling_policy()
        .policy_name("out")
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource)
        .policy_type(aws_sdk_applicationautoscaling::types::PolicyType::StepScaling)
        .step_scaling_policy_configuration(
            aws_sdk_applicationautoscaling::types::StepScalingPolicyConfiguration::builder()
                .adjustment_type(aws_sdk_applicationautoscaling::types::AdjustmentType::ChangeInCapacity)
                .step_adjustments(
                    aws_sdk_applicationautoscaling::types::StepAdjustment::builder()
                        .scaling_adjustment(1)
                        .metric_interval_lower_bound(0.0)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .policy_arn;
    put_alarm(&aws, "romeo-high", Some(&policy)).await;
    // Names the service in an action, but is not this server group's: Clouddriver's substring
    // match would delete it.
    put_alarm(&aws, "unrelated", Some(&format!("arn:aws:sns:us-west-2:{}:romeo-prod-v000-notify", env.account_id))).await;
    aws.scaling
        .put_scheduled_action()
        .scheduled_action_name("nightly")
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource)
        .schedule("cron(0 0 * * ? *)")
        .send()
        .await
        .unwrap();
    let td = aws.service("romeo-prod-v000").await.unwrap().task_definition.unwrap();

    let run = op(&env, "destroy", "romeo-prod-v000", &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(aws.service("romeo-prod-v000").await.unwrap().status.as_deref(), Some("INACTIVE"));
    assert!(aws.scalable_target("romeo-prod-v000").await.is_none());
    let alarms: Vec<String> =
        aws.cloudwatch.describe_alarms().send().await.unwrap().metric_alarms().iter().filter_map(|a| a.alarm_name.clone()).collect();
    assert_eq!(alarms, vec!["unrelated".to_string()]);
    let scheduled =
        aws.scaling.describe_scheduled_actions().service_namespace(ServiceNamespace::Ecs).resource_id(&resource).send().await.unwrap();
    assert!(scheduled.scheduled_actions().is_empty());
    assert_eq!(aws.task_definition(&td).await.status.map(|s| s.as_str().to_string()).as_deref(), Some("INACTIVE"));
}

/// A test alarm named `name` on the service's CPU, with `action` as its alarm action.
async fn put_alarm(aws: &crate::harness::Aws, name: &str, action: Option<&str>) {
    aws.cloudwatch
        .put_metric_alarm()
        .set_alarm_actions(action.map(|a| vec![a.to_string()]))
        .alarm_name(name)
        .namespace("AWS/ECS")
        .metric_name("CPUUtilization")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
        .period(60)
        .evaluation_periods(1)
        .threshold(80.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
}

async fn alarm_names(aws: &crate::harness::Aws) -> Vec<String> {
    aws.cloudwatch.describe_alarms().send().await.unwrap().metric_alarms().iter().filter_map(|a| a.alarm_name.clone()).collect()
}

async fn td_status(aws: &crate::harness::Aws, td: &str) -> String {
    aws.task_definition(td).await.status.map(|s| s.as_str().to_string()).unwrap_or_default()
}

#[tokio::test]
async fn a_destroy_cut_short_is_finished_by_the_next_one() {
    let env = TestEnv::new("lifecycle_destroy_remains", false);
    let aws = env.aws().await;

    // Killed during DeleteService: scaling gone, the service deleted, the task definition ACTIVE.
    assert_eq!(env.deploy(&description("sierra"), &[]).code, 0);
    let td = aws.service("sierra-prod-v000").await.unwrap().task_definition.unwrap();
    aws.scaling
        .deregister_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(format!("service/{CLUSTER}/sierra-prod-v000"))
        .send()
        .await
        .unwrap();
    aws.ecs.delete_service().cluster(CLUSTER).service("sierra-prod-v000").force(true).send().await.unwrap();
    let run = op(&env, "destroy", "sierra-prod-v000", &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("Deregistered task definition {td}")), "{run:?}");
    assert_eq!(td_status(&aws, &td).await, "INACTIVE");
    // Nothing is left now: a destroy says so (exit 2) and changes nothing.
    let again = op(&env, "destroy", "sierra-prod-v000", &[]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(again.stdout.contains("does not exist"), "{again:?}");

    // The service gone but its scalable target, a target-tracking straggler and the task
    // definition left: all found without the service (the ECS cluster found too) and removed.
    assert_eq!(env.deploy(&description("tango3"), &[]).code, 0);
    let td = aws.service("tango3-prod-v000").await.unwrap().task_definition.unwrap();
    let straggler = format!("TargetTracking-service/{CLUSTER}/tango3-prod-v000-AlarmHigh-0b1c");
    put_alarm(&aws, &straggler, None).await;
    put_alarm(&aws, &format!("TargetTracking-service/{CLUSTER}/tango3-prod-v0001-AlarmHigh-other"), None).await;
    aws.ecs.delete_service().cluster(CLUSTER).service("tango3-prod-v000").force(true).send().await.unwrap();
    let args = ["destroy", "--account", "ecs-main", "--region", "us-west-2", "--server-group", "tango3-prod-v000"];
    let run = env.run(&args, None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(aws.scalable_target("tango3-prod-v000").await.is_none());
    assert_eq!(td_status(&aws, &td).await, "INACTIVE");
    let alarms = alarm_names(&aws).await;
    assert!(!alarms.contains(&straggler), "{alarms:?}");
    assert!(alarms.iter().any(|a| a.contains("tango3-prod-v0001-AlarmHigh")), "another group's alarm is kept: {alarms:?}");
}

#[tokio::test]
async fn rollback_restores_then_disables_and_refuses_without_task_definition() {
    let env = TestEnv::new("lifecycle_rollback", false);
    ecs_behaviour("sierra2-prod", "healthy");
    assert_eq!(env.deploy(&description("sierra2"), &[]).code, 0);
    assert_eq!(env.deploy(&description("sierra2"), &[]).code, 0);
    let aws = env.aws().await;
    assert_eq!(op(&env, "disable", "sierra2-prod-v000", &[]).code, 0);
    aws.ecs.update_service().cluster(CLUSTER).service("sierra2-prod-v001").desired_count(3).send().await.unwrap();

    let run = env.run(
        &[
            "rollback",
            "--account",
            "ecs-main",
            "--region",
            "us-west-2",
            "--restore",
            "sierra2-prod-v000",
            "--current",
            "sierra2-prod-v001",
            "--timeout",
            "20s",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{run:?}");
    // Restored at least to the current one's size (3 > its max 4? no: max(4, 3) = 4).
    assert_eq!(aws.service("sierra2-prod-v000").await.unwrap().desired_count, 4);
    assert_eq!(aws.service("sierra2-prod-v001").await.unwrap().desired_count, 0);

    // A server group whose task definition is gone cannot be restored; nothing changes.
    let td = aws.service("sierra2-prod-v001").await.unwrap().task_definition.unwrap();
    aws.ecs.deregister_task_definition().task_definition(&td).send().await.unwrap();
    aws.ecs.delete_task_definitions().task_definitions(&td).send().await.unwrap();
    let run = env.run(
        &["rollback", "--account", "ecs-main", "--region", "us-west-2", "--restore", "sierra2-prod-v001", "--current", "sierra2-prod-v000"],
        None,
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("no longer exists"), "{run:?}");
    assert_eq!(aws.service("sierra2-prod-v000").await.unwrap().desired_count, 4);
}

#[tokio::test]
async fn redblack_disables_scales_down_and_shrinks_the_cluster() {
    let env = TestEnv::new("strategy_redblack", false);
    ecs_behaviour("tango2-prod", "healthy");
    for _ in 0..2 {
        assert_eq!(env.deploy(&description("tango2"), &[]).code, 0);
    }
    let mut d = description("tango2");
    d["strategy"] = json!("redblack");
    d["scaleDown"] = json!(true);
    d["maxRemainingAsgs"] = json!(2);
    let run = env.deploy(&d, &["--timeout", "30s"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["serverGroupName"], "tango2-prod-v002");
    assert_eq!(run.json["healthy"], true);
    let steps: Vec<(String, String)> = run.json["strategySteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["operation"].as_str().unwrap().to_string(), s["serverGroupName"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("disableServerGroup".into(), "tango2-prod-v001".into()),
            ("disableServerGroup".into(), "tango2-prod-v000".into()),
            ("resizeServerGroup".into(), "tango2-prod-v001".into()),
            ("resizeServerGroup".into(), "tango2-prod-v000".into()),
            ("destroyServerGroup".into(), "tango2-prod-v000".into()),
        ]
    );
    let aws = env.aws().await;
    assert_eq!(aws.service("tango2-prod-v002").await.unwrap().desired_count, 2);
    assert_eq!(aws.service("tango2-prod-v001").await.unwrap().desired_count, 0);
    let t = aws.scalable_target("tango2-prod-v001").await.unwrap();
    assert_eq!((t.min_capacity, t.max_capacity), (0, 0));
    assert_eq!(aws.service("tango2-prod-v000").await.unwrap().status.as_deref(), Some("INACTIVE"));
}

#[tokio::test]
async fn redblack_with_an_unhealthy_new_server_group_keeps_the_old_one_serving() {
    let env = TestEnv::new("strategy_redblack_unhealthy", false);
    ecs_behaviour("uniform2-prod-v000", "healthy");
    ecs_behaviour("uniform2-prod-v001", "failed");
    assert_eq!(env.deploy(&description("uniform2"), &[]).code, 0);
    let mut d = description("uniform2");
    d["strategy"] = json!("redblack");
    let started = std::time::Instant::now();
    let run = env.deploy(&d, &["--timeout", "5m"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(started.elapsed().as_secs() < 60, "failing fast, not sitting out the timeout");
    let text = run.stdout.clone();
    assert!(text.contains("circuit breaker") && text.contains("disabled uniform2-prod-v001"), "{text}");
    let aws = env.aws().await;
    assert_eq!(aws.service("uniform2-prod-v001").await.unwrap().desired_count, 0);
    assert_eq!(aws.service("uniform2-prod-v000").await.unwrap().desired_count, 2);

    // A rollback by the circuit breaker is a failure too; destroyLatest removes the new one.
    ecs_behaviour("uniform2-prod-v002", "rollback");
    d["rollback"] = json!({"onFailure": true, "destroyLatest": true});
    let run = env.deploy(&d, &["--timeout", "5m"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("rolled back"), "{run:?}");
    assert_eq!(aws.service("uniform2-prod-v002").await.unwrap().status.as_deref(), Some("INACTIVE"));
    assert_eq!(aws.service("uniform2-prod-v000").await.unwrap().desired_count, 2);
}

#[tokio::test]
async fn highlander_destroys_the_others_and_wait_times_out_with_what_it_saw() {
    let env = TestEnv::new("strategy_highlander", false);
    ecs_behaviour("victor2-prod", "healthy");
    for _ in 0..2 {
        assert_eq!(env.deploy(&description("victor2"), &[]).code, 0);
    }
    let run = env.deploy(&description("victor2"), &["--strategy", "highlander"]);
    assert_eq!(run.code, 0, "{run:?}");
    let aws = env.aws().await;
    let mut names = aws.service_names().await;
    names.sort();
    assert_eq!(names, vec!["victor2-prod-v002"]);

    // Nothing plays ECS for this one: the wait gives up at the timeout and says what it saw.
    let run = env.deploy(&description("whiskey2"), &["--wait", "--timeout", "2s"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("timed out after 2s") && run.stdout.contains("rollout IN_PROGRESS"), "{run:?}");
    assert!(run.stderr.contains("whiskey2-prod-v000: rollout IN_PROGRESS"), "progress on stderr: {}", run.stderr);
}

#[tokio::test]
async fn operations_lists_run_in_order_and_stop_at_the_first_failure() {
    let env = TestEnv::new("ops_lists", false);
    let mut second = description("yoke");
    second["source"] = json!({"account": "ecs-main", "region": "us-west-2", "asgName": "yoke-prod-v000", "useSourceCapacity": true});
    let disable = |name: &str| json!({"disableServerGroup": {"serverGroupName": name, "region": "us-west-2", "credentials": "ecs-main", "cloudProvider": "ecs"}});
    let ops = json!([{"createServerGroup": description("yoke")}, {"createServerGroup": second}, disable("yoke-prod-v000")]);
    let path = env.file("ops.json", &ops);
    let run = env.run(&["ops", &path], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["status"]["completed"], true);
    assert_eq!(run.json["status"]["failed"], false);
    let results = run.json["resultObjects"].as_array().unwrap();
    assert_eq!(results[0]["serverGroupNames"], json!(["us-west-2:yoke-prod-v000"]));
    assert_eq!(results[1]["serverGroupName"], "yoke-prod-v001");
    assert_eq!(results[2]["operation"], "disableServerGroup");
    assert!(run.json["history"].to_string().contains("CREATE_ECS_SERVER_GROUP"));
    let aws = env.aws().await;
    assert_eq!(aws.service("yoke-prod-v000").await.unwrap().desired_count, 0);

    // The first failure stops the list: the second operation never runs.
    let path = env.file("ops2.json", &json!([disable("yoke-prod-v999"), disable("yoke-prod-v001")]));
    let run = env.run(&["ops", &path], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(run.json["status"]["failed"], true);
    assert!(run.json["exception"]["message"].is_string());
    assert_eq!(aws.service("yoke-prod-v001").await.unwrap().desired_count, 2);

    // An invalid list starts nothing.
    let path = env.file("ops3.json", &json!([disable("yoke-prod-v001"), {"terminateInstances": {}}]));
    let run = env.run(&["ops", &path], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("terminateInstances"));
    assert_eq!(aws.service("yoke-prod-v001").await.unwrap().desired_count, 2);
}

/// Rolling red/black (blue-green.md §8): run by the CLI, the new version grows in steps while the
/// old one shrinks by the same share, then is disabled with its recorded minimum back; Orca's
/// partial disable (`desiredPercentage`) scales down and the read API keeps the recorded desired.
#[tokio::test]
async fn rolling_red_black_grows_the_new_version_as_the_old_one_shrinks() {
    let env = TestEnv::new("strategy_rolling", false);
    ecs_behaviour("rrb9-prod", "healthy");
    let mut first = description("rrb9");
    first["capacity"] = json!({"min": 2, "max": 8, "desired": 4});
    assert_eq!(env.deploy(&first, &[]).code, 0);
    let run = env.deploy(&first, &["--strategy", "rollingredblack", "--target-percentages", "25,50", "--timeout", "30s"]);
    assert_eq!(run.code, 0, "{run:?}");
    let steps: Vec<(String, String)> = run.json["strategySteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["operation"].as_str().unwrap().to_string(), s["serverGroupName"].as_str().unwrap().to_string()))
        .collect();
    let (grow, shrink) =
        (("resizeServerGroup".to_string(), "rrb9-prod-v001".to_string()), ("disableServerGroup".to_string(), "rrb9-prod-v000".to_string()));
    assert_eq!(steps, [grow.clone(), shrink.clone(), grow.clone(), shrink.clone(), grow, shrink]);
    let text = run.json["strategySteps"].to_string();
    assert!(text.contains("Disabling 25% of rrb9-prod-v000: 3 of 4 tasks keep serving") && text.contains("2 of 4 tasks"), "{text}");
    let aws = env.aws().await;
    assert_eq!(aws.service("rrb9-prod-v001").await.unwrap().desired_count, 4);
    let old = aws.service("rrb9-prod-v000").await.unwrap();
    assert_eq!(old.desired_count, 0);
    assert!(!old.tags().iter().any(|t| t.key() == Some("ecs-deployer/rrb")), "the record goes with the full disable");
    let t = aws.scalable_target("rrb9-prod-v000").await.unwrap();
    assert_eq!((t.min_capacity, t.max_capacity), (2, 8), "its recorded minimum is back");

    // Orca's partial disable: scaled down by the share, the recorded desired count reported.
    let path = env.file(
        "partial.json",
        &json!({"credentials": "ecs-main", "region": "us-west-2", "serverGroupName": "rrb9-prod-v001", "desiredPercentage": 50}),
    );
    let partial = env.run(&["disable", "--description", &path], None);
    assert_eq!(partial.code, 0, "{partial:?}");
    assert_eq!(aws.service("rrb9-prod-v001").await.unwrap().desired_count, 2);
    let view = env.run(&["list", "--account", "ecs-main", "--region", "us-west-2", "--cluster", "rrb9-prod", "--view"], None);
    let v001 = view.json.as_array().unwrap().iter().find(|v| v["name"] == "rrb9-prod-v001").unwrap().clone();
    assert_eq!(v001["capacity"]["desired"], 4, "{v001}");

    // As Orca sends it (0/0/0, strategy rollingredblack): created as sent; the steps are Orca's.
    let mut orca = first.clone();
    orca["capacity"] = json!({"min": 0, "max": 0, "desired": 0});
    orca["strategy"] = json!("rollingredblack");
    let created = env.deploy(&orca, &[]);
    assert_eq!(created.code, 0, "{created:?}");
    assert_eq!(created.json["strategySteps"], Value::Null, "{created:?}");
    assert_eq!(aws.service("rrb9-prod-v002").await.unwrap().desired_count, 0);
}
