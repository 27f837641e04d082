//! A new version is a faithful copy of the old one (faithful-copy.md): the settings the
//! description cannot express are copied from the source server group — asserted on the
//! emulator's record of the CreateService sent — unless `copySourceServiceSettings` is false; a
//! source that advertises Service Connect names, or a volume configuration the new task
//! definition has no volume for, is refused before anything is written.

use serde_json::{Value, json};

use crate::harness::{CLUSTER, TestEnv, recorded};

/// A Fargate task definition with a volume configured at launch and a named port.
fn task_definition() -> Value {
    json!({
        "family": "ignored", "cpu": "256", "memory": "512", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [{"name": "web", "image": "nginx:1", "portMappings": [{"containerPort": 80, "name": "web"}],
            "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]}],
        "volumes": [{"name": "data", "configuredAtLaunch": true}]
    })
}

fn description(app: &str, source: Option<&str>, extra: Value) -> Value {
    let mut d = json!({
        "credentials": "ecs-main", "application": app, "stack": "prod", "ecsClusterName": CLUSTER,
        "availabilityZones": {"us-west-2": ["us-west-2a"]}, "capacity": {"min": 1, "max": 3, "desired": 1},
        "launchType": "FARGATE", "networkMode": "awsvpc", "subnetTypes": ["internal"], "securityGroupNames": ["web"],
        "placementStrategySequence": [], "useTaskDefinitionArtifact": true, "evaluateTaskDefinitionArtifactExpressions": true,
        "spelProcessedTaskDefinitionArtifact": task_definition(),
    });
    if let Some(name) = source {
        d["source"] = json!({"account": "ecs-main", "region": "us-west-2", "asgName": name});
    }
    d.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    d
}

/// Settings Clouddriver's description cannot express, as a description sets them explicitly.
fn settings() -> Value {
    json!({
        "volumeConfigurations": [{"name": "data", "managedEBSVolume": {"roleArn": "arn:aws:iam::123456789012:role/ecsInfrastructure", "sizeInGiB": 20, "volumeType": "gp3"}}],
        "vpcLatticeConfigurations": [{"roleArn": "arn:aws:iam::123456789012:role/ecsLattice", "targetGroupArn": "arn:aws:vpc-lattice:us-west-2:123456789012:targetgroup/tg-1", "portName": "web"}],
        "availabilityZoneRebalancing": "DISABLED",
        "monitoring": {"metricConfigurations": [{"metricNames": ["CPUUtilization"], "resolutionSeconds": 20}]},
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true, "resetOnHealthyTask": false,
            "thresholdConfiguration": {"type": "COUNT", "value": 5}}},
    })
}

fn sent(name: &str) -> Value {
    let bodies = recorded("CreateService", &format!("\"{name}\""));
    assert_eq!(bodies.len(), 1, "one CreateService of {name}");
    bodies[0].clone()
}

#[test]
fn a_new_version_carries_every_setting_the_description_cannot_express() {
    let env = TestEnv::new("faithful_copy", false);
    let first = env.deploy(&description("falcon", None, settings()), &[]);
    assert_eq!(first.code, 0, "{first:?}");
    let v000 = sent("falcon-prod-v000");
    assert_eq!(v000["availabilityZoneRebalancing"], "DISABLED", "the description's explicit settings are sent: {v000}");

    // v001 from v000, with a description that says nothing of those settings.
    let second = env.deploy(&description("falcon", Some("falcon-prod-v000"), json!({})), &[]);
    assert_eq!(second.code, 0, "{second:?}");
    let v001 = sent("falcon-prod-v001");
    for member in ["volumeConfigurations", "vpcLatticeConfigurations", "availabilityZoneRebalancing", "monitoring"] {
        assert_eq!(v001[member], v000[member], "{member} is copied from the source: {v001}");
    }
    let breaker = &v001["deploymentConfiguration"]["deploymentCircuitBreaker"];
    assert_eq!((&breaker["resetOnHealthyTask"], &breaker["thresholdConfiguration"]["value"]), (&json!(false), &json!(5)));
    assert_eq!(breaker["enable"], false, "the circuit breaker's switch is the description's (class E), not the source's");
    assert!(second.stdout.contains("deploymentCircuitBreaker.enable"), "the difference is warned: {}", second.stdout);

    // --plan says where each setting comes from.
    let plan = env.deploy(&description("falcon", Some("falcon-prod-v001"), json!({})), &["--plan", "--output", "json"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    let origins = &plan.json["plan"]["createServiceOrigins"];
    assert_eq!((&origins["volumeConfigurations"], &origins["launchType"]), (&json!("source"), &json!("description")), "{origins}");
    assert_eq!(origins["deploymentConfiguration.deploymentCircuitBreaker.thresholdConfiguration"], "source");

    // copySourceServiceSettings: false gives exactly Clouddriver's body: nothing of the source's.
    let off = env.deploy(
        &description(
            "falcon",
            Some("falcon-prod-v001"),
            json!({"copySourceServiceSettings": false, "volumeConfigurations": v000["volumeConfigurations"]}),
        ),
        &[],
    );
    assert_eq!(off.code, 0, "{off:?}");
    let v002 = sent("falcon-prod-v002");
    for member in ["vpcLatticeConfigurations", "availabilityZoneRebalancing", "monitoring"] {
        assert!(v002.get(member).is_none(), "{member} is not copied with copySourceServiceSettings false: {v002}");
    }
    assert!(v002["deploymentConfiguration"]["deploymentCircuitBreaker"].get("thresholdConfiguration").is_none());
}

#[tokio::test]
async fn an_advertising_service_connect_source_and_a_volume_without_a_match_are_refused_before_any_write() {
    let env = TestEnv::new("faithful_refusals", false);
    let advertising = json!({"serviceConnectConfiguration": {"enabled": true, "namespace": "internal",
        "services": [{"portName": "web", "discoveryName": "web", "clientAliases": [{"dnsName": "web.internal", "port": 80}]}]},
        "volumeConfigurations": settings()["volumeConfigurations"]});
    assert_eq!(env.deploy(&description("gannet", None, advertising), &[]).code, 0);
    let aws = env.aws().await;
    let before = aws.task_definition_arns().await.len();

    let refused = env.deploy(&description("gannet", Some("gannet-prod-v000"), json!({})), &["--output", "json"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    let text = refused.json.to_string();
    assert!(text.contains("serviceConnectConfiguration.advertises") && text.contains("web (aliases web.internal:80)"), "{text}");
    assert!(text.contains("copySourceServiceSettings: false"), "the message gives the remedies: {text}");

    // A copied volume configuration names a volume the new task definition does not have.
    let mut other = task_definition();
    other["volumes"] = json!([]);
    other["containerDefinitions"][0]["mountPoints"] = json!([]);
    let no_volume = description(
        "gannet",
        Some("gannet-prod-v000"),
        json!({"spelProcessedTaskDefinitionArtifact": other, "serviceConnectConfiguration": {"enabled": false}}),
    );
    let refused = env.deploy(&no_volume, &["--output", "json"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.json.to_string().contains("volumeConfigurations.noMatchingVolume"), "{}", refused.json);

    assert_eq!(aws.task_definition_arns().await.len(), before, "nothing was registered");
    assert!(aws.service("gannet-prod-v001").await.is_none(), "nothing was created");
}

#[tokio::test]
async fn a_copied_high_resolution_policy_needs_20_second_monitoring() {
    use aws_sdk_applicationautoscaling::types::TargetTrackingScalingPolicyConfiguration;
    use aws_sdk_applicationautoscaling::types::{
        MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    };
    let env = TestEnv::new("faithful_monitoring", false);
    let vols = json!({"volumeConfigurations": settings()["volumeConfigurations"]});
    assert_eq!(env.deploy(&description("heron", None, vols), &[]).code, 0);
    let aws = env.aws().await;
    let resource_id = format!("service/{CLUSTER}/heron-prod-v000");
    aws.scaling
        .put_scaling_policy()
        .policy_name("cpu-fast")
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(&resource_id)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(50.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::from("ECSServiceAverageCPUUtilizationHighResolution"))
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let refused = env.deploy(&description("heron", Some("heron-prod-v000"), json!({})), &["--output", "json"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    let text = refused.json.to_string();
    assert!(text.contains("monitoring.highResolutionRequired") && text.contains("`cpu-fast`"), "{text}");
    assert!(aws.service("heron-prod-v001").await.is_none(), "nothing was created");

    let monitored = json!({"monitoring": {"metricConfigurations": [{"metricNames": ["CPUUtilization"], "resolutionSeconds": 20}]}});
    let deployed = env.deploy(&description("heron", Some("heron-prod-v000"), monitored), &[]);
    assert_eq!(deployed.code, 0, "with 20-second CPU metrics the copy is sound: {deployed:?}");
}

/// The containers of a task definition with their images, and the rest of it without them.
fn without_images(mut td: Value) -> (Vec<(String, String)>, Value) {
    let mut images = Vec::new();
    for c in td["containerDefinitions"].as_array_mut().unwrap() {
        images.push((c["name"].as_str().unwrap().to_string(), c["image"].as_str().unwrap().to_string()));
        c.as_object_mut().unwrap().remove("image");
    }
    for key in ["taskDefinitionArn", "revision", "registeredAt", "registeredBy", "status", "requiresAttributes", "compatibilities"] {
        td.as_object_mut().unwrap().remove(key);
    }
    (images, td)
}

async fn task_definition_of(env: &TestEnv, service: &str) -> Value {
    let aws = env.aws().await;
    let arn = aws.service(service).await.unwrap().task_definition.unwrap();
    let out = aws.ecs.describe_task_definition().task_definition(&arn).send().await.unwrap().task_definition.unwrap();
    let containers: Vec<Value> = out
        .container_definitions()
        .iter()
        .map(|c| {
            json!({"name": c.name(), "image": c.image(), "cpu": c.cpu(), "memoryReservation": c.memory_reservation(),
            "environment": c.environment().iter().map(|e| json!([e.name(), e.value()])).collect::<Vec<_>>(),
            "portMappings": c.port_mappings().iter().map(|p| json!([p.container_port(), p.host_port()])).collect::<Vec<_>>()})
        })
        .collect();
    json!({"family": out.family(), "networkMode": out.network_mode().map(|m| m.as_str().to_string()), "containerDefinitions": containers,
        "cpu": out.cpu(), "memory": out.memory(), "volumes": out.volumes().len()})
}

#[tokio::test]
async fn clone_builds_the_next_version_from_a_server_group_the_cli_deployed() {
    let env = TestEnv::new("faithful_clone", false);
    let first = env.deploy(&crate::scaling::description("ibis", None), &[]);
    assert_eq!(first.code, 0, "{first:?}");
    let aws = env.aws().await;
    crate::scaling::add_scaling(&aws, "ibis-prod-v000", &env.account_id, "us-west-2").await;

    let plan = env.run(
        &[
            "clone",
            "--account",
            "ecs-main",
            "--region",
            "us-west-2",
            "--server-group",
            "ibis-prod-v000",
            "--image",
            "v000=nginx:2",
            "--plan",
            "--output",
            "json",
        ],
        None,
    );
    assert_eq!(plan.code, 0, "{plan:?}");
    let origins = &plan.json["plan"]["createServiceOrigins"];
    assert_eq!(origins["desiredCount"], "description", "{origins}");
    assert_eq!(plan.json["plan"]["serverGroupName"], "ibis-prod-v001");
    assert!(aws.service("ibis-prod-v001").await.is_none(), "--plan writes nothing");

    let cloned = env.run(
        &["clone", "--account", "ecs-main", "--region", "us-west-2", "--server-group", "ibis-prod-v000", "--image", "v000=nginx:2"],
        None,
    );
    assert_eq!(cloned.code, 0, "{cloned:?}");
    let (source_images, source) = without_images(task_definition_of(&env, "ibis-prod-v000").await);
    let (images, new) = without_images(task_definition_of(&env, "ibis-prod-v001").await);
    assert_eq!((source_images[0].1.as_str(), images[0].1.as_str()), ("nginx", "nginx:2"), "only the image changed");
    let env_of = |td: &Value| td["containerDefinitions"][0]["environment"].clone();
    let mut expected = source.clone();
    // SERVER_GROUP names the new version; every other field is the source's.
    expected["containerDefinitions"][0]["environment"] = json!(
        env_of(&source)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| if e[0] == "SERVER_GROUP" { json!(["SERVER_GROUP", "ibis-prod-v001"]) } else { e.clone() })
            .collect::<Vec<_>>()
    );
    assert_eq!(new, expected, "the task definition is the source's but for the image");
    let target = aws.scalable_target("ibis-prod-v001").await.unwrap();
    assert_eq!((target.min_capacity, target.max_capacity), (2, 8), "the source's scalable target");
    let copied = aws
        .scaling
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_id(format!("service/{CLUSTER}/ibis-prod-v001"))
        .send()
        .await
        .unwrap();
    assert!(!copied.scaling_policies().is_empty(), "and its scaling, as a deploy with source copies it");
}

#[tokio::test]
async fn clone_server_group_runs_through_ecs_ops_with_the_rules_of_every_operation() {
    let env = TestEnv::new("faithful_clone_ops", false);
    assert_eq!(env.deploy(&crate::scaling::description("jacana", None), &[]).code, 0);
    let server = crate::serve::Server::start(&env, &["--store-file", "tasks.db"]);
    let invalid = server.post("/ecs/ops", &json!([{"cloneServerGroup": {"credentials": "ecs-main", "region": "us-west-2"}}]));
    assert_eq!(invalid.0, 400, "{}", invalid.1);
    assert!(invalid.1.to_string().contains("source.asgName"), "{}", invalid.1);
    let id = server.submit(&json!([{"cloneServerGroup": {"credentials": "ecs-main", "region": "us-west-2",
        "source": {"asgName": "jacana-prod-v000"}, "containerToImageMap": {"v000": "nginx:3"}}}]));
    let (task, _) = server.wait(&id);
    assert_eq!(task["status"]["failed"], false, "{task}");
    assert_eq!(task["resultObjects"][0]["serverGroupName"], "jacana-prod-v001", "{task}");
    let phases = task["history"].to_string();
    assert!(phases.contains("CLONE_ECS_SERVER_GROUP"), "{phases}");
    let (images, _) = without_images(task_definition_of(&env, "jacana-prod-v001").await);
    assert_eq!(images[0].1, "nginx:3");
}

#[tokio::test]
async fn deployment_alarms_that_watch_the_source_are_copied_per_version_and_destroyed_with_it() {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
    let env = TestEnv::new("faithful_alarms", false);
    let aws = env.aws().await;
    let alarm = |name: &str, dims: Vec<Dimension>| {
        aws.cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/ECS")
            .metric_name("CPUUtilization")
            .statistic(Statistic::Average)
            .period(60)
            .evaluation_periods(1)
            .threshold(90.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .set_dimensions(Some(dims))
            .send()
    };
    let dim = |n: &str, v: &str| Dimension::builder().name(n).value(v).build();
    alarm("kestrel-prod-v000-cpu", vec![dim("ClusterName", CLUSTER), dim("ServiceName", "kestrel-prod-v000")]).await.unwrap();
    alarm("shared-5xx", vec![dim("TargetGroup", "targetgroup/web/1")]).await.unwrap();
    let alarms = json!({"deploymentConfiguration": {"alarms": {"alarmNames": ["kestrel-prod-v000-cpu", "shared-5xx"], "enable": true, "rollback": true}},
        "volumeConfigurations": settings()["volumeConfigurations"]});
    assert_eq!(env.deploy(&description("kestrel", None, alarms), &[]).code, 0);

    let run = env.deploy(&description("kestrel", Some("kestrel-prod-v000"), json!({})), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let sent = sent("kestrel-prod-v001");
    assert_eq!(
        sent["deploymentConfiguration"]["alarms"],
        json!({"alarmNames": ["kestrel-prod-v001-cpu", "shared-5xx"], "enable": true, "rollback": true}),
        "the per-version alarm renamed, the shared one referenced: {sent}"
    );
    let described = aws.cloudwatch.describe_alarms().alarm_names("kestrel-prod-v001-cpu").send().await.unwrap();
    let copy = &described.metric_alarms()[0];
    assert!(copy.dimensions().iter().any(|d| d.name() == Some("ServiceName") && d.value() == Some("kestrel-prod-v001")), "{copy:?}");
    let tags = aws.cloudwatch.list_tags_for_resource().resource_arn(copy.alarm_arn().unwrap()).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == Some("ecs-deployer/server-group") && t.value() == Some("kestrel-prod-v001")));

    let destroyed = env.run(&["destroy", "--account", "ecs-main", "--region", "us-west-2", "--server-group", "kestrel-prod-v001"], None);
    assert_eq!(destroyed.code, 0, "{destroyed:?}");
    let left: Vec<String> = aws
        .cloudwatch
        .describe_alarms()
        .send()
        .await
        .unwrap()
        .metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name().map(str::to_string))
        .collect();
    assert!(!left.contains(&"kestrel-prod-v001-cpu".to_string()), "the version's own alarm goes with it: {left:?}");
    assert!(
        left.contains(&"shared-5xx".to_string()) && left.contains(&"kestrel-prod-v000-cpu".to_string()),
        "shared and older alarms stay: {left:?}"
    );
}

/// The emulator's patches (faithful-copy.md §8.2) show what AWS does: CreateService keeps what
/// moto drops (F1), revisions and deployments are kept (F2, F3), a volume configuration without
/// its volume is refused (F4), and PutMetricAlarm ignores `Tags` on an existing alarm (F5).
#[tokio::test]
async fn the_emulator_keeps_what_aws_keeps() {
    use aws_sdk_ecs::types::{AvailabilityZoneRebalancing, ServiceManagedEbsVolumeConfiguration, ServiceVolumeConfiguration, Volume};
    let env = TestEnv::new("faithful_emulator", false);
    let aws = env.aws().await;
    let td = aws
        .ecs
        .register_task_definition()
        .family("emu")
        .container_definitions(aws_sdk_ecs::types::ContainerDefinition::builder().name("c").image("x").memory(64).build())
        .volumes(Volume::builder().name("data").configured_at_launch(true).build())
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap();
    let volume = |name: &str| {
        ServiceVolumeConfiguration::builder()
            .name(name)
            .managed_ebs_volume(
                ServiceManagedEbsVolumeConfiguration::builder()
                    .role_arn("arn:aws:iam::123456789012:role/r")
                    .size_in_gib(5)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    let create = |name: &str, vol: &str| {
        aws.ecs
            .create_service()
            .cluster(CLUSTER)
            .service_name(name)
            .task_definition(&td)
            .desired_count(1)
            .availability_zone_rebalancing(AvailabilityZoneRebalancing::Disabled)
            .volume_configurations(volume(vol))
            .send()
    };
    let service = create("emu-v000", "data").await.unwrap().service.unwrap();
    assert_eq!(service.availability_zone_rebalancing(), Some(&AvailabilityZoneRebalancing::Disabled), "F1");
    let revision = service.current_service_revisions()[0].arn().unwrap().to_string();
    let read = aws
        .ecs
        .describe_service_revisions()
        .service_revision_arns(&revision)
        .service_revision_arns("arn:aws:ecs:us-west-2:1:service-revision/x/y/1")
        .send()
        .await
        .unwrap();
    assert_eq!(read.service_revisions()[0].volume_configurations()[0].name(), "data", "F2");
    assert_eq!(read.failures()[0].reason(), Some("MISSING"));
    let deployment = service.current_service_deployment().unwrap();
    let described = aws.ecs.describe_service_deployments().service_deployment_arns(deployment).send().await.unwrap();
    assert_eq!(described.service_deployments()[0].status().map(|s| s.as_str()), Some("IN_PROGRESS"), "F3");
    let refused = create("emu-v001", "other").await.unwrap_err();
    assert!(format!("{:?}", refused).contains("no matching configuredAtLaunch volume"), "F4: {refused:?}");

    let put = |tag: &str| {
        aws.cloudwatch
            .put_metric_alarm()
            .alarm_name("emu-alarm")
            .namespace("AWS/ECS")
            .metric_name("CPUUtilization")
            .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
            .tags(aws_sdk_cloudwatch::types::Tag::builder().key(tag).value("1").build())
            .send()
    };
    put("first").await.unwrap();
    put("second").await.unwrap();
    let arn =
        aws.cloudwatch.describe_alarms().alarm_names("emu-alarm").send().await.unwrap().metric_alarms()[0].alarm_arn().unwrap().to_string();
    let tags = aws.cloudwatch.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
    let keys: Vec<&str> = tags.tags().iter().filter_map(|t| t.key()).collect();
    assert_eq!(keys, ["first"], "F5: the second put's tags are ignored");
}
