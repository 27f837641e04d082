//! Reliability: concurrent deploys of one cluster, faults at every AWS call, a corpus of bad
//! inputs, secrets, and interrupts. Nothing lost, nothing duplicated. The tests print their
//! figures (injections survived, bad inputs tried) for the record.

#![allow(clippy::print_stderr, reason = "the tests report their figures")]

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::harness::{Aws, TestEnv, recorded};
use crate::scaling::{add_scaling, deployed_with_scaling, description};

#[tokio::test]
async fn eight_concurrent_deploys_get_eight_distinct_versions() {
    let env = TestEnv::new("concurrent_deploys", false);
    let path = env.file("d.json", &description("xray", None));
    let children: Vec<_> = (0..8).map(|_| env.spawn(&["deploy", "--description", &path])).collect();
    let mut names = BTreeSet::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_str(&stdout).unwrap();
        names.insert(v["serverGroupName"].as_str().unwrap().to_string());
    }
    let expected: BTreeSet<String> = (0..8).map(|v| format!("xray-prod-v{v:03}")).collect();
    assert_eq!(names, expected, "every deploy got its own version, none replaced another");
    let aws = env.aws().await;
    let mut listed = aws.service_names().await;
    listed.sort();
    assert_eq!(listed, expected.into_iter().collect::<Vec<_>>());
    // Each lost race deregistered its task definition: one ACTIVE revision per server group.
    let active = aws
        .ecs
        .list_task_definitions()
        .family_prefix("xray-prod")
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap();
    assert_eq!(active.task_definition_arns().len(), 8);
}

/// The state a failed deploy must leave as it found it.
async fn snapshot(aws: &Aws) -> (Vec<String>, Vec<String>, Vec<String>, usize) {
    let mut services = Vec::new();
    for name in aws.service_names().await {
        if aws.service(&name).await.is_some_and(|s| s.status.as_deref() == Some("ACTIVE")) {
            services.push(name);
        }
    }
    services.sort();
    let mut tds = aws
        .ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .unwrap()
        .task_definition_arns
        .unwrap_or_default();
    tds.sort();
    let mut alarms: Vec<String> =
        aws.cloudwatch.describe_alarms().send().await.unwrap().metric_alarms().iter().filter_map(|a| a.alarm_name.clone()).collect();
    alarms.sort();
    let targets = aws
        .scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .unwrap()
        .scalable_targets()
        .len();
    (services, tds, alarms, targets)
}

#[tokio::test]
async fn faults_at_every_aws_call_leave_a_complete_deploy_or_the_cluster_as_it_was() {
    // Tagging on: each deploy sets the crash marker and removes it last (UntagResource).
    let env = TestEnv::dedicated_with("fault_injection", true);
    let aws = env.aws().await;
    assert_eq!(env.deploy(&description("yankee", None), &[]).code, 0);
    add_scaling(&aws, "yankee-prod-v000", &env.account_id, "us-west-2").await;
    let redeploy = description("yankee", Some(("ecs-main", "us-west-2", "yankee-prod-v000")));
    let baseline = snapshot(&aws).await;
    let destroy_new = || {
        let r = env.run(&["destroy", "--account", "ecs-main", "--region", "us-west-2", "--server-group", "yankee-prod-v001"], None);
        assert_eq!(r.code, 0, "{r:?}");
    };

    // A clean run names the injection points: every AWS operation the deploy makes.
    env.http("DELETE", "/_harness/requests", "");
    let clean = env.deploy(&redeploy, &[]);
    assert_eq!(clean.code, 0, "{clean:?}");
    let log: Vec<Value> = serde_json::from_str(&env.http("GET", "/_harness/requests", "")).unwrap();
    let mut operations: Vec<String> = Vec::new();
    for r in &log {
        let op = r["operation"].as_str().unwrap().to_string();
        if !operations.contains(&op) {
            operations.push(op);
        }
    }
    assert!(operations.len() >= 12, "{operations:?}");
    destroy_new();
    assert_eq!(snapshot(&aws).await, baseline);

    let writes = [
        "RegisterTaskDefinition",
        "CreateService",
        "RegisterScalableTarget",
        "PutScalingPolicy",
        "PutScheduledAction",
        "PutMetricAlarm",
        "UntagResource",
    ];
    let mut survived = 0;
    for op in &operations {
        let write = writes.contains(&op.as_str());
        let transient: &[&str] = if write { &["5xx", "throttle", "reset", "lost"] } else { &["5xx", "reset"] };
        // `lost` x99: AWS applies every attempt of the write and the deployer never learns it (#14.3).
        let persistent: &[(&str, u32)] = if write { &[("5xx", 99), ("lost", 99)] } else { &[("5xx", 99)] };
        for (fault, times) in transient.iter().map(|f| (*f, 1)).chain(persistent.iter().copied()) {
            env.http(
                "POST",
                "/_harness",
                &json!({"clearRules": true, "rules": [{"operation": op, "action": fault, "times": times}]}).to_string(),
            );
            let run = env.deploy(&redeploy, &[]);
            env.http("POST", "/_harness", &json!({"clearRules": true}).to_string());
            let after = snapshot(&aws).await;
            match run.code {
                0 => {
                    // Complete: the new server group with its scalable target and every copy.
                    assert_eq!(run.json["serverGroupName"], "yankee-prod-v001", "{op}/{fault}: {run:?}");
                    assert_eq!(run.json["scaling"]["scalingPolicies"].as_array().unwrap().len(), 5, "{op}/{fault}");
                    assert_eq!(run.json["scaling"]["alarms"].as_array().unwrap().len(), 3, "{op}/{fault}");
                    assert_eq!(after.0.len(), baseline.0.len() + 1, "{op}/{fault}: one new service");
                    assert_eq!(after.1.len(), baseline.1.len() + 1, "{op}/{fault}: exactly one new task definition, no duplicate");
                    assert_eq!(after.3, baseline.3 + 1, "{op}/{fault}: one new scalable target");
                    destroy_new();
                }
                1 => {
                    assert!(!run.stdout.is_empty() && run.json["errors"].is_array(), "{op}/{fault}: says what happened: {run:?}");
                    assert!(!run.stdout.contains("may exist"), "{op}/{fault}: every write was read back: {run:?}");
                    assert_eq!(after, baseline, "{op}/{fault}: the cluster is as it was: {run:?}");
                }
                other => panic!("{op}/{fault}: exit {other}: {run:?}"),
            }
            assert_eq!(snapshot(&aws).await, baseline, "{op}/{fault}");
            survived += 1;
        }
    }
    eprintln!("fault injection: {} operations, {survived} injections survived", operations.len());
    assert!(survived >= 40, "{survived}");
}

#[tokio::test]
async fn a_deploy_killed_at_any_step_leaves_an_incomplete_group_that_cleanup_removes() {
    let env = TestEnv::dedicated_with("kill_points", true);
    let aws = deployed_with_scaling(&env, "kilo").await;
    let baseline = snapshot(&aws).await;
    let path = env.file("redeploy.json", &description("kilo", Some(("ecs-main", "us-west-2", "kilo-prod-v000"))));
    let from_v001 = description("kilo", Some(("ecs-main", "us-west-2", "kilo-prod-v001")));
    let region = ["--account", "ecs-main", "--region", "us-west-2"];
    let cleanup = |extra: &[&str]| env.run(&[&["cleanup"][..], &region, extra].concat(), None);
    for (point, operation) in [
        ("CreateService in flight", "CreateService"),
        ("before the scalable target", "RegisterScalableTarget"),
        ("during the copy", "PutMetricAlarm"),
    ] {
        env.http("DELETE", "/_harness/requests", "");
        let slow = json!({"clearRules": true, "rules": [{"operation": operation, "action": "slow", "ms": 1500, "times": 1}]});
        env.http("POST", "/_harness", &slow.to_string());
        let mut deploy = env.spawn(&["deploy", "--description", &path]);
        env.wait_for_request(operation);
        deploy.kill().unwrap();
        deploy.wait().unwrap();
        env.wait_until_idle();
        env.http("POST", "/_harness", &json!({"clearRules": true}).to_string());

        // `list` shows the half-made group as incomplete, not as an ordinary enabled one.
        let list = env.run(&[&["list"][..], &region, &["--cluster", "kilo-prod"]].concat(), None);
        let rows = list.json.as_array().unwrap_or_else(|| panic!("{point}: {list:?}"));
        let v001 = rows.iter().find(|r| r["serverGroupName"] == "kilo-prod-v001").unwrap_or_else(|| panic!("{point}: {list:?}"));
        assert!(v001["incomplete"].as_str().unwrap_or_default().contains("crash marker"), "{point}: {v001}");
        assert!(rows.iter().find(|r| r["serverGroupName"] == "kilo-prod-v000").unwrap().get("incomplete").is_none());
        // The next deploy refuses it as its source, naming it and the fix.
        let next = env.deploy(&from_v001, &[]);
        assert_eq!(next.code, 2, "{point}: {next:?}");
        assert!(next.stdout.contains("kilo-prod-v001 is incomplete") && next.stdout.contains("ecs-deployer cleanup"), "{point}: {next:?}");
        // cleanup leaves a deploy that may still be running alone, plans, then removes it all.
        let recent = cleanup(&["--older-than", "1h"]);
        assert_eq!((recent.code, recent.json.clone()), (0, json!([])), "{point}: {recent:?}");
        let plan = cleanup(&["--older-than", "0s", "--plan"]);
        assert!(plan.stdout.contains("Would destroy kilo-prod-v001"), "{point}: {plan:?}");
        assert!(
            aws.service("kilo-prod-v001").await.is_some_and(|s| s.status.as_deref() == Some("ACTIVE")),
            "{point}: --plan removed nothing"
        );
        let clean = cleanup(&["--older-than", "0s"]);
        assert_eq!(clean.code, 0, "{point}: {clean:?}");
        assert_eq!(clean.json[0]["serverGroupName"], "kilo-prod-v001", "{point}: only the incomplete group: {clean:?}");
        assert_eq!(clean.json.as_array().unwrap().len(), 1, "{point}: {clean:?}");
        assert_eq!(snapshot(&aws).await, baseline, "{point}: everything the killed deploy made is gone");
    }
    // A complete deploy carries no marker: list, cleanup and the next deploy take it as it is.
    assert_eq!(env.deploy(&description("kilo", Some(("ecs-main", "us-west-2", "kilo-prod-v000"))), &[]).code, 0);
    let tags = aws.service("kilo-prod-v001").await.unwrap().tags.unwrap_or_default();
    assert!(!tags.iter().any(|t| t.key.as_deref() == Some("ecs-deployer/incomplete")), "{tags:?}");
    assert_eq!(cleanup(&["--older-than", "0s"]).json, json!([]));
    assert_eq!(env.deploy(&from_v001, &[]).code, 0);
}

/// Desired count and whether scaling is fully suspended.
async fn enabled_state(aws: &Aws, name: &str) -> (i32, bool) {
    let desired = aws.service(name).await.unwrap().desired_count;
    let suspended = aws.scalable_target(name).await.unwrap().suspended_state.is_some_and(|s| {
        s.dynamic_scaling_in_suspended == Some(true)
            && s.dynamic_scaling_out_suspended == Some(true)
            && s.scheduled_scaling_suspended == Some(true)
    });
    (desired, suspended)
}

#[tokio::test]
async fn concurrent_disable_and_enable_never_both_succeed_on_a_mixed_state() {
    let env = TestEnv::new("disable_enable_race", false);
    let aws = env.aws().await;
    assert_eq!(env.deploy(&description("juliet", None), &[]).code, 0);
    let target = ["--account", "ecs-main", "--region", "us-west-2", "--server-group", "juliet-prod-v000"];
    let (mut interleaved, mut rounds) = (0, 0);
    for _ in 0..20 {
        let disable = env.spawn(&[&["disable"][..], &target].concat());
        let enable = env.spawn(&[&["enable"][..], &target].concat());
        let (d, e) = (disable.wait_with_output().unwrap(), enable.wait_with_output().unwrap());
        let (desired, suspended) = enabled_state(&aws, "juliet-prod-v000").await;
        let consistent = (desired == 0 && suspended) || (desired > 0 && !suspended);
        let loud =
            |o: &std::process::Output| !o.status.success() && String::from_utf8_lossy(&o.stdout).contains("another operation changed");
        if loud(&d) || loud(&e) {
            interleaved += 1;
        }
        for o in [&d, &e] {
            assert!(o.status.success() || loud(o), "{}", String::from_utf8_lossy(&o.stdout));
        }
        // Never left mixed (disabled with its scaling on, or serving with it suspended): the last
        // writer reads back and settles a mix on the safe state.
        assert!(
            consistent,
            "round {rounds}: desired {desired}, suspended {suspended}\n{}\n{}",
            String::from_utf8_lossy(&d.stdout),
            String::from_utf8_lossy(&e.stdout)
        );
        rounds += 1;
    }
    eprintln!("disable/enable race: {rounds} rounds, {interleaved} caught interleaving and said so");
}

#[tokio::test]
async fn a_destroy_during_the_scaling_copy_fails_the_deploy_instead_of_reporting_it_created() {
    let env = TestEnv::dedicated_with("destroy_during_copy", true);
    let aws = deployed_with_scaling(&env, "lima").await;
    let path = env.file("redeploy.json", &description("lima", Some(("ecs-main", "us-west-2", "lima-prod-v000"))));
    env.http("DELETE", "/_harness/requests", "");
    let slow = json!({"rules": [{"operation": "PutMetricAlarm", "action": "slow", "ms": 1500, "times": 1}]});
    env.http("POST", "/_harness", &slow.to_string());
    let deploy = env.spawn(&["deploy", "--description", &path]);
    env.wait_for_request("PutMetricAlarm");
    let destroy = env.run(&["destroy", "--account", "ecs-main", "--region", "us-west-2", "--server-group", "lima-prod-v001"], None);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    let out = deploy.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "the deploy fails, it does not report a service that no longer exists: {stdout}");
    assert!(stdout.contains("another operation deleted it"), "{stdout}");
    assert!(!stdout.contains("still exists") && !stdout.contains("still ACTIVE"), "the report claims nothing false: {stdout}");
    assert!(stdout.contains("service lima-prod-v001 was already deleted"), "{stdout}");
    env.wait_until_idle();
    let alarms: Vec<String> = alarm_names(&aws).await.into_iter().filter(|a| a.contains("lima-prod-v001")).collect();
    assert!(alarms.is_empty(), "nothing of v001 is left: {alarms:?}");
    assert!(aws.service("lima-prod-v001").await.is_none_or(|s| s.status.as_deref() == Some("INACTIVE")));
}

async fn alarm_names(aws: &Aws) -> Vec<String> {
    aws.cloudwatch.describe_alarms().send().await.unwrap().metric_alarms().iter().filter_map(|a| a.alarm_name.clone()).collect()
}

/// The fault matrix's flake under load, made deterministic: its `lost` rule hits whichever
/// PutScalingPolicy arrives first, and only under load was that a target-tracking one, whose
/// retried put left the first put's alarms behind (moto made new ones instead of updating).
#[tokio::test]
async fn a_lost_target_tracking_put_leaves_no_alarm_behind_after_destroy() {
    let env = TestEnv::dedicated_with("lost_target_tracking", true);
    let aws = deployed_with_scaling(&env, "mike").await;
    let baseline = snapshot(&aws).await;
    let lost = json!({"rules": [{"operation": "PutScalingPolicy", "match": "cpu-target", "action": "lost", "times": 1}]});
    env.http("POST", "/_harness", &lost.to_string());
    let run = env.deploy(&description("mike", Some(("ecs-main", "us-west-2", "mike-prod-v000"))), &[]);
    env.http("POST", "/_harness", &json!({"clearRules": true}).to_string());
    assert_eq!(run.code, 0, "{run:?}");
    let destroy = env.run(&["destroy", "--account", "ecs-main", "--region", "us-west-2", "--server-group", "mike-prod-v001"], None);
    assert_eq!(destroy.code, 0, "{destroy:?}");
    assert_eq!(snapshot(&aws).await, baseline, "no target-tracking alarm of v001 is left");
}

#[tokio::test]
async fn bad_inputs_exit_2_with_a_clear_message_and_write_nothing() {
    let env = TestEnv::new("bad_inputs_corpus", false);
    let good = description("zulu", None);
    let patch = |p: Value| {
        let mut d = good.clone();
        for (k, v) in p.as_object().unwrap() {
            if v.is_null() {
                d.as_object_mut().unwrap().remove(k);
            } else {
                d[k] = v.clone();
            }
        }
        d
    };
    // (description patch, expected text in the message). The whole corpus of bad descriptions
    // runs as a unit table over the pure preparation (engine::deploy's tests); a sample of each
    // kind runs here as a process: exit 2, a message naming it, nothing written.
    let descriptions: Vec<(Value, &str)> = vec![
        (json!({"capacity": {"min": "lots", "max": 1, "desired": 1}}), "capacity.min"),
        (json!({"credentials": "nobody"}), "nobody"),
        (json!({"availabilityZones": {"eu-north-1": ["eu-north-1a"]}}), "region.not.configured"),
        (json!({"strategy": "bluegreen"}), "strategy"),
        (
            json!({"useTaskDefinitionArtifact": true, "resolvedTaskDefinitionArtifact": {"type": "s3/object", "reference": "s3://b/k"}}),
            "artifacts.s3",
        ),
        (serde_json::from_str(r#"{"capacity": {"min": 1, "max": 18446744073709551616, "desired": 1}}"#).unwrap(), "capacity.max"),
    ];
    let mut tried = 0;
    let expect_2 = |run: &crate::harness::Run, needle: &str, what: &str| {
        assert_eq!(run.code, 2, "{what}: {run:?}");
        assert!(run.stdout.contains(needle), "{what}: message should name `{needle}`: {}", run.stdout);
        let errors = run.json["errors"].as_array().unwrap_or_else(|| panic!("{what}: {run:?}"));
        assert!(errors.iter().all(|e| !e["message"].as_str().unwrap_or("").is_empty()), "{what}");
    };
    for (p, needle) in &descriptions {
        expect_2(&env.deploy(&patch(p.clone()), &[]), needle, &p.to_string());
        tried += 1;
    }

    // Malformed files, wrong shapes, missing and oversized files, directories.
    let raw = |name: &str, text: &str| {
        let path = env.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    };
    let huge = raw("huge.json", &format!("{{\"application\": \"{}\"}}", "a".repeat(9 * 1024 * 1024)));
    let dir = env.dir.path().to_string_lossy().into_owned();
    let files: Vec<(Vec<String>, &str)> = vec![
        (vec!["deploy".into(), "--description".into(), raw("m1.json", "{\"application\": ")], "line 1"),
        (vec!["deploy".into(), "--description".into(), raw("m2.json", "not json at all")], "not valid JSON"),
        (vec!["deploy".into(), "--description".into(), raw("m3.json", "[1, 2]")], "operation"),
        (vec!["deploy".into(), "--description".into(), raw("m4.json", "\"just a string\"")], "object"),
        (vec!["deploy".into(), "--description".into(), raw("m5.json", "[{\"disableServerGroup\": {}}]")], "disableServerGroup"),
        (
            vec!["deploy".into(), "--description".into(), raw("m6.json", "[{\"createServerGroup\": {}}, {\"createServerGroup\": {}}]")],
            "more than one",
        ),
        (vec!["deploy".into(), "--description".into(), "/no/such/file.json".into()], "/no/such/file.json"),
        (vec!["deploy".into(), "--description".into(), dir.clone()], "is a directory"),
        (vec!["deploy".into(), "--description".into(), huge], "limit"),
    ];
    for (args, needle) in &files {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        expect_2(&env.run(&args, None), needle, &args.join(" "));
        tried += 1;
    }

    // Artifacts.
    let artifact_good: Value = serde_json::from_str(include_str!("../../task-definitions/web-fargate.json")).unwrap();
    let fargate = {
        let mut d = good.clone();
        for (k, v) in [("launchType", json!("FARGATE")), ("networkMode", json!("awsvpc")), ("subnetTypes", json!(["internal"]))] {
            d[k] = v;
        }
        d
    };
    let with_artifact = |mutate: &dyn Fn(&mut Value), extra: &[&str], needle: &str, name: &str| {
        let mut a = artifact_good.clone();
        mutate(&mut a);
        let path = env.file(&format!("{name}.json"), &a);
        let dpath = env.file("fargate.json", &fargate);
        let mut args = vec!["deploy", "--description", dpath.as_str(), "--artifact", path.as_str()];
        args.extend_from_slice(extra);
        expect_2(&env.run(&args, None), needle, name);
    };
    type Mutation = Box<dyn Fn(&mut Value)>;
    let artifact_cases: Vec<(Mutation, Vec<&str>, &str, &str)> = vec![
        (Box::new(|a| a["containerDefinitions"][0]["imagee"] = json!("x")), vec![], "did you mean `image`", "unknown-key"),
        (Box::new(|a| a["bogus"] = json!(1)), vec![], "bogus", "unknown-top-key"),
        (Box::new(|a| a["containerDefinitions"][0]["memory"] = json!("lots")), vec![], "memory", "wrong-type"),
        (Box::new(|a| a["containerDefinitions"][0]["essential"] = json!("yes")), vec![], "essential", "wrong-bool"),
        (Box::new(|a| a["networkMode"] = json!("aws-vpc")), vec![], "networkMode", "artifact-network-mode"),
        (Box::new(|a| a["networkMode"] = json!("bridge")), vec![], "does not match", "mode-mismatch"),
        (
            Box::new(|a| a["containerDefinitions"][0]["portMappings"][0]["containerPort"] = json!(70000)),
            vec![],
            "out of range",
            "port-range",
        ),
        (
            Box::new(|a| {
                let c = a["containerDefinitions"][0].clone();
                a["containerDefinitions"].as_array_mut().unwrap().push(c);
            }),
            vec![],
            "used twice",
            "duplicate-container",
        ),
        (Box::new(|a| a["containerDefinitions"] = json!([])), vec![], "container definitions", "no-containers"),
        (Box::new(|a| a["containerDefinitions"][0]["name"] = json!("web app")), vec![], "invalid", "container-name"),
        (
            Box::new(|a| {
                a["containerDefinitions"][0].as_object_mut().unwrap().remove("image");
            }),
            vec![],
            "has no image",
            "no-image",
        ),
        (Box::new(|a| a["containerDefinitions"][0]["logConfiguration"] = json!({"options": {}})), vec![], "logDriver", "missing-required"),
        (Box::new(|_| {}), vec!["--image", "sidecar=x"], "Have 0 but expected 1", "mapping-to-nothing"),
        (
            Box::new(|a| *a = json!({"taskDefinition": {"family": "x", "containerDefinitions": "web"}})),
            vec![],
            "containerDefinitions",
            "describe-shape-bad",
        ),
        (Box::new(|a| *a = json!([1])), vec![], "task definition", "not-an-object"),
    ];
    for (mutate, extra, needle, name) in &artifact_cases {
        with_artifact(mutate.as_ref(), extra, needle, name);
        tried += 1;
    }
    let dpath = env.file("fargate.json", &fargate);
    expect_2(
        &env.run(&["deploy", "--description", &dpath, "--artifact", "/no/such/artifact.json"], None),
        "/no/such/artifact.json",
        "missing artifact",
    );
    expect_2(&env.run(&["deploy", "--description", &dpath, "--artifact", &dir], None), "is a directory", "artifact directory");
    tried += 2;

    // Configurations.
    let dpath = env.file("good.json", &good);
    let configs: Vec<(&str, &str)> = vec![
        ("aws: [unclosed", "invalid YAML"),
        (
            "aws:\n  accounts:\n    - name: a\n      accountId: 42\n      regions: [{name: us-west-2}]\necs:\n  accounts: [{name: ecs-main, awsAccount: a}]\n",
            "12 digits",
        ),
        ("aws:\n  accounts: []\necs:\n  accounts: [{name: ecs-main, awsAccount: ghost}]\n", "ghost"),
        (
            "aws:\n  accounts: [{name: a, accountId: '123456789012', regions: [{name: us-west-2}]}]\necs:\n  accounts: [{name: ecs-main, awsAccount: a, namingStrategy: odd}]\n",
            "naming strategy",
        ),
        (
            "aws:\n  accounts: [{name: a, accountId: '123456789012', regions: [{name: us-east-1}]}]\necs:\n  accounts: [{name: ecs-main, awsAccount: a}]\n",
            "region.not.configured",
        ),
        (
            "aws:\n  accounts: [{name: a, accountId: '123456789012', regions: [{name: us-west-2}]}]\necs:\n  accounts: [{name: other, awsAccount: a}]\n",
            "ecs-main",
        ),
        ("aws:\n  accounts:\n    name: a\n", "aws.accounts"),
    ];
    for (i, (text, needle)) in configs.iter().enumerate() {
        let cfg = raw(&format!("config{i}.yml"), text);
        expect_2(&env.run_without_config(&["--config", &cfg, "deploy", "--description", &dpath]), needle, text);
        tried += 1;
    }
    expect_2(
        &env.run_without_config(&["--config", "/no/such/clouddriver.yml", "deploy", "--description", &dpath]),
        "clouddriver.yml",
        "missing config",
    );
    expect_2(&env.run_without_config(&["--config", &dir, "deploy", "--description", &dpath]), "is a directory", "config directory");
    tried += 2;

    assert!(tried >= 40, "only {tried} bad inputs");
    eprintln!("bad inputs tried: {tried}");
    // Nothing was written: no mutating request named this test's application, and the account is empty.
    for op in ["RegisterTaskDefinition", "CreateService", "RegisterScalableTarget", "UpdateService", "PutScalingPolicy"] {
        assert!(recorded(op, "zulu").is_empty(), "{op} was sent");
    }
    let aws = env.aws().await;
    assert!(aws.task_definition_arns().await.is_empty());
    assert!(aws.service_names().await.is_empty());
}

#[tokio::test]
async fn secrets_never_reach_logs_plans_or_errors() {
    let env = TestEnv::new("secrets_stay_secret", false);
    let mut artifact: Value = serde_json::from_str(include_str!("../../task-definitions/web-fargate.json")).unwrap();
    artifact["containerDefinitions"][0]["secrets"] =
        json!([{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-west-2:1:secret:SECRET-VALUE-456"}]);
    artifact["containerDefinitions"][0]["repositoryCredentials"] =
        json!({"credentialsParameter": "arn:aws:secretsmanager:us-west-2:1:secret:SECRET-REPO-789"});
    let mut d = description("secret", None);
    for (k, v) in [("launchType", json!("FARGATE")), ("networkMode", json!("awsvpc")), ("subnetTypes", json!(["internal"]))] {
        d[k] = v;
    }
    let a = env.file("artifact.json", &artifact);
    let p = env.file("secret.json", &d);
    let mut outputs = Vec::new();
    for args in [
        vec!["-vv", "--output", "json", "deploy", "--description", &p, "--artifact", &a, "--plan"],
        vec!["-vv", "--output", "text", "deploy", "--description", &p, "--artifact", &a, "--plan"],
        vec!["-vv", "--output", "json", "deploy", "--description", &p, "--artifact", &a],
    ] {
        let child = env.spawn_with_env(&args, &[("AWS_SESSION_TOKEN", "SECRET-TOKEN-123"), ("RUST_LOG", "trace")]);
        let out = child.wait_with_output().unwrap();
        outputs.push(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)));
    }
    let all = outputs.join("\n");
    assert!(all.contains("secret-prod-v000") && all.contains("(redacted)"), "the runs happened: {all}");
    for secret in ["SECRET-VALUE-456", "SECRET-REPO-789", "SECRET-TOKEN-123"] {
        assert!(!all.contains(secret), "{secret} was printed");
    }
    // AWS itself received the real values.
    let sent = &recorded("RegisterTaskDefinition", "secret-prod-v000")[0];
    assert!(sent.to_string().contains("SECRET-VALUE-456"));
}

#[tokio::test]
async fn sigterm_during_a_deploy_finishes_the_call_in_flight_then_cleans_up() {
    // A dedicated emulator: the signal is sent once its CreateService has arrived (and is slowed).
    let env = TestEnv::dedicated("interrupted_deploy");
    let aws = env.aws().await;
    env.http(
        "POST",
        "/_harness",
        &json!({"rules": [{"operation": "CreateService", "match": "interrupt-prod-v000", "action": "slow", "ms": 2500, "times": 1}]})
            .to_string(),
    );
    let path = env.file("d.json", &description("interrupt", None));
    let child = env.spawn(&["deploy", "--description", &path]);
    env.wait_for_request("CreateService");
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Interrupted") && stdout.contains("removed service interrupt-prod-v000"), "{stdout}");
    let answer: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(answer["errors"][0]["code"], "Interrupted", "an interrupt is its own error, not an AWS one: {answer}");
    assert!(answer["errors"][0].get("operation").is_none(), "{answer}");
    // The CreateService in flight finished, then the new server group was removed again.
    assert_eq!(aws.service("interrupt-prod-v000").await.unwrap().status.as_deref(), Some("INACTIVE"));
    assert!(aws.scalable_target("interrupt-prod-v000").await.is_none());
}

/// What a lifecycle command may change: desired count, scalable target capacity and suspension.
async fn server_group_state(aws: &Aws, name: &str) -> (i32, Option<(i32, i32, Option<bool>)>) {
    let desired = aws.service(name).await.unwrap().desired_count;
    let target = aws
        .scalable_target(name)
        .await
        .map(|t| (t.min_capacity, t.max_capacity, t.suspended_state.and_then(|s| s.dynamic_scaling_in_suspended)));
    (desired, target)
}

#[tokio::test]
async fn faults_in_lifecycle_commands_leave_the_server_group_as_it_was() {
    let env = TestEnv::dedicated("lifecycle_faults");
    let aws = env.aws().await;
    assert_eq!(env.deploy(&description("alpha9", None), &[]).code, 0);
    let target = ["--account", "ecs-main", "--region", "us-west-2", "--server-group", "alpha9-prod-v000"];
    let commands: Vec<Vec<&str>> = vec![
        [&["disable"][..], &target[..]].concat(),
        [&["enable"][..], &target[..]].concat(),
        [&["resize"][..], &target[..], &["--min", "1", "--max", "3", "--desired", "3"][..]].concat(),
    ];
    let mut survived = 0;
    for command in &commands {
        // Learn the writes the command makes, then put the server group back.
        let before = server_group_state(&aws, "alpha9-prod-v000").await;
        env.http("DELETE", "/_harness/requests", "");
        let clean = env.run(command, None);
        assert_eq!(clean.code, 0, "{clean:?}");
        let done = server_group_state(&aws, "alpha9-prod-v000").await;
        let log: Vec<Value> = serde_json::from_str(&env.http("GET", "/_harness/requests", "")).unwrap();
        let mut ops: Vec<String> = log.iter().map(|r| r["operation"].as_str().unwrap().to_string()).collect();
        ops.dedup();
        for op in ops {
            for (fault, times) in [("5xx", 1), ("lost", 1), ("5xx", 99)] {
                // Back to the state before the command.
                let (min, max, suspended) = before.1.unwrap();
                let suspend = suspended.unwrap_or(false);
                aws.scaling
                    .register_scalable_target()
                    .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
                    .scalable_dimension(aws_sdk_applicationautoscaling::types::ScalableDimension::EcsServiceDesiredCount)
                    .resource_id("service/main/alpha9-prod-v000")
                    .min_capacity(min)
                    .max_capacity(max)
                    .suspended_state(
                        aws_sdk_applicationautoscaling::types::SuspendedState::builder()
                            .dynamic_scaling_in_suspended(suspend)
                            .dynamic_scaling_out_suspended(suspend)
                            .scheduled_scaling_suspended(suspend)
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
                aws.ecs.update_service().cluster("main").service("alpha9-prod-v000").desired_count(before.0).send().await.unwrap();
                assert_eq!(server_group_state(&aws, "alpha9-prod-v000").await, before);
                env.http(
                    "POST",
                    "/_harness",
                    &json!({"clearRules": true, "rules": [{"operation": op, "action": fault, "times": times}]}).to_string(),
                );
                let run = env.run(command, None);
                env.http("POST", "/_harness", &json!({"clearRules": true}).to_string());
                let after = server_group_state(&aws, "alpha9-prod-v000").await;
                match run.code {
                    0 => assert_eq!(after, done, "{command:?} {op}/{fault}: complete"),
                    1 => assert_eq!(after, before, "{command:?} {op}/{fault}: as it was: {run:?}"),
                    other => panic!("{command:?} {op}/{fault}: exit {other}: {run:?}"),
                }
                survived += 1;
            }
        }
        // Leave the state the command produced for the next command.
        assert_eq!(env.run(command, None).code, 0);
    }
    eprintln!("lifecycle fault injection: {survived} injections survived");
    assert!(survived >= 15, "{survived}");
}

/// Nothing of server group `name` is left: no live service, no scalable target, no alarm of its.
async fn destroyed(aws: &Aws, name: &str) -> bool {
    let service_gone = aws.service(name).await.is_none_or(|s| s.status.as_deref() == Some("INACTIVE"));
    let alarms = aws.cloudwatch.describe_alarms().alarm_name_prefix(name).send().await.unwrap().metric_alarms.unwrap_or_default();
    service_gone && aws.scalable_target(name).await.is_none() && alarms.is_empty()
}

/// Destroy cannot be undone; what must hold is that a failure at any call says what was removed
/// and what is left, and that running destroy again finishes the job (deletes of objects already
/// gone count as done, so a retry after a lost response does not fail).
#[tokio::test]
async fn faults_in_destroy_are_reported_and_a_second_destroy_finishes() {
    let env = TestEnv::dedicated("destroy_faults");
    let aws = env.aws().await;
    let fresh = |k: usize| format!("dfault{k}");
    let setup = |k: usize| {
        let (env, aws) = (&env, &aws);
        async move {
            let app = fresh(k);
            assert_eq!(env.deploy(&description(&app, None), &[]).code, 0);
            let name = format!("{app}-prod-v000");
            add_scaling(aws, &name, &env.account_id, "us-west-2").await;
            name
        }
    };
    let destroy = |name: &str| env.run(&["destroy", "--account", "ecs-main", "--region", "us-west-2", "--server-group", name], None);

    // Learn the calls destroy makes.
    let name = setup(0).await;
    env.http("DELETE", "/_harness/requests", "");
    let clean = destroy(&name);
    assert_eq!(clean.code, 0, "{clean:?}");
    assert!(destroyed(&aws, &name).await);
    let log: Vec<Value> = serde_json::from_str(&env.http("GET", "/_harness/requests", "")).unwrap();
    let ops: BTreeSet<String> = log.iter().map(|r| r["operation"].as_str().unwrap().to_string()).collect();

    let mut k = 0;
    let mut survived = 0;
    for op in &ops {
        for (fault, times) in [("lost", 1), ("5xx", 99)] {
            k += 1;
            let name = setup(k).await;
            env.http(
                "POST",
                "/_harness",
                &json!({"clearRules": true, "rules": [{"operation": op, "action": fault, "times": times}]}).to_string(),
            );
            let run = destroy(&name);
            env.http("POST", "/_harness", &json!({"clearRules": true}).to_string());
            match run.code {
                0 => assert!(destroyed(&aws, &name).await, "{op}/{fault}: exit 0 but something is left"),
                1 => {
                    if run.json["report"] == json!([]) {
                        // Failed before destroy began (assuming the role, finding the service): untouched.
                        assert!(aws.scalable_target(&name).await.is_some(), "{op}/{fault}: untouched: {run:?}");
                        assert_eq!(aws.service(&name).await.unwrap().status.as_deref(), Some("ACTIVE"));
                    } else {
                        assert!(
                            run.stdout.contains("done before the failure") || run.stdout.contains("nothing was removed"),
                            "{op}/{fault}: the report says what was removed: {run:?}"
                        );
                    }
                    if run.stdout.contains("deregister-task-definition") {
                        // Only the task definition is left, and the report names it.
                        assert!(aws.service(&name).await.is_none_or(|s| s.status.as_deref() == Some("INACTIVE")));
                    } else {
                        let again = destroy(&name);
                        assert_eq!(again.code, 0, "{op}/{fault}: a second destroy finishes: {again:?}");
                        assert!(destroyed(&aws, &name).await, "{op}/{fault}");
                    }
                }
                other => panic!("{op}/{fault}: exit {other}: {run:?}"),
            }
            survived += 1;
        }
    }
    eprintln!("destroy fault injection: {survived} injections over {} operations", ops.len());
    assert!(survived >= 16, "{survived}");
}
