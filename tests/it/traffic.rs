//! Traffic by listener-rule weights (blue-green.md §4-§7), against the emulator: a shift in
//! steps read back from the rule, an authentication action kept through every rewrite, an alarm
//! in ALARM during a bake restoring the rule, switch-back in one write, finish disabling the
//! group at weight 0.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, AuthenticateOidcActionConfig, FixedResponseActionConfig, ProtocolEnum, RuleCondition, TargetTypeEnum,
};
use serde_json::{Value, json};

use crate::harness::{Aws, TestEnv};

/// Two target groups, an ALB with a listener, a rule that authenticates then forwards to the
/// first, and a test listener forwarding to the second: (rule ARN, blue TG ARN, green TG ARN).
async fn weighted_rule(env: &TestEnv, aws: &Aws, name: &str) -> (String, String, String) {
    let vpc = env.fixtures["vpc"].as_str().unwrap();
    let subnets: Vec<String> =
        env.fixtures["subnets"].as_object().unwrap().values().filter_map(|s| s.as_str().map(str::to_string)).collect();
    let tg = |n: String| {
        aws.elb.create_target_group().name(n).protocol(ProtocolEnum::Http).port(80).vpc_id(vpc).target_type(TargetTypeEnum::Ip).send()
    };
    let blue = tg(format!("{name}-blue")).await.unwrap().target_groups()[0].target_group_arn().unwrap().to_string();
    let green = tg(format!("{name}-green")).await.unwrap().target_groups()[0].target_group_arn().unwrap().to_string();
    let lb = aws.elb.create_load_balancer().name(format!("{name}-alb")).set_subnets(Some(subnets)).send().await.unwrap();
    let lb = lb.load_balancers()[0].load_balancer_arn().unwrap().to_string();
    let fixed = Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(FixedResponseActionConfig::builder().status_code("404").build())
        .build();
    let listener =
        aws.elb.create_listener().load_balancer_arn(&lb).protocol(ProtocolEnum::Http).port(80).default_actions(fixed).send().await.unwrap();
    let listener = listener.listeners()[0].listener_arn().unwrap().to_string();
    let oidc = AuthenticateOidcActionConfig::builder()
        .issuer("https://idp.example.com")
        .authorization_endpoint("https://idp.example.com/auth")
        .token_endpoint("https://idp.example.com/token")
        .user_info_endpoint("https://idp.example.com/userinfo")
        .client_id("web")
        .client_secret("s3cret")
        .build();
    let rule = aws
        .elb
        .create_rule()
        .listener_arn(&listener)
        .priority(10)
        .conditions(RuleCondition::builder().field("path-pattern").values("/*").build())
        .actions(Action::builder().r#type(ActionTypeEnum::AuthenticateOidc).order(1).authenticate_oidc_config(oidc).build())
        .actions(Action::builder().r#type(ActionTypeEnum::Forward).order(2).target_group_arn(&blue).build())
        .send()
        .await
        .unwrap();
    // A test listener forwards to green (so ECS accepts it before the rule names it: emulator B3).
    let to_green = Action::builder().r#type(ActionTypeEnum::Forward).target_group_arn(&green).build();
    aws.elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .default_actions(to_green)
        .send()
        .await
        .unwrap();
    (rule.rules()[0].rule_arn().unwrap().to_string(), blue, green)
}

/// The rule's actions: (type, order) of each, and the forward's weights by target group ARN.
async fn actions(aws: &Aws, rule: &str) -> (Vec<(String, Option<i32>)>, Vec<(String, i32)>) {
    let out = aws.elb.describe_rules().rule_arns(rule).send().await.unwrap();
    let actions = out.rules()[0].actions().to_vec();
    let kinds = actions.iter().map(|a| (a.r#type().unwrap().as_str().to_string(), a.order())).collect();
    let forward = actions.iter().find(|a| a.r#type() == Some(&ActionTypeEnum::Forward)).unwrap();
    let weights = match forward.forward_config() {
        Some(c) => c.target_groups().iter().map(|t| (t.target_group_arn().unwrap().to_string(), t.weight().unwrap_or(1))).collect(),
        None => vec![(forward.target_group_arn().unwrap().to_string(), 100)],
    };
    (kinds, weights)
}

fn deployed(env: &TestEnv, app: &str, target_group: &str) {
    let mut d = crate::deploy::fargate(app);
    d["targetGroupMappings"] = json!([{"containerName": "web", "containerPort": 80, "targetGroup": target_group}]);
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 0, "{run:?}");
}

/// A 5xx alarm `name`, set to ALARM ("5xx spike").
async fn alarm_in_alarm(aws: &Aws, name: &str) {
    aws.cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    aws.cloudwatch
        .set_alarm_state()
        .alarm_name(name)
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("5xx spike")
        .send()
        .await
        .unwrap();
}

fn modify_rules(env: &TestEnv) -> usize {
    let log: Vec<Value> = serde_json::from_str(&env.http("GET", "/_harness/requests", "")).unwrap();
    log.iter().filter(|r| r["operation"] == "ModifyRule").count()
}

#[tokio::test]
async fn a_shift_moves_weights_in_steps_keeps_authentication_and_switches_back_in_one_write() {
    let env = TestEnv::dedicated("traffic_shift");
    let aws = env.aws().await;
    let (rule, blue, green) = weighted_rule(&env, &aws, "pel").await;
    deployed(&env, "pel", "pel-blue");
    deployed(&env, "pel", "pel-green");
    aws.reconcile("pel-web-v000").await;
    aws.reconcile("pel-web-v001").await;
    let base = ["--account", "ecs-main", "--region", "us-west-2", "--rule", &rule];
    let run = |extra: &[&str]| {
        let mut args = vec![extra[0]];
        args.extend_from_slice(&base);
        args.extend_from_slice(&extra[1..]);
        args.extend_from_slice(&["--output", "json"]);
        env.run(&args, None)
    };

    let before = modify_rules(&env);
    let shifted = run(&["shift", "--from", "pel-web-v000", "--to", "pel-web-v001", "--steps", "10,50,100", "--bake", "1s"]);
    assert_eq!(shifted.code, 0, "{shifted:?}");
    assert_eq!(
        shifted.json["steps"],
        json!(["pel-web-v000 90% / pel-web-v001 10%", "pel-web-v000 50% / pel-web-v001 50%", "pel-web-v000 0% / pel-web-v001 100%"])
    );
    assert_eq!(modify_rules(&env) - before, 3, "one ModifyRule per step");
    let (kinds, weights) = actions(&aws, &rule).await;
    assert_eq!(
        kinds,
        [("authenticate-oidc".to_string(), Some(1)), ("forward".to_string(), Some(2))],
        "the authentication action survives every rewrite"
    );
    assert_eq!(weights, [(blue.clone(), 0), (green.clone(), 100)]);

    // Switch back: the weights before the shift, in one write.
    let before = modify_rules(&env);
    let back = run(&["switch-back"]);
    assert_eq!(back.code, 0, "{back:?}");
    assert_eq!(modify_rules(&env) - before, 1);
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 100), (green.clone(), 0)]);

    // An alarm in ALARM during a bake: the rule is restored as it was, and the shift fails.
    alarm_in_alarm(&aws, "pel-5xx").await;
    let failed =
        run(&["shift", "--from", "pel-web-v000", "--to", "pel-web-v001", "--steps", "10,100", "--bake", "5s", "--alarm", "pel-5xx"]);
    assert_eq!(failed.code, 1, "{failed:?}");
    assert!(failed.json.to_string().contains("alarm pel-5xx is in ALARM during the bake: 5xx spike"), "{}", failed.json);
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 100), (green.clone(), 0)], "restored");
    let tags = aws.elb.describe_tags().resource_arns(&rule).send().await.unwrap();
    let keys: Vec<&str> = tags.tag_descriptions()[0].tags().iter().filter_map(|t| t.key()).collect();
    assert!(!keys.iter().any(|k| k.starts_with("ecs-deployer/shift")), "the journal is removed with the restore: {keys:?}");

    // Finish: the group at weight 0 is disabled.
    aws.cloudwatch
        .set_alarm_state()
        .alarm_name("pel-5xx")
        .state_value(aws_sdk_cloudwatch::types::StateValue::Ok)
        .state_reason("fine")
        .send()
        .await
        .unwrap();
    assert_eq!(run(&["shift", "--from", "pel-web-v000", "--to", "pel-web-v001", "--weights", "0:100"]).code, 0);
    let finished = run(&["finish"]);
    assert_eq!(finished.code, 0, "{finished:?}");
    assert_eq!(aws.service("pel-web-v000").await.unwrap().desired_count, 0, "blue is disabled");
    assert_eq!(aws.service("pel-web-v001").await.unwrap().desired_count, 3, "green serves");

    // Disabling the last group with healthy targets behind the rule is refused; --force goes on.
    let disable = |extra: &[&str]| {
        env.run(
            &[&["disable", "--account", "ecs-main", "--region", "us-west-2", "--server-group", "pel-web-v001"][..], extra].concat(),
            None,
        )
    };
    let last = disable(&[]);
    assert_eq!(last.code, 2, "{last:?}");
    assert!(
        last.json.to_string().contains("would leave pel-green/") && last.json.to_string().contains(&format!("{rule} at 100%")),
        "{last:?}"
    );
    assert_eq!(aws.service("pel-web-v001").await.unwrap().desired_count, 3, "nothing written");
    let forced = disable(&["--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert!(forced.stderr.contains("forced past the traffic check"), "{forced:?}");
}

#[tokio::test]
async fn traffic_operations_run_through_ecs_ops_for_webhooks_and_scripts() {
    let env = TestEnv::dedicated("traffic_ops");
    let aws = env.aws().await;
    let (rule, blue, green) = weighted_rule(&env, &aws, "ern").await;
    deployed(&env, "ern", "ern-blue");
    deployed(&env, "ern", "ern-green");
    aws.reconcile("ern-web-v000").await;
    aws.reconcile("ern-web-v001").await;
    let server = crate::serve::Server::start(&env, &["--store-file", "tasks.db", "--audit-file", "audit.log"]);
    let invalid = server.post("/ecs/ops", &json!([{"shiftTraffic": {"credentials": "ecs-main", "region": "us-west-2", "rule": rule}}]));
    assert_eq!(invalid.0, 400, "{}", invalid.1);
    let base = json!({"credentials": "ecs-main", "region": "us-west-2", "rule": rule});
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };
    let id = server
        .submit(&json!([{"shiftTraffic": with(json!({"from": "ern-web-v000", "to": "ern-web-v001", "toPercent": 25, "force": true}))}]));
    let (task, _) = server.wait(&id);
    assert_eq!(task["status"]["failed"], false, "{task}");
    // The audit names the operation told to go on past the checks.
    let audit = std::fs::read_to_string(env.dir.path().join("audit.log")).unwrap();
    let accepted: Vec<Value> =
        audit.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|l| l["taskId"] == json!(id)).collect();
    assert_eq!(accepted[0]["forced"], json!(["shiftTraffic"]), "{audit}");
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 75), (green.clone(), 25)]);
    let id = server.submit(&json!([{"switchBackTraffic": base.clone()}]));
    let (task, _) = server.wait(&id);
    assert_eq!(task["status"]["failed"], false, "{task}");
    assert_eq!(actions(&aws, &rule).await.1, [(blue, 100), (green, 0)]);
    assert!(task["history"].to_string().contains("SWITCH_BACK_TRAFFIC"), "{task}");
}

/// Runs a deploy while the harness plays ECS's scheduler for the new group `name` (its tasks
/// start and turn healthy in its target group once the service exists).
async fn deploy_playing_ecs(env: &TestEnv, aws: &Aws, description: &Value, name: &str) -> (i32, Value, String) {
    let path = env.file("traffic.json", description);
    playing_ecs(env, aws, &["deploy", "--description", &path, "--timeout", "60s"], name).await
}

/// Runs `args` while the harness plays ECS's scheduler for the new group `name`.
async fn playing_ecs(env: &TestEnv, aws: &Aws, args: &[&str], name: &str) -> (i32, Value, String) {
    let child = env.spawn(args);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while aws.service(name).await.is_none() {
        assert!(std::time::Instant::now() < deadline, "{name} was never created");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    aws.reconcile(name).await;
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.code().unwrap_or(-1), serde_json::from_str(&stdout).unwrap_or(Value::Null), String::from_utf8_lossy(&out.stderr).into())
}

fn tag_keys(tags: &aws_sdk_elasticloadbalancingv2::operation::describe_tags::DescribeTagsOutput) -> Vec<String> {
    tags.tag_descriptions()[0].tags().iter().filter_map(|t| t.key().map(str::to_string)).collect()
}

#[tokio::test]
async fn a_traffic_managed_deploy_creates_green_in_the_idle_target_group_and_shifts_in_steps() {
    let env = TestEnv::dedicated("traffic_deploy");
    let aws = env.aws().await;
    let (rule, blue, green) = weighted_rule(&env, &aws, "tmd").await;
    env.http("POST", "/_harness", &json!({"ecs": [{"match": "tmd-web", "behaviour": "healthy"}]}).to_string());
    deployed(&env, "tmd", "tmd-blue");
    aws.reconcile("tmd-web-v000").await;
    let mut d = crate::deploy::fargate("tmd");
    d["targetGroupMappings"] = json!([{"containerName": "web", "containerPort": 80, "targetGroup": "tmd-blue"}]);
    d["trafficShift"] = json!({"rule": rule, "targetGroups": ["tmd-blue", "tmd-green"], "steps": [10, 50], "bakeSeconds": 1});

    // --plan: the rule's writes are named, nothing is written.
    let planned = env.deploy(&d, &["--plan"]);
    assert_eq!(planned.code, 0, "{planned:?}");
    assert!(planned.json["trafficSteps"].to_string().contains("add tmd-green to"), "{}", planned.json);
    let before = modify_rules(&env);
    let (code, out, stderr) = deploy_playing_ecs(&env, &aws, &d, "tmd-web-v001").await;
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert_eq!(modify_rules(&env) - before, 4, "the idle target group added at 0, then one write per step");
    let v001 = aws.service("tmd-web-v001").await.unwrap();
    assert_eq!(v001.load_balancers()[0].target_group_arn(), Some(green.as_str()), "green in the idle target group");
    assert_eq!(
        out["trafficSteps"].as_array().unwrap()[..3],
        [
            json!("tmd-web-v000 90% / tmd-web-v001 10%"),
            json!("tmd-web-v000 50% / tmd-web-v001 50%"),
            json!("tmd-web-v000 0% / tmd-web-v001 100%")
        ]
    );
    let (kinds, weights) = actions(&aws, &rule).await;
    assert_eq!(kinds.len(), 2, "the authentication action kept");
    assert_eq!(weights, [(blue.clone(), 0), (green.clone(), 100)]);
    assert!(aws.service("tmd-web-v000").await.unwrap().desired_count > 0, "blue kept warm at weight 0");
    let keys = tag_keys(&aws.elb.describe_tags().resource_arns(&rule).send().await.unwrap());
    assert!(
        keys.contains(&"ecs-deployer/previous-weights".to_string()) && !keys.iter().any(|k| k.starts_with("ecs-deployer/shift")),
        "{keys:?}"
    );

    // The next deploy: blue's target group is idle now; an alarm in ALARM during the bake
    // restores the rule, fails the deploy and removes v002; v001 keeps serving.
    alarm_in_alarm(&aws, "tmd-5xx").await;
    d["trafficShift"]["alarms"] = json!(["tmd-5xx"]);
    let (code, out, stderr) = deploy_playing_ecs(&env, &aws, &d, "tmd-web-v002").await;
    assert_eq!(code, 1, "{out}\n{stderr}");
    assert!(out.to_string().contains("alarm tmd-5xx is in ALARM during the bake: 5xx spike"), "{out}");
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 0), (green.clone(), 100)], "restored");
    assert!(aws.service("tmd-web-v002").await.is_none_or(|s| s.status() == Some("INACTIVE")), "v002 removed");
    assert_eq!(aws.service("tmd-web-v000").await.unwrap().desired_count, 0, "the warm v000 in the idle target group was finished");
    let keys = tag_keys(&aws.elb.describe_tags().resource_arns(&rule).send().await.unwrap());
    assert!(!keys.iter().any(|k| k.starts_with("ecs-deployer/shift")), "{keys:?}");
}

#[tokio::test]
async fn a_shift_killed_mid_bake_is_restored_by_cleanup_from_the_rules_journal() {
    let env = TestEnv::dedicated("traffic_crash");
    let aws = env.aws().await;
    let (rule, blue, green) = weighted_rule(&env, &aws, "krl").await;
    deployed(&env, "krl", "krl-blue");
    deployed(&env, "krl", "krl-green");
    aws.reconcile("krl-web-v000").await;
    aws.reconcile("krl-web-v001").await;
    let base = ["--account", "ecs-main", "--region", "us-west-2"];
    let mut child = env.spawn(
        &[
            &["shift", "--rule", &rule, "--from", "krl-web-v000", "--to", "krl-web-v001", "--steps", "30,100", "--bake", "5m"][..],
            &base[..],
        ]
        .concat(),
    );
    // Killed once the first step is written and journaled.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !tag_keys(&aws.elb.describe_tags().resource_arns(&rule).send().await.unwrap()).contains(&"ecs-deployer/shift-at".to_string()) {
        assert!(std::time::Instant::now() < deadline, "the first step was never journaled");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 70), (green.clone(), 30)], "left mid-shift");

    let young = env.run(&[&["cleanup", "--plan"][..], &base[..]].concat(), None);
    assert!(!young.stdout.contains(&rule), "a journal younger than --older-than is left alone: {young:?}");
    let plan = env.run(&[&["cleanup", "--plan", "--older-than", "0s"][..], &base[..]].concat(), None);
    assert!(plan.stdout.contains("would restore krl-blue/"), "{plan:?}");
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 70), (green.clone(), 30)], "--plan writes nothing");
    let cleaned = env.run(&[&["cleanup", "--older-than", "0s"][..], &base[..]].concat(), None);
    assert_eq!(cleaned.code, 0, "{cleaned:?}");
    assert!(cleaned.stdout.contains("restored the rule's forward action"), "{cleaned:?}");
    let weights = actions(&aws, &rule).await.1;
    assert!(weights.len() == 1 && weights[0].0 == blue, "the journaled plain forward to blue is back: {weights:?}");
    let keys = tag_keys(&aws.elb.describe_tags().resource_arns(&rule).send().await.unwrap());
    assert!(!keys.iter().any(|k| k.starts_with("ecs-deployer/shift")), "{keys:?}");
}

/// An image pushed to the emulator's ECR: (image URI with its tag, digest).
async fn pushed(env: &TestEnv, aws: &Aws, repository: &str) -> (String, String) {
    aws.ecr.create_repository().repository_name(repository).send().await.unwrap();
    let digest = format!("sha256:{}", "ab".repeat(32));
    let manifest = json!({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": format!("sha256:{}", "cd".repeat(32)), "size": 1, "mediaType": "application/vnd.docker.container.image.v1+json"}, "layers": []});
    aws.ecr
        .put_image()
        .repository_name(repository)
        .image_tag("1")
        .image_manifest(manifest.to_string())
        .image_digest(&digest)
        .send()
        .await
        .unwrap();
    (format!("{}.dkr.ecr.us-west-2.amazonaws.com/{repository}:1", env.account_id), digest)
}

#[tokio::test]
async fn no_traffic_goes_to_a_group_whose_image_is_gone_from_ecr_unless_forced() {
    let env = TestEnv::dedicated("traffic_images");
    let aws = env.aws().await;
    let (rule, _, _) = weighted_rule(&env, &aws, "img").await;
    let (image, digest) = pushed(&env, &aws, "img-web").await;
    let mut d = crate::deploy::fargate("img");
    d["containerToImageMap"] = json!({"web": image});
    d["targetGroupMappings"] = json!([{"containerName": "web", "containerPort": 80, "targetGroup": "img-blue"}]);
    env.http("POST", "/_harness", &json!({"ecs": [{"match": "img-web-v000", "behaviour": "healthy"}]}).to_string());
    let first = env.deploy(&d, &["--wait", "--timeout", "60s"]);
    assert_eq!(first.code, 0, "{first:?}");
    // Healthy, its digests are recorded on the service (for when its revision is gone).
    let tags: Vec<(String, String)> =
        aws.service("img-web-v000").await.unwrap().tags().iter().map(|t| (t.key().unwrap().into(), t.value().unwrap().into())).collect();
    assert!(tags.contains(&("ecs-deployer/digest/0".to_string(), format!("web@{digest}"))), "{tags:?}");
    deployed(&env, "img", "img-green");
    aws.reconcile("img-web-v000").await;
    aws.reconcile("img-web-v001").await;
    aws.ecr
        .batch_delete_image()
        .repository_name("img-web")
        .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_digest(&digest).build())
        .send()
        .await
        .unwrap();
    let base = ["--account", "ecs-main", "--region", "us-west-2"];
    let with = |args: &[&str]| env.run(&[args, &base[..]].concat(), None);
    let names_it = |run: &crate::harness::Run| {
        let text = run.json.to_string();
        assert_eq!(run.code, 2, "{run:?}");
        assert!(text.contains("container web") && text.contains(&digest) && text.contains("gone from ECR"), "{text}");
    };

    // A shift towards it: refused, the rule untouched.
    let before = modify_rules(&env);
    names_it(&with(&["shift", "--rule", &rule, "--from", "img-web-v001", "--to", "img-web-v000", "--weights", "50:50"]));
    assert_eq!(modify_rules(&env), before, "nothing written");

    // Enable after a disable, and a rollback onto it: refused before any write.
    // (the last healthy server of the rule's target group: disabled only by force)
    assert_eq!(with(&["disable", "--server-group", "img-web-v000"]).code, 2);
    assert_eq!(with(&["disable", "--server-group", "img-web-v000", "--force"]).code, 0);
    aws.reconcile("img-web-v000").await;
    names_it(&with(&["enable", "--server-group", "img-web-v000"]));
    names_it(&with(&["resize", "--server-group", "img-web-v000", "--min", "1", "--max", "2", "--desired", "1"]));
    names_it(&with(&["rollback", "--restore", "img-web-v000", "--current", "img-web-v001"]));
    assert_eq!(aws.service("img-web-v000").await.unwrap().desired_count, 0, "nothing written");
    assert_eq!(aws.service("img-web-v001").await.unwrap().desired_count, 3, "the current group untouched");

    // --force goes on, and says what it overrode.
    let forced = with(&["enable", "--server-group", "img-web-v000", "--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert!(forced.stderr.contains("forced past the image check"), "{forced:?}");
    assert!(aws.service("img-web-v000").await.unwrap().desired_count > 0);
}

/// The emulator's ELBv2 and ECS patches (blue-green.md §10.2) show what AWS does: weights
/// outside 0-999 and more than 5 target groups are refused (B1), a ModifyRule associates the
/// target groups it brings in with the load balancer (B2), and CreateService refuses a target
/// group no load balancer is associated with (B3). B7 shows in the image test above.
#[tokio::test]
async fn the_emulator_checks_forward_actions_and_target_group_association_as_aws_does() {
    use aws_sdk_elasticloadbalancingv2::types::{ForwardActionConfig, TargetGroupTuple};
    let env = TestEnv::new("traffic_emulator", false);
    let aws = env.aws().await;
    let (rule, blue, _) = weighted_rule(&env, &aws, "emb").await;
    let vpc = env.fixtures["vpc"].as_str().unwrap();
    let tg = |n: &str| {
        aws.elb.create_target_group().name(n).protocol(ProtocolEnum::Http).port(80).vpc_id(vpc).target_type(TargetTypeEnum::Ip).send()
    };
    let lone = tg("emb-lone").await.unwrap().target_groups()[0].target_group_arn().unwrap().to_string();
    let forward = |groups: &[(&str, i32)]| {
        let tuples: Vec<TargetGroupTuple> =
            groups.iter().map(|(a, w)| TargetGroupTuple::builder().target_group_arn(*a).weight(*w).build()).collect();
        Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .forward_config(ForwardActionConfig::builder().set_target_groups(Some(tuples)).build())
            .build()
    };
    let modify = |groups: &[(&str, i32)]| aws.elb.modify_rule().rule_arn(&rule).actions(forward(groups)).send();
    assert!(modify(&[(&blue, 1000)]).await.is_err(), "B1: weight 1000");
    let six: Vec<String> = futures::future::join_all((0..5).map(|i| tg(&format!("emb-x{i}"))))
        .await
        .into_iter()
        .map(|t| t.unwrap().target_groups()[0].target_group_arn().unwrap().to_string())
        .collect();
    let mut groups: Vec<(&str, i32)> = six.iter().map(|a| (a.as_str(), 0)).collect();
    groups.push((&blue, 100));
    assert!(modify(&groups).await.is_err(), "B1: six target groups");

    let service = |tg: &str| {
        aws.ecs
            .create_service()
            .cluster(crate::harness::CLUSTER)
            .service_name("emb-web-v000")
            .task_definition("web-fargate")
            .desired_count(0)
            .load_balancers(
                aws_sdk_ecs::types::LoadBalancer::builder().target_group_arn(tg).container_name("web").container_port(80).build(),
            )
            .send()
    };
    let refused = service(&lone).await.unwrap_err();
    assert!(format!("{refused:?}").contains("does not have an associated load balancer"), "B3: {refused:?}");
    modify(&[(&blue, 100), (&lone, 0)]).await.unwrap();
    let associated = aws.elb.describe_target_groups().target_group_arns(&lone).send().await.unwrap();
    assert_eq!(associated.target_groups()[0].load_balancer_arns().len(), 1, "B2");
}

/// The share the console's traffic page shows for `target_group` in `rule`'s section.
async fn shown_weight(browser: &fantoccini::Client, rule: &str, target_group: &str) -> String {
    let cells = format!("//section[h2/code[text()='{rule}']]//tr[td[1][text()='{target_group}']]/td[contains(@class,'share')]");
    browser.find(fantoccini::Locator::XPath(&cells)).await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn in_a_browser_a_person_shifts_in_steps_watches_the_bake_switches_back_and_finishes() {
    use crate::browser::{Driver, only_the_main_account, screenshot, wait_for_text};
    use fantoccini::Locator;
    let env = TestEnv::dedicated("traffic_console");
    let aws = env.aws().await;
    let (rule, blue, green) = weighted_rule(&env, &aws, "bro").await;
    deployed(&env, "bro", "bro-blue");
    deployed(&env, "bro", "bro-green");
    aws.reconcile("bro-web-v000").await;
    aws.reconcile("bro-web-v001").await;
    only_the_main_account(&env);
    let server = crate::serve::Server::start(&env, &["--store-file", "tasks.db"]);
    let driver = Driver::start();
    let browser = driver.browser().await;
    let base = format!("http://127.0.0.1:{}", server.port);

    // The application page leads to the cluster's traffic: blue at 100, green at 0.
    browser.goto(&format!("{base}/console/applications/bro")).await.unwrap();
    browser.find(Locator::LinkText("Traffic in us-west-2")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "Traffic of bro-web").await;
    assert_eq!(
        (shown_weight(&browser, &rule, "bro-blue").await, shown_weight(&browser, &rule, "bro-green").await),
        ("100%".into(), "0%".into())
    );
    screenshot(&browser, "traffic-before").await;

    // Shift 0 → 10 → 100 with a bake, followed on the task page.
    let form = browser.find(Locator::XPath(&format!("//section[h2/code[text()='{rule}']]//form[contains(@class,'shift')]"))).await.unwrap();
    form.find(Locator::Css("select[name=from]")).await.unwrap().select_by_value("bro-web-v000").await.unwrap();
    form.find(Locator::Css("select[name=to]")).await.unwrap().select_by_value("bro-web-v001").await.unwrap();
    let steps = form.find(Locator::Css("input[name=steps]")).await.unwrap();
    steps.clear().await.unwrap();
    steps.send_keys("10,100").await.unwrap();
    let bake = form.find(Locator::Css("input[name=bake]")).await.unwrap();
    bake.clear().await.unwrap();
    bake.send_keys("2").await.unwrap();
    form.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "baking at bro-blue/").await;
    screenshot(&browser, "traffic-baking").await;
    wait_for_text(&browser, "Orchestration completed").await;
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 0), (green.clone(), 100)]);

    // Switch back in one click; then finish disables the group at weight 0.
    browser.goto(&format!("{base}/console/traffic/ecs-main/us-west-2/bro-web")).await.unwrap();
    assert_eq!(shown_weight(&browser, &rule, "bro-green").await, "100%");
    browser.find(Locator::Css("form.switch-back button")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "Orchestration completed").await;
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 100), (green.clone(), 0)]);
    browser.goto(&format!("{base}/console/traffic/ecs-main/us-west-2/bro-web")).await.unwrap();
    browser.find(Locator::Css("form.finish button")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "Orchestration completed").await;
    assert_eq!(aws.service("bro-web-v001").await.unwrap().desired_count, 0, "green at weight 0 is disabled");
    assert!(aws.service("bro-web-v000").await.unwrap().desired_count > 0, "blue serves");
    screenshot(&browser, "traffic-finished").await;
}

#[tokio::test]
async fn a_traffic_managed_clone_takes_the_idle_target_group_of_its_source() {
    let env = TestEnv::dedicated("traffic_clone");
    let aws = env.aws().await;
    let (rule, blue, green) = weighted_rule(&env, &aws, "tcl").await;
    env.http("POST", "/_harness", &json!({"ecs": [{"match": "tcl-web", "behaviour": "healthy"}]}).to_string());
    deployed(&env, "tcl", "tcl-blue");
    aws.reconcile("tcl-web-v000").await;
    let shift = env.file("shift.json", &json!({"rule": rule, "targetGroups": ["tcl-blue", "tcl-green"]}));
    let args = [
        "clone",
        "--account",
        "ecs-main",
        "--region",
        "us-west-2",
        "--server-group",
        "tcl-web-v000",
        "--traffic-shift",
        &shift,
        "--timeout",
        "60s",
    ];
    let (code, out, stderr) = playing_ecs(&env, &aws, &args, "tcl-web-v001").await;
    assert_eq!(code, 0, "{out}\n{stderr}");
    let v001 = aws.service("tcl-web-v001").await.unwrap();
    assert_eq!(
        v001.load_balancers()[0].target_group_arn(),
        Some(green.as_str()),
        "the source's mapping rewritten to the idle target group"
    );
    assert_eq!(actions(&aws, &rule).await.1, [(blue, 0), (green, 100)]);
}

#[tokio::test]
async fn serve_restarted_after_a_crash_mid_shift_restores_the_rule_its_task_journaled() {
    let env = TestEnv::dedicated("traffic_serve_crash");
    let aws = env.aws().await;
    let (rule, blue, green) = weighted_rule(&env, &aws, "scr").await;
    deployed(&env, "scr", "scr-blue");
    deployed(&env, "scr", "scr-green");
    aws.reconcile("scr-web-v000").await;
    aws.reconcile("scr-web-v001").await;
    let server = crate::serve::Server::start(&env, &["--store-file", "tasks.db"]);
    let shift = json!({"credentials": "ecs-main", "region": "us-west-2", "rule": rule, "from": "scr-web-v000", "to": "scr-web-v001",
        "steps": [30, 100], "bakeSeconds": 300});
    let id = server.submit(&json!([{"shiftTraffic": shift}]));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !tag_keys(&aws.elb.describe_tags().resource_arns(&rule).send().await.unwrap()).contains(&"ecs-deployer/shift-at".to_string()) {
        assert!(std::time::Instant::now() < deadline, "the first step was never journaled");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let tags = aws.elb.describe_tags().resource_arns(&rule).send().await.unwrap();
    let owner =
        tags.tag_descriptions()[0].tags().iter().find(|t| t.key() == Some("ecs-deployer/shift")).unwrap().value().unwrap().to_string();
    assert!(owner.starts_with(&format!("{id}:")), "the journal names the task: {owner}");
    server.kill();
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 70), (green.clone(), 30)], "left mid-shift");

    let server = crate::serve::Server::start(&env, &["--store-file", "tasks.db"]);
    let (task, _) = server.wait(&id);
    assert_eq!(task["status"]["failed"], true, "{task}");
    assert!(task.to_string().contains("restored the rule's forward action"), "{task}");
    let weights = actions(&aws, &rule).await.1;
    assert!(weights.len() == 1 && weights[0].0 == blue, "the journaled forward to blue is back: {weights:?}");
    assert!(
        !tag_keys(&aws.elb.describe_tags().resource_arns(&rule).send().await.unwrap()).iter().any(|k| k.starts_with("ecs-deployer/shift"))
    );
}

/// The test listener's forward action: (target group ARN, weight) each.
async fn listener_weights(aws: &Aws, listener: &str) -> Vec<(String, i32)> {
    let out = aws.elb.describe_listeners().listener_arns(listener).send().await.unwrap();
    let forward = out.listeners()[0].default_actions().iter().find(|a| a.r#type() == Some(&ActionTypeEnum::Forward)).unwrap().clone();
    match forward.forward_config() {
        Some(c) => c.target_groups().iter().map(|t| (t.target_group_arn().unwrap().to_string(), t.weight().unwrap_or(1))).collect(),
        None => vec![(forward.target_group_arn().unwrap().to_string(), 100)],
    }
}

#[tokio::test]
async fn a_deploy_points_the_test_listener_at_green_and_shifts_only_once_the_probe_answers_through_it() {
    let env = TestEnv::dedicated("traffic_probe");
    let aws = env.aws().await;
    let (rule, blue, green) = weighted_rule(&env, &aws, "tpr").await;
    let store = crate::artifact_server::FakeStore::start(&json!({}));
    crate::artifacts::append_config(&env, "artifacts:\n  urlRestrictions: {rejectLocalhost: false, rejectVerbatimIps: false}\n");
    let lb = aws.elb.describe_load_balancers().names("tpr-alb").send().await.unwrap().load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let listeners = aws.elb.describe_listeners().load_balancer_arn(&lb).send().await.unwrap();
    let test = listeners.listeners().iter().find(|l| l.port() == Some(8080)).unwrap().listener_arn().unwrap().to_string();
    env.http("POST", "/_harness", &json!({"ecs": [{"match": "tpr-web", "behaviour": "healthy"}]}).to_string());
    deployed(&env, "tpr", "tpr-blue");
    aws.reconcile("tpr-web-v000").await;
    // The fake answers 401 to a GET without credentials: the status green must answer through the test listener.
    let mut d = crate::deploy::fargate("tpr");
    d["targetGroupMappings"] = json!([{"containerName": "web", "containerPort": 80, "targetGroup": "tpr-blue"}]);
    let probe = |status: u16| json!({"listener": test, "probe": {"url": store.url("/http/td.json"), "expectStatus": status}});
    d["trafficShift"] = json!({"rule": rule, "targetGroups": ["tpr-blue", "tpr-green"], "test": probe(401)});
    let path = env.file("probe.json", &d);
    let (code, out, stderr) = playing_ecs(&env, &aws, &["deploy", "--description", &path, "--timeout", "60s"], "tpr-web-v001").await;
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 0), (green.clone(), 100)]);
    // The next deploy goes to blue's target group: the test listener follows it first.
    let (code, out, stderr) = playing_ecs(&env, &aws, &["deploy", "--description", &path, "--timeout", "60s"], "tpr-web-v002").await;
    assert_eq!(code, 0, "{out}\n{stderr}");
    assert_eq!(
        listener_weights(&aws, &test).await,
        [(green.clone(), 0), (blue.clone(), 100)],
        "the test listener forwards to the new green"
    );
    assert_eq!(actions(&aws, &rule).await.1, [(blue.clone(), 100), (green.clone(), 0)]);

    // A probe that never answers as expected: the test listener and the rule as they were, green removed.
    d["trafficShift"]["test"] = probe(200);
    let path = env.file("probe.json", &d);
    let (code, out, _) = playing_ecs(&env, &aws, &["deploy", "--description", &path, "--timeout", "3s"], "tpr-web-v003").await;
    assert_eq!(code, 1, "{out}");
    assert!(out.to_string().contains("never answered 200") && out.to_string().contains("answered 401"), "{out}");
    assert_eq!(listener_weights(&aws, &test).await, [(green.clone(), 0), (blue.clone(), 100)], "restored");
    assert_eq!(actions(&aws, &rule).await.1, [(blue, 100), (green, 0)], "no production traffic moved");
    assert!(aws.service("tpr-web-v003").await.is_none_or(|s| s.status() != Some("ACTIVE")), "green removed");
}
