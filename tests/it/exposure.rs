//! `serve` lends no one more than their roles (#25): artifact accounts used only by who may use
//! them and their credentials sent only to their own hosts; no spelling of a loopback or
//! link-local address reaches anything; ECS accounts that name no role inherit their AWS
//! account's; account names stay unknown to who may not use them; console sessions that cannot
//! be abused, sign-in posts only from this `serve`'s own origin, `Secure` cookies behind a load
//! balancer; audit lines for the console, sign-out, `serve`'s own undo and after logrotate; the
//! PostgreSQL store over TLS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::artifact_server::{self as fake, FakeStore};
use crate::console::{cookie_of, csrf_of, send};
use crate::harness::TestEnv;
use crate::security::{AUDITOR, OPS, PAYMENTS, ROOT, auth, restrict_accounts, write_principals};
use crate::serve::{Server, orca_create, request};

const NOBODY: &str = "nobody-token-0123456789abcdef";
const DEPLOYER: &str = "deployer-token-0123456789";

/// The principals of `security.rs` and `nobody`, who has no role at all.
fn principals_with_nobody(env: &TestEnv) {
    write_principals(env);
    let path = env.dir.path().join("principals.yml");
    let digest: String = Sha256::digest(NOBODY.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}  - {{name: nobody, tokenSha256: {digest}, roles: []}}\n")).unwrap();
}

fn append_config(env: &TestEnv, text: &str) {
    let config = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(&env.config, format!("{config}{text}")).unwrap();
}

fn task_definition() -> Value {
    json!({"family": "exposed", "containerDefinitions": [{"name": "web", "image": "nginx:1", "memory": 128, "essential": true}]})
}

fn fetch(port: u16, token: &str, artifact: &Value) -> (u16, Value) {
    request(port, "PUT", "/artifacts/fetch", &artifact.to_string(), &auth(token, ""))
}

fn audit_lines(env: &TestEnv) -> Vec<Value> {
    let text = std::fs::read_to_string(env.dir.path().join("audit.log")).unwrap_or_default();
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Waits until the audit log has a line that `matches` (audit lines are written as requests end).
fn wait_for_audit(env: &TestEnv, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(line) = audit_lines(env).into_iter().find(|l| matches(l)) {
            return line;
        }
        assert!(Instant::now() < deadline, "no audit line for {what}: {:?}", audit_lines(env));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn artifact_accounts_are_used_only_by_who_may_and_send_credentials_only_to_their_hosts() {
    let env = TestEnv::new("exposure_artifacts", false);
    restrict_accounts(&env);
    principals_with_nobody(&env);
    let store = FakeStore::start(&task_definition());
    let other = FakeStore::start(&task_definition());
    append_config(
        &env,
        &format!(
            "artifacts:
  urlRestrictions: {{rejectLocalhost: false, rejectVerbatimIps: false}}
  http:
    enabled: true
    accounts:
      - {{name: intranet, username: {user}, password: {password}, permissions: {{READ: [payments]}}, urlRestrictions: {{allowedDomains: ['127\\.0\\.0\\.1']}}}}
  github:
    enabled: true
    accounts:
      - {{name: github, token: {gh}}}
      - {{name: gh-local, token: {gh}, urlRestrictions: {{allowedDomains: ['127\\.0\\.0\\.1']}}}}
  s3:
    enabled: true
    accounts:
      - {{name: s3-ops, region: us-west-2, permissions: {{READ: [ops]}}}}
",
            user = fake::HTTP_USER,
            password = fake::HTTP_PASSWORD,
            gh = fake::GITHUB_TOKEN
        ),
    );
    let server = Server::start(&env, &["--store-file", "tasks.db", "--principals", "principals.yml", "--audit-file", "audit.log"]);
    let port = server.port;
    let github_file = |account: &str, path: &str| json!({"type": "github/file", "reference": store.url(path), "artifactAccount": account, "version": "main"});
    let http_file = |account: &str, url: String| json!({"type": "http/file", "reference": url, "artifactAccount": account});

    // No roles, or no WRITE anywhere: no artifact account but the embedded one, nothing fetched.
    for token in [NOBODY, AUDITOR] {
        let (status, answer) = fetch(port, token, &github_file("gh-local", "/steal"));
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["message"], "Access denied to artifact account gh-local");
        let (status, listed) = request(port, "GET", "/artifacts/credentials", "", &auth(token, ""));
        assert_eq!((status, listed.as_array().unwrap().len()), (200, 1), "{listed}");
        assert_eq!(listed[0]["name"], "embedded-artifact");
    }
    let (status, _) =
        fetch(port, NOBODY, &json!({"type": "s3/object", "reference": "s3://only-serve-reads/td.json", "artifactAccount": "s3-ops"}));
    assert_eq!(status, 403);
    let (status, _) = fetch(port, NOBODY, &http_file("intranet", store.url("/http/td.json")));
    assert_eq!(status, 403);
    assert!(store.seen("/").is_empty(), "nothing reached the store: {:?}", store.seen("/"));

    // Each principal sees the accounts it may use.
    let names = |token: &str| -> Vec<String> {
        let (_, listed) = request(port, "GET", "/artifacts/credentials", "", &auth(token, ""));
        listed.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(PAYMENTS), ["embedded-artifact", "intranet", "github", "gh-local"]);
    assert_eq!(names(OPS), ["embedded-artifact", "s3-ops", "github", "gh-local"]);
    assert_eq!(names(ROOT).len(), 5);
    let (status, _) = fetch(port, DEPLOYER, &http_file("intranet", store.url("/http/td.json")));
    assert_eq!(status, 403, "WRITE on an ECS account is not READ on a restricted artifact account");

    // A permitted fetch works; a token goes nowhere but its account's hosts.
    let (status, fetched) = fetch(port, PAYMENTS, &http_file("intranet", store.url("/http/td.json")));
    assert_eq!((status, &fetched["family"]), (200, &json!("exposed")), "{fetched}");
    let (status, refused) = fetch(port, PAYMENTS, &github_file("github", "/steal"));
    assert_eq!(status, 400, "{refused}");
    let message = refused.to_string();
    assert!(message.contains("artifact account `github` may not reach 127.0.0.1") && message.contains("allowed domains"), "{message}");
    assert!(store.seen("/steal").is_empty(), "GitHub's token went to another host");

    // Redirects: another port drops the credentials; a host outside the allowed domains is refused.
    let elsewhere = other.url("/http/td.json");
    let (status, _) = fetch(port, PAYMENTS, &http_file("intranet", store.url(&format!("/redirect?to={elsewhere}"))));
    assert_eq!(status, 400, "the other store refuses a request without credentials");
    assert_eq!(other.seen("/http/td.json")[0].header("authorization"), None, "the credentials followed a redirect to another origin");
    let local = format!("http://localhost:{}/http/td.json", store.port);
    let before = store.seen("/http/td.json").len();
    let (status, refused) = fetch(port, PAYMENTS, &http_file("intranet", store.url(&format!("/redirect?to={local}"))));
    assert_eq!(status, 400);
    assert!(refused.to_string().contains("localhost"), "{refused}");
    assert_eq!(store.seen("/http/td.json").len(), before, "the redirect's target was refused before connecting");

    // A deploy through an artifact account the poster may not use: 403, nothing fetched, audited.
    let mut description = orca_create("exposed");
    description["useTaskDefinitionArtifact"] = json!(true);
    description["resolvedTaskDefinitionArtifact"] = http_file("intranet", store.url("/http/td.json?deploy"));
    description["containerMappings"] = json!([{"containerName": "web", "imageDescription": {"imageId": "nginx:2"}}]);
    let ops = json!([{"createServerGroup": description}]).to_string();
    let (status, answer) = request(port, "POST", "/ecs/ops", &ops, &auth(DEPLOYER, ""));
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["errors"][0]["code"], "authorization.artifactAccount");
    let (status, _) = request(port, "POST", "/ecs/ops", &ops, &auth(NOBODY, ""));
    assert_eq!(status, 403);
    assert!(store.seen("/http/td.json?deploy").is_empty());
    let denied = wait_for_audit(&env, "the denied deploy", |l| l["outcome"] == "denied" && l["principal"] == "deployer");
    assert!(denied["reason"].as_str().unwrap().contains("artifact account intranet"), "{denied}");
    let fetches = audit_lines(&env).into_iter().filter(|l| l["path"] == "/artifacts/fetch" && l["outcome"] == "denied").count();
    assert_eq!(fetches, 5, "every refused fetch is audited");
}

#[tokio::test]
async fn no_spelling_of_loopback_or_link_local_reaches_an_address_the_restrictions_refuse() {
    let env = TestEnv::new("exposure_spellings", false);
    let store = FakeStore::start(&task_definition());
    // Verbatim addresses and any name allowed: every spelling gets as far as its addresses.
    append_config(
        &env,
        "artifacts:\n  urlRestrictions: {rejectVerbatimIps: false, allowedHostnamesRegex: '.*'}\n  http:\n    enabled: true\n",
    );
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let port = store.port;
    let loopback = [
        "127.0.0.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "127.000.000.001",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "localhost",
        "[::1]",
    ];
    for host in loopback {
        let artifact = json!({"type": "http/file", "reference": format!("http://{host}:{port}/http/td.json")});
        let (status, answer) = server.request("PUT", "/artifacts/fetch", &artifact.to_string());
        assert_eq!(status, 400, "{host}: {answer}");
    }
    assert!(store.seen("/").is_empty(), "a loopback spelling reached the fake: {:?}", store.seen("/"));
    let link_local = [
        "169.254.169.254",
        "[::ffff:169.254.169.254]",
        "[::ffff:a9fe:a9fe]",
        "2852039166",
        "0xa9fea9fe",
        "0251.0376.0251.0376",
        "169.254.43518",
        "169.254.169.254.",
        "[::ffff:169.254.170.2]",
        "[fd00:ec2::254]",
    ];
    for host in link_local {
        let artifact = json!({"type": "http/file", "reference": format!("http://{host}/latest/meta-data/")});
        let (status, answer) = server.request("PUT", "/artifacts/fetch", &artifact.to_string());
        assert_eq!(status, 400, "{host}: {answer}");
        assert!(answer.to_string().contains("link-local"), "{host}: {answer}");
    }
    let artifact = json!({"type": "http/file", "reference": "http://instance-data.ec2.internal/latest/meta-data/"});
    let (status, answer) = server.request("PUT", "/artifacts/fetch", &artifact.to_string());
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("excludedDomains"), "{answer}");
}

#[tokio::test]
async fn ecs_accounts_that_name_no_role_inherit_and_account_names_stay_unknown_to_outsiders() {
    let env = TestEnv::new("exposure_inherit", false);
    restrict_accounts(&env);
    principals_with_nobody(&env);
    let config = std::fs::read_to_string(&env.config).unwrap();
    let config = config
        .replacen(
            "    - name: ecs-main\n      awsAccount: aws-main\n",
            "    - name: ecs-main\n      awsAccount: aws-main\n      permissions: {}\n",
            1,
        )
        .replacen("      namingStrategy: tags\n", "      namingStrategy: tags\n      requiredGroupMembership: []\n", 1);
    std::fs::write(&env.config, config).unwrap();
    let validated = env.run(&["accounts", "validate"], None);
    assert_eq!(validated.code, 0, "{validated:?}");
    assert_eq!(validated.json["warnings"], json!([]), "inherited permissions are the AWS account's: {}", validated.stdout);

    let server = Server::start(&env, &["--store-file", "tasks.db", "--principals", "principals.yml", "--audit-file", "audit.log"]);
    let port = server.port;
    let disable = |account: &str, region: &str| {
        json!([{"disableServerGroup": {"credentials": account, "region": region, "serverGroupName": "nosuch-prod-v000"}}]).to_string()
    };
    for account in ["ecs-main", "ecs-tags"] {
        let (status, answer) = request(port, "POST", "/ecs/ops", &disable(account, "us-west-2"), &auth(NOBODY, ""));
        assert_eq!(status, 403, "{account}: {answer}");
    }
    // Nothing about other accounts before authorization: not their names, not their regions.
    for (account, region) in [("zzz", "us-west-2"), ("ecs-main", "nowhere-1")] {
        let (status, answer) = request(port, "POST", "/ecs/ops", &disable(account, region), &auth(NOBODY, ""));
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["message"], format!("Access denied to account {account}"));
        let text = answer.to_string();
        for secret in ["ecs-second", "ecs-legacy", "us-east-1", "known ECS accounts"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
    let mut create = orca_create("outsider");
    create["source"] = json!({"account": "zzz", "region": "us-west-2", "asgName": "x-v000"});
    let (status, _) = request(port, "POST", "/ecs/ops", &json!([{"createServerGroup": create}]).to_string(), &auth(PAYMENTS, ""));
    assert_eq!(status, 403, "a source account that does not exist is denied like one that does");
    // A principal with WRITE still gets validation's help.
    let (status, answer) = request(port, "POST", "/ecs/ops", &disable("ecs-main", "nowhere-1"), &auth(PAYMENTS, ""));
    assert_eq!(status, 400, "{answer}");

    // Warnings: an ECS account wider than its AWS account, and two on one AWS account that differ.
    server.kill();
    let config = std::fs::read_to_string(&env.config).unwrap();
    let config =
        config.replacen("      iamRoleMode: legacy\n", "      iamRoleMode: legacy\n      permissions: {WRITE: [payments, interns]}\n", 1);
    std::fs::write(&env.config, config).unwrap();
    let validated = env.run(&["accounts", "validate"], None);
    assert_eq!(validated.code, 0, "warnings do not fail the configuration: {validated:?}");
    let warnings = validated.json["warnings"].to_string();
    assert!(warnings.contains("ECS account `ecs-legacy` gives WRITE to roles its AWS account `aws-main` does not"), "{warnings}");
    assert!(warnings.contains("ride on AWS account `aws-main` in us-west-2 with different permissions"), "{warnings}");
}

/// Sends `count` requests on one keep-alive connection; the last answer's status.
fn keep_alive(port: u16, head: &str, count: usize) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut status = 0;
    let mut buf = Vec::new();
    for _ in 0..count {
        stream.write_all(head.as_bytes()).unwrap();
        buf.clear();
        let mut chunk = [0u8; 8192];
        // Each answer ends with its Content-Length'd body; read until the whole answer is in.
        loop {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "serve closed the connection");
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                    .unwrap_or(0);
                if body.len() >= length {
                    status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
                    break;
                }
            }
        }
    }
    status
}

fn sign_in(port: u16, token: &str, origin: &str) -> crate::console::Answer {
    let form = send(port, "GET", "/console/sign-in", "", "");
    let (cookie, csrf) = (cookie_of(&form), csrf_of(&form.body));
    let headers = format!("Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: {origin}\r\n");
    send(port, "POST", "/console/sign-in", &headers, &format!("csrf={csrf}&token={token}"))
}

#[tokio::test]
async fn console_sessions_cannot_be_abused_and_sign_in_comes_only_from_this_origin() {
    let env = TestEnv::new("exposure_sessions", false);
    restrict_accounts(&env);
    principals_with_nobody(&env);
    let server = Server::start(&env, &["--store-file", "tasks.db", "--principals", "principals.yml", "--audit-file", "audit.log"]);
    let port = server.port;
    let own = format!("http://127.0.0.1:{port}");

    // A valid token padded to 1 MiB is refused, not kept.
    let padded = format!("{ROOT}{}", "+".repeat(1 << 20));
    let refused = sign_in(port, &padded, &own);
    assert_eq!(refused.status, 401, "{}", refused.body);
    // Login CSRF: another local port's page, or a post without the form's pre-session token.
    let elsewhere = sign_in(port, ROOT, "http://127.0.0.1:9999");
    assert_eq!(elsewhere.status, 403, "{}", elsewhere.body);
    let headers = format!("Content-Type: application/x-www-form-urlencoded\r\nOrigin: {own}\r\n");
    let forged = send(port, "POST", "/console/sign-in", &headers, &format!("token={ROOT}"));
    assert_eq!(forged.status, 403, "{}", forged.body);
    let signed_in = sign_in(port, ROOT, &own);
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let cookie = cookie_of(&signed_in);
    let cookie_header = format!("Cookie: {cookie}\r\n");
    assert_eq!(send(port, "GET", "/console/tasks/none", &cookie_header, "").status, 404, "signed in");
    let set_cookie = signed_in.header("set-cookie").unwrap();
    assert!(!set_cookie.contains("Secure"), "plain HTTP on loopback: a browser would drop a Secure cookie: {set_cookie}");

    // 10,000 cheap requests with a bearer token make no session and evict nobody's.
    let head = format!("GET /console/tasks/none HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {NOBODY}\r\n\r\n");
    assert_eq!(keep_alive(port, &head, 10_000), 404);
    assert_eq!(send(port, "GET", "/console/tasks/none", &cookie_header, "").status, 404, "the session survived");
    // One principal signing in again and again ends only its own oldest sessions.
    let first_nobody = cookie_of(&sign_in(port, NOBODY, &own));
    for _ in 0..16 {
        assert_eq!(sign_in(port, NOBODY, &own).status, 303);
    }
    assert_eq!(send(port, "GET", "/console/tasks/none", &format!("Cookie: {first_nobody}\r\n"), "").status, 303, "its oldest ended");
    assert_eq!(send(port, "GET", "/console/tasks/none", &cookie_header, "").status, 404, "root's session is untouched");

    // Sign-in, a console denial and sign-out are audited.
    let ops = json!([{"disableServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "serverGroupName": "nosuch-prod-v000"}}]);
    let (status, posted) = request(port, "POST", "/ecs/ops", &ops.to_string(), &auth(ROOT, ""));
    assert_eq!(status, 200, "{posted}");
    let task = posted["id"].as_str().unwrap().to_string();
    let nobody_cookie = cookie_of(&sign_in(port, NOBODY, &own));
    let page = send(port, "GET", &format!("/console/tasks/{task}"), &format!("Cookie: {nobody_cookie}\r\n"), "");
    assert_eq!(page.status, 403);
    wait_for_audit(&env, "the console's denial", |l| l["path"] == format!("/console/tasks/{task}") && l["outcome"] == "denied");
    wait_for_audit(&env, "sign-in", |l| l["outcome"] == "signed-in" && l["principal"] == "nobody");
    let page = send(port, "GET", "/console", &cookie_header, "");
    let csrf = csrf_of(&page.body);
    let headers = format!("{cookie_header}Content-Type: application/x-www-form-urlencoded\r\nOrigin: {own}\r\n");
    assert_eq!(send(port, "POST", "/console/sign-out", &headers, &format!("csrf={csrf}")).status, 303);
    wait_for_audit(&env, "sign-out", |l| l["outcome"] == "signed-out" && l["principal"] == "root");
    assert_eq!(send(port, "GET", "/console/tasks/none", &cookie_header, "").status, 303, "signed out");
}

#[tokio::test]
async fn behind_a_load_balancer_the_cookie_is_secure_and_only_its_origin_may_post() {
    let env = TestEnv::new("exposure_secure", false);
    principals_with_nobody(&env);
    let args = ["--store-file", "tasks.db", "--principals", "principals.yml", "--plaintext", "--allowed-host", "deployer.internal"];
    let server = Server::start_listening(&env, "0.0.0.0:0", &args);
    let port = server.port;
    // The load balancer forwards the browser's Host; the browser's Origin is the https one.
    let form = send_to(port, "deployer.internal", "GET", "/console/sign-in", "", "");
    let (cookie, csrf) = (cookie_of(&form), csrf_of(&form.body));
    assert!(form.header("set-cookie").unwrap().contains("; Secure"), "--plaintext off loopback: TLS ends in front");
    let headers = format!("Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: https://deployer.internal\r\n");
    let body = format!("csrf={csrf}&token={ROOT}");
    let other_port = headers.replace("https://deployer.internal", "https://deployer.internal:8443");
    assert_eq!(send_to(port, "deployer.internal", "POST", "/console/sign-in", &other_port, &body).status, 403, "another port");
    let other_host = headers.replace("https://deployer.internal", "https://evil.example");
    assert_eq!(send_to(port, "deployer.internal", "POST", "/console/sign-in", &other_host, &body).status, 403, "another host");
    let ok = send_to(port, "deployer.internal", "POST", "/console/sign-in", &headers, &body);
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(ok.header("set-cookie").unwrap().contains("; Secure"));
    drop(server);

    // --external-url names the origin browsers use (and whether the cookie is Secure).
    let args =
        ["--store-file", "tasks.db", "--principals", "principals.yml", "--plaintext", "--external-url", "http://console.internal:8080"];
    let server = Server::start_listening(&env, "0.0.0.0:0", &args);
    let port = server.port;
    let form = send_to(port, "console.internal:8080", "GET", "/console/sign-in", "", "");
    assert!(!form.header("set-cookie").unwrap().contains("Secure"), "the external URL is plain http");
    let (cookie, csrf) = (cookie_of(&form), csrf_of(&form.body));
    let headers =
        format!("Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: http://console.internal:8080\r\n");
    let ok = send_to(port, "console.internal:8080", "POST", "/console/sign-in", &headers, &format!("csrf={csrf}&token={ROOT}"));
    assert_eq!(ok.status, 303, "{}", ok.body);
}

/// One request with the `Host` a load balancer forwards.
fn send_to(port: u16, host: &str, method: &str, path: &str, headers: &str, body: &str) -> crate::console::Answer {
    crate::console::send(port, method, path, &format!("Host: {host}\r\n{headers}"), body)
}

#[tokio::test]
async fn the_audit_file_is_opened_again_on_sighup_after_logrotate_moved_it() {
    let env = TestEnv::new("exposure_logrotate", false);
    restrict_accounts(&env);
    principals_with_nobody(&env);
    let server = Server::start(&env, &["--store-file", "tasks.db", "--principals", "principals.yml", "--audit-file", "audit.log"]);
    let deny = |marker: &str| {
        let ops = json!([{"disableServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "serverGroupName": marker}}]);
        assert_eq!(request(server.port, "POST", "/ecs/ops", &ops.to_string(), &auth(NOBODY, "")).0, 403);
    };
    deny("before-rotation");
    wait_for_audit(&env, "the first denial", |l| l["outcome"] == "denied");
    let (current, rotated) = (env.dir.path().join("audit.log"), env.dir.path().join("audit.log.1"));
    std::fs::rename(&current, &rotated).unwrap();
    crate::security::hangup(&server);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log.lock().unwrap().contains("SIGHUP: audit file opened again") {
        assert!(Instant::now() < deadline, "SIGHUP was not handled: {}", server.log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(20));
    }
    deny("after-rotation");
    wait_for_audit(&env, "the denial after rotation", |l| l["outcome"] == "denied");
    assert_eq!(std::fs::read_to_string(&rotated).unwrap().lines().count(), 1, "nothing more went to the rotated file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&current).unwrap().permissions().mode() & 0o777, 0o600);
    }
}

/// Whether PostgreSQL's connections named `application` are encrypted (one answer per connection).
async fn connections_encrypted(application: &str) -> Vec<bool> {
    let url = std::env::var("ECS_DEPLOYER_TEST_POSTGRES_URL").unwrap();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let query = "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1";
    client.query(query, &[&application]).await.unwrap().iter().map(|r| r.get::<_, bool>(0)).collect()
}

#[tokio::test]
async fn the_postgres_store_speaks_tls_and_verifies_the_server_when_asked() {
    let env = TestEnv::new("exposure_pg_tls", false);
    let url = crate::serve::postgres_database("tls").await;
    let ca = std::env::var("ECS_DEPLOYER_TEST_POSTGRES_CA").expect("scripts/test starts PostgreSQL with TLS and exports its CA");
    let disable =
        json!([{"disableServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "serverGroupName": "nosuch-prod-v000"}}]);
    for (query, application, encrypted) in [
        (format!("sslmode=verify-full&sslrootcert={ca}"), "ecsd_tls_full", true),
        (format!("sslmode=verify-ca&sslrootcert={ca}"), "ecsd_tls_ca", true),
        ("sslmode=require".to_string(), "ecsd_tls_require", true),
        (String::new(), "ecsd_tls_default", true),
        ("sslmode=disable".to_string(), "ecsd_tls_off", false),
    ] {
        let store = format!("{url}?{query}&application_name={application}");
        let server = Server::start(&env, &["--postgres-url", &store]);
        let (task, _) = server.wait(&server.submit(&disable));
        assert_eq!(task["status"]["completed"], true, "{query}: {task}");
        let seen = connections_encrypted(application).await;
        assert!(!seen.is_empty() && seen.iter().all(|s| *s == encrypted), "{query}: {seen:?}");
    }
    // A server certificate from another CA is refused: nothing is sent to it, exit 1.
    let (other_ca, _, _) = crate::security::certificate(env.dir.path(), "other");
    let store = format!("{url}?sslmode=verify-full&sslrootcert={other_ca}");
    let refused = env.run(&["serve", "--listen", "127.0.0.1:0", "--postgres-url", &store], None);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stdout.contains("certificate") || refused.stdout.contains("UnknownIssuer"), "{refused:?}");
    let bad = env.run(&["serve", "--listen", "127.0.0.1:0", "--postgres-url", &format!("{url}?sslmode=verify-full")], None);
    assert_eq!(bad.code, 2, "verify-full without a CA is a configuration error: {bad:?}");
    assert!(bad.stdout.contains("sslrootcert"), "{bad:?}");
}
