//! Running it like a platform (issue #30): `/metrics` in the Prometheus text format, parsed by a
//! real parser (the `prometheus-client` Python package in the harness's venv); `/ready` apart
//! from `/health`; AWS throttling absorbed — by adaptive retries and the per-account budget —
//! during concurrent deploys and pollers, and counted.

use std::collections::HashMap;

use serde_json::json;

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
    let server = Server::start_with_env(&env, "127.0.0.1:0", &["--store-file", "tasks.db", "--max-running", "8"], &[]);
    let before = scrape(&server);
    let rules = json!({"rules": [
        {"operation": "DescribeServices", "action": "throttle", "times": 6},
        {"operation": "CreateService", "action": "throttle", "times": 3}
    ]});
    env.http("POST", "/_harness", &rules.to_string());
    let ids: Vec<String> = (0..8).map(|i| server.submit(&json!([{"createServerGroup": orca_create(&format!("thr{i}"))}]))).collect();
    let port = server.port;
    let pollers: Vec<_> = (0..10)
        .map(|i| {
            std::thread::spawn(move || {
                (0..5)
                    .map(|_| crate::serve::request(port, "GET", &format!("/applications/thr{}/serverGroups", i % 8), "", "").0)
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

#[tokio::test]
async fn a_disable_through_one_replica_is_seen_by_the_next_read_on_another() {
    let env = TestEnv::new("platform_views", false);
    let url = crate::serve::postgres_database("views").await;
    let args = ["--postgres-url", url.as_str(), "--read-ttl", "60s"];
    let a = Server::start(&env, &args);
    let b = Server::start(&env, &args);
    let id = a.submit(&json!([{"createServerGroup": orca_create("rdv")}]));
    assert_eq!(a.wait(&id).0["status"]["failed"], false);
    let view = |server: &Server| server.request("GET", "/serverGroups/ecs-main/us-west-2/rdv-prod-v000", "").1;
    assert_eq!(view(&b)["disabled"], false, "B reads (and keeps for 60 s) the enabled group");
    let op = json!([{"disableServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "serverGroupName": "rdv-prod-v000"}}]);
    let id = a.submit(&op);
    assert_eq!(a.wait(&id).0["status"]["failed"], false);
    assert_eq!(view(&b)["disabled"], true, "B's very next read sees A's write (LISTEN/NOTIFY), not its 60 s old view");
}

#[tokio::test]
async fn a_browser_signed_in_through_one_replica_is_signed_in_on_every_replica() {
    use crate::console::{cookie_of, csrf_of, send};
    let env = TestEnv::new("platform_sessions", false);
    crate::security::write_principals(&env);
    let url = crate::serve::postgres_database("sessions").await;
    let args = ["--postgres-url", url.as_str(), "--principals", "principals.yml"];
    let (a, b) = (Server::start(&env, &args), Server::start(&env, &args));
    let form = send(a.port, "GET", "/console/sign-in", "", "");
    let headers = format!(
        "Cookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: http://127.0.0.1:{}\r\n",
        cookie_of(&form),
        a.port
    );
    let ok = send(a.port, "POST", "/console/sign-in", &headers, &format!("csrf={}&token={}", csrf_of(&form.body), crate::security::ROOT));
    assert_eq!(ok.status, 303, "{}", ok.body);
    let session = format!("Cookie: {}\r\n", cookie_of(&ok));
    let on_b = send(b.port, "GET", "/console", &session, "");
    assert_eq!(on_b.status, 200, "replica B serves the session A made: {}", on_b.body);
    assert!(on_b.body.contains("Signed in as root"));
    // B's form token is good on A (one key), and a sign-out through A ends the session on B too.
    let csrf = csrf_of(&on_b.body);
    let out_headers = format!("{session}Content-Type: application/x-www-form-urlencoded\r\nOrigin: http://127.0.0.1:{}\r\n", a.port);
    assert_eq!(send(a.port, "POST", "/console/sign-out", &out_headers, &format!("csrf={csrf}")).status, 303);
    assert_eq!(send(b.port, "GET", "/console", &session, "").status, 303, "signed out everywhere");
}

#[tokio::test]
async fn a_sigterm_with_a_shutdown_grace_lets_the_running_deploy_finish_and_undoes_nothing() {
    let env = TestEnv::dedicated("platform_grace");
    let mut server = Server::start(&env, &["--store-file", "tasks.db", "--shutdown-grace", "60s"]);
    env.http("POST", "/_harness", &json!({"delayMs": 200}).to_string());
    let id = server.submit(&json!([{"createServerGroup": orca_create("grace")}]));
    server.wait_until_running(&id);
    let status = std::process::Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(server.child.wait().unwrap().code(), Some(0), "{}", server.log.lock().unwrap());
    env.http("POST", "/_harness", &json!({"delayMs": 0}).to_string());
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let task = server.task(&id);
    assert_eq!((&task["status"]["completed"], &task["status"]["failed"]), (&json!(true), &json!(false)), "finished, not failed: {task}");
    let service = env.aws().await.service("grace-prod-v000").await.expect("the deploy's server group stays");
    assert_eq!(service.status(), Some("ACTIVE"));
}
