//! Clouddriver's read API as Orca and Deck read it, against the emulator with the harness playing
//! ECS's scheduler (tasks started with `group: service:NAME`, their addresses registered in the
//! target groups): the server group, cluster, target, application and instance views, their
//! 404s, health per task (Decisions D2/D3), READ permission, and live reads that are coalesced
//! and invalidated by writes.

use serde_json::{Value, json};

use crate::deploy::fargate;
use crate::harness::{CLUSTER, TestEnv, recorded, report, task_address};
use crate::serve::Server;

/// Deploys `fargate(app)` with `capacity` through the CLI and starts its tasks; the server group's name.
pub(crate) async fn deployed(env: &TestEnv, app: &str, capacity: Value) -> String {
    let mut description = fargate(app);
    description["capacity"] = capacity;
    let run = env.deploy(&description, &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let name = run.json["serverGroupNames"][0].as_str().unwrap().split(':').nth(1).unwrap().to_string();
    env.aws().await.reconcile(&name).await;
    name
}

fn get(server: &Server, path: &str) -> (u16, Value) {
    server.request("GET", path, "")
}

#[tokio::test]
async fn the_server_group_cluster_and_application_views_carry_what_orca_and_deck_read() {
    let env = TestEnv::new("read_api_views", false);
    let name = deployed(&env, "viewa", json!({"min": 2, "max": 6, "desired": 3})).await;
    assert_eq!(name, "viewa-web-v000");
    let server = Server::start(&env, &["--store-file", "tasks.db"]);

    let (status, sg) = get(&server, &format!("/serverGroups/ecs-main/us-west-2/{name}"));
    assert_eq!(status, 200, "{sg}");
    for (key, value) in [
        ("name", json!(name)),
        ("region", json!("us-west-2")),
        ("type", json!("ecs")),
        ("cloudProvider", json!("ecs")),
        ("account", json!("ecs-main")),
        ("credentials", json!("ecs-main")),
        ("disabled", json!(false)),
        ("isDisabled", json!(false)),
        ("capacity", json!({"min": 2, "max": 6, "desired": 3, "pinned": false})),
        ("moniker", json!({"app": "viewa", "cluster": "viewa-web", "stack": "web", "sequence": 0})),
        ("ecsCluster", json!(CLUSTER)),
        ("targetGroups", json!(["web-tg"])),
        ("vpcId", env.fixtures["vpc"].clone()),
        ("securityGroups", json!([env.fixtures["securityGroup"]])),
        ("instanceCounts", json!({"total": 3, "up": 3, "down": 0, "unknown": 0, "outOfService": 0, "starting": 0})),
    ] {
        assert_eq!(sg[key], value, "{key} in {sg}");
    }
    assert!(sg.get("namespace").is_none() && sg.get("warnings").is_none(), "{sg}");
    assert!(sg["createdTime"].as_i64().unwrap() > 1_600_000_000_000, "epoch ms: {sg}");
    assert_eq!(sg["image"], json!({"imageId": "nginx:1.27.9", "name": "nginx:1.27.9"}));
    assert_eq!(sg["taskDefinition"]["containerImage"], "nginx:1.27.9");
    assert_eq!(sg["taskDefinition"]["taskName"], "viewa-web:1");
    let instances = sg["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 3);
    for i in instances {
        let id = i["name"].as_str().unwrap();
        assert_eq!(i["healthState"], "Up");
        assert_eq!(
            i["health"],
            json!([{"instanceId": id, "type": "loadBalancer", "state": "Up"}, {"instanceId": id, "type": "ecs", "healthClass": "platform", "state": "Up"}])
        );
    }

    let listed = env.run(&["list", "--account", "ecs-main", "--region", "us-west-2", "--cluster", "viewa-web", "--view"], None);
    assert_eq!((listed.code, listed.json.clone()), (0, json!([sg])), "`list --view` prints the API's objects: {listed:?}");

    let (status, cluster) = get(&server, "/applications/viewa/clusters/ecs-main/viewa-web/ecs");
    assert_eq!(status, 200, "{cluster}");
    assert_eq!(
        (cluster["name"].clone(), cluster["accountName"].clone(), cluster["type"].clone()),
        (json!("viewa-web"), json!("ecs-main"), json!("ecs"))
    );
    assert_eq!(cluster["serverGroups"], json!([sg]), "the cluster holds the same server group view");

    let (status, list) = get(&server, &format!("/applications/viewa/clusters/ecs-main/viewa-web/ecs/serverGroups/{name}"));
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)), "an array over all regions: {list}");
    let (status, one) = get(&server, &format!("/applications/viewa/clusters/ecs-main/viewa-web/ecs/serverGroups/{name}?region=us-west-2"));
    assert_eq!((status, one["name"].clone()), (200, json!(name)), "one object with ?region=");

    let (status, app) = get(&server, "/applications/viewa");
    assert_eq!(status, 200, "{app}");
    assert_eq!(app["attributes"], json!({"name": "viewa", "cloudProviders": "ecs"}));
    assert_eq!(app["clusters"]["ecs-main"], json!([{"name": "viewa-web", "loadBalancers": [], "serverGroups": [name], "provider": "ecs"}]));
    assert!(app["clusters"].get("ecs-second").is_none(), "another AWS account has no such server group: {app}");
    let (_, clusters) = get(&server, "/applications/viewa/clusters");
    assert_eq!(clusters["ecs-main"], json!(["viewa-web"]), "every ECS account on the AWS account sees it: {clusters}");
    let (status, listed) = get(&server, "/applications/viewa/serverGroups");
    assert_eq!(status, 200, "{listed}");
    let entry = &listed[0];
    assert_eq!(
        (entry["name"].clone(), entry["isDisabled"].clone(), entry["application"].clone()),
        (json!(name), json!(false), json!("viewa"))
    );
    assert!(entry.get("disabled").is_none() && entry["instances"][0]["health"][1].get("healthClass").is_none(), "{entry}");
    let (_, filtered) = get(&server, "/applications/viewa/serverGroups?clusters=ecs-main:other");
    assert_eq!(filtered, json!([]));
    let (status, details) = get(&server, &format!("/applications/viewa/serverGroups/ecs-main/us-west-2/{name}"));
    assert_eq!((status, details["name"].clone()), (200, json!(name)));

    let task = instances[0]["name"].as_str().unwrap();
    let (status, instance) = get(&server, &format!("/instances/ecs-main/us-west-2/{task}"));
    assert_eq!(status, 200, "{instance}");
    assert_eq!(
        (instance["name"].clone(), instance["serverGroup"].clone(), instance["healthState"].clone()),
        (json!(task), json!(name), json!("Up"))
    );
    assert!(instance["privateIpAddress"].is_string(), "{instance}");
}

#[tokio::test]
async fn what_does_not_exist_is_a_404_that_names_it() {
    let env = TestEnv::new("read_api_missing", false);
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    for (path, needle) in [
        ("/serverGroups/ecs-main/us-west-2/nope-web-v000", "nope-web-v000"),
        ("/serverGroups/ecs-nowhere/us-west-2/nope-web-v000", "ecs-nowhere"),
        ("/serverGroups/ecs-main/eu-north-9/nope-web-v000", "eu-north-9"),
        ("/applications/nope/clusters/ecs-main/nope-web/ecs", "nope-web"),
        ("/applications/nope/clusters/ecs-main/nope-web/aws", "aws"),
        ("/applications/nope/clusters/ecs-main/nope-web/ecs/serverGroups/nope-web-v000", "nope-web-v000"),
        ("/applications/nope/clusters/ecs-main/nope-web/ecs/us-west-2/serverGroups/target/current_asg_dynamic", "nope-web"),
        ("/applications/nope", "nope"),
        ("/instances/ecs-main/us-west-2/0123456789abcdef", "0123456789abcdef"),
        ("/instances/ecs-main/us-west-2/not%20a%20task", "not a task"),
    ] {
        let (status, body) = get(&server, path);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body["message"].as_str().unwrap().contains(needle), "{path}: {body}");
    }
    let (status, body) = get(&server, "/applications/nope/clusters/ecs-main/nope-web/ecs/us-west-2/serverGroups/target/biggest");
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("current"), "the message lists the targets: {body}");
}

#[tokio::test]
async fn dynamic_targets_pick_by_clouddrivers_rules() {
    let env = TestEnv::new("read_api_targets", false);
    let v000 = deployed(&env, "targa", json!({"min": 1, "max": 4, "desired": 2})).await;
    let v001 = deployed(&env, "targa", json!({"min": 1, "max": 4, "desired": 1})).await;
    let v002 = deployed(&env, "targa", json!({"min": 0, "max": 4, "desired": 0})).await;
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let target = |t: &str| {
        let (status, body) =
            get(&server, &format!("/applications/targa/clusters/ecs-main/targa-web/ecs/us-west-2/serverGroups/target/{t}"));
        (status, body["name"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(target("current_asg_dynamic"), (200, v002.clone()));
    assert_eq!(target("NEWEST"), (200, v002.clone()));
    assert_eq!(target("ancestor_asg"), (200, v001.clone()));
    assert_eq!(target("previous"), (200, v001.clone()));
    assert_eq!(target("oldest_asg_dynamic"), (200, v000.clone()));
    assert_eq!(target("largest"), (200, v000.clone()));
    assert_eq!(target("fail").0, 404, "fail is ambiguous with three groups");
    assert_eq!(target("current_asg_dynamic?onlyEnabled=true"), (200, v001.clone()), "v002 has desired 0: disabled");
    assert_eq!(target("previous?onlyEnabled=true"), (200, v000.clone()));
    let (status, _) = get(&server, "/applications/targa/clusters/ecs-main/targa-web/ecs/us-east-1/serverGroups/target/current");
    assert_eq!(status, 404, "no server group in that region");
}

#[tokio::test]
async fn health_is_each_tasks_own_so_a_red_black_waits_for_the_new_targets() {
    let env = TestEnv::new("read_api_health", false);
    let old = deployed(&env, "healtha", json!({"min": 1, "max": 2, "desired": 1})).await;
    let new = deployed(&env, "healtha", json!({"min": 2, "max": 2, "desired": 2})).await;
    let aws = env.aws().await;
    let tasks = aws.running_tasks(&new).await;
    // The new group shares web-tg with the old one, whose target is healthy; its own are not yet.
    report(
        json!({"targets": [{"match": task_address(&tasks[0]), "state": "initial"}, {"match": task_address(&tasks[1]), "state": "unhealthy"}]}),
    );
    let server = Server::start(&env, &["--store-file", "tasks.db", "--read-ttl", "0s"]);
    let states = |name: &str| {
        let (status, sg) = get(&server, &format!("/serverGroups/ecs-main/us-west-2/{name}"));
        assert_eq!(status, 200, "{sg}");
        let mut states: Vec<(String, String, String)> = sg["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["healthState"].as_str().unwrap().into(),
                    i["health"][0]["state"].as_str().unwrap().into(),
                    i["health"][1]["state"].as_str().unwrap().into(),
                )
            })
            .collect();
        states.sort();
        states
    };
    assert_eq!(states(&old), vec![("Up".into(), "Up".into(), "Up".into())]);
    assert_eq!(
        states(&new),
        vec![("Up".into(), "Down".into(), "Up".into()), ("Up".into(), "Starting".into(), "Up".into())],
        "the load-balancer entry is the task's own target (D2), the platform entry the task's own state (D3)"
    );
    assert!(!tasks.iter().any(|t| up_for_orca(&instance_of(&server, &new, t))), "Orca's up rule sees neither new task up");

    let id = |t: &aws_sdk_ecs::types::Task| t.task_arn().unwrap().rsplit('/').next().unwrap().to_string();
    report(json!({"tasks": [{"match": id(&tasks[0]), "lastStatus": "PENDING"}, {"match": id(&tasks[1]), "healthStatus": "UNHEALTHY"}]}));
    assert_eq!(
        states(&new),
        vec![("Down".into(), "Down".into(), "Down".into()), ("Starting".into(), "Starting".into(), "Starting".into())],
        "a pending task is Starting, a failed container health check Down"
    );
}

fn instance_of(server: &Server, name: &str, task: &aws_sdk_ecs::types::Task) -> Value {
    let (_, sg) = get(server, &format!("/serverGroups/ecs-main/us-west-2/{name}"));
    let id = task.task_arn().unwrap().rsplit('/').next().unwrap();
    sg["instances"].as_array().unwrap().iter().find(|i| i["name"] == id).cloned().unwrap()
}

/// Orca's `HealthHelper.someAreUpAndNoneAreDownOrStarting` with all health providers.
pub(crate) fn up_for_orca(instance: &Value) -> bool {
    let states: Vec<&str> = instance["health"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect();
    states.contains(&"Up") && !states.iter().any(|s| ["Down", "OutOfService", "Starting", "Draining"].contains(s))
}

/// Orca's `someAreDownAndNoneAreUp` with all health providers.
pub(crate) fn down_for_orca(instance: &Value) -> bool {
    let states: Vec<&str> = instance["health"].as_array().unwrap().iter().map(|h| h["state"].as_str().unwrap()).collect();
    let only_platform_unknown = states.len() == 1 && states[0] == "Unknown";
    only_platform_unknown
        || ((states.is_empty() || states.iter().any(|s| ["Down", "OutOfService", "Starting"].contains(s)))
            && !states.iter().any(|s| ["Up", "Draining"].contains(s)))
}

#[tokio::test]
async fn fifty_concurrent_reads_share_one_aws_read_and_a_write_is_seen_at_once() {
    let env = TestEnv::new("read_api_coalesce", false);
    let name = deployed(&env, "coala", json!({"min": 1, "max": 3, "desired": 2})).await;
    let server = Server::start(&env, &["--store-file", "tasks.db", "--read-ttl", "60s"]);
    let path = format!("/serverGroups/ecs-main/us-west-2/{name}");
    let before = (recorded("DescribeServices", &name).len(), recorded("ListTasks", &name).len());
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let readers: Vec<_> = (0..50).map(|_| s.spawn(|| get(&server, &path))).collect();
        readers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert!(answers.iter().all(|(status, sg)| *status == 200 && sg["name"] == name.as_str()), "every reader got the view");
    let after = (recorded("DescribeServices", &name).len(), recorded("ListTasks", &name).len());
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1), "one DescribeServices and one ListTasks for 50 readers");

    let disable = json!([{"disableServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "serverGroupName": name}}]);
    let (task, _) = server.wait(&server.submit(&disable));
    assert_eq!(task["status"]["completed"], true, "{task}");
    let (_, sg) = get(&server, &path);
    assert_eq!((sg["disabled"].clone(), sg["capacity"]["desired"].clone()), (json!(true), json!(0)), "read after the write, TTL or not");
    let (_, cluster) = get(&server, "/applications/coala/clusters/ecs-main/coala-web/ecs");
    assert_eq!(cluster["serverGroups"][0]["disabled"], true);
}

#[tokio::test]
async fn views_need_read_on_the_account() {
    use crate::security::{AUDITOR, OPS, auth, restrict_accounts, write_principals};
    let env = TestEnv::new("read_api_permissions", false);
    let name = deployed(&env, "perma", json!({"min": 1, "max": 1, "desired": 1})).await;
    restrict_accounts(&env);
    write_principals(&env);
    let server = Server::start(&env, &["--store-file", "tasks.db", "--principals", "principals.yml", "--audit-file", "audit.log"]);
    let read = |token: &str, path: &str| crate::serve::request(server.port, "GET", path, "", &auth(token, ""));
    let path = format!("/serverGroups/ecs-main/us-west-2/{name}");
    assert_eq!(read(AUDITOR, &path).0, 200, "auditors may read aws-main's ECS accounts");
    let (status, body) = read(OPS, &path);
    assert_eq!(status, 403, "the ops role has no READ on aws-main: {body}");
    assert_eq!(body["message"], "Access denied to account ecs-main");
    assert_eq!(read(OPS, "/applications/perma/clusters/ecs-main/perma-web/ecs").0, 403);
    assert_eq!(read(OPS, "/applications/perma").0, 404, "the application is in no account ops may read");
    assert_eq!(read(AUDITOR, "/applications/perma").0, 200);
    assert_eq!(crate::serve::request(server.port, "GET", &path, "", "").0, 401, "no token, no view");
    let audit = std::fs::read_to_string(env.dir.path().join("audit.log")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"denied\"") && l.contains(&path)), "the denied read is audited: {audit}");
}
