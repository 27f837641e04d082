//! Account commands on real files, and `doctor` against the emulator with each prerequisite
//! missing and present.

use serde_json::json;

use crate::harness::{CLUSTER, TestEnv};

const COMMENTED: &str = "# Managed by hand and by ecs-deployer.\nserver:\n  port: 7002   # clouddriver's port\naws:\n  enabled: true\n  accounts:\n    # the production account\n    - name: prod\n      accountId: \"123456789012\"\n      regions:\n        - name: us-west-2\n  defaultAssumeRole: role/SpinnakerManaged\necs:\n  enabled: false\n  accounts: []\n";

#[test]
fn edits_keep_the_rest_of_the_file_and_refusals_change_nothing() {
    let env = TestEnv::new("accounts_edit", false);
    let file = env.dir.path().join("edited.yml");
    std::fs::write(&file, COMMENTED).unwrap();
    let f = file.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["--config", f];
        all.extend_from_slice(args);
        // The harness adds its own --config first; the edited file is the one named here.
        env.run_without_config(&all)
    };
    assert_eq!(
        run(&["accounts", "add-aws", "dev", "--account-id", "000000000042", "--region", "us-east-1", "--assume-role", "role/Dev"]).code,
        0
    );
    assert_eq!(run(&["accounts", "add-ecs", "ecs-dev", "--aws-account", "dev", "--naming-strategy", "tags"]).code, 0);
    let r = run(&["provider", "ecs", "enable"]);
    assert_eq!(r.code, 0, "{r:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# Managed by hand and by ecs-deployer.\nserver:\n  port: 7002   # clouddriver's port\n"), "{text}");
    assert!(text.contains("    # the production account\n    - name: prod\n"), "{text}");
    assert!(text.contains("    - name: dev\n      accountId: \"000000000042\"\n"), "{text}");
    assert!(
        text.contains("ecs:\n  enabled: true\n  accounts:\n    - name: ecs-dev\n      awsAccount: dev\n      namingStrategy: tags\n"),
        "{text}"
    );
    let list = run(&["accounts", "list"]);
    assert_eq!(list.code, 0, "{list:?}");
    assert_eq!(list.json[0]["name"], "ecs-dev");
    assert_eq!(list.json[0]["accountId"], "000000000042");
    assert_eq!(list.json[0]["namingStrategy"], "tags");
    assert_eq!(run(&["accounts", "validate"]).code, 0);

    // Every refusal: exit 2 and the file byte for byte as it was.
    let before = std::fs::read(&file).unwrap();
    for args in [
        vec!["accounts", "add-ecs", "ecs-x", "--aws-account", "no-such-aws"],
        vec!["accounts", "add-ecs", "ecs-dev", "--aws-account", "dev"],
        vec!["accounts", "add-aws", "prod", "--account-id", "123456789012", "--region", "us-west-2"],
        vec!["accounts", "add-aws", "short", "--account-id", "123", "--region", "us-west-2"],
        vec!["accounts", "add-ecs", "prod", "--aws-account", "prod"],
        vec!["accounts", "remove", "nobody"],
        vec!["accounts", "remove", "dev"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?} should be refused: {r:?}");
        assert_eq!(std::fs::read(&file).unwrap(), before, "{args:?} changed the file");
    }
    assert_eq!(run(&["accounts", "remove", "ecs-dev"]).code, 0);
    assert_eq!(run(&["accounts", "remove", "dev"]).code, 0);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("dev") && text.contains("# the production account"), "{text}");
}

#[test]
fn validate_names_every_problem_with_file_and_key() {
    let env = TestEnv::new("accounts_validate", false);
    let file = env.dir.path().join("bad.yml");
    std::fs::write(
        &file,
        "aws:\n  enabled: false\n  accounts:\n    - name: a\n      accountId: 42\n      assumeRole: SpinnakerManaged\n      regions: [{name: us-west-2}]\necs:\n  enabled: true\n  accounts:\n    - name: e\n      awsAccount: ghost\n",
    )
    .unwrap();
    let r = env.run_without_config(&["--config", file.to_str().unwrap(), "accounts", "validate"]);
    assert_eq!(r.code, 2, "{r:?}");
    for key in ["aws.accounts[0].accountId", "aws.accounts[0].assumeRole", "ecs.accounts[0].awsAccount", "aws.enabled"] {
        assert!(r.stdout.contains(key), "{key} missing: {}", r.stdout);
    }
    assert!(r.stdout.contains("bad.yml"));
}

fn check<'a>(run: &'a crate::harness::Run, name: &str) -> Vec<&'a serde_json::Value> {
    run.json.as_array().unwrap().iter().filter(|c| c["check"].as_str().unwrap().starts_with(name)).collect()
}

#[tokio::test]
async fn doctor_reports_each_prerequisite_missing_then_present() {
    let env = TestEnv::new("doctor_prerequisites", false);
    let aws = env.aws().await;
    let doctor = |extra: &[&str]| {
        let mut args = vec!["doctor", "--account", "ecs-main", "--region", "us-west-2"];
        args.extend_from_slice(extra);
        env.run(&args, None)
    };
    let run = doctor(&["--ecs-cluster", "nope"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(check(&run, "credentials")[0]["status"], "ok");
    assert_eq!(check(&run, "account id")[0]["status"], "ok");
    assert_eq!(check(&run, "ECS cluster")[0]["status"], "failed");
    assert!(check(&run, "ECS cluster")[0]["fix"].as_str().unwrap().contains("aws ecs create-cluster --cluster-name nope"));
    let slr = check(&run, "service-linked role");
    assert_eq!(slr.len(), 2);
    assert!(slr.iter().all(|c| c["status"] == "failed"));
    assert!(slr[0]["fix"].as_str().unwrap().contains("aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com"));
    // The account role does not exist yet: a warning without a description.
    assert_eq!(check(&run, "Fargate execution role")[0]["status"], "warning");

    aws.iam.create_service_linked_role().aws_service_name("ecs.amazonaws.com").send().await.unwrap();
    aws.iam.create_service_linked_role().aws_service_name("ecs.application-autoscaling.amazonaws.com").send().await.unwrap();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    aws.iam.create_role().role_name("SpinnakerManaged").assume_role_policy_document(trust.to_string()).send().await.unwrap();
    let run = doctor(&["--ecs-cluster", CLUSTER]);
    assert!(check(&run, "service-linked role").iter().all(|c| c["status"] == "ok"), "{run:?}");
    assert_eq!(check(&run, "Fargate execution role")[0]["status"], "ok");
    assert_eq!(check(&run, "ECS cluster")[0]["status"], "ok");
    // EC2 capacity: no container instances registered.
    assert_eq!(check(&run, "capacity")[0]["status"], "warning");
    assert_eq!(run.code, 0, "{run:?}");

    // With a description: everything the deploy would resolve.
    let d = json!({
        "credentials": "ecs-main", "moniker": {"app": "doc", "stack": "web"}, "ecsClusterName": CLUSTER,
        "availabilityZones": {"us-west-2": ["us-west-2a"]}, "capacity": {"min": 1, "max": 1, "desired": 1},
        "launchType": "FARGATE", "networkMode": "awsvpc", "subnetTypes": ["internal"], "securityGroupNames": ["web", "ghost-sg"],
        "dockerImageAddress": "nginx", "computeUnits": 256, "reservedMemory": 512, "placementStrategySequence": [],
        "iamRole": "ec2-only"
    });
    let path = env.file("doctor.json", &d);
    let run = doctor(&["--description", &path]);
    assert_eq!(run.code, 1, "{run:?}");
    let text = run.stdout.clone();
    assert!(text.contains("ghost-sg") && text.contains("trust relationship to ecs-tasks.amazonaws.com"), "{text}");
    assert_eq!(check(&run, "capacity")[0]["status"], "ok", "Fargate needs no container instances");
}

#[test]
fn doctor_finds_an_account_id_mismatch() {
    let env = TestEnv::new("doctor_account_mismatch", false);
    let file = env.dir.path().join("direct.yml");
    // No role: the default credentials act in the emulator's default account, not this one.
    std::fs::write(&file, "aws:\n  enabled: true\n  accounts:\n    - name: a\n      accountId: \"999999999999\"\n      regions: [{name: us-west-2}]\necs:\n  enabled: true\n  accounts:\n    - name: e\n      awsAccount: a\n").unwrap();
    let r = env.run_without_config(&["--config", file.to_str().unwrap(), "doctor", "--account", "e", "--region", "us-west-2"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("but `a` is configured with accountId 999999999999"), "{r:?}");
}

#[tokio::test]
async fn doctor_checks_the_legacy_trust_policy_and_the_artifacts_roles() {
    let env = TestEnv::new("doctor_legacy_and_artifact_roles", false);
    let aws = env.aws().await;
    let run = env.run(&["doctor", "--account", "ecs-legacy", "--region", "us-west-2", "--ecs-cluster", CLUSTER], None);
    let legacy = check(&run, "legacy service role");
    assert_eq!(legacy[0]["status"], "failed", "{run:?}");
    assert!(check(&run, "service-linked role").is_empty(), "legacy mode does not ask for service-linked roles");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": ["ecs.amazonaws.com", "application-autoscaling.amazonaws.com", "ecs-tasks.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]});
    aws.iam.create_role().role_name("SpinnakerManaged").assume_role_policy_document(trust.to_string()).send().await.unwrap();
    let run = env.run(&["doctor", "--account", "ecs-legacy", "--region", "us-west-2", "--ecs-cluster", CLUSTER], None);
    assert_eq!(check(&run, "legacy service role")[0]["status"], "ok", "{run:?}");

    // An artifact's roles must exist, and its task role must trust ECS tasks.
    let mut artifact: serde_json::Value = serde_json::from_str(include_str!("../../task-definitions/web-fargate.json")).unwrap();
    artifact["executionRoleArn"] = json!(format!("arn:aws:iam::{}:role/missing-exec", env.account_id));
    artifact["taskRoleArn"] = json!(format!("arn:aws:iam::{}:role/ec2-only", env.account_id));
    let a = env.file("artifact.json", &artifact);
    let d = json!({
        "credentials": "ecs-main", "moniker": {"app": "doc2", "stack": "web"}, "ecsClusterName": CLUSTER,
        "availabilityZones": {"us-west-2": ["us-west-2a"]}, "capacity": {"min": 1, "max": 1, "desired": 1},
        "launchType": "FARGATE", "networkMode": "awsvpc", "subnetTypes": ["internal"], "placementStrategySequence": [],
        "useTaskDefinitionArtifact": true, "containerToImageMap": {"web": "nginx"}
    });
    let p = env.file("d.json", &d);
    let run = env.run(&["doctor", "--account", "ecs-main", "--region", "us-west-2", "--description", &p, "--artifact", &a], None);
    assert_eq!(run.code, 1, "{run:?}");
    let exec = check(&run, "artifact executionRoleArn");
    assert_eq!(exec[0]["status"], "failed");
    assert!(exec[0]["detail"].as_str().unwrap().contains("does not exist"));
    let task = check(&run, "artifact taskRoleArn");
    assert!(task[0]["detail"].as_str().unwrap().contains("does not trust ecs-tasks.amazonaws.com"), "{run:?}");
    assert_eq!(check(&run, "description")[0]["status"], "ok", "the deploy itself would plan: {run:?}");
}

#[tokio::test]
async fn doctor_checks_ec2_capacity_against_the_description() {
    let env = TestEnv::new("doctor_ec2_capacity", false);
    let aws = env.aws().await;
    let image = aws.ec2.describe_images().send().await.unwrap().images()[0].image_id().unwrap().to_string();
    let instance = aws.ec2.run_instances().image_id(image).min_count(1).max_count(1).send().await.unwrap().instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    aws.ecs
        .register_container_instance()
        .cluster(CLUSTER)
        .instance_identity_document(json!({"instanceId": instance, "region": "us-west-2"}).to_string())
        .send()
        .await
        .unwrap();
    let d = |cpu: i64| {
        json!({
            "credentials": "ecs-main", "application": "cap", "ecsClusterName": CLUSTER, "availabilityZones": {"us-west-2": ["us-west-2a"]},
            "capacity": {"min": 1, "max": 1, "desired": 1}, "launchType": "EC2", "networkMode": "bridge", "placementStrategySequence": [],
            "dockerImageAddress": "nginx", "computeUnits": cpu, "reservedMemory": 256
        })
    };
    let fits = env.file("fits.json", &d(128));
    let run = env.run(&["doctor", "--account", "ecs-main", "--region", "us-west-2", "--description", &fits], None);
    let capacity = check(&run, "capacity");
    assert_eq!(capacity[0]["status"], "ok", "{run:?}");
    assert!(capacity[0]["detail"].as_str().unwrap().contains("1 container instances"), "{run:?}");
    let too_big = env.file("big.json", &d(99_999));
    let run = env.run(&["doctor", "--account", "ecs-main", "--region", "us-west-2", "--description", &too_big], None);
    assert_eq!(check(&run, "capacity")[0]["status"], "failed", "{run:?}");
    assert_eq!(run.code, 1);
}
