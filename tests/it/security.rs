//! `serve` as an attacker and as a team that shares it see it: account permissions (Fiat's
//! semantics, the legacy `requiredGroupMembership`, ECS accounts inheriting their AWS account's),
//! principals and trusted services, who sees which task, the audit log, SIGHUP rotation, TLS,
//! and the holes a probe found — cross-site posts, slow and idle clients, unbounded inputs,
//! secrets quoted in errors, a world-readable and never-pruned store.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{TestEnv, python};
use crate::serve::{Server, orca_create, request};

fn hex(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) const ORCA: &str = "orca-token-0123456789abcdef";
pub(crate) const PAYMENTS: &str = "payments-token-0123456789";
pub(crate) const AUDITOR: &str = "auditor-token-0123456789";
pub(crate) const OPS: &str = "ops-token-0123456789abcdef";
const DEPLOYER: &str = "deployer-token-0123456789";
const DEPLOYER2: &str = "deployer2-token-012345678";
pub(crate) const ROOT: &str = "root-token-0123456789abcdef";

/// aws-main (so ecs-main, ecs-tags, ecs-legacy): READ payments and auditors, WRITE payments and
/// deployers. aws-second (ecs-second): the legacy `requiredGroupMembership: [ops]`.
pub(crate) fn restrict_accounts(env: &TestEnv) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    let main = format!("accountId: \"{}\"\n", env.account_id);
    let second = format!("accountId: \"{}\"\n", env.second_account_id);
    let text = text
        .replacen(&main, &format!("{main}      permissions: {{READ: [payments, Auditors], write: [payments, deployers]}}\n"), 1)
        .replacen(&second, &format!("{second}      requiredGroupMembership: [ops]\n"), 1);
    std::fs::write(&env.config, text).unwrap();
}

pub(crate) fn write_principals(env: &TestEnv) {
    std::fs::write(env.dir.path().join("auditor-token"), format!("{AUDITOR}\n")).unwrap();
    let text = format!(
        "principals:
  - {{name: orca, tokenSha256: {}, roles: [payments, ops], trustedService: true}}
  - {{name: payments, tokenSha256: {}, roles: [Payments]}}
  - {{name: auditor, tokenFile: auditor-token, roles: [auditors]}}
  - {{name: ops, tokenSha256: {}, roles: [ops]}}
  - {{name: deployer, tokenSha256: {}, roles: [deployers]}}
  - {{name: deployer2, tokenSha256: {}, roles: [deployers]}}
  - {{name: root, tokenSha256: {}, admin: true}}
",
        hex(ORCA),
        hex(PAYMENTS),
        hex(OPS),
        hex(DEPLOYER),
        hex(DEPLOYER2),
        hex(ROOT)
    );
    std::fs::write(env.dir.path().join("principals.yml"), text).unwrap();
}

pub(crate) fn auth(token: &str, extra: &str) -> String {
    format!("Authorization: Bearer {token}\r\n{extra}")
}

fn disable(account: &str) -> Value {
    json!([{"disableServerGroup": {"credentials": account, "region": "us-west-2", "serverGroupName": "nosuch-prod-v000"}}])
}

fn create(app: &str, account: &str, extra: Value) -> Value {
    let mut d = orca_create(app);
    d["credentials"] = json!(account);
    d["account"] = json!(account);
    d.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!([{ "createServerGroup": d }])
}

fn answered_requests(env: &TestEnv) -> usize {
    serde_json::from_str::<Vec<Value>>(&env.http("GET", "/_harness/requests", "")).unwrap().len()
}

#[tokio::test]
async fn permissions_principals_and_trusted_services_decide_every_write_and_read() {
    let env = TestEnv::dedicated("security_table");
    restrict_accounts(&env);
    write_principals(&env);
    let server = Server::start(&env, &["-vv", "--store-file", "tasks.db", "--principals", "principals.yml", "--audit-file", "audit.log"]);
    let port = server.port;
    let post = |token: &str, extra: &str, body: &Value| request(port, "POST", "/ecs/ops", &body.to_string(), &auth(token, extra));
    let get = |token: &str, path: &str| request(port, "GET", path, "", &auth(token, ""));
    let source = |account: &str| json!({"source": {"account": account, "region": "us-west-2", "asgName": "permsrc-prod-v000"}});

    // Every denial: 403 in Clouddriver's shape, nothing stored, nothing sent to AWS.
    let before = answered_requests(&env);
    let denied: Vec<(&str, &str, Value, &str)> = vec![
        (PAYMENTS, "", disable("ecs-second"), "ecs-second"),
        (PAYMENTS, "", create("permsrc", "ecs-main", source("ecs-second")), "ecs-second"),
        (AUDITOR, "", disable("ecs-main"), "ecs-main"),
        (OPS, "", create("permrb", "ecs-main", json!({"strategy": "redblack"})), "ecs-main"),
        (OPS, "", json!([disable("ecs-second")[0], disable("ecs-tags")[0]]), "ecs-tags"),
        (ORCA, "X-SPINNAKER-USER: alice\r\nX-SPINNAKER-ACCOUNTS: ecs-second\r\n", disable("ecs-main"), "ecs-main"),
        (DEPLOYER, "", create("permsrc", "ecs-main", source("ecs-second")), "ecs-second"),
        (PAYMENTS, "X-SPINNAKER-USER: root\r\n", disable("ecs-second"), "ecs-second"),
    ];
    for (i, (token, extra, body, account)) in denied.iter().enumerate() {
        let (status, answer) = post(token, extra, body);
        assert_eq!(status, 403, "case {i}: {answer}");
        assert_eq!(answer["message"], format!("Access denied to account {account}"), "case {i}");
        assert_eq!(answer["errors"][0]["code"], "authorization.account", "case {i}");
    }
    assert_eq!(get(ROOT, "/task").1, json!([]), "no denied post was stored");
    assert_eq!(answered_requests(&env), before, "no denied post reached AWS");

    // What is allowed, and who owns it.
    let submit = |token: &str, extra: &str, body: &Value| {
        let (status, answer) = post(token, extra, body);
        assert_eq!(status, 200, "{answer}");
        answer["id"].as_str().unwrap().to_string()
    };
    let by_payments = submit(PAYMENTS, "", &disable("ecs-main"));
    let ignored_user = submit(PAYMENTS, "X-SPINNAKER-USER: mallory\r\n", &disable("ecs-main"));
    let legacy = submit(OPS, "", &disable("ecs-second"));
    let for_alice = submit(ORCA, "X-SPINNAKER-USER: alice\r\nX-SPINNAKER-ACCOUNTS: ecs-main,ecs-second\r\n", &disable("ecs-main"));
    let by_deployer = submit(DEPLOYER, "", &disable("ecs-main"));
    let by_root = submit(ROOT, "", &disable("ecs-second"));
    let source_ok = submit(PAYMENTS, "", &create("permsrc", "ecs-main", source("ecs-tags")));
    let owner = |id: &str| get(ROOT, &format!("/task/{id}")).1;
    assert_eq!(owner(&by_payments)["ownerId"], "payments");
    assert_eq!(owner(&ignored_user)["ownerId"], "payments", "user headers from an untrusted principal are ignored");
    assert_eq!((owner(&for_alice)["ownerId"].clone(), owner(&for_alice)["principal"].clone()), (json!("alice"), json!("orca")));
    assert_eq!(owner(&source_ok)["accounts"], json!(["ecs-main", "ecs-tags"]));

    // Who sees which task.
    let sees = |token: &str, id: &str| get(token, &format!("/task/{id}")).0;
    let table = [
        (PAYMENTS, &by_payments, 200),
        (AUDITOR, &by_payments, 200),
        (OPS, &by_payments, 403),
        (DEPLOYER, &by_payments, 403),
        (DEPLOYER, &by_deployer, 200),
        (DEPLOYER2, &by_deployer, 403),
        (AUDITOR, &by_deployer, 200),
        (ORCA, &for_alice, 200),
        (OPS, &legacy, 200),
        (PAYMENTS, &legacy, 403),
        (ROOT, &legacy, 200),
        (AUDITOR, &by_root, 403),
    ];
    for (i, (token, id, expected)) in table.iter().enumerate() {
        assert_eq!(sees(token, id), *expected, "read case {i}");
    }
    let listed = |token: &str| -> Vec<String> {
        get(token, "/task").1.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
    };
    let ops_sees = listed(OPS);
    assert!(ops_sees.contains(&legacy) && ops_sees.contains(&by_root), "{ops_sees:?}");
    assert!(!ops_sees.contains(&by_payments) && !ops_sees.contains(&for_alice), "a list leaves out what the principal may not read");
    let audited = listed(AUDITOR);
    assert!(audited.contains(&by_payments) && !audited.contains(&legacy) && !audited.contains(&by_root), "{audited:?}");
    assert_eq!(listed(ROOT).len(), 7);
    assert_eq!(request(port, "GET", "/task", "", "").0, 401);
    assert_eq!(request(port, "GET", "/health", "", "").0, 200, "health stays open");

    // The audit log: every post and every denial, one JSON line each, 0600, no secret.
    let audit_path = env.dir.path().join("audit.log");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&audit_path).unwrap().permissions().mode() & 0o777, 0o600);
    let audit = std::fs::read_to_string(&audit_path).unwrap();
    let lines: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let denied_reads = table.iter().filter(|(_, _, status)| *status == 403).count();
    assert_eq!(lines.iter().filter(|l| l["outcome"] == "denied" && l["method"] == "POST").count(), denied.len());
    assert_eq!(lines.iter().filter(|l| l["outcome"] == "denied" && l["method"] == "GET").count(), denied_reads);
    assert_eq!(lines.iter().filter(|l| l["outcome"] == "accepted").count(), 7);
    assert!(lines.iter().any(|l| l["outcome"] == "unauthenticated" && l["status"] == 401));
    let alice = lines.iter().find(|l| l["taskId"] == json!(for_alice)).unwrap();
    assert_eq!((alice["principal"].clone(), alice["onBehalfOf"].clone()), (json!("orca"), json!("alice")));
    assert_eq!(alice["operations"], json!(["disableServerGroup"]));
    assert!(alice["source"].as_str().unwrap().starts_with("127.0.0.1:"));
    let principals_file = std::fs::read_to_string(env.dir.path().join("principals.yml")).unwrap();
    let log = server.log.lock().unwrap().clone();
    let answers = listed(ROOT).iter().map(|id| owner(id).to_string()).collect::<String>();
    for secret in [ORCA, PAYMENTS, AUDITOR, OPS, DEPLOYER, DEPLOYER2, ROOT] {
        for (what, text) in [("audit log", &audit), ("log", &log), ("answers", &answers)] {
            assert!(!text.contains(secret), "{what} holds a token");
            assert!(!text.contains(&hex(secret)), "{what} holds a token digest");
        }
    }
    assert!(!log.contains(principals_file.lines().nth(1).unwrap()), "the principals file's content is not logged");
}

fn wait_for_status(port: u16, token: &str, expected: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(port, "GET", "/task", "", &auth(token, "")).0 != expected {
        assert!(Instant::now() < deadline, "the token never answered {expected}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn hangup(server: &Server) {
    let status = std::process::Command::new("kill").args(["-HUP", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn sighup_rotates_tokens_and_a_broken_file_keeps_the_principals() {
    let env = TestEnv::new("security_rotation", false);
    let (old, new) = ("old-orca-token-0123456789", "new-orca-token-0123456789");
    let file = env.dir.path().join("principals.yml");
    let principals = |tokens: &[&str]| {
        let digests: Vec<String> = tokens.iter().map(|t| hex(t)).collect();
        format!("principals:\n  - {{name: orca, tokenSha256: [{}], admin: true}}\n", digests.join(", "))
    };
    std::fs::write(&file, principals(&[old])).unwrap();
    let server = Server::start(&env, &["--store-file", "tasks.db", "--principals", "principals.yml"]);
    assert_eq!(request(server.port, "GET", "/task", "", &auth(new, "")).0, 401);
    std::fs::write(&file, principals(&[old, new])).unwrap();
    hangup(&server);
    wait_for_status(server.port, new, 200);
    assert_eq!(request(server.port, "GET", "/task", "", &auth(old, "")).0, 200, "both tokens valid during the rotation");
    std::fs::write(&file, principals(&[new])).unwrap();
    hangup(&server);
    wait_for_status(server.port, old, 401);
    std::fs::write(&file, "principals: [unclosed\n").unwrap();
    hangup(&server);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log.lock().unwrap().contains("the principals file did not load") {
        assert!(Instant::now() < deadline, "no reload error logged");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(request(server.port, "GET", "/task", "", &auth(new, "")).0, 200, "a broken file keeps the principals in use");
}

/// One raw request with exactly the given head; returns the status.
fn raw(port: u16, head: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(format!("{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    (out.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0), out)
}

#[tokio::test]
async fn cross_site_requests_and_foreign_hosts_are_refused_on_a_tokenless_serve() {
    let env = TestEnv::new("security_csrf", false);
    let server = Server::start(&env, &["--store-file", "tasks.db", "--allowed-host", "deployer.example"]);
    let port = server.port;
    let body = disable("ecs-main").to_string();
    let local = format!("Host: 127.0.0.1:{port}\r\n");
    let cases = [
        (format!("POST /ecs/ops HTTP/1.1\r\n{local}Content-Type: text/plain\r\n"), 415),
        (format!("POST /ecs/ops HTTP/1.1\r\n{local}Content-Type: application/x-www-form-urlencoded\r\n"), 415),
        (format!("POST /ecs/ops HTTP/1.1\r\n{local}\r\n").replace("\r\n\r\n", "\r\n"), 415),
        (format!("POST /ecs/ops HTTP/1.1\r\n{local}Content-Type: application/json\r\nOrigin: http://evil.example\r\n"), 403),
        (format!("POST /ecs/ops HTTP/1.1\r\n{local}Content-Type: application/json\r\nOrigin: null\r\n"), 403),
        ("POST /ecs/ops HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n".to_string(), 421),
        ("POST /ecs/ops/disableServerGroup HTTP/1.1\r\nHost: rebound.example:80\r\nContent-Type: application/json\r\n".to_string(), 421),
    ];
    for (head, expected) in &cases {
        assert_eq!(raw(port, head, &body).0, *expected, "{head}");
    }
    let (status, _) = raw(port, "GET /task HTTP/1.1\r\nHost: evil.example\r\n", "");
    assert_eq!(status, 421, "DNS rebinding cannot read tasks");
    let (status, listed) = raw(port, &format!("GET /task HTTP/1.1\r\n{local}"), "");
    assert_eq!(status, 200);
    assert!(listed.ends_with("[]"), "nothing was stored: {listed}");
    assert_eq!(raw(port, "GET /health HTTP/1.1\r\nHost: 10.0.0.7:7002\r\n", "").0, 200, "probes may use any Host");
    // Same-origin and the allowed host work.
    let head =
        format!("POST /ecs/ops HTTP/1.1\r\n{local}Content-Type: application/json; charset=utf-8\r\nOrigin: http://127.0.0.1:{port}\r\n");
    assert_eq!(raw(port, &head, &body).0, 200);
    assert_eq!(raw(port, "GET /task HTTP/1.1\r\nHost: Deployer.Example:443\r\n", "").0, 200);
}

/// Reads until the server closes the connection; true when it did within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => return false,
            Err(_) => return true,
        }
    }
}

#[tokio::test]
async fn slow_idle_and_lying_clients_are_closed_and_connections_are_capped() {
    let env = TestEnv::new("security_slow", false);
    let server =
        Server::start(&env, &["--store-file", "tasks.db", "--header-timeout", "2s", "--request-timeout", "2s", "--max-connections", "4"]);
    let port = server.port;
    // Four idle connections fill the cap: the fifth is answered 503 and closed.
    let mut idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
    let (status, answer) = raw(port, &format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"), "");
    assert_eq!(status, 503, "{answer}");
    assert!(answer.contains("--max-connections"));
    // The idle ones are closed by the header timeout, and the server answers again.
    for stream in &mut idle {
        assert!(closed_within(stream, Duration::from_secs(20)), "an idle connection stayed open");
    }
    assert_eq!(raw(port, &format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"), "").0, 200);
    // Slow headers: a line every 300 ms never completes within the header timeout.
    let slow: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream.write_all(b"GET /task HTTP/1.1\r\n").unwrap();
                for i in 0..100 {
                    std::thread::sleep(Duration::from_millis(300));
                    if stream.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes()).is_err() {
                        return true;
                    }
                }
                false
            })
        })
        .collect();
    for client in slow {
        assert!(client.join().unwrap(), "a slow client was never cut off");
    }
    // A body far over the limit is refused at once; a body that never comes ends in a 408.
    let head = format!("POST /ecs/ops HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(format!("{head}Content-Length: 1000000000000\r\n\r\n[]").as_bytes()).unwrap();
    let mut answer = String::new();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(format!("{head}Content-Length: 100\r\n\r\n[]").as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn inputs_are_bounded_whatever_they_are_and_config_quirks_load() {
    let env = TestEnv::new("security_inputs", false);
    // Nested YAML is refused before parsing.
    let deep = format!("x: {}{}\n", "[".repeat(32_000), "]".repeat(32_000));
    std::fs::write(env.dir.path().join("deep.yml"), deep).unwrap();
    let run = env.run_without_config(&["--config", "deep.yml", "list", "--account", "ecs-main", "--region", "us-west-2"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("levels deep"), "{run:?}");
    // Devices and FIFOs are read up to the limit, never drained.
    for args in [
        vec!["deploy", "--description", "/dev/zero"],
        vec!["ops", "--file", "/dev/zero"],
        vec!["deploy", "--description", "d.json", "--artifact", "/dev/urandom"],
    ] {
        std::fs::write(env.dir.path().join("d.json"), orca_create("bounded").to_string()).unwrap();
        let run = env.run(&args, None);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    let run = env.run_without_config(&["--config", "/dev/zero", "list", "--account", "ecs-main", "--region", "us-west-2"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("limit"), "{run:?}");
    let fifo = env.dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            let chunk = vec![b' '; 1024 * 1024];
            (0..64).take_while(|_| f.write_all(&chunk).is_ok()).count()
        })
    };
    let run = env.run(&["deploy", "--description", &fifo.to_string_lossy()], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(writer.join().unwrap() < 64, "the FIFO was read to its end");
    // An invalid endpoint is one line and exit 2.
    for endpoint in ["garbage", "http://", "http://a b"] {
        let config = env.config.to_string_lossy().into_owned();
        let out = env
            .command(&["--config", &config, "list", "--account", "ecs-main", "--region", "us-west-2"])
            .env("AWS_ENDPOINT_URL", endpoint)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{endpoint}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("AWS_ENDPOINT_URL"));
    }
    // A byte-order mark and YAML merge keys (SnakeYAML, so Clouddriver, accepts both).
    let text = std::fs::read_to_string(&env.config).unwrap().replace(
        "    - name: ecs-main\n      awsAccount: aws-main\n",
        "    - &main\n      name: ecs-main\n      awsAccount: aws-main\n    - <<: *main\n      name: ecs-merged\n",
    );
    std::fs::write(env.dir.path().join("quirks.yml"), format!("\u{feff}{text}")).unwrap();
    let run = env.run_without_config(&["--config", "quirks.yml", "list", "--account", "ecs-merged", "--region", "us-west-2"]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[tokio::test]
async fn secret_shaped_values_are_never_quoted_in_errors() {
    let env = TestEnv::new("security_secrets", false);
    let secret = "arn:aws:secretsmanager:us-west-2:1:secret:supersecretvalue";
    let artifacts = [
        json!({"family": "x", "containerDefinitions": [{"name": "app", "image": "nginx", "secrets": secret}]}),
        json!({"family": "x", "containerDefinitions": [{"name": "app", "image": "nginx", "repositoryCredentials": secret}]}),
        json!({"family": "x", "containerDefinitions": [{"name": "app", "image": "nginx",
            "logConfiguration": {"logDriver": "awslogs", "secretOptions": secret}}]}),
        json!({"family": "x", "containerDefinitions": [{"name": "app", "image": "nginx", "secrets": [{"name": "A", "valueFrom": 7}]}]}),
    ];
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    for (i, artifact) in artifacts.iter().enumerate() {
        let mut d = orca_create("secretsrv");
        d["useTaskDefinitionArtifact"] = json!(true);
        d["containerToImageMap"] = json!({"app": "nginx:1"});
        d["spelProcessedTaskDefinitionArtifact"] = artifact.clone();
        std::fs::write(env.dir.path().join("d.json"), d.to_string()).unwrap();
        for output in ["text", "json"] {
            let run = env.run(&["--output", output, "deploy", "--description", "d.json"], None);
            assert_eq!(run.code, 2, "case {i}: {run:?}");
            assert!(!format!("{}{}", run.stdout, run.stderr).contains("supersecret"), "case {i} {output}: {run:?}");
        }
        let (status, answer) = server.post("/ecs/ops", &json!([{"createServerGroup": d}]));
        assert_eq!(status, 400, "case {i}: {answer}");
        assert!(!answer.to_string().contains("supersecret"), "case {i}: {answer}");
    }
}

#[tokio::test]
async fn the_task_store_is_private_and_finished_tasks_are_pruned() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new("security_store", false);
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let id = server.submit(&disable("ecs-main"));
    assert_eq!(server.wait(&id).0["status"]["completed"], true);
    for file in ["tasks.db", "tasks.db-wal", "tasks.db.lock"] {
        let mode = std::fs::metadata(env.dir.path().join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    let kept = server.submit(&disable("ecs-main"));
    assert_eq!(server.wait(&kept).0["status"]["completed"], true);
    server.kill();
    let db = rusqlite::Connection::open(env.dir.path().join("tasks.db")).unwrap();
    db.execute("UPDATE ecs_deployer_tasks SET created_ms = 0 WHERE id = ?1", [&id]).unwrap();
    drop(db);
    let server = Server::start(&env, &["--store-file", "tasks.db", "--task-retention", "1h"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.request("GET", &format!("/task/{id}"), "").0 != 404 {
        assert!(Instant::now() < deadline, "the old finished task was never pruned");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.task(&kept)["status"]["completed"], true, "a recent task stays");
}

/// A certificate for localhost and 127.0.0.1 signed by a CA of its own, made with the emulator's
/// Python (moto depends on `cryptography`): (CA certificate, certificate chain, key).
pub(crate) fn certificate(dir: &std::path::Path, name: &str) -> (String, String, String) {
    let script = r#"
import sys, datetime, ipaddress
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
now = datetime.datetime.now(datetime.timezone.utc)
def build(subject, issuer, public_key, signing_key, ca):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True))
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
    return b.sign(signing_key, hashes.SHA256())
ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA " + sys.argv[4])])
ca = build(ca_name, ca_name, ca_key.public_key(), ca_key, True)
key = ec.generate_private_key(ec.SECP256R1())
leaf = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]), ca_name, key.public_key(), ca_key, False)
pem = serialization.Encoding.PEM
open(sys.argv[1], "wb").write(ca.public_bytes(pem))
open(sys.argv[2], "wb").write(leaf.public_bytes(pem) + ca.public_bytes(pem))
open(sys.argv[3], "wb").write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
"#;
    let path = |ext: &str| dir.join(format!("{name}.{ext}")).to_string_lossy().into_owned();
    let (ca, cert, key) = (path("ca"), path("crt"), path("key"));
    let out = std::process::Command::new(python()).arg("-c").arg(script).args([&ca, &cert, &key, name]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (ca, cert, key)
}

/// GET `path` over TLS, trusting only the CA certificate `ca`; the status, or None when the
/// handshake fails.
fn https_get(port: u16, ca: &str, path: &str, token: &str) -> Option<u16> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let head = format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    tls.write_all(head.as_bytes()).ok()?;
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    String::from_utf8_lossy(&out).split_whitespace().nth(1).and_then(|s| s.parse().ok())
}

#[tokio::test]
async fn tls_is_served_and_reloaded_and_plaintext_off_loopback_must_be_explicit() {
    let env = TestEnv::new("security_tls", false);
    let token = "tls-token-0123456789abcdef";
    std::fs::write(env.dir.path().join("token"), token).unwrap();
    // Off loopback: TLS or an explicit --plaintext.
    let out = env.spawn_with_env(&["serve", "--listen", "0.0.0.0:0", "--token-file", "token", "--store-file", "a.db"], &[]);
    let out = out.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--tls-cert") && stderr.contains("--plaintext"), "{stderr}");
    let mut plain =
        env.spawn_with_env(&["serve", "--listen", "0.0.0.0:0", "--token-file", "token", "--store-file", "b.db", "--plaintext"], &[]);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(plain.stderr.take().unwrap()), &mut line).unwrap();
    assert!(line.contains("listening on http://") && line.contains("plaintext"), "{line}");
    let _ = plain.kill();
    let _ = plain.wait();

    let (ca, cert, key) = certificate(env.dir.path(), "first");
    let (second_ca, second_cert, second_key) = certificate(env.dir.path(), "second");
    std::fs::copy(&cert, env.dir.path().join("live.crt")).unwrap();
    std::fs::copy(&key, env.dir.path().join("live.key")).unwrap();
    let server =
        Server::start(&env, &["--store-file", "tasks.db", "--token-file", "token", "--tls-cert", "live.crt", "--tls-key", "live.key"]);
    assert!(server.log.lock().unwrap().contains("listening on https://"));
    assert_eq!(https_get(server.port, &ca, "/health", token), Some(200));
    assert_eq!(https_get(server.port, &ca, "/task", token), Some(200));
    assert_eq!(https_get(server.port, &ca, "/task", "wrong-token-0123456789"), Some(401));
    assert_eq!(https_get(server.port, &second_ca, "/health", token), None, "the second certificate is not served yet");
    std::fs::copy(&second_cert, env.dir.path().join("live.crt")).unwrap();
    std::fs::copy(&second_key, env.dir.path().join("live.key")).unwrap();
    hangup(&server);
    let deadline = Instant::now() + Duration::from_secs(20);
    while https_get(server.port, &second_ca, "/health", token) != Some(200) {
        assert!(Instant::now() < deadline, "the certificate was not reloaded on SIGHUP");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn orcas_planning_and_cache_refresh_reads_answer_under_the_same_access_rules() {
    let env = TestEnv::new("security_reads", false);
    restrict_accounts(&env);
    write_principals(&env);
    let server = Server::start(&env, &["--store-file", "tasks.db", "--principals", "principals.yml", "--audit-file", "audit.log"]);
    let port = server.port;
    let (status, stages) = request(port, "GET", "/features/stages", "", &auth(ORCA, ""));
    assert_eq!(status, 200);
    let names: Vec<&str> = stages.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"createServerGroup") && !names.contains(&"upsertEntityTags"), "{stages}");
    assert!(stages.as_array().unwrap().iter().all(|s| s["enabled"] == true));
    assert_eq!(request(port, "GET", "/features/stages", "", "").0, 401);
    // Orca's force-cache-refresh: 200 with Clouddriver's empty answer, so it goes on at once.
    let refresh = json!({"asgName": "app-prod-v000", "serverGroupName": "app-prod-v000", "region": "us-west-2", "account": "ecs-main"});
    let (status, answer) = request(port, "POST", "/cache/ecs/ServerGroup", &refresh.to_string(), &auth(PAYMENTS, ""));
    assert_eq!((status, answer), (200, json!({"cachedIdentifiersByType": {}})));
    assert_eq!(request(port, "GET", "/cache/ecs/ServerGroup", "", &auth(PAYMENTS, "")), (200, json!([])));
    // An account the principal may not read is refused, as every read is.
    let (status, answer) = request(port, "POST", "/cache/ecs/serverGroup", &refresh.to_string(), &auth(OPS, ""));
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["errors"][0]["code"], "authorization.account");
    let audit = std::fs::read_to_string(env.dir.path().join("audit.log")).unwrap();
    assert!(audit.lines().any(|l| l.contains("\"/cache/ecs/serverGroup\"") && l.contains("\"denied\"")), "{audit}");
}
