//! The test harness: starts the emulator once per test binary (or uses
//! `ECS_DEPLOYER_TEST_ENDPOINT`), gives each test its own AWS account with fixtures and a
//! clouddriver.yml, runs the binary, and reads AWS state back with the SDK.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const REGION: &str = "us-west-2";
pub const CLUSTER: &str = "main";

pub struct Emulator {
    pub endpoint: String,
    pub port: u16,
    /// The emulator process; it exits with this test process (see scripts/moto_server.py).
    _process: Option<std::process::Child>,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> PathBuf {
    let p = root().join(".venv/bin/python");
    assert!(p.exists(), "the AWS emulator is not installed: run scripts/test, which installs moto 5.2.5 into .venv");
    p
}

/// A minimal HTTP/1.1 request to the emulator's control endpoints.
pub fn http(method: &str, path: &str, body: &str) -> String {
    http_at(emulator().port, method, path, body)
}

/// A minimal HTTP/1.1 request to the control endpoints of the emulator on `port`.
pub fn http_at(port: u16, method: &str, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the emulator");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default()
}

pub fn emulator() -> &'static Emulator {
    EMULATOR.get_or_init(|| {
        if let Ok(endpoint) = std::env::var("ECS_DEPLOYER_TEST_ENDPOINT") {
            let port = endpoint.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).expect("endpoint with a port");
            return Emulator { endpoint, port, _process: None };
        }
        start_emulator()
    })
}

/// Starts an emulator of its own (for tests that need its request log to themselves). The port
/// is picked free, then handed to the emulator; another test can pick the same one in between,
/// so the emulator that answers must be this one (its pid), else it is started again elsewhere.
pub fn start_emulator() -> Emulator {
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = std::fs::File::create(std::env::temp_dir().join(format!("ecs-deployer-moto-{port}-{}.log", std::process::id()))).unwrap();
        let recording = std::env::temp_dir().join(format!("ecs-deployer-moto-{port}.recording"));
        let mut process = Command::new(python())
            .arg(root().join("scripts/moto_server.py"))
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .args(["127.0.0.1", &port.to_string(), &std::process::id().to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start the emulator");
        let deadline = Instant::now() + Duration::from_secs(30);
        let ours = loop {
            if process.try_wait().unwrap().is_some() {
                break false;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break http_at(port, "GET", "/_harness/pid", "").trim() == process.id().to_string();
            }
            assert!(Instant::now() < deadline, "the emulator did not start within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        };
        if ours {
            return Emulator { endpoint: format!("http://127.0.0.1:{port}"), port, _process: Some(process) };
        }
        let _ = process.kill();
        let _ = process.wait();
    }
    panic!("no free port for an emulator after 5 tries")
}

/// Starts moto's request recorder once; tests filter the recording by their own unique names.
pub fn recorder() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        http("POST", "/moto-api/recorder/reset-recording", "");
        http("POST", "/moto-api/recorder/start-recording", "");
    });
}

/// Recorded request bodies of `operation` (e.g. `CreateService`) containing `needle`.
pub fn recorded(operation: &str, needle: &str) -> Vec<Value> {
    let raw = http("GET", "/moto-api/recorder/download-recording", "");
    raw.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["headers"]["X-Amz-Target"].as_str().is_some_and(|t| t.ends_with(&format!(".{operation}"))))
        .filter_map(|r| {
            let body = r["body"].as_str()?.to_string();
            let text = decode_body(&body);
            text.contains(needle).then(|| serde_json::from_str(&text).ok()).flatten()
        })
        .collect()
}

fn decode_body(body: &str) -> String {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(body) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => body.to_string(),
    }
}

/// Makes the emulator play ECS for services whose name contains `needle` (see scripts/moto_server.py).
pub fn ecs_behaviour(needle: &str, behaviour: &str) {
    http("POST", "/_harness", &serde_json::json!({"ecs": [{"match": needle, "behaviour": behaviour}]}).to_string());
}

/// Makes the emulator fail the next `times` requests of `operation` whose body contains `needle`.
pub fn inject(operation: &str, needle: &str, action: &str, times: u32) {
    http(
        "POST",
        "/_harness",
        &serde_json::json!({"rules": [{"operation": operation, "match": needle, "action": action, "times": times,
            "status": 400, "code": "ValidationException", "message": format!("injected {action}")}]})
        .to_string(),
    );
}

/// A 12-digit account id derived from the test name, so each test has its own account.
pub fn account_id(name: &str) -> String {
    let mut h: u64 = 1469598103934665603;
    for b in name.bytes() {
        h = (h ^ b as u64).wrapping_mul(1099511628211);
    }
    format!("{:012}", h % 1_000_000_000_000).replace(|c: char| !c.is_ascii_digit(), "0")
}

/// One test's world: an account with fixtures, a config file, a scratch directory.
pub struct TestEnv {
    pub name: String,
    pub endpoint: String,
    pub port: u16,
    /// A dedicated emulator, when the test has one.
    pub own_emulator: Option<Emulator>,
    pub account_id: String,
    pub second_account_id: String,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub fixtures: Value,
}

pub struct Run {
    pub code: i32,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\nstdout: {}\nstderr: {}", self.code, self.stdout, self.stderr)
    }
}

impl TestEnv {
    /// A fresh account with the standard fixtures (tagging enabled when `tagging`).
    pub fn new(name: &str, tagging: bool) -> Self {
        recorder();
        let e = emulator();
        Self::on(name, tagging, e.endpoint.clone(), e.port, None)
    }

    /// A fresh account on an emulator of its own.
    pub fn dedicated(name: &str) -> Self {
        Self::dedicated_with(name, false)
    }

    /// On an emulator of its own, in an account whose settings allow tagging services (so
    /// deploys set the crash marker).
    pub fn dedicated_with(name: &str, tagging: bool) -> Self {
        let e = start_emulator();
        let (endpoint, port) = (e.endpoint.clone(), e.port);
        Self::on(name, tagging, endpoint, port, Some(e))
    }

    /// Waits until the emulator has received a request of `operation` (it may still be in flight).
    pub fn wait_for_request(&self, operation: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.http("GET", "/_harness/started", "").contains(&format!("\"{operation}\"")) {
            assert!(std::time::Instant::now() < deadline, "no {operation} request reached the emulator");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Waits until the emulator has answered every request it received.
    pub fn wait_until_idle(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let started: Vec<Value> = serde_json::from_str(&self.http("GET", "/_harness/started", "")).unwrap();
            let answered: Vec<Value> = serde_json::from_str(&self.http("GET", "/_harness/requests", "")).unwrap();
            if answered.len() >= started.len() {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the emulator still has requests in flight");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn on(name: &str, tagging: bool, endpoint: String, port: u16, own_emulator: Option<Emulator>) -> Self {
        let account_id = account_id(name);
        let second_account_id = self::account_id(&format!("{name}-second"));
        let mut args = vec![
            root().join("scripts/fixtures.py").to_string_lossy().into_owned(),
            endpoint.clone(),
            account_id.clone(),
            REGION.into(),
            CLUSTER.into(),
        ];
        if tagging {
            args.push("--tagging".into());
        }
        let out = Command::new(python()).args(&args).output().unwrap();
        assert!(out.status.success(), "fixtures failed: {}", String::from_utf8_lossy(&out.stderr));
        let fixtures: Value = serde_json::from_slice(&out.stdout).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("clouddriver.yml");
        std::fs::write(
            &config,
            format!(
                r#"aws:
  enabled: true
  defaultAssumeRole: role/SpinnakerManaged
  accounts:
    - name: aws-main
      accountId: "{account_id}"
      regions: [{{name: us-west-2}}, {{name: us-east-1}}]
    - name: aws-second
      accountId: "{second_account_id}"
      regions: [{{name: us-west-2}}, {{name: us-east-1}}]
ecs:
  enabled: true
  accounts:
    - name: ecs-main
      awsAccount: aws-main
    - name: ecs-tags
      awsAccount: aws-main
      namingStrategy: tags
    - name: ecs-legacy
      awsAccount: aws-main
      iamRoleMode: legacy
    - name: ecs-second
      awsAccount: aws-second
"#
            ),
        )
        .unwrap();
        TestEnv { name: name.into(), endpoint, port, own_emulator, account_id, second_account_id, dir, config, fixtures }
    }

    /// Creates the standard fixtures in another account or region.
    pub fn fixtures_in(&self, account_id: &str, region: &str) -> Value {
        let script = root().join("scripts/fixtures.py");
        let out = Command::new(python()).arg(script).args([&self.endpoint, account_id, region, CLUSTER]).output().unwrap();
        assert!(out.status.success(), "fixtures failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Runs `ecs-deployer --output json ARGS…` against the emulator.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let config = self.config.to_string_lossy().into_owned();
        let mut all = vec!["--config", config.as_str(), "--output", "json"];
        all.extend_from_slice(args);
        self.exec(&all, stdin)
    }

    /// Runs `ecs-deployer --output json ARGS…` without the test's configuration file.
    pub fn run_without_config(&self, args: &[&str]) -> Run {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        self.exec(&all, None)
    }

    /// `ecs-deployer ARGS…` with the test's environment: the emulator's endpoint and fake
    /// credentials, no instance metadata, fast polling and backoff, nothing of the developer's
    /// own AWS profile or configuration, run in the scratch directory. The one builder of every
    /// process a test starts.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecs-deployer"));
        cmd.args(args);
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("ECS_DEPLOYER_POLL_INTERVAL_MS", "150")
            .env("ECS_DEPLOYER_INITIAL_BACKOFF_MS", "5")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("ECS_DEPLOYER_CONFIG")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn exec(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = self.command(args);
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        let Output { status, stdout, stderr } = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&stdout).into_owned();
        Run {
            code: status.code().unwrap_or(-1),
            json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Writes `value` to a file in the scratch directory and returns its path.
    pub fn file(&self, name: &str, value: &Value) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
        path.to_string_lossy().into_owned()
    }

    /// `deploy --description FILE` plus `extra` arguments.
    pub fn deploy(&self, description: &Value, extra: &[&str]) -> Run {
        let path = self.file("description.json", description);
        let mut args = vec!["deploy", "--description", &path];
        args.extend_from_slice(extra);
        self.run(&args, None)
    }

    /// SDK clients in this test's account.
    pub async fn aws(&self) -> Aws {
        Aws::at(&self.endpoint, &self.account_id, REGION).await
    }

    /// A control request to this test's emulator.
    pub fn http(&self, method: &str, path: &str, body: &str) -> String {
        http_at(self.port, method, path, body)
    }

    /// Starts `ecs-deployer ARGS…` without waiting (for signals).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        self.spawn_with_env(&all, &[])
    }

    /// Starts `ecs-deployer ARGS…` with extra environment variables.
    pub fn spawn_with_env(&self, args: &[&str], vars: &[(&str, &str)]) -> std::process::Child {
        let config = self.config.to_string_lossy().into_owned();
        let mut all = vec!["--config", config.as_str()];
        all.extend_from_slice(args);
        let mut cmd = self.command(&all);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }
}

/// SDK clients assumed into an account on the emulator.
pub struct Aws {
    pub ecs: aws_sdk_ecs::Client,
    pub scaling: aws_sdk_applicationautoscaling::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub iam: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub ecr: aws_sdk_ecr::Client,
}

impl Aws {
    pub async fn for_account(account_id: &str, region: &str) -> Aws {
        Self::at(&emulator().endpoint, account_id, region).await
    }

    pub async fn at(endpoint: &str, account_id: &str, region: &str) -> Aws {
        let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new(region.to_string()))
            .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        let creds = aws_sdk_sts::Client::new(&base)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{account_id}:role/SpinnakerManaged"))
            .role_session_name("test")
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap();
        let config = base
            .to_builder()
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(aws_credential_types::Credentials::new(
                creds.access_key_id,
                creds.secret_access_key,
                Some(creds.session_token),
                None,
                "test",
            )))
            .build();
        Aws {
            ecs: aws_sdk_ecs::Client::new(&config),
            scaling: aws_sdk_applicationautoscaling::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
        }
    }

    pub async fn service(&self, name: &str) -> Option<aws_sdk_ecs::types::Service> {
        let out = self
            .ecs
            .describe_services()
            .cluster(CLUSTER)
            .services(name)
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
            .unwrap();
        out.services.unwrap_or_default().into_iter().next()
    }

    pub async fn task_definition(&self, arn: &str) -> aws_sdk_ecs::types::TaskDefinition {
        self.ecs.describe_task_definition().task_definition(arn).send().await.unwrap().task_definition.unwrap()
    }

    pub async fn task_definition_arns(&self) -> Vec<String> {
        self.ecs.list_task_definitions().send().await.unwrap().task_definition_arns.unwrap_or_default()
    }

    pub async fn service_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut pages = self.ecs.list_services().cluster(CLUSTER).max_results(100).into_paginator().send();
        while let Some(page) = pages.next().await {
            names.extend(page.unwrap().service_arns().iter().map(|a| a.rsplit('/').next().unwrap().to_string()));
        }
        names
    }

    pub async fn scalable_target(&self, service: &str) -> Option<aws_sdk_applicationautoscaling::types::ScalableTarget> {
        self.scaling
            .describe_scalable_targets()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
            .resource_ids(format!("service/{CLUSTER}/{service}"))
            .send()
            .await
            .unwrap()
            .scalable_targets
            .unwrap_or_default()
            .into_iter()
            .next()
    }

    /// Creates a bare service directly (to set up existing server groups).
    pub async fn create_service(&self, name: &str, desired: i32) {
        let td = self
            .ecs
            .register_task_definition()
            .family("fixture")
            .container_definitions(aws_sdk_ecs::types::ContainerDefinition::builder().name("c").image("x").memory(64).build())
            .send()
            .await
            .unwrap()
            .task_definition
            .unwrap()
            .task_definition_arn
            .unwrap();
        self.ecs.create_service().cluster(CLUSTER).service_name(name).task_definition(td).desired_count(desired).send().await.unwrap();
    }

    /// Plays ECS's scheduler for one service, which the emulator does not: starts or stops its
    /// tasks (RunTask with `group: service:NAME`, Fargate in its awsvpc network) until as many run
    /// as it desires, and registers each new task's address in the service's target groups (and
    /// deregisters stopped ones), as ECS does. Returns the ids of the tasks running afterwards.
    pub async fn reconcile(&self, name: &str) -> Vec<String> {
        let service = self.service(name).await.unwrap_or_else(|| panic!("no service {name}"));
        let running = self.running_tasks(name).await;
        let desired = service.desired_count.max(0) as usize;
        let network = service.network_configuration.clone();
        if running.len() < desired {
            let started = self
                .ecs
                .run_task()
                .cluster(CLUSTER)
                .task_definition(service.task_definition().unwrap())
                .count((desired - running.len()) as i32)
                .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
                .group(format!("service:{name}"))
                .set_network_configuration(network)
                .send()
                .await
                .unwrap();
            for task in started.tasks() {
                self.targets(&service, task, true).await;
            }
        }
        for task in running.iter().skip(desired) {
            self.targets(&service, task, false).await;
            self.ecs.stop_task().cluster(CLUSTER).task(task.task_arn().unwrap()).send().await.unwrap();
        }
        self.running_tasks(name).await.iter().map(|t| t.task_arn().unwrap().rsplit('/').next().unwrap().to_string()).collect()
    }

    /// The service's tasks that are meant to run.
    pub async fn running_tasks(&self, name: &str) -> Vec<aws_sdk_ecs::types::Task> {
        let arns = self
            .ecs
            .list_tasks()
            .cluster(CLUSTER)
            .service_name(name)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
            .send()
            .await
            .unwrap()
            .task_arns
            .unwrap_or_default();
        if arns.is_empty() {
            return Vec::new();
        }
        self.ecs.describe_tasks().cluster(CLUSTER).set_tasks(Some(arns)).send().await.unwrap().tasks.unwrap_or_default()
    }

    async fn targets(&self, service: &aws_sdk_ecs::types::Service, task: &aws_sdk_ecs::types::Task, register: bool) {
        let Some(ip) = task_ip(task) else { return };
        for lb in service.load_balancers() {
            let target =
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder().id(&ip).port(lb.container_port().unwrap_or(80)).build();
            let tg = lb.target_group_arn().unwrap();
            if register {
                self.elb.register_targets().target_group_arn(tg).targets(target).send().await.unwrap();
            } else {
                self.elb.deregister_targets().target_group_arn(tg).targets(target).send().await.unwrap();
            }
        }
    }
}

/// The private address of an awsvpc task, as its target is registered.
fn task_ip(task: &aws_sdk_ecs::types::Task) -> Option<String> {
    let details = task.attachments().iter().flat_map(|a| a.details());
    details.into_iter().find(|d| d.name() == Some("privateIPv4Address")).and_then(|d| d.value()).map(str::to_string)
}

/// The private address of a task (it has one).
pub fn task_address(task: &aws_sdk_ecs::types::Task) -> String {
    task_ip(task).expect("an awsvpc task")
}

/// Makes the emulator report what ECS and ELB would while tasks start or fail: `tasks` rules
/// (`{"match": TASK_ID_OR_GROUP, "lastStatus": …, "healthStatus": …}`) and `targets` rules
/// (`{"match": TARGET_ID, "state": "initial"}`); see scripts/moto_server.py.
pub fn report(rules: Value) {
    http("POST", "/_harness", &rules.to_string());
}
