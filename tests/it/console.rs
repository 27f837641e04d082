//! The web console over HTTP (as a browser sends it: GETs, form posts with the session cookie):
//! what the cluster and server group pages show, the confirmation, a disable that runs as a task
//! and changes the state, the CSRF token a form must carry, sign-in with a token and its cookie,
//! the security headers, and AWS-derived text escaped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::deploy::fargate;
use crate::harness::TestEnv;
use crate::serve::Server;

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request as a browser would send it (`Host: 127.0.0.1:PORT` unless `headers`
/// start with a `Host` of their own).
pub(crate) fn send(port: u16, method: &str, path: &str, headers: &str, body: &str) -> Answer {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let host = if headers.starts_with("Host: ") { String::new() } else { format!("Host: 127.0.0.1:{port}\r\n") };
    write!(stream, "{method} {path} HTTP/1.1\r\n{host}{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string())).collect();
    Answer { status, headers, body: body.to_string() }
}

/// The part of an application page about one account's cluster.
fn section<'a>(body: &'a str, account: &str) -> &'a str {
    let start = body.find(&format!("in {account}</span>")).expect("the account's cluster");
    let rest = &body[start..];
    &rest[..rest.find("<section").unwrap_or(rest.len())]
}

pub(crate) fn cookie_of(answer: &Answer) -> String {
    answer.header("set-cookie").and_then(|c| c.split(';').next()).expect("a session cookie").to_string()
}

pub(crate) fn csrf_of(body: &str) -> String {
    body.split("name=\"csrf\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a CSRF field").to_string()
}

/// A confirmation form's one-time token.
pub(crate) fn form_of(body: &str) -> String {
    body.split("name=\"form\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a one-time form token").to_string()
}

pub(crate) fn form_post(port: u16, path: &str, cookie: &str, body: &str) -> Answer {
    let headers = format!("Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: http://127.0.0.1:{port}\r\n");
    send(port, "POST", path, &headers, body)
}

pub(crate) async fn two_server_groups(env: &TestEnv, app: &str) {
    for marker in ["<script>alert('v0')</script>", "plain"] {
        let mut d = fargate(app);
        d["spelProcessedTaskDefinitionArtifact"]["containerDefinitions"][0]["environment"] = json!([{"name": "BANNER", "value": marker}]);
        let run = env.deploy(&d, &[]);
        assert_eq!(run.code, 0, "{run:?}");
    }
    let aws = env.aws().await;
    for name in [format!("{app}-web-v000"), format!("{app}-web-v001")] {
        aws.reconcile(&name).await;
    }
}

#[tokio::test]
async fn the_console_shows_a_cluster_and_disables_its_old_server_group_through_a_confirmation() {
    let env = TestEnv::new("console_shows_and_disables", false);
    two_server_groups(&env, "cona").await;
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let port = server.port;

    assert_eq!(send(port, "GET", "/", "", "").header("location"), Some("/console"));
    let home = send(port, "GET", "/console", "", "");
    assert!(home.body.contains("href=\"/console/applications/cona\""), "the applications are listed: {}", home.body);
    let page = send(port, "GET", "/console/applications/cona", "", "");
    assert_eq!(page.status, 200, "{}", page.body);
    for (header, value) in [("x-frame-options", "DENY"), ("referrer-policy", "same-origin"), ("x-content-type-options", "nosniff")] {
        assert_eq!(page.header(header), Some(value));
    }
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let cookie = page.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Max-Age="), "{cookie}");
    assert!(!page.body.contains("<script") && !page.body.contains("style="), "no script, no inline style (the CSP allows neither)");
    let v0 = page.body.find("cona-web-v000").expect("v000 listed");
    let v1 = page.body.find("cona-web-v001").expect("v001 listed");
    assert!(v1 < v0, "newest first");
    // (The test's configuration has three ECS accounts on one AWS account: each lists the cluster.)
    assert_eq!(section(&page.body, "ecs-main").matches("badge on").count(), 2, "both enabled: {}", page.body);
    assert!(page.body.contains("3 up · 0 starting · 0 down · 0 unknown"), "{}", page.body);
    assert!(page.body.contains("no alarms"), "the scaling column");
    assert!(page.body.contains("web-tg 6/6"), "the target group's healthy / registered targets (both groups'): {}", page.body);

    // The old one's page: its env value is text, never markup.
    let details = send(port, "GET", "/console/server-groups/ecs-main/us-west-2/cona-web-v000", "", "");
    assert_eq!(details.status, 200);
    assert!(
        details.body.contains("BANNER=&lt;script&gt;alert(&#39;v0&#39;)&lt;/script&gt;")
            || details.body.contains("BANNER=&lt;script&gt;alert('v0')&lt;/script&gt;"),
        "{}",
        details.body
    );
    assert!(!details.body.contains("<script>alert"));

    // The confirmation says what will happen, and who keeps serving.
    let cookie = cookie_of(&page);
    let confirm = send(port, "GET", "/console/confirm/disable/ecs-main/us-west-2/cona-web-v000", &format!("Cookie: {cookie}\r\n"), "");
    assert_eq!(confirm.status, 200);
    assert!(
        confirm.body.contains("disable cona-web-v000: suspend its scaling") && confirm.body.contains("cona-web-v001 keeps serving"),
        "{}",
        confirm.body
    );
    let csrf = csrf_of(&confirm.body);

    // Without the CSRF token: 403 and nothing changed.
    let refused = form_post(port, "/console/actions/disable/ecs-main/us-west-2/cona-web-v000", &cookie, "");
    assert_eq!(refused.status, 403, "{}", refused.body);
    let refused = form_post(port, "/console/actions/disable/ecs-main/us-west-2/cona-web-v000", &cookie, "csrf=wrong");
    assert_eq!(refused.status, 403);
    let aws = env.aws().await;
    assert_eq!(aws.service("cona-web-v000").await.unwrap().desired_count, 3);

    // With it: a task, whose page refreshes until it is done; then the state has changed.
    let form = form_of(&confirm.body);
    let done = form_post(port, "/console/actions/disable/ecs-main/us-west-2/cona-web-v000", &cookie, &format!("csrf={csrf}&form={form}"));
    assert_eq!(done.status, 303, "{}", done.body);
    let task_page = done.header("location").unwrap().to_string();
    assert!(task_page.starts_with("/console/tasks/"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let t = send(port, "GET", &task_page, &format!("Cookie: {cookie}\r\n"), "");
        assert_eq!(t.status, 200);
        if t.header("refresh").is_none() {
            assert!(t.body.contains("Orchestration completed"), "{}", t.body);
            break;
        }
        assert!(Instant::now() < deadline, "the task did not finish: {}", t.body);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(aws.service("cona-web-v000").await.unwrap().desired_count, 0);
    let page = send(port, "GET", "/console/applications/cona", "", "");
    assert_eq!(section(&page.body, "ecs-main").matches("badge on").count(), 1, "only v001 is enabled now");
    assert_eq!(
        section(&page.body, "ecs-tags").matches("badge on").count(),
        1,
        "a write is seen through every ECS account on the AWS account"
    );
    let details = send(port, "GET", "/console/server-groups/ecs-main/us-west-2/cona-web-v000", "", "");
    assert!(details.body.contains("Orchestration completed"), "the server group's history: {}", details.body);

    // Destroy needs the typed name; disabling the last enabled one asks for a second confirmation.
    let confirm = send(port, "GET", "/console/confirm/disable/ecs-main/us-west-2/cona-web-v001", &format!("Cookie: {cookie}\r\n"), "");
    assert!(confirm.body.contains("no enabled server group") && confirm.body.contains("name=\"acknowledge\""), "{}", confirm.body);
    let refused = form_post(
        port,
        "/console/actions/destroy/ecs-main/us-west-2/cona-web-v000",
        &cookie,
        &format!("csrf={csrf}&form={form}&confirmName=wrong"),
    );
    assert_eq!(refused.status, 400);
    assert!(aws.service("cona-web-v000").await.is_some());
}

#[tokio::test]
async fn with_principals_the_console_signs_in_with_a_token_and_keeps_it_server_side() {
    let env = TestEnv::new("console_sign_in", false);
    crate::security::write_principals(&env);
    let server = Server::start(&env, &["--store-file", "tasks.db", "--principals", "principals.yml"]);
    let port = server.port;
    let page = send(port, "GET", "/console", "", "");
    assert_eq!((page.status, page.header("location")), (303, Some("/console/sign-in")));
    let form = send(port, "GET", "/console/sign-in", "", "");
    assert!(form.status == 200 && form.body.contains("type=\"password\""));
    let (pre_session, csrf) = (cookie_of(&form), csrf_of(&form.body));
    let headers =
        format!("Cookie: {pre_session}\r\nContent-Type: application/x-www-form-urlencoded\r\nOrigin: http://127.0.0.1:{port}\r\n");
    let wrong = send(port, "POST", "/console/sign-in", &headers, &format!("csrf={csrf}&token=nope"));
    assert_eq!(wrong.status, 401);
    let ok = send(port, "POST", "/console/sign-in", &headers, &format!("csrf={csrf}&token={}", crate::security::ROOT));
    assert_eq!(ok.status, 303, "{}", ok.body);
    let cookie = ok.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains(crate::security::ROOT), "{cookie}");
    let home = send(port, "GET", "/console", &format!("Cookie: {}\r\n", cookie_of(&ok)), "");
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("Signed in as root") && !home.body.contains(crate::security::ROOT));
    // A forged cookie gets nowhere; the API still wants its bearer token.
    let forged = send(port, "GET", "/console", "Cookie: ecsd_session=0123\r\n", "");
    assert_eq!(forged.status, 303);
    let api = send(port, "GET", "/task", &format!("Cookie: {}\r\n", cookie_of(&ok)), "");
    assert_eq!(api.status, 401, "the session cookie is the console's only");
}

#[tokio::test]
async fn a_new_version_is_deployed_from_an_existing_one_with_a_new_image() {
    let env = TestEnv::new("console_redeploy", false);
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let port = server.port;
    let (task, _) = server.wait(&server.submit(&json!([{"createServerGroup": fargate("cond")}])));
    assert_eq!(task["status"]["failed"], false, "{task}");
    env.aws().await.reconcile("cond-web-v000").await;

    let page = send(port, "GET", "/console/confirm/redeploy/ecs-main/us-west-2/cond-web-v000", "", "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"image.web\" value=\"nginx:1.27.9\""), "{}", page.body);
    let cookie = cookie_of(&page);
    let (csrf, form) = (csrf_of(&page.body), form_of(&page.body));
    let body = format!("csrf={csrf}&form={form}&image.web=nginx%3A1.28.0");
    let path = "/console/actions/redeploy/ecs-main/us-west-2/cond-web-v000";
    let posted = form_post(port, path, &cookie, &body);
    assert_eq!(posted.status, 303, "{}", posted.body);
    // A double click: the same form posted again is the same task, not a second deploy.
    let again = form_post(port, path, &cookie, &body);
    assert_eq!((again.status, again.header("location")), (303, posted.header("location")), "{}", again.body);
    let id = posted.header("location").unwrap().rsplit('/').next().unwrap().to_string();
    let (task, _) = server.wait(&id);
    assert!(env.aws().await.service("cond-web-v002").await.is_none(), "one deploy for the double click");
    assert_eq!(task["status"]["failed"], false, "{task}");
    let aws = env.aws().await;
    let new = aws.service("cond-web-v001").await.expect("the new version");
    let td = aws.task_definition(new.task_definition.as_deref().unwrap()).await;
    assert_eq!(td.container_definitions()[0].image(), Some("nginx:1.28.0"));
    assert_eq!(new.desired_count, 3, "the source's capacity");
    assert_eq!(aws.service("cond-web-v000").await.unwrap().desired_count, 3, "the old one keeps serving");

    // A server group deployed some other way (the CLI) gets its new version the same way: a
    // clone of the live server group.
    let run = env.deploy(&fargate("cone"), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let page = send(port, "GET", "/console/confirm/redeploy/ecs-main/us-west-2/cone-web-v000", &format!("Cookie: {cookie}\r\n"), "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"image.web\" value=\"nginx:1.27.9\""), "its containers with their images: {}", page.body);
    let body = format!("csrf={csrf}&form={}&image.web=nginx%3A1.28.1", form_of(&page.body));
    let posted = form_post(port, "/console/actions/redeploy/ecs-main/us-west-2/cone-web-v000", &cookie, &body);
    assert_eq!(posted.status, 303, "{}", posted.body);
    let (task, _) = server.wait(posted.header("location").unwrap().rsplit('/').next().unwrap());
    assert_eq!(task["status"]["failed"], false, "{task}");
    let new = aws.service("cone-web-v001").await.expect("the CLI-deployed group's new version");
    let td = aws.task_definition(new.task_definition.as_deref().unwrap()).await;
    assert_eq!(td.container_definitions()[0].image(), Some("nginx:1.28.1"));
}

/// `fargate(app)` in `region` (whose fixtures must exist).
fn fargate_in(app: &str, region: &str) -> serde_json::Value {
    let mut d = fargate(app);
    d["availabilityZones"] = json!({ region: [format!("{region}a"), format!("{region}b")] });
    d
}

#[tokio::test]
async fn console_actions_act_on_the_account_region_and_ecs_cluster_of_the_page() {
    let env = TestEnv::new("console_scope", false);
    env.fixtures_in(&env.account_id, "us-east-1");
    // us-east-1 has scope-web-v000 and v001 enabled; us-west-2 only scope-web-v000.
    for region in ["us-east-1", "us-east-1", "us-west-2"] {
        let run = env.deploy(&fargate_in("scope", region), &[]);
        assert_eq!(run.code, 0, "{run:?}");
    }
    let server = Server::start(&env, &["--store-file", "tasks.db", "--read-ttl", "0s"]);
    let port = server.port;
    let confirm = send(port, "GET", "/console/confirm/disable/ecs-main/us-west-2/scope-web-v000", "", "");
    assert!(confirm.body.contains("no other server group of its cluster is enabled"), "peers are of one region: {}", confirm.body);
    assert!(confirm.body.contains("name=\"acknowledge\""), "{}", confirm.body);
    let (cookie, csrf, form) = (cookie_of(&confirm), csrf_of(&confirm.body), form_of(&confirm.body));
    let refused =
        form_post(port, "/console/actions/disable/ecs-main/us-west-2/scope-web-v000", &cookie, &format!("csrf={csrf}&form={form}"));
    assert_eq!(refused.status, 400, "the only enabled group of us-west-2 needs the second confirmation: {}", refused.body);

    // A resize to 0/0/0 of the last enabled group asks too.
    let confirm = send(port, "GET", "/console/confirm/resize/ecs-main/us-west-2/scope-web-v000", &format!("Cookie: {cookie}\r\n"), "");
    let form = form_of(&confirm.body);
    let path = "/console/actions/resize/ecs-main/us-west-2/scope-web-v000";
    let refused = form_post(port, path, &cookie, &format!("csrf={csrf}&form={form}&min=0&max=0&desired=0"));
    assert_eq!(refused.status, 400, "{}", refused.body);
    let aws = env.aws().await;
    assert_eq!(aws.service("scope-web-v000").await.unwrap().desired_count, 3, "nothing changed");

    // When what keeps serving cannot be read, the check refuses instead of going on.
    let deny = json!({"rules": [{"operation": "DescribeServices", "match": "scope-web", "action": "deny", "times": 20,
        "status": 400, "code": "AccessDeniedException", "message": "injected: not authorized to perform ecs:DescribeServices"}]});
    env.http("POST", "/_harness", &deny.to_string());
    let disable = "/console/actions/disable/ecs-main/us-east-1/scope-web-v001";
    let refused = form_post(port, disable, &cookie, &format!("csrf={csrf}&form={form}"));
    env.http("POST", "/_harness", &json!({"clearRules": true}).to_string());
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("Could not check what keeps serving"), "{}", refused.body);

    // A rollback's current group is the console's own finding, never the post's.
    let confirm = send(port, "GET", "/console/confirm/rollback/ecs-main/us-east-1/scope-web-v000", &format!("Cookie: {cookie}\r\n"), "");
    assert!(confirm.body.contains("then disable scope-web-v001"), "{}", confirm.body);
    let form = form_of(&confirm.body);
    let forged = format!("csrf={csrf}&form={form}&current=scope-web-v000");
    let refused = form_post(port, "/console/actions/rollback/ecs-main/us-east-1/scope-web-v000", &cookie, &forged);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert_eq!(aws.service("scope-web-v000").await.unwrap().desired_count, 3, "us-west-2's group was not touched");
}

#[tokio::test]
async fn a_new_version_is_offered_for_every_server_group_of_every_region_and_rollbacks_stay_in_one_cluster() {
    let env = TestEnv::new("console_scope_redeploy", false);
    env.fixtures_in(&env.account_id, "us-east-1");
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let port = server.port;
    // Deployed through serve in us-east-1, by the CLI in us-west-2: both named rdx-web-v000.
    let (task, _) = server.wait(&server.submit(&json!([{"createServerGroup": fargate_in("rdx", "us-east-1")}])));
    assert_eq!(task["status"]["failed"], false, "{task}");
    let run = env.deploy(&fargate("rdx"), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    // Each region's page offers its own group's containers (a clone of that group).
    for region in ["us-west-2", "us-east-1"] {
        let page = send(port, "GET", &format!("/console/confirm/redeploy/ecs-main/{region}/rdx-web-v000"), "", "");
        assert_eq!(page.status, 200, "{region}: {}", page.body);
        assert!(page.body.contains("name=\"image.web\""), "{region}: {}", page.body);
    }

    // Rollbacks: never onto itself, never across clusters (through /ecs/ops as through the console).
    let rollback = |restore: &str, current: &str| {
        json!([{"rollbackServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "rollbackType": "EXPLICIT",
            "rollbackContext": {"restoreServerGroupName": restore, "rollbackServerGroupName": current}}}])
    };
    for (restore, current) in [("rdx-web-v000", "rdx-web-v000"), ("rdx-web-v000", "other-web-v001")] {
        let (status, answer) = server.post("/ecs/ops", &rollback(restore, current));
        assert_eq!(status, 400, "{restore} / {current}: {answer}");
    }
}
