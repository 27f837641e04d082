//! Running it like a platform (issue #30): `/metrics` in the Prometheus text format, parsed by a
//! real parser (the `prometheus-client` Python package in the harness's venv); `/ready` apart
//! from `/health`; AWS throttling absorbed — by adaptive retries and the per-account budget —
//! during concurrent deploys and pollers, and counted; the next version from the tag index; JSON
//! logs; three PostgreSQL replicas behind a round-robin balancer as one service (sessions, forms,
//! read-your-writes, a SIGTERM during a deploy).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::balancer::Balancer;
use crate::harness::TestEnv;
use crate::serve::{Server, orca_create};

/// The samples of `serve`'s `/metrics`, as the Prometheus client library parses them:
/// (name with its labels rendered `k=v,…` sorted, value).
fn scrape(server: &Server) -> HashMap<String, f64> {
    let text = crate::serve::raw_get(server.port, "/metrics");
    let parser = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        out[f"{s.name}{{{labels}}}"] = s.value
print(json.dumps(out))
"#;
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let mut child = std::process::Command::new(python)
        .args(["-c", parser])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the text format does not parse: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sample(samples: &HashMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_move_with_a_deploy_and_ready_is_apart_from_health() {
    let env = TestEnv::new("platform_metrics", false);
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.request("GET", "/ready", "").0 != 200 {
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(server.request("GET", "/health", "").0, 200);
    let before = scrape(&server);
    let id = server.submit(&json!([{"createServerGroup": orca_create("metr")}]));
    let (task, _) = server.wait(&id);
    assert_eq!(task["status"]["failed"], false, "{task}");
    server.request("GET", "/applications/metr/serverGroups", "");
    server.request("GET", "/applications/metr/serverGroups", "");
    let after = scrape(&server);
    let moved = |key: &str| sample(&after, key) - sample(&before, key);
    assert_eq!(moved("ecs_deployer_operations_total{operation=createServerGroup,outcome=succeeded}"), 1.0, "{after:?}");
    assert_eq!(moved("ecs_deployer_operation_duration_seconds_count{operation=createServerGroup}"), 1.0);
    assert!(moved("ecs_deployer_aws_requests_total{operation=CreateService,outcome=ok,service=ECS}") >= 1.0, "{after:?}");
    assert!(moved("ecs_deployer_read_views_total{outcome=hit}") >= 1.0, "the second read reused the first: {after:?}");
    assert!(after.contains_key("ecs_deployer_tasks_queued{}") && after.contains_key("ecs_deployer_tasks_running{}"), "{after:?}");
}

#[tokio::test]
async fn throttling_during_concurrent_deploys_and_pollers_reaches_no_user_and_is_counted() {
    let env = TestEnv::dedicated("platform_throttle");
    // AWS's own bound on a call (the default two minutes): the adaptive rate limit slows every
    // request of the burst after the first throttle, by design.
    let args = ["--store-file", "tasks.db", "--max-running", "20", "--max-running-per-principal", "20"];
    let server = Server::start_with_env(&env, "127.0.0.1:0", &args, &[]);
    let before = scrape(&server);
    let rules = json!({"rules": [
        {"operation": "DescribeServices", "action": "throttle", "times": 6},
        {"operation": "CreateService", "action": "throttle", "times": 3}
    ]});
    env.http("POST", "/_harness", &rules.to_string());
    let ids: Vec<String> = (0..20).map(|i| server.submit(&json!([{"createServerGroup": orca_create(&format!("thr{i}"))}]))).collect();
    let port = server.port;
    let pollers: Vec<_> = (0..50)
        .map(|i| {
            std::thread::spawn(move || {
                (0..3)
                    .map(|_| crate::serve::request(port, "GET", &format!("/applications/thr{}/serverGroups", i % 20), "", "").0)
                    .collect::<Vec<u16>>()
            })
        })
        .collect();
    for id in &ids {
        let (task, _) = server.wait(id);
        assert_eq!(task["status"]["failed"], false, "no deploy fails: {task}");
        assert!(!task.to_string().contains("Throttl"), "{task}");
    }
    for poller in pollers {
        let statuses = poller.join().unwrap();
        assert!(statuses.iter().all(|s| *s == 200), "no read fails: {statuses:?}");
    }
    let after = scrape(&server);
    let throttled: f64 = after
        .iter()
        .filter(|(k, _)| k.starts_with("ecs_deployer_aws_requests_total{") && k.contains("outcome=throttled"))
        .map(|(k, v)| v - sample(&before, k))
        .sum();
    assert_eq!(throttled, 9.0, "every throttled answer is counted apart: {after:?}");
}

fn operations(env: &TestEnv) -> Vec<String> {
    let log: Vec<serde_json::Value> = serde_json::from_str(&env.http("GET", "/_harness/requests", "")).unwrap();
    log.iter().filter_map(|r| r["operation"].as_str().map(str::to_string)).collect()
}

#[tokio::test]
async fn under_the_tags_namer_the_next_version_comes_from_the_tag_index_without_listing() {
    let env = TestEnv::dedicated_with("platform_tag_index", true);
    let aws = env.aws().await;
    let mut d = crate::deploy::inputs("idx");
    d["credentials"] = json!("ecs-tags");
    for _ in 0..2 {
        assert_eq!(env.deploy(&d, &[]).code, 0);
    }
    for i in 0..30 {
        aws.create_service(&format!("other{i}-prod-v000"), 0).await;
    }
    env.http("DELETE", "/_harness/requests", "");
    let run = env.deploy(&d, &[]);
    assert_eq!(run.json["serverGroupName"], "idx-prod-v002", "{run:?}");
    let ops = operations(&env);
    assert!(ops.contains(&"GetResources".to_string()) && !ops.contains(&"ListServices".to_string()), "{ops:?}");
    // A deleted version leaves the index (emulator T1) and its name is free again.
    aws.ecs.update_service().cluster(crate::harness::CLUSTER).service("idx-prod-v002").desired_count(0).send().await.unwrap();
    aws.ecs.delete_service().cluster(crate::harness::CLUSTER).service("idx-prod-v002").send().await.unwrap();
    assert_eq!(env.deploy(&d, &[]).json["serverGroupName"], "idx-prod-v002");
    // A name taken by a service the index does not know (untagged) is caught by the candidates' check.
    aws.create_service("idx-prod-v003", 0).await;
    assert_eq!(env.deploy(&d, &[]).json["serverGroupName"], "idx-prod-v004");

    // The read API's cluster view through the index: the services tagged with the application
    // (whatever their name) and the untagged ones its name says, in one DescribeServices — not
    // the 30 other applications' services (four DescribeServices without the index).
    aws.create_service("renamed-prod-v005", 0).await;
    let arn = aws.service("renamed-prod-v005").await.unwrap().service_arn.unwrap();
    let tag = |k: &str, v: &str| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build();
    aws.ecs.tag_resource().resource_arn(arn).tags(tag("moniker.spinnaker.io/application", "idx")).send().await.unwrap();
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    env.http("DELETE", "/_harness/requests", "");
    let (status, view) = server.request("GET", "/applications/idx/clusters/ecs-tags/idx-prod/ecs", "");
    assert_eq!(status, 200, "{view}");
    let mut names: Vec<&str> = view["serverGroups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["idx-prod-v000", "idx-prod-v001", "idx-prod-v002", "idx-prod-v003", "idx-prod-v004", "renamed-prod-v005"]);
    let ops = operations(&env);
    assert!(ops.contains(&"GetResources".to_string()), "{ops:?}");
    assert_eq!(ops.iter().filter(|o| *o == "DescribeServices").count(), 1, "{ops:?}");

    // Trusted alone (`ECS_DEPLOYER_TAG_INDEX=only`): nothing is listed, and the untagged v003 is
    // not seen — that is the setting's promise (every server group carries its moniker tags).
    let vars = [("ECS_DEPLOYER_TAG_INDEX", "only")];
    let only = Server::start_with_env(&env, "127.0.0.1:0", &["--store-file", "only.db"], &vars);
    env.http("DELETE", "/_harness/requests", "");
    let (_, view) = only.request("GET", "/applications/idx/clusters/ecs-tags/idx-prod/ecs", "");
    let mut names: Vec<&str> = view["serverGroups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["idx-prod-v000", "idx-prod-v001", "idx-prod-v002", "idx-prod-v004", "renamed-prod-v005"]);
    let ops = operations(&env);
    assert!(!ops.iter().any(|o| o == "ListServices" || o == "ListClusters"), "{ops:?}");
    // Any other value is refused, naming the setting and what it takes.
    let mut bad = env.command(&["--output", "json", "accounts", "list"]);
    let out = bad.env("ECS_DEPLOYER_TAG_INDEX", "yes").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ECS_DEPLOYER_TAG_INDEX is `yes`: set it to `off`, `on`"));
}

#[tokio::test]
async fn json_logs_carry_the_task_and_ready_answers_503_while_shutting_down() {
    let env = TestEnv::dedicated("platform_logs");
    let mut server = Server::start(&env, &["--store-file", "tasks.db", "--log-format", "json"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.request("GET", "/ready", "").0 != 200 {
        assert!(std::time::Instant::now() < deadline, "never ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let id = server.submit(&json!([{"createServerGroup": orca_create("jlog")}]));
    assert_eq!(server.wait(&id).0["status"]["failed"], false);
    let log = server.log.lock().unwrap().clone();
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"].as_str().is_some_and(|m| m.contains("Creating Amazon ECS Task Definition")))
        .unwrap_or_else(|| panic!("no JSON line of the task's work: {log}"));
    assert_eq!(
        (&line["span"]["task_id"], &line["span"]["principal"], &line["span"]["operation"]),
        (&json!(id), &json!("anonymous"), &json!("createServerGroup")),
        "{line}"
    );

    // SIGTERM while a task runs: the replica finishes it, and is not ready meanwhile.
    env.http("POST", "/_harness", &json!({"delayMs": 300}).to_string());
    let id = server.submit(&json!([{"createServerGroup": orca_create("jlog2")}]));
    server.wait_until_running(&id);
    let status = std::process::Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (code, _) = crate::serve::request(server.port, "GET", "/ready", "", "");
        if code == 503 {
            break;
        }
        assert!(code == 200 && std::time::Instant::now() < deadline, "/ready answered {code}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(crate::serve::request(server.port, "GET", "/health", "", "").0, 200, "still alive while it finishes");
    env.http("POST", "/_harness", &json!({"delayMs": 0}).to_string());
    assert_eq!(server.child.wait().unwrap().code(), Some(0));
}

/// A client of the replicas through the balancer, as root (bearer token for the API).
struct Front<'a> {
    balancer: &'a Balancer,
}

impl Front<'_> {
    fn api(&self, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
        let auth = format!("Authorization: Bearer {}\r\n", crate::security::ROOT);
        crate::serve::request(self.balancer.port, method, path, body, &auth)
    }

    fn submit(&self, ops: &serde_json::Value) -> String {
        let (status, body) = self.api("POST", "/ecs/ops", &ops.to_string());
        assert_eq!(status, 200, "{body}");
        body["id"].as_str().unwrap().to_string()
    }

    /// Polls the task (each poll through the next replica) until `done` says so.
    fn task_until(&self, id: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let (status, task) = self.api("GET", &format!("/task/{id}"), "");
            if status == 200 && done(&task) {
                return task;
            }
            assert!(Instant::now() < deadline, "task {id}: {task}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn deploy(&self, app: &str) -> serde_json::Value {
        let id = self.submit(&json!([{"createServerGroup": orca_create(app)}]));
        let task = self.task_until(&id, |t| t["status"]["completed"] == true);
        assert_eq!(task["status"]["failed"], false, "{task}");
        task
    }

    /// Whether the server group reads as disabled, through the next replica.
    fn disabled(&self, name: &str) -> bool {
        let (status, view) = self.api("GET", &format!("/serverGroups/ecs-main/us-west-2/{name}"), "");
        assert_eq!(status, 200, "{view}");
        view["disabled"].as_bool().unwrap()
    }
}

#[tokio::test]
async fn three_replicas_behind_a_round_robin_balancer_are_one_service() {
    use crate::console::{cookie_of, csrf_of, form_of, form_post, send};
    let env = TestEnv::dedicated("platform_replicas");
    crate::security::write_principals(&env);
    let url = crate::serve::postgres_database("three").await;
    let args = ["--postgres-url", url.as_str(), "--principals", "principals.yml", "--read-ttl", "60s"];
    let mut replicas: Vec<Server> = (0..3).map(|_| Server::start(&env, &args)).collect();
    let balancer = Balancer::start(replicas.iter().map(|r| r.port).collect());
    let (port, front) = (balancer.port, Front { balancer: &balancer });
    let every_replica = |n: usize| {
        let mut served = balancer.last_served(n);
        served.sort();
        served.dedup();
        assert_eq!(served.len(), 3, "the last {n} requests went to every replica: {served:?}");
    };
    front.deploy("tri");
    front.deploy("tri");

    // Signed in once (the form from one replica, the post to the next), every replica serves the
    // session and the console.
    let form = send(port, "GET", "/console/sign-in", "", "");
    let headers =
        format!("Cookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: http://127.0.0.1:{port}\r\n", cookie_of(&form));
    let signed_in =
        send(port, "POST", "/console/sign-in", &headers, &format!("csrf={}&token={}", csrf_of(&form.body), crate::security::ROOT));
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let cookie = cookie_of(&signed_in);
    for _ in 0..3 {
        let page = send(port, "GET", "/console/applications/tri", &format!("Cookie: {cookie}\r\n"), "");
        assert!(
            page.status == 200 && page.body.contains("action=\"/console/sign-out\"") && page.body.contains("tri-prod-v000"),
            "{}",
            page.body
        );
    }
    every_replica(3);

    // Every replica reads (and would keep for 60 s) the enabled v000; a disable through the console
    // (confirmation from one replica, the post to the next, the task run by any) is seen by each
    // replica's very next read.
    assert!((0..3).all(|_| !front.disabled("tri-prod-v000")));
    let confirm = send(port, "GET", "/console/confirm/disable/ecs-main/us-west-2/tri-prod-v000", &format!("Cookie: {cookie}\r\n"), "");
    assert!(confirm.body.contains("tri-prod-v001 keeps serving"), "{}", confirm.body);
    let body = format!("csrf={}&form={}", csrf_of(&confirm.body), form_of(&confirm.body));
    let posted = form_post(port, "/console/actions/disable/ecs-main/us-west-2/tri-prod-v000", &cookie, &body);
    assert_eq!(posted.status, 303, "{}", posted.body);
    let id = posted.header("location").unwrap().rsplit('/').next().unwrap().to_string();
    front.task_until(&id, |t| t["status"]["completed"] == true && t["status"]["failed"] == false);
    assert!((0..3).all(|_| front.disabled("tri-prod-v000")), "a stale view was read");
    every_replica(3);
    // The same form posted again (a double click, on another replica) is the same task.
    let again = form_post(port, "/console/actions/disable/ecs-main/us-west-2/tri-prod-v000", &cookie, &body);
    assert_eq!(again.header("location"), posted.header("location"));

    // A sign-out through one replica ends the session on all.
    let fresh = send(port, "GET", "/console", &format!("Cookie: {cookie}\r\n"), "");
    assert_eq!(form_post(port, "/console/sign-out", &cookie, &format!("csrf={}", csrf_of(&fresh.body))).status, 303);
    for _ in 0..3 {
        assert_eq!(send(port, "GET", "/console", &format!("Cookie: {cookie}\r\n"), "").status, 303, "signed out everywhere");
    }

    // SIGTERM the replica running a red/black deploy while it waits for its new group: it hands
    // the deploy over and stops; another replica continues the wait and the strategy, creating
    // nothing again and undoing nothing (the balancer skips the stopped replica).
    let mut redblack = orca_create("tri");
    redblack["strategy"] = json!("redblack");
    redblack.as_object_mut().unwrap().remove("maxRemainingAsgs");
    env.http("DELETE", "/_harness/requests", "");
    let id = front.submit(&json!([{"createServerGroup": redblack}]));
    let waiting = front.task_until(&id, |t| t.to_string().contains("tri-prod-v002: "));
    let pid: u32 = waiting["replica"].as_str().unwrap().split('-').next().unwrap().parse().unwrap();
    let mut owner = replicas.remove(replicas.iter().position(|r| r.child.id() == pid).unwrap());
    assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    assert_eq!(owner.child.wait().unwrap().code(), Some(0), "{}", owner.log.lock().unwrap());
    let continued = front.task_until(&id, |t| t.to_string().contains("Continuing the deploy of tri-prod-v002"));
    assert_ne!(continued["replica"], waiting["replica"], "continued by another replica: {continued}");
    env.http("POST", "/_harness", &json!({"ecs": [{"match": "tri-prod-v002", "behaviour": "healthy"}]}).to_string());
    let task = front.task_until(&id, |t| t["status"]["completed"] == true);
    assert_eq!(task["status"]["failed"], false, "{task}");
    assert!(task.to_string().contains("Handed over: this replica is shutting down"), "{task}");
    let result = &task["resultObjects"][0];
    assert_eq!((&result["serverGroupName"], &result["healthy"]), (&json!("tri-prod-v002"), &json!(true)), "{task}");
    assert_eq!(result["strategySteps"][0]["serverGroupName"], "tri-prod-v001", "the strategy ran on: {task}");
    let ops = operations(&env);
    let count = |op: &str| ops.iter().filter(|o| *o == op).count();
    assert_eq!((count("RegisterTaskDefinition"), count("CreateService"), count("DeleteService")), (1, 1, 0), "{ops:?}");
    assert!(!front.disabled("tri-prod-v002") && front.disabled("tri-prod-v001"));
}

#[tokio::test]
async fn on_one_sqlite_replica_a_sigterm_finishes_within_the_grace_or_hands_deploys_and_rollbacks_to_the_next_start() {
    let env = TestEnv::dedicated("platform_grace");
    let redblack = |app: &str| {
        let mut d = orca_create(app);
        d["strategy"] = json!("redblack");
        json!([{"createServerGroup": d}])
    };
    let sigterm = |server: &mut Server| {
        assert!(std::process::Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap().success());
    };
    // With a grace: the replica waits on, the group turns healthy, the deploy completes there.
    let mut server = Server::start(&env, &["--store-file", "tasks.db", "--shutdown-grace", "60s"]);
    let id = server.submit(&redblack("grace"));
    server.wait_until(&id, "grace-prod-v000: ");
    sigterm(&mut server);
    env.http("POST", "/_harness", &json!({"ecs": [{"match": "grace-prod-v000", "behaviour": "healthy"}]}).to_string());
    assert_eq!(server.child.wait().unwrap().code(), Some(0), "{}", server.log.lock().unwrap());
    // Without one: the deploy is handed over (audited as serve's own work), and the next start
    // continues it.
    let mut server = Server::start(&env, &["--store-file", "tasks.db", "--audit-file", "audit.log"]);
    let task = server.task(&id);
    assert_eq!((&task["status"]["completed"], &task["status"]["failed"]), (&json!(true), &json!(false)), "finished, not failed: {task}");
    assert!(!task.to_string().contains("Handed over"), "finished within the grace: {task}");
    let id = server.submit(&redblack("hand"));
    server.wait_until(&id, "hand-prod-v000: ");
    sigterm(&mut server);
    assert_eq!(server.child.wait().unwrap().code(), Some(0), "{}", server.log.lock().unwrap());
    let audit = std::fs::read_to_string(env.dir.path().join("audit.log")).unwrap();
    let line = audit.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|l| l["outcome"] == "handed-over");
    let line = line.unwrap_or_else(|| panic!("no hand-over audited: {audit}"));
    assert_eq!((&line["principal"], &line["taskId"]), (&json!("serve"), &json!(id)), "{line}");
    let mut server = Server::start(&env, &["--store-file", "tasks.db"]);
    server.wait_until(&id, "Continuing the deploy of hand-prod-v000");
    env.http("POST", "/_harness", &json!({"ecs": [{"match": "hand-prod-v000", "behaviour": "healthy"}]}).to_string());
    let (task, _) = server.wait(&id);
    assert_eq!(task["status"]["failed"], false, "{task}");
    assert!(task.to_string().contains("Handed over"), "{task}");
    // A rollback handed over while it waits starts again at the next start (enabling the restored
    // group again changes nothing), then disables the current one.
    for _ in 0..2 {
        assert_eq!(server.wait(&server.submit(&json!([{"createServerGroup": orca_create("roll")}]))).0["status"]["failed"], false);
    }
    let rollback = json!([{"rollbackServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "rollbackType": "EXPLICIT",
        "rollbackContext": {"restoreServerGroupName": "roll-prod-v000", "rollbackServerGroupName": "roll-prod-v001"}}}]);
    let id = server.submit(&rollback);
    server.wait_until(&id, "roll-prod-v000: ");
    sigterm(&mut server);
    assert_eq!(server.child.wait().unwrap().code(), Some(0), "{}", server.log.lock().unwrap());
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    env.http("POST", "/_harness", &json!({"ecs": [{"match": "roll-prod-v000", "behaviour": "healthy"}]}).to_string());
    let (task, _) = server.wait(&id);
    assert_eq!(task["status"]["failed"], false, "{task}");
    assert!(task.to_string().contains("Handed over: this replica is shutting down; rollbackServerGroup"), "{task}");
    let aws = env.aws().await;
    assert_eq!(aws.service("roll-prod-v001").await.unwrap().desired_count, 0, "the rollback finished");
    let ops = operations(&env);
    assert!(!ops.contains(&"DeleteService".to_string()), "nothing undone: {ops:?}");
    for name in ["grace-prod-v000", "hand-prod-v000", "roll-prod-v000"] {
        assert_eq!(aws.service(name).await.expect("it stays").status(), Some("ACTIVE"));
    }
}
