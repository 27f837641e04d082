//! Nothing duplicated, misdirected or misreported across replicas, console clicks, retries and
//! restarts (#26): the lease as a fence (a replica cut off from PostgreSQL stops before its next
//! AWS write, the adopter reports what exists), and the other cases the issue names.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::harness::TestEnv;
use crate::serve::{Server, orca_create, postgres_database};

/// A loopback TCP link to a server that can be paused: while paused, nothing it reads is passed
/// on (a database that stopped answering, as during a failover), and nothing is lost.
pub(crate) struct Link {
    pub(crate) port: u16,
    paused: Arc<AtomicBool>,
}

impl Link {
    pub(crate) fn to(target: u16) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let paused = Arc::new(AtomicBool::new(false));
        let flag = paused.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                for (from, to) in [(client.try_clone().unwrap(), server.try_clone().unwrap()), (server, client)] {
                    let flag = flag.clone();
                    std::thread::spawn(move || pump(from, to, &flag));
                }
            }
        });
        Link { port, paused }
    }

    pub(crate) fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    pub(crate) fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, paused: &AtomicBool) {
    let _ = from.set_nodelay(true);
    let _ = to.set_nodelay(true);
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

#[tokio::test]
async fn a_replica_cut_off_from_postgres_stops_before_its_next_write_and_the_adopter_reports_what_exists() {
    let env = TestEnv::dedicated_with("replica_partition", true);
    let url = postgres_database("partition").await;
    let (base, db) = url.rsplit_once('/').unwrap();
    let pg_port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let link = Link::to(pg_port);
    let through_link = format!("postgres://postgres@127.0.0.1:{}/{db}", link.port);
    let a = Server::start(&env, &["--postgres-url", &through_link, "--lease", "2s"]);
    let slow = json!({"rules": [{"operation": "RegisterTaskDefinition", "action": "slow", "ms": 4000, "times": 1}]});
    env.http("POST", "/_harness", &slow.to_string());
    let id = a.submit(&json!([{"createServerGroup": orca_create("pgpart")}]));
    // Cut while RegisterTaskDefinition is in flight: A's lease ends before the call does. Without
    // a fence B adopts when the lease ends, finds nothing created, and A goes on to create an
    // enabled group that B just reported never created.
    env.wait_for_request("RegisterTaskDefinition");
    link.pause();
    let b = Server::start(&env, &["--postgres-url", &url, "--lease", "2s"]);
    let (task, _) = b.wait(&id);
    env.http("POST", "/_harness", &json!({"clearRules": true}).to_string());
    env.wait_until_idle();
    assert_eq!(task["status"]["failed"], true, "{task}");
    let report = task["exception"]["report"].to_string();
    let aws = env.aws().await;
    let service = aws.service("pgpart-prod-v000").await.filter(|s| s.status.as_deref() == Some("ACTIVE"));
    assert!(service.is_none(), "the cut-off replica went on to create the server group after it was adopted: {report}");
    if report.contains("never created") {
        assert!(aws.service("pgpart-prod-v000").await.is_none(), "reported never created, but it exists: {report}");
    }
    let log = a.log.lock().unwrap().clone();
    assert!(log.contains("LeaseLost") || log.contains("could not renew its lease"), "A says why it stopped: {log}");
    link.resume();
    assert!(!aws.service_names().await.iter().any(|n| n == "pgpart-prod-v001"), "nothing was deployed twice");
}

#[tokio::test]
async fn serve_answers_at_once_while_it_undoes_abandoned_tasks_in_the_background() {
    let env = TestEnv::dedicated_with("replica_undo_background", true);
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    env.http("POST", "/_harness", &json!({"delayMs": 300}).to_string());
    let cut = server.submit(&json!([{"createServerGroup": orca_create("bgundo")}]));
    env.wait_for_request("CreateService");
    server.kill();
    env.wait_until_idle();
    // STS as slow as a blackholed endpoint: the undo's AssumeRole takes 6 s.
    let slow = json!({"delayMs": 0, "rules": [{"operation": "AssumeRole", "action": "slow", "ms": 6000, "times": 1}]});
    env.http("POST", "/_harness", &slow.to_string());
    let started = std::time::Instant::now();
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let (status, health) = server.request("GET", "/health", "");
    assert_eq!((status, &health["status"]), (200, &json!("UP")));
    // Adopted in the background: the task reads as being undone while the undo's AssumeRole
    // still takes its 6 s (on a busy machine the adoption's first save may take a moment).
    server.wait_until(&cut, "Being undone");
    let task = server.task(&cut);
    assert!(started.elapsed() < Duration::from_secs(5), "serve waited for the undo: {:?} {task}", started.elapsed());
    assert_eq!(task["status"]["completed"], false, "{task}");
    assert!(task["status"]["status"].as_str().unwrap().starts_with("Being undone"), "{task}");
    let (task, _) = server.wait(&cut);
    assert_eq!(task["status"]["failed"], true, "{task}");
    assert!(task["exception"]["report"].to_string().contains("removed bgundo-prod-v000"), "{task}");
    env.http("POST", "/_harness", &json!({"clearRules": true}).to_string());
}

#[tokio::test]
async fn the_demo_stops_the_emulator_and_serve_it_started() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo");
    let out = std::process::Command::new(demo)
        .env("ECS_DEPLOYER_BIN", env!("CARGO_BIN_EXE_ecs-deployer"))
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    // The emulator played ECS's scheduler: both versions' tasks run and are up behind the rule.
    for group in ["web-demo-v000", "web-demo-v001"] {
        let line = stderr.lines().find(|l| l.starts_with(group)).unwrap_or_else(|| panic!("no {group} in {stderr}"));
        let up: u32 = line.split_whitespace().nth(5).unwrap().parse().unwrap();
        assert!(up > 0, "{group} has no task up: {line}");
    }
    assert!(stderr.contains("forwards web-blue=100, web-green=0") && stdout.contains("traffic: http://"), "{stdout}\n{stderr}");
    let port_of = |text: &str, marker: &str| -> u16 {
        let rest = text.split(marker).nth(1).unwrap_or_else(|| panic!("no {marker} in {text}"));
        rest.split(['/', ' ', '\n']).next().unwrap().rsplit(':').next().unwrap().parse().unwrap()
    };
    let emulator = port_of(&stderr, "AWS emulator on http://");
    let console = port_of(&stdout, "console: http://");
    for port in [emulator, console] {
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "port {port} still answers after the demo exited");
    }
}

#[tokio::test]
async fn a_principals_tasks_stay_listed_however_many_others_post() {
    use crate::security::{PAYMENTS, ROOT, auth, restrict_accounts, write_principals};
    let env = TestEnv::new("replica_task_list", false);
    restrict_accounts(&env);
    write_principals(&env);
    let server = Server::start(&env, &["--store-file", "tasks.db", "--principals", "principals.yml"]);
    let ops = json!([{"disableServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "serverGroupName": "nosuch-prod-v000"}}]);
    let (status, posted) = crate::serve::request(server.port, "POST", "/ecs/ops", &ops.to_string(), &auth(PAYMENTS, ""));
    assert_eq!(status, 200, "{posted}");
    let mine = posted["id"].as_str().unwrap().to_string();
    // 600 newer tasks of another principal on another account, as if posted since.
    let db = rusqlite::Connection::open(env.dir.path().join("tasks.db")).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    for i in 0..600 {
        let task = json!({"id": format!("other-{i}"), "principal": "root", "ownerId": "root", "accounts": ["ecs-second"],
            "status": {"phase": "ORCHESTRATION", "status": "Orchestration completed.", "completed": true, "failed": false, "retryable": false},
            "history": [], "resultObjects": []});
        db.execute(
            "INSERT INTO ecs_deployer_tasks (id, created_ms, state, operations, task, principal, owner_id, accounts)
             VALUES (?1, ?2, 'done', '[]', ?3, 'root', 'root', ',ecs-second,')",
            rusqlite::params![format!("other-{i}"), now + 1000 + i, task.to_string()],
        )
        .unwrap();
    }
    drop(db);
    let listed = |token: &str| -> Vec<String> {
        let (_, tasks) = crate::serve::request(server.port, "GET", "/task", "", &auth(token, ""));
        tasks.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
    };
    let own = listed(PAYMENTS);
    assert_eq!(own, std::slice::from_ref(&mine), "payments sees its own task and none of the others'");
    let all = listed(ROOT);
    assert_eq!(all.len(), 500, "an admin sees the newest 500");
    assert!(!all.contains(&mine));
}

/// The emulator's requests since the last call, as (operation, start, end).
fn requests_since(env: &TestEnv) -> Vec<(String, f64, f64)> {
    let log: serde_json::Value = serde_json::from_str(&env.http("DELETE", "/_harness/requests", "")).unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["operation"].as_str().unwrap_or_default().to_string(), r["start"].as_f64().unwrap(), r["end"].as_f64().unwrap()))
        .collect()
}

/// The most requests of `operation` in flight at once.
fn most_at_once(requests: &[(String, f64, f64)], operation: &str) -> usize {
    let of: Vec<&(String, f64, f64)> = requests.iter().filter(|r| r.0 == operation).collect();
    of.iter().map(|(_, start, _)| of.iter().filter(|(_, s, e)| s <= start && start < e).count()).max().unwrap_or(0)
}

#[tokio::test]
async fn reads_of_missing_groups_and_many_applications_are_shared_and_bounded_per_account() {
    let env = TestEnv::dedicated("replica_read_bounds");
    let run = env.deploy(&crate::deploy::fargate("present"), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let server = Server::start(&env, &["--store-file", "tasks.db", "--read-ttl", "60s"]);
    let port = server.port;
    requests_since(&env);
    env.http("POST", "/_harness", &json!({"delayMs": 50}).to_string());
    let get = |path: String| std::thread::spawn(move || crate::serve::request(port, "GET", &path, "", "").0);
    let missing: Vec<_> = (0..40).map(|i| get(format!("/serverGroups/ecs-main/us-west-2/gone{i}-web-v000"))).collect();
    assert!(missing.into_iter().all(|h| h.join().unwrap() == 404));
    let again: Vec<_> = (0..40).map(|i| get(format!("/serverGroups/ecs-main/us-west-2/gone{i}-web-v000"))).collect();
    assert!(again.into_iter().all(|h| h.join().unwrap() == 404));
    let requests = requests_since(&env);
    let count = |op: &str| requests.iter().filter(|r| r.0 == op).count();
    assert!(count("DescribeServices") <= 40, "one describe per missing name, misses kept: {}", count("DescribeServices"));
    assert!(count("ListClusters") <= 2, "the ECS cluster list is kept: {}", count("ListClusters"));
    assert!(
        most_at_once(&requests, "DescribeServices") <= 4,
        "at most 4 reads of the account at once: {}",
        most_at_once(&requests, "DescribeServices")
    );

    let apps: Vec<_> = (0..40).map(|i| get(format!("/applications/app{i}"))).collect();
    assert!(apps.into_iter().all(|h| h.join().unwrap() == 404));
    let requests = requests_since(&env);
    let listed = requests.iter().filter(|r| r.0 == "ListServices").count();
    assert!(listed <= 4, "every application's view shares one ListServices per ECS cluster and account: {listed}");
    env.http("POST", "/_harness", &json!({"delayMs": 0}).to_string());
}

#[tokio::test]
async fn an_account_that_cannot_be_read_leaves_the_others_application_views_whole() {
    let env = TestEnv::new("replica_one_unreadable", false);
    let run = env.deploy(&crate::deploy::fargate("whole"), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let deny = json!({"rules": [{"operation": "AssumeRole", "match": env.second_account_id, "action": "deny", "times": 100,
        "status": 403, "code": "AccessDenied", "message": "injected: not authorized to perform sts:AssumeRole"}]});
    env.http("POST", "/_harness", &deny.to_string());
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let (status, view) = server.request("GET", "/applications/whole", "");
    let (clusters_status, clusters) = server.request("GET", "/applications/whole/clusters", "");
    let (list_status, list) = server.request("GET", "/applications/whole/serverGroups", "");
    env.http(
        "POST",
        "/_harness",
        &json!({"rules": [{"operation": "AssumeRole", "match": env.second_account_id, "action": "deny", "times": 0}]}).to_string(),
    );
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["clusters"]["ecs-main"][0]["name"], "whole-web", "{view}");
    assert_eq!(view["errors"][0]["account"], "ecs-second", "{view}");
    assert_eq!((clusters_status, &clusters["ecs-main"]), (200, &json!(["whole-web"])), "{clusters}");
    assert_eq!(list_status, 200, "{list}");
    assert!(list.as_array().unwrap().iter().any(|sg| sg["name"] == "whole-web-v000"), "{list}");
}

#[tokio::test]
async fn a_disable_cut_short_is_reported_as_it_left_the_group_and_the_mix_is_flagged_everywhere() {
    let env = TestEnv::dedicated("replica_cut_disable");
    let run = env.deploy(&crate::deploy::fargate("cutoff"), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    // Killed while the scaling is being suspended, before the desired count is set to 0.
    let slow = json!({"rules": [{"operation": "RegisterScalableTarget", "action": "slow", "ms": 1500, "times": 1}]});
    env.http("POST", "/_harness", &slow.to_string());
    env.http("DELETE", "/_harness/requests", "");
    let ops = json!([{"disableServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "serverGroupName": "cutoff-web-v000"}}]);
    let id = server.submit(&ops);
    env.wait_for_request("RegisterScalableTarget");
    server.kill();
    env.wait_until_idle();
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let (task, _) = server.wait(&id);
    let report = task["exception"]["report"].to_string();
    assert!(!report.contains("had not started"), "{report}");
    assert!(report.contains("cutoff-web-v000 now: desired 3, scaling suspended — enabled with scaling suspended"), "{report}");
    let (_, view) = server.request("GET", "/serverGroups/ecs-main/us-west-2/cutoff-web-v000", "");
    assert_eq!(view["scalingMismatch"], "enabled with scaling suspended", "{view}");
    let listed = env.run(&["list", "--account", "ecs-main", "--region", "us-west-2", "--cluster", "cutoff-web"], None);
    assert_eq!(listed.json[0]["scalingMismatch"], "enabled with scaling suspended", "{}", listed.stdout);
    let page = crate::console::send(server.port, "GET", "/console/applications/cutoff", "", "");
    assert!(page.body.contains("enabled with scaling suspended"), "{}", page.body);
}

#[tokio::test]
async fn one_principal_cannot_starve_another_and_tasks_can_be_canceled() {
    use crate::security::{PAYMENTS, auth, restrict_accounts, write_principals};
    const DEPLOYER: &str = "deployer-token-0123456789";
    let env = TestEnv::new("replica_starve", false);
    restrict_accounts(&env);
    write_principals(&env);
    for _ in 0..2 {
        let run = env.deploy(&crate::deploy::fargate("starve"), &[]);
        assert_eq!(run.code, 0, "{run:?}");
    }
    let args = ["--store-file", "tasks.db", "--principals", "principals.yml", "--max-running", "1"];
    let server = Server::start(&env, &[&args[..], &["--max-running-per-principal", "1", "--max-queued-per-principal", "3"]].concat());
    let post =
        |token: &str, ops: &serde_json::Value| crate::serve::request(server.port, "POST", "/ecs/ops", &ops.to_string(), &auth(token, ""));
    // Rollbacks onto a group whose tasks never start: each would wait 10 minutes.
    let rollback = json!([{"rollbackServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "rollbackType": "EXPLICIT",
        "rollbackContext": {"restoreServerGroupName": "starve-web-v000", "rollbackServerGroupName": "starve-web-v001"}}}]);
    let ids: Vec<String> = (0..3)
        .map(|_| {
            let (status, answer) = post(PAYMENTS, &rollback);
            assert_eq!(status, 200, "{answer}");
            answer["id"].as_str().unwrap().to_string()
        })
        .collect();
    let (status, answer) = post(PAYMENTS, &rollback);
    assert_eq!(status, 429, "a fourth task of one principal: {answer}");
    let waiting = |id: &str| server.with_token_request(PAYMENTS, id).to_string().contains("starve-web-v000: ");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !waiting(&ids[0]) {
        assert!(std::time::Instant::now() < deadline, "the first rollback never started waiting");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Another team's resize runs while the rollback waits (one worker, and it holds none).
    let resize = json!([{"resizeServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "serverGroupName": "starve-web-v001",
        "capacity": {"min": 1, "max": 4, "desired": 2}}}]);
    let (status, answer) = post(DEPLOYER, &resize);
    assert_eq!(status, 200, "{answer}");
    let resized = answer["id"].as_str().unwrap().to_string();
    let (task, _) = server.with_token_ref(DEPLOYER).wait_ref(&resized);
    assert_eq!(task["status"]["failed"], false, "{task}");
    assert_eq!(server.with_token_request(PAYMENTS, &ids[1])["status"]["completed"], false, "payments' second task waits its turn");

    // Canceling: the running rollback stops at its next step; a queued one never runs.
    let cancel = |id: &str, token: &str| crate::serve::request(server.port, "PUT", &format!("/task/{id}/cancel"), "", &auth(token, ""));
    assert_eq!(cancel(&ids[0], DEPLOYER).0, 202, "WRITE on every account of the task may cancel it");
    let (status, queued) = cancel(&ids[2], PAYMENTS);
    assert_eq!((status, &queued["status"]["failed"]), (200, &json!(true)), "{queued}");
    let (task, _) = server.with_token_ref(PAYMENTS).wait_ref(&ids[0]);
    assert_eq!(task["status"]["failed"], true, "{task}");
    assert!(task.to_string().contains("Canceled by deployer"), "{task}");
    assert_eq!(cancel(&ids[0], PAYMENTS).0, 409, "an ended task");
    let (status, _) = cancel(&ids[1], PAYMENTS);
    assert!(status == 200 || status == 202);
}
