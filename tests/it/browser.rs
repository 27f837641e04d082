//! The console in a real browser: headless Chromium driven over WebDriver (chromedriver, via
//! fantoccini) against `serve` and the emulator. What the pages show, a disable through the
//! confirmation with the task followed to its end, a destroy refused without the typed name,
//! sign-in, and AWS-derived text that stays text. Screenshots go under
//! `target/console-screenshots/`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::harness::TestEnv;
use crate::serve::Server;

/// chromedriver on a free port, killed when dropped.
pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub(crate) fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: run scripts/test, which installs Debian's chromium and chromium-driver");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }

    /// A headless Chromium session.
    pub(crate) async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"]}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a Chromium session")
    }
}

/// Saves a screenshot of the current page as `target/console-screenshots/NAME.png`.
pub(crate) async fn screenshot(browser: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), browser.screenshot().await.unwrap()).unwrap();
}

/// The page's text (empty while it is reloading).
pub(crate) async fn page_text(browser: &Client) -> String {
    match browser.find(Locator::Css("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits until the page's text contains `text` (the task page reloads itself every second).
pub(crate) async fn wait_for_text(browser: &Client, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if page_text(browser).await.contains(text) {
            return;
        }
        assert!(Instant::now() < deadline, "the page never showed `{text}`: {}", browser.source().await.unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Keeps only `ecs-main` among the ECS accounts (the test configuration has several on one AWS
/// account, which would each list the cluster), so the screenshots show one cluster.
pub(crate) fn only_the_main_account(env: &TestEnv) {
    let text = std::fs::read_to_string(&env.config).unwrap();
    let (head, ecs) = text.split_once("ecs:\n").unwrap();
    let main_only = "ecs:\n  enabled: true\n  accounts:\n    - name: ecs-main\n      awsAccount: aws-main\n";
    assert!(ecs.contains("- name: ecs-main"), "{ecs}");
    std::fs::write(&env.config, format!("{head}{main_only}")).unwrap();
}

async fn row_text(browser: &Client, name: &str) -> String {
    let row = browser.find(Locator::XPath(&format!("(//tr[td/a[text()='{name}']])[1]"))).await.unwrap();
    row.text().await.unwrap()
}

#[tokio::test]
async fn in_a_browser_the_console_shows_the_cluster_disables_rolls_back_and_refuses_an_unconfirmed_destroy() {
    let env = TestEnv::new("browser_console", false);
    crate::harness::ecs_behaviour("brw-web", "healthy");
    crate::console::two_server_groups(&env, "brw").await;
    only_the_main_account(&env);
    let server = Server::start(&env, &["--store-file", "tasks.db"]);
    let driver = Driver::start();
    let browser = driver.browser().await;
    let base = format!("http://127.0.0.1:{}", server.port);

    browser.goto(&format!("{base}/console")).await.unwrap();
    browser.find(Locator::Css("input[name=app]")).await.unwrap().send_keys("brw").await.unwrap();
    browser.find(Locator::Css("form.search button")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "Application brw").await;
    screenshot(&browser, "cluster").await;
    let v0 = row_text(&browser, "brw-web-v000").await;
    let v1 = row_text(&browser, "brw-web-v001").await;
    for row in [&v0, &v1] {
        assert!(row.contains("enabled") && row.contains("3 up") && row.contains("web-tg") && row.contains("2–6"), "{row}");
    }
    // The stylesheet loaded (the CSP allows it): an enabled row has its green edge.
    let first = browser.find(Locator::Css("tr.enabled td")).await.unwrap();
    assert_eq!(first.css_value("border-left-style").await.unwrap(), "solid");

    // The old server group's page: the env value holding <script> is shown as text, not run.
    browser.find(Locator::LinkText("brw-web-v000")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "Latest ECS service events").await;
    let env_text = browser.find(Locator::XPath("//code[starts-with(text(), 'BANNER=')]")).await.unwrap().text().await.unwrap();
    assert_eq!(env_text, "BANNER=<script>alert('v0')</script>");
    assert!(browser.get_alert_text().await.is_err(), "no script ran");

    // Disable it through the confirmation; follow the task; the state changes.
    browser.find(Locator::LinkText("Disable")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "brw-web-v001 keeps serving").await;
    screenshot(&browser, "confirm").await;
    browser.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "Orchestration completed").await;
    assert!(browser.current_url().await.unwrap().path().starts_with("/console/tasks/"));
    env.aws().await.reconcile("brw-web-v000").await; // ECS stops its tasks
    server.request("POST", "/cache/ecs/ServerGroup", &json!({"account": "ecs-main"}).to_string());
    browser.goto(&format!("{base}/console/applications/brw")).await.unwrap();
    let v0 = row_text(&browser, "brw-web-v000").await;
    assert!(v0.contains("disabled") && v0.contains("0 / 0 / 0") && v0.contains("0 up"), "{v0}");
    assert!(row_text(&browser, "brw-web-v001").await.contains("enabled"));
    screenshot(&browser, "after-disable").await;
    assert_eq!(env.aws().await.service("brw-web-v000").await.unwrap().desired_count, 0);

    // Roll back to it: enabled, waited for, then the current one disabled.
    browser.find(Locator::LinkText("brw-web-v000")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "Latest ECS service events").await;
    browser.find(Locator::LinkText("Roll back to this")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "roll back to brw-web-v000: enable it, wait until it is healthy, then disable brw-web-v001").await;
    browser.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    // While the rollback waits for health, the harness plays ECS: it starts the restored tasks.
    let aws = env.aws().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !page_text(&browser).await.contains("Orchestration completed") {
        assert!(Instant::now() < deadline, "the rollback did not finish: {}", browser.source().await.unwrap_or_default());
        aws.reconcile("brw-web-v000").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(aws.service("brw-web-v000").await.unwrap().desired_count > 0);
    assert_eq!(aws.service("brw-web-v001").await.unwrap().desired_count, 0);
    browser.goto(&format!("{base}/console/applications/brw")).await.unwrap();
    assert!(row_text(&browser, "brw-web-v001").await.contains("disabled"));

    // A new version of brw-web-v000, which the CLI deployed: its page offers its containers'
    // images, and the one typed is the only change (a clone of the live server group).
    browser.goto(&format!("{base}/console/server-groups/ecs-main/us-west-2/brw-web-v000")).await.unwrap();
    browser.find(Locator::LinkText("Deploy new version")).await.unwrap().click().await.unwrap();
    let field = browser.find(Locator::Css("input[name='image.web']")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys("nginx:1.29.0").await.unwrap();
    browser.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "Orchestration completed").await;
    let new = aws.service("brw-web-v002").await.expect("the new version");
    assert_eq!(aws.task_definition(new.task_definition.as_deref().unwrap()).await.container_definitions()[0].image(), Some("nginx:1.29.0"));

    // Destroy: a wrong typed name is refused and nothing is deleted.
    browser.goto(&format!("{base}/console/confirm/destroy/ecs-main/us-west-2/brw-web-v001")).await.unwrap();
    browser.find(Locator::Css("input[name=confirmName]")).await.unwrap().send_keys("brw-web-v000").await.unwrap();
    browser.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "type the server group's name").await;
    assert!(aws.service("brw-web-v001").await.is_some());
    browser.close().await.unwrap();
}

#[tokio::test]
async fn in_a_browser_signing_in_is_needed_and_a_form_without_its_csrf_token_changes_nothing() {
    let env = TestEnv::new("browser_sign_in", false);
    crate::security::write_principals(&env);
    crate::console::two_server_groups(&env, "brx").await;
    let server = Server::start(&env, &["--store-file", "tasks.db", "--principals", "principals.yml"]);
    let driver = Driver::start();
    let browser = driver.browser().await;
    let base = format!("http://127.0.0.1:{}", server.port);

    browser.goto(&format!("{base}/console/applications/brx")).await.unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/console/sign-in");
    browser.find(Locator::Css("input[name=token]")).await.unwrap().send_keys("not-a-token").await.unwrap();
    browser.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "That token is not valid.").await;
    browser.find(Locator::Css("input[name=token]")).await.unwrap().send_keys(crate::security::ROOT).await.unwrap();
    browser.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "Signed in as root").await;
    let cookies = browser.get_all_cookies().await.unwrap();
    let session = cookies.iter().find(|c| c.name() == "ecsd_session").expect("the session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert!(!session.value().contains(crate::security::ROOT));

    // A form whose CSRF token was taken out: 403, nothing changed.
    browser.goto(&format!("{base}/console/confirm/disable/ecs-main/us-west-2/brx-web-v000")).await.unwrap();
    wait_for_text(&browser, "keeps serving").await;
    browser.execute("document.querySelector('main input[name=csrf]').remove()", vec![]).await.unwrap();
    browser.find(Locator::Css("main form button[type=submit]")).await.unwrap().click().await.unwrap();
    wait_for_text(&browser, "missing CSRF token").await;
    assert_eq!(env.aws().await.service("brx-web-v000").await.unwrap().desired_count, 3);
    browser.close().await.unwrap();
}
