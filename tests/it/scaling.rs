//! Copying the source server group's Application Auto Scaling onto the new one: step and
//! target-tracking policies, their alarms, scheduled actions; cross-account and cross-region;
//! `--plan`; failure half-way.

use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension, MetricStatistic, MetricType, PolicyType,
    PredefinedMetricSpecification, ScalableDimension, ScalableTargetAction, ServiceNamespace, StepAdjustment,
    StepScalingPolicyConfiguration, TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Metric, MetricDataQuery, MetricStat, Statistic, Tag};
use serde_json::{Value, json};

use crate::harness::{Aws, CLUSTER, TestEnv, http};

pub(crate) fn description(app: &str, source: Option<(&str, &str, &str)>) -> Value {
    let mut d = json!({
        "credentials": "ecs-main", "application": app, "stack": "prod",
        "ecsClusterName": CLUSTER, "availabilityZones": {"us-west-2": ["us-west-2a"]},
        "capacity": {"min": 1, "max": 5, "desired": 2}, "launchType": "EC2", "networkMode": "bridge",
        "dockerImageAddress": "nginx", "computeUnits": 64, "reservedMemory": 64, "placementStrategySequence": []
    });
    if let Some((account, region, name)) = source {
        d["source"] = json!({"account": account, "region": region, "asgName": name, "useSourceCapacity": true});
    }
    d
}

/// Deploys APP-prod-v000 and gives it the scaling of [`add_scaling`]; returns the test's clients.
pub(crate) async fn deployed_with_scaling(env: &TestEnv, app: &str) -> Aws {
    assert_eq!(env.deploy(&description(app, None), &[]).code, 0);
    let aws = env.aws().await;
    add_scaling(&aws, &format!("{app}-prod-v000"), &env.account_id, "us-west-2").await;
    aws
}

/// Gives `service` (in ECS cluster `main`) a scalable target, three step policies with three
/// alarms, two target-tracking policies and two scheduled actions.
pub(crate) async fn add_scaling(aws: &Aws, service: &str, account_id: &str, region: &str) {
    let resource_id = format!("service/{CLUSTER}/{service}");
    let s = &aws.scaling;
    s.register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource_id)
        .min_capacity(2)
        .max_capacity(8)
        .send()
        .await
        .unwrap();
    let mut step_arns = Vec::new();
    for (name, adjustment) in [(format!("{service}-scale-out"), 2), (format!("{service}-scale-in"), -1), ("burst".to_string(), 4)] {
        let out = s
            .put_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&resource_id)
            .policy_type(PolicyType::StepScaling)
            .step_scaling_policy_configuration(
                StepScalingPolicyConfiguration::builder()
                    .adjustment_type(AdjustmentType::ChangeInCapacity)
                    .cooldown(120)
                    .metric_aggregation_type(MetricAggregationType::Maximum)
                    .min_adjustment_magnitude(1)
                    .step_adjustments(
                        StepAdjustment::builder().metric_interval_lower_bound(0.0).scaling_adjustment(adjustment).build().unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        step_arns.push(out.policy_arn);
    }
    s.put_scaling_policy()
        .policy_name("cpu-target")
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource_id)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(60.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
                        .build()
                        .unwrap(),
                )
                .scale_in_cooldown(300)
                .scale_out_cooldown(60)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    s.put_scaling_policy()
        .policy_name("memory-target")
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource_id)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(70.0)
                .customized_metric_specification(
                    CustomizedMetricSpecification::builder()
                        .metric_name("MemoryUtilization")
                        .namespace("AWS/ECS")
                        .statistic(MetricStatistic::Average)
                        .dimensions(MetricDimension::builder().name("ClusterName").value(CLUSTER).build().unwrap())
                        .dimensions(MetricDimension::builder().name("ServiceName").value(service).build().unwrap())
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let ecs_dims =
        [Dimension::builder().name("ClusterName").value(CLUSTER).build(), Dimension::builder().name("ServiceName").value(service).build()];
    let other_region_topic = format!("arn:aws:sns:eu-central-1:{account_id}:pager");
    let same_region_topic = format!("arn:aws:sns:{region}:{account_id}:ops");
    aws.cloudwatch
        .put_metric_alarm()
        .alarm_name(format!("{service}-cpu-high"))
        .alarm_description("scale out on CPU")
        .namespace("AWS/ECS")
        .metric_name("CPUUtilization")
        .set_dimensions(Some(ecs_dims.to_vec()))
        .statistic(Statistic::Average)
        .period(60)
        .evaluation_periods(3)
        .datapoints_to_alarm(2)
        .threshold(75.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions(&step_arns[0])
        .alarm_actions(&other_region_topic)
        .ok_actions(&same_region_topic)
        .tags(Tag::builder().key("team").value("web").build())
        .send()
        .await
        .unwrap();
    aws.cloudwatch
        .put_metric_alarm()
        .alarm_name("latency-p99")
        .namespace("AWS/ApplicationELB")
        .metric_name("TargetResponseTime")
        .dimensions(Dimension::builder().name("LoadBalancer").value("app/web/123").build())
        .extended_statistic("p99")
        .period(60)
        .evaluation_periods(1)
        .threshold(0.5)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .alarm_actions(&step_arns[2])
        .send()
        .await
        .unwrap();
    aws.cloudwatch
        .put_metric_alarm()
        .alarm_name(format!("{service}-cpu-low-math"))
        .evaluation_periods(5)
        .threshold(20.0)
        .comparison_operator(ComparisonOperator::LessThanThreshold)
        .metrics(
            MetricDataQuery::builder()
                .id("cpu")
                .return_data(false)
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace("AWS/ECS")
                                .metric_name("CPUUtilization")
                                .set_dimensions(Some(ecs_dims.to_vec()))
                                .build(),
                        )
                        .period(60)
                        .stat("Average")
                        .build(),
                )
                .build(),
        )
        .metrics(MetricDataQuery::builder().id("e1").expression("cpu * 1").label("cpu").return_data(true).build())
        .alarm_actions(&step_arns[1])
        .send()
        .await
        .unwrap();
    for (name, schedule, min, max) in
        [("scale-up-monday", "cron(0 7 ? * MON *)", 4, 8), ("scale-down-friday", "cron(0 19 ? * FRI *)", 1, 3)]
    {
        s.put_scheduled_action()
            .scheduled_action_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(&resource_id)
            .schedule(schedule)
            .timezone("Europe/Berlin")
            .start_time(aws_smithy_types::DateTime::from_secs(1_900_000_000))
            .end_time(aws_smithy_types::DateTime::from_secs(2_000_000_000))
            .scalable_target_action(ScalableTargetAction::builder().min_capacity(min).max_capacity(max).build())
            .send()
            .await
            .unwrap();
    }
}

async fn policies(aws: &Aws, service: &str) -> Vec<aws_sdk_applicationautoscaling::types::ScalingPolicy> {
    aws.scaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(format!("service/{CLUSTER}/{service}"))
        .send()
        .await
        .unwrap()
        .scaling_policies
        .unwrap_or_default()
}

async fn scheduled(aws: &Aws, service: &str) -> Vec<aws_sdk_applicationautoscaling::types::ScheduledAction> {
    aws.scaling
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(format!("service/{CLUSTER}/{service}"))
        .send()
        .await
        .unwrap()
        .scheduled_actions
        .unwrap_or_default()
}

async fn alarms(aws: &Aws) -> Vec<aws_sdk_cloudwatch::types::MetricAlarm> {
    aws.cloudwatch.describe_alarms().send().await.unwrap().metric_alarms.unwrap_or_default()
}

#[tokio::test]
async fn copies_policies_alarms_and_scheduled_actions() {
    let env = TestEnv::new("copies_policies_alarms_and_scheduled_actions", false);
    let aws = env.aws().await;
    let run = env.deploy(&description("sierra", None), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    add_scaling(&aws, "sierra-prod-v000", &env.account_id, "us-west-2").await;
    let source_alarms_before = alarms(&aws).await;
    let source_policies_before = policies(&aws, "sierra-prod-v000").await;

    // --plan lists every copy with its new name and rewritten fields.
    let plan = env.deploy(&description("sierra", Some(("ecs-main", "us-west-2", "sierra-prod-v000"))), &["--plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let copy = &plan.json["plan"]["scalingCopy"];
    assert_eq!(copy["scalingPolicies"].as_array().unwrap().len(), 5);
    assert_eq!(copy["alarms"].as_array().unwrap().len(), 3);
    assert_eq!(copy["scheduledActions"].as_array().unwrap().len(), 2);
    let planned_alarm = copy["alarms"].as_array().unwrap().iter().find(|a| a["to"] == "sierra-prod-v001-cpu-high").unwrap();
    assert_eq!(planned_alarm["request"]["Dimensions"][1], json!({"Name": "ServiceName", "Value": "sierra-prod-v001"}));
    assert_eq!(planned_alarm["request"]["AlarmActions"], json!(["${policyArn:sierra-prod-v001-scale-out}"]));
    assert!(policies(&aws, "sierra-prod-v001").await.is_empty(), "--plan wrote a policy");

    let run = env.deploy(&description("sierra", Some(("ecs-main", "us-west-2", "sierra-prod-v000"))), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["serverGroupName"], "sierra-prod-v001");
    // Capacity from the source: min/max of its target, desired of its service.
    assert_eq!(run.json["scalableTarget"], json!({"resourceId": "service/main/sierra-prod-v001", "minCapacity": 2, "maxCapacity": 8}));
    let scaling = &run.json["scaling"];
    assert_eq!(scaling["copied"], true);
    let copied: Vec<(&str, &str)> =
        scaling["scalingPolicies"].as_array().unwrap().iter().map(|p| (p["from"].as_str().unwrap(), p["to"].as_str().unwrap())).collect();
    assert!(copied.contains(&("sierra-prod-v000-scale-out", "sierra-prod-v001-scale-out")));
    assert!(copied.contains(&("burst", "burst-sierra-prod-v001")));
    assert!(
        scaling["scalingPolicies"].as_array().unwrap().iter().all(|p| p["arn"].as_str().is_some_and(|a| a.contains("sierra-prod-v001")))
    );

    let new = policies(&aws, "sierra-prod-v001").await;
    assert_eq!(new.len(), 5);
    let out = new.iter().find(|p| p.policy_name == "sierra-prod-v001-scale-out").unwrap();
    let step = out.step_scaling_policy_configuration.as_ref().unwrap();
    assert_eq!(step.adjustment_type, Some(AdjustmentType::ChangeInCapacity));
    assert_eq!((step.cooldown, step.min_adjustment_magnitude), (Some(120), Some(1)));
    assert_eq!(step.metric_aggregation_type, Some(MetricAggregationType::Maximum));
    assert_eq!(step.step_adjustments()[0].scaling_adjustment, 2);
    let mem = new.iter().find(|p| p.policy_name == "memory-target-sierra-prod-v001").unwrap();
    let dims =
        mem.target_tracking_scaling_policy_configuration.as_ref().unwrap().customized_metric_specification.as_ref().unwrap().dimensions();
    assert_eq!(dims[1].value, "sierra-prod-v001");
    let cpu = new.iter().find(|p| p.policy_name == "cpu-target-sierra-prod-v001").unwrap();
    assert_eq!(cpu.target_tracking_scaling_policy_configuration.as_ref().unwrap().target_value, 60.0);

    // Alarms: renamed, dimensions rewritten, actions on the new policies; TargetTracking ones not copied.
    let all = alarms(&aws).await;
    let high = all.iter().find(|a| a.alarm_name.as_deref() == Some("sierra-prod-v001-cpu-high")).expect("copied alarm");
    assert_eq!(high.alarm_actions(), std::slice::from_ref(&out.policy_arn));
    assert_eq!(high.ok_actions(), [format!("arn:aws:sns:us-west-2:{}:ops", env.account_id)]);
    assert_eq!(high.dimensions()[1].value(), Some("sierra-prod-v001"));
    assert_eq!((high.datapoints_to_alarm, high.treat_missing_data.as_deref()), (Some(2), Some("notBreaching")));
    assert_eq!(high.alarm_description.as_deref(), Some("scale out on CPU"));
    let tags = aws.cloudwatch.list_tags_for_resource().resource_arn(high.alarm_arn.clone().unwrap()).send().await.unwrap();
    assert_eq!(tags.tags()[0].key(), Some("team"));
    let p99 = all.iter().find(|a| a.alarm_name.as_deref() == Some("latency-p99-sierra-prod-v001")).unwrap();
    assert_eq!(p99.extended_statistic.as_deref(), Some("p99"));
    let math = all.iter().find(|a| a.alarm_name.as_deref() == Some("sierra-prod-v001-cpu-low-math")).unwrap();
    assert_eq!(math.metrics().len(), 2);
    let stat_dims = math.metrics()[0].metric_stat().unwrap().metric().unwrap().dimensions();
    assert_eq!(stat_dims[1].value(), Some("sierra-prod-v001"));
    let tt_before = source_alarms_before.iter().filter(|a| a.alarm_name().unwrap().starts_with("TargetTracking-")).count();
    let tt_after = all.iter().filter(|a| a.alarm_name().unwrap().starts_with("TargetTracking-")).count();
    assert_eq!(tt_after, tt_before * 2, "each copied target-tracking policy gets AWS's own alarms, never copies");

    // Scheduled actions.
    let actions = scheduled(&aws, "sierra-prod-v001").await;
    let monday = actions.iter().find(|a| a.scheduled_action_name == "scale-up-monday-sierra-prod-v001").unwrap();
    assert_eq!(monday.schedule, "cron(0 7 ? * MON *)");
    assert_eq!(monday.timezone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(monday.start_time.map(|t| t.secs()), Some(1_900_000_000));
    assert_eq!(monday.scalable_target_action.as_ref().unwrap().max_capacity, Some(8));

    // The source is untouched.
    assert_eq!(policies(&aws, "sierra-prod-v000").await.len(), source_policies_before.len());
    let source_high = all.iter().find(|a| a.alarm_name.as_deref() == Some("sierra-prod-v000-cpu-high")).unwrap();
    assert_eq!(source_high.dimensions()[1].value(), Some("sierra-prod-v000"));
    assert_eq!(scheduled(&aws, "sierra-prod-v000").await.len(), 2);
}

#[tokio::test]
async fn a_copy_whose_name_would_break_an_aws_limit_is_refused_before_any_write() {
    let env = TestEnv::new("scaling_name_limits", false);
    // A 240-character server group name: every name of the source is within AWS's limits, but
    // the copy of `scale-down-friday` would be `scale-down-friday-<new name>`, 258 > 256.
    let app = format!("lim{}", "x".repeat(227));
    let v000 = format!("{app}-prod-v000");
    assert_eq!(v000.len(), 240);
    assert_eq!(env.deploy(&description(&app, None), &[]).code, 0);
    let aws = env.aws().await;
    add_scaling(&aws, &v000, &env.account_id, "us-west-2").await;
    let run = env.deploy(&description(&app, Some(("ecs-main", "us-west-2", &v000))), &[]);
    assert_eq!(run.code, 2, "{run:?}");
    let errors = run.json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{run:?}");
    assert_eq!(errors[0]["field"], "source.scheduledActions.scale-down-friday");
    assert!(errors[0]["message"].as_str().unwrap().contains("258 characters, and AWS allows 256"), "{run:?}");
    assert_eq!(crate::harness::recorded("RegisterTaskDefinition", &app).len(), 1, "nothing was written for the refused deploy");
    assert!(aws.service(&format!("{app}-prod-v001")).await.is_none());
}

#[tokio::test]
async fn copy_off_and_source_without_scalable_target() {
    let env = TestEnv::new("copy_off_and_source_without_target", false);
    let aws = env.aws().await;
    assert_eq!(env.deploy(&description("tango", None), &[]).code, 0);
    add_scaling(&aws, "tango-prod-v000", &env.account_id, "us-west-2").await;
    let mut d = description("tango", Some(("ecs-main", "us-west-2", "tango-prod-v000")));
    d["copySourceScalingPoliciesAndActions"] = json!(false);
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["scaling"]["copied"], false);
    assert!(run.json["scaling"]["note"].as_str().unwrap().contains("false"));
    assert!(policies(&aws, "tango-prod-v001").await.is_empty());
    assert!(scheduled(&aws, "tango-prod-v001").await.is_empty());
    assert!(aws.scalable_target("tango-prod-v001").await.is_some(), "the scalable target is registered all the same");

    // A source whose scalable target is gone: nothing to copy, and the result says so.
    aws.scaling
        .deregister_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id("service/main/tango-prod-v001")
        .send()
        .await
        .unwrap();
    let run = env.deploy(&description("tango", Some(("ecs-main", "us-west-2", "tango-prod-v001"))), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["scaling"]["copied"], false);
    assert!(run.json["scaling"]["note"].as_str().unwrap().contains("no scalable target"), "{run:?}");
    // Without a source target, min/max come from the description; desired from the source service.
    assert_eq!(run.json["scalableTarget"]["minCapacity"], 1);
    assert_eq!(run.json["scalableTarget"]["maxCapacity"], 5);
}

#[tokio::test]
async fn disabled_source_falls_back_to_the_descriptions_desired_count() {
    let env = TestEnv::new("disabled_source_falls_back", false);
    let aws = env.aws().await;
    assert_eq!(env.deploy(&description("uniform", None), &[]).code, 0);
    aws.ecs.update_service().cluster(CLUSTER).service("uniform-prod-v000").desired_count(0).send().await.unwrap();
    let run = env.deploy(&description("uniform", Some(("ecs-main", "us-west-2", "uniform-prod-v000"))), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["desiredCount"], 2);
    assert!(run.json["warnings"][0].as_str().unwrap().contains("disabled"), "{run:?}");
    assert!(run.stderr.contains("disabled"), "the warning is logged too: {}", run.stderr);
}

#[tokio::test]
async fn cross_account_and_cross_region_copy() {
    let env = TestEnv::new("cross_account_and_cross_region_copy", false);
    // The source lives in the second account, in us-east-1.
    env.fixtures_in(&env.second_account_id, "us-east-1");
    let mut src = description("victor", None);
    src["credentials"] = json!("ecs-second");
    src["availabilityZones"] = json!({"us-east-1": ["us-east-1a"]});
    let run = env.deploy(&src, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let source_aws = Aws::for_account(&env.second_account_id, "us-east-1").await;
    add_scaling(&source_aws, "victor-prod-v000", &env.second_account_id, "us-east-1").await;

    let d = description("victor", Some(("ecs-second", "us-east-1", "victor-prod-v000")));
    let run = env.deploy(&d, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json["serverGroupName"], "victor-prod-v000", "names are per ECS cluster of the destination");
    let aws = env.aws().await;
    assert_eq!(policies(&aws, "victor-prod-v000").await.len(), 5);
    let all = alarms(&aws).await;
    let high = all.iter().find(|a| a.alarm_name.as_deref() == Some("victor-prod-v000-cpu-high")).unwrap();
    // The SNS topic of the source account and region cannot be used here: dropped.
    assert!(high.ok_actions().is_empty(), "{:?}", high.ok_actions());
    assert_eq!(high.alarm_actions().len(), 1);
    assert!(high.alarm_actions()[0].contains(&format!(":{}:", env.account_id)));
    assert!(high.alarm_actions()[0].contains("us-west-2"));
    let skipped = run.json["scaling"]["skipped"].to_string();
    assert!(skipped.contains("pager") && skipped.contains("ops"), "{skipped}");
    assert_eq!(scheduled(&aws, "victor-prod-v000").await.len(), 2);
}

#[tokio::test]
async fn failure_while_copying_removes_the_new_server_group_and_keeps_the_source() {
    let env = TestEnv::new("failure_while_copying", false);
    let aws = env.aws().await;
    assert_eq!(env.deploy(&description("whiskey", None), &[]).code, 0);
    add_scaling(&aws, "whiskey-prod-v000", &env.account_id, "us-west-2").await;
    let before = alarms(&aws).await.len();
    http(
        "POST",
        "/_harness",
        &json!({"rules": [{"operation": "PutMetricAlarm", "match": "whiskey-prod-v001-cpu-low-math", "action": "error", "status": 400,
            "code": "LimitExceeded", "message": "injected: too many alarms", "times": 1}]})
        .to_string(),
    );
    let run = env.deploy(&description("whiskey", Some(("ecs-main", "us-west-2", "whiskey-prod-v000"))), &[]);
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.json["report"].to_string();
    assert!(report.contains("removed alarms") && report.contains("removed service whiskey-prod-v001"), "{report}");
    assert_eq!(aws.service("whiskey-prod-v001").await.unwrap().status.as_deref(), Some("INACTIVE"));
    assert!(aws.scalable_target("whiskey-prod-v001").await.is_none());
    assert!(policies(&aws, "whiskey-prod-v001").await.is_empty());
    assert!(scheduled(&aws, "whiskey-prod-v001").await.is_empty());
    let after = alarms(&aws).await;
    assert!(after.iter().all(|a| !a.alarm_name().unwrap().contains("whiskey-prod-v001")), "copied alarms left behind");
    assert_eq!(after.len(), before, "source alarms untouched");
    assert_eq!(policies(&aws, "whiskey-prod-v000").await.len(), 5);
}

/// The copy starts each write as soon as what it needs exists: the source's alarms are read once
/// its policies are (not after its scheduled actions), and each copied alarm is put once the
/// policy it names exists — not after the other policies, nor after the scheduled actions.
#[tokio::test]
async fn each_copied_alarm_waits_only_for_the_policy_it_names() {
    let env = TestEnv::dedicated("copy_order");
    let aws = env.aws().await;
    assert_eq!(env.deploy(&description("oscar", None), &[]).code, 0);
    add_scaling(&aws, "oscar-prod-v000", &env.account_id, "us-west-2").await;
    let slow = |operation: &str, needle: &str, times: u32| json!({"operation": operation, "match": needle, "action": "slow", "ms": 1500, "times": times});
    env.http(
        "POST",
        "/_harness",
        &json!({"rules": [
            slow("DescribeScheduledActions", "oscar-prod-v000", 1),
            slow("PutScalingPolicy", "burst", 1),
            slow("PutScheduledAction", "oscar-prod-v001", 2),
        ]})
        .to_string(),
    );
    env.http("DELETE", "/_harness/requests", "");
    let run = env.deploy(&description("oscar", Some(("ecs-main", "us-west-2", "oscar-prod-v000"))), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let log: Vec<Value> = serde_json::from_str(&env.http("GET", "/_harness/requests", "")).unwrap();
    let times = |operation: &str, slowed: bool| -> Vec<(f64, f64)> {
        let mut t: Vec<(f64, f64)> = log
            .iter()
            .filter(|r| r["operation"] == operation && (r["fault"] == "slow") == slowed)
            .map(|r| (r["start"].as_f64().unwrap(), r["end"].as_f64().unwrap()))
            .collect();
        t.sort_by(|a, b| a.0.total_cmp(&b.0));
        t
    };
    let source_scheduled_read = times("DescribeScheduledActions", true)[0];
    let alarm_reads = times("DescribeAlarms", false);
    assert!(!alarm_reads.is_empty());
    assert!(alarm_reads.iter().all(|(start, _)| *start < source_scheduled_read.1), "alarm reads waited for the scheduled actions: {log:?}");

    let burst = times("PutScalingPolicy", true)[0];
    let scheduled_writes = times("PutScheduledAction", true);
    assert_eq!(scheduled_writes.len(), 2);
    let alarm_writes = times("PutMetricAlarm", false);
    assert_eq!(alarm_writes.len(), 3, "{log:?}");
    // Two alarms name the fast policies: they are put while the burst policy and the scheduled
    // actions are still being written. The third (latency-p99) names burst and follows it.
    for (start, _) in &alarm_writes[..2] {
        assert!(*start < burst.1 && scheduled_writes.iter().all(|w| *start < w.1), "an alarm waited for what it does not need: {log:?}");
    }
    assert!(alarm_writes[2].0 >= burst.1);
    let burst_arn = policies(&aws, "oscar-prod-v001")
        .await
        .into_iter()
        .find(|p| p.policy_name() == "burst-oscar-prod-v001")
        .map(|p| p.policy_arn().to_string())
        .expect("burst copied");
    let latency = alarms(&aws).await.into_iter().find(|a| a.alarm_name() == Some("latency-p99-oscar-prod-v001")).expect("alarm copied");
    assert_eq!(latency.alarm_actions(), [burst_arn]);
}
