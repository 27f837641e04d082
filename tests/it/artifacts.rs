//! Task-definition artifacts by reference: `s3/object` against the emulator's S3, `http/file`,
//! `github/file`, `gitlab/file` and `bitbucket/file` against a loopback fake
//! ([`crate::artifact_server`]) that checks each API's credentials and request shape — through
//! `deploy --plan`, `deploy`, `ops` and `serve` (Orca's payload shapes, `PUT /artifacts/fetch`,
//! `GET /artifacts/credentials`); failures exit 2 (or 1 when the store is unavailable) with
//! nothing written, and no credential ever appears in what the program prints.

use serde_json::{Value, json};

use crate::artifact_server::{self as fake, FakeStore};
use crate::deploy::fargate;
use crate::harness::{REGION, TestEnv};
use crate::serve::Server;

fn task_definition(marker: &str) -> Value {
    let mut td: Value = serde_json::from_str(include_str!("../../task-definitions/web-fargate.json")).unwrap();
    td["containerDefinitions"][0]["environment"] = json!([{"name": "MARKER", "value": marker}]);
    // Spinnaker's own end-to-end artifact writes booleans as strings; Clouddriver accepts them.
    td["containerDefinitions"][0]["essential"] = json!("true");
    td
}

/// An artifact-mode Fargate description whose task definition is `artifact`.
fn referencing(app: &str, artifact: Value) -> Value {
    let mut d = fargate(app);
    let o = d.as_object_mut().unwrap();
    o.remove("spelProcessedTaskDefinitionArtifact");
    o.insert("evaluateTaskDefinitionArtifactExpressions".into(), json!(false));
    o.insert("resolvedTaskDefinitionArtifact".into(), artifact);
    d
}

/// The marker of the task definition a run planned or registered.
fn marker(run: &crate::harness::Run) -> String {
    let td = &run.json["plan"]["registerTaskDefinition"];
    td["containerDefinitions"][0]["environment"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == "MARKER"))
        .and_then(|e| e["value"].as_str())
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn append_config(env: &TestEnv, text: &str) {
    let mut config = std::fs::read_to_string(&env.config).unwrap();
    config.push_str(text);
    std::fs::write(&env.config, config).unwrap();
}

async fn s3_client(endpoint: &str, credentials: aws_credential_types::Credentials) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_s3::config::Region::new(REGION))
        .credentials_provider(credentials)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: String) -> Option<String> {
    let out = s3.put_object().bucket(bucket).key(key).body(body.into_bytes().into()).send().await.unwrap();
    out.version_id().map(str::to_string)
}

async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
        .build();
    s3.create_bucket().bucket(bucket).create_bucket_configuration(location).send().await.unwrap();
}

#[tokio::test]
async fn s3_objects_plain_versioned_yaml_missing_and_forbidden() {
    let env = TestEnv::new("s3_objects_plain_versioned_yaml", false);
    // The deployer's standard chain signs as the emulator's default account; the second bucket
    // belongs to the test's own account, which grants no one else access (AWS's default).
    let own = s3_client(&env.endpoint, aws_credential_types::Credentials::new("test", "test", None, None, "t")).await;
    let bucket = format!("td-{}", env.account_id);
    create_bucket(&own, &bucket).await;
    let versioning =
        aws_sdk_s3::types::VersioningConfiguration::builder().status(aws_sdk_s3::types::BucketVersioningStatus::Enabled).build();
    own.put_bucket_versioning().bucket(&bucket).versioning_configuration(versioning).send().await.unwrap();
    let v1 = put(&own, &bucket, "web/td.json", task_definition("one").to_string()).await.expect("a version id");
    put(&own, &bucket, "web/td.json", task_definition("two").to_string()).await;
    put(&own, &bucket, "web/td.yaml", serde_yaml_ng::to_string(&task_definition("yaml")).unwrap()).await;
    let aws = env.aws().await;
    let sts = aws_sdk_sts::Client::new(
        &aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&env.endpoint)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "t"))
            .load()
            .await,
    );
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{}:role/SpinnakerManaged", env.second_account_id))
        .role_session_name("t")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let other = s3_client(
        &env.endpoint,
        aws_credential_types::Credentials::new(assumed.access_key_id, assumed.secret_access_key, Some(assumed.session_token), None, "t"),
    )
    .await;
    let private = format!("private-{}", env.second_account_id);
    create_bucket(&other, &private).await;
    put(&other, &private, "td.json", task_definition("private").to_string()).await;
    append_config(&env, "artifacts:\n  s3:\n    enabled: true\n    accounts:\n      - name: s3-main\n        region: us-west-2\n");

    let s3 = |reference: &str, version: Option<&str>| {
        let mut a = json!({"type": "s3/object", "reference": reference, "artifactAccount": "s3-main", "name": reference});
        if let Some(v) = version {
            a["version"] = json!(v);
        }
        a
    };
    let run = env.deploy(&referencing("s3a", s3(&format!("s3://{bucket}/web/td.json"), None)), &["--plan"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(marker(&run), "two", "the latest version");
    assert_eq!(run.json["plan"]["registerTaskDefinition"]["containerDefinitions"][0]["essential"], json!(true), "coerced from \"true\"");
    assert_eq!(run.json["plan"]["registerTaskDefinition"]["containerDefinitions"][0]["image"], "nginx:1.27.9");
    let run = env.deploy(&referencing("s3a", s3(&format!("s3://{bucket}/web/td.json"), Some(&v1))), &["--plan"]);
    assert_eq!((run.code, marker(&run)), (0, "one".to_string()), "the object version asked for: {run:?}");
    let run = env.deploy(&referencing("s3a", s3(&format!("s3://{bucket}/web/td.yaml"), None)), &["--plan"]);
    assert_eq!((run.code, marker(&run)), (0, "yaml".to_string()), "{run:?}");

    // Failures: exit 2, the artifact and the account named, nothing written (a real deploy).
    for (reference, expected) in
        [(format!("s3://{bucket}/web/nope.json"), "not found"), (format!("s3://{private}/td.json"), "AccessDenied")]
    {
        let run = env.deploy(&referencing("s3b", s3(&reference, None)), &[]);
        assert_eq!(run.code, 2, "{run:?}");
        let message = run.json["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&reference) && message.contains("`s3-main`") && message.contains(expected), "{run:?}");
    }
    assert!(aws.task_definition_arns().await.is_empty());
    assert!(aws.service_names().await.is_empty());

    // Through serve, with Orca's payload shape: the account from taskDefinitionArtifactAccount.
    let server = Server::start(&env, &[]);
    let mut context = orca_artifact_context("s3d", kork("s3/object", &format!("s3://{bucket}/web/td.json"), None));
    context["taskDefinitionArtifactAccount"] = json!("s3-main");
    let (task, _) = server.wait(&server.submit(&json!([{"createServerGroup": context}])));
    assert_eq!(task["status"]["failed"], false, "{task}");
    assert!(aws.service("s3d-web-v000").await.is_some());
    let forbidden = kork("s3/object", &format!("s3://{private}/td.json"), Some("s3-main"));
    let (status, body) = server.post("/ecs/ops", &json!([{"createServerGroup": orca_artifact_context("s3e", forbidden)}]));
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("AccessDenied"), "{body}");
    drop(server);

    // And a real deploy from S3 registers the downloaded task definition.
    let run = env.deploy(&referencing("s3c", s3(&format!("s3://{bucket}/web/td.json"), None)), &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let service = aws.service("s3c-web-v000").await.unwrap();
    let td = aws.task_definition(service.task_definition.as_deref().unwrap()).await;
    assert_eq!(td.container_definitions()[0].environment()[0].value(), Some("two"));
}

fn http_config(store: &FakeStore, dir: &std::path::Path) -> String {
    let token_file = dir.join("github-token");
    std::fs::write(&token_file, format!("{}\n", fake::GITHUB_TOKEN)).unwrap();
    let _ = store;
    format!(
        "artifacts:
  urlRestrictions: {{rejectLocalhost: false, rejectVerbatimIps: false, allowedDomains: ['127\\.0\\.0\\.1']}}
  http:
    enabled: true
    accounts:
      - {{name: web, username: {user}, password: {password}}}
      - {{name: wrong, username: {user}, password: not-the-password}}
  github:
    enabled: true
    accounts:
      - {{name: gh-raw, token: {gh}, useContentAPI: true}}
      - {{name: gh-metadata, tokenFile: {file}}}
  gitlab:
    enabled: true
    accounts:
      - {{name: gl, token: {gl}}}
  bitbucket:
    enabled: true
    accounts:
      - {{name: bb, token: {bb}}}
",
        user = fake::HTTP_USER,
        password = fake::HTTP_PASSWORD,
        gh = fake::GITHUB_TOKEN,
        file = token_file.display(),
        gl = fake::GITLAB_TOKEN,
        bb = fake::BITBUCKET_TOKEN,
    )
}

const SECRETS: [&str; 4] = [fake::HTTP_PASSWORD, fake::GITHUB_TOKEN, fake::GITLAB_TOKEN, fake::BITBUCKET_TOKEN];

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "a credential was printed: {text}");
    }
}

#[tokio::test]
async fn http_github_gitlab_and_bitbucket_are_fetched_with_each_apis_credentials_and_shape() {
    let env = TestEnv::new("http_github_gitlab_and_bitbucket", false);
    let store = FakeStore::start(&task_definition("fetched"));
    append_config(&env, &http_config(&store, env.dir.path()));
    let cases = [
        (json!({"type": "http/file", "reference": store.url("/http/td.json"), "artifactAccount": "web"}), "/http/td.json"),
        (json!({"type": "http/file", "reference": store.url("/http/td.yaml"), "artifactAccount": "web"}), "/http/td.yaml"),
        (
            json!({"type": "github/file", "reference": store.url("/github/repos/o/r/contents/td.json"), "version": "release-1", "artifactAccount": "gh-raw"}),
            "/github/repos/o/r/contents/td.json?ref=release-1",
        ),
        (
            json!({"type": "github/file", "reference": store.url("/github/repos/o/r/contents/td.json"), "artifactAccount": "gh-metadata"}),
            "/raw/o/r/master/td.json",
        ),
        (
            json!({"type": "gitlab/file", "reference": store.url("/gitlab/api/v4/projects/7/repository/files/td.json/raw"), "version": "v2"}),
            "/gitlab/api/v4/projects/7/repository/files/td.json/raw?ref=v2",
        ),
        (
            json!({"type": "bitbucket/file", "reference": store.url("/bitbucket/2.0/repositories/o/r/src/main/td.json")}),
            "/bitbucket/2.0/repositories/o/r/src/main/td.json",
        ),
    ];
    for (artifact, path) in cases {
        let run = env.run(&["-vvv", "deploy", "--plan", "--description", &env.file("d.json", &referencing("hgb", artifact.clone()))], None);
        assert_eq!((run.code, marker(&run)), (0, "fetched".to_string()), "{artifact}: {run:?}");
        assert_no_secret(&format!("{}{}", run.stdout, run.stderr));
        assert!(!store.seen(path).is_empty(), "{path} was not requested: {:?}", store.seen("/"));
    }
    // The request shapes: GitHub's raw media type and ref, the metadata hop keeping the token on
    // the same host, GitLab's Private-Token, Bitbucket's bearer token with Accept JSON.
    let raw = &store.seen("/github/repos/o/r/contents/td.json?ref=release-1")[0];
    assert_eq!(raw.header("accept"), Some("application/vnd.github.v3.raw"));
    let metadata = &store.seen("/github/repos/o/r/contents/td.json?ref=master")[0];
    assert_eq!(
        metadata.header("authorization"),
        Some(format!("token {}", fake::GITHUB_TOKEN).as_str()),
        "read from tokenFile, newline removed"
    );
    assert_eq!(store.seen("/raw/o/r/master/td.json")[0].header("authorization"), metadata.header("authorization"));
    assert_eq!(store.seen("/gitlab/")[0].header("private-token"), Some(fake::GITLAB_TOKEN));
    assert_eq!(store.seen("/bitbucket/")[0].header("accept"), Some("application/json"));

    // Without an account and with several for the type: the choices are named.
    let artifact = json!({"type": "github/file", "reference": store.url("/github/repos/o/r/contents/td.json")});
    let run = env.deploy(&referencing("hgb", artifact), &["--plan"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stdout.contains("gh-raw, gh-metadata"), "{run:?}");
}

#[tokio::test]
async fn http_failures_are_named_retried_only_when_worth_it_and_bounded() {
    let env = TestEnv::new("http_failures_are_named", false);
    let store = FakeStore::start(&task_definition("eventually"));
    append_config(&env, &http_config(&store, env.dir.path()));
    let file = |path: &str| json!({"type": "http/file", "reference": store.url(path), "artifactAccount": "web"});
    let deploy = |path: &str| {
        let d = env.file("d.json", &referencing("hfb", file(path)));
        let mut cmd = env.command(&["--config", env.config.to_str().unwrap(), "--output", "json", "deploy", "--description", &d]);
        cmd.env("ECS_DEPLOYER_ARTIFACT_TIMEOUT_MS", "1000");
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code().unwrap_or(-1), serde_json::from_str::<Value>(&stdout).unwrap_or(Value::Null), stdout)
    };
    for (path, status) in [("/faults/missing.json", "404"), ("/faults/forbidden.json", "403"), ("/http/none", "404")] {
        let (code, json, stdout) = deploy(path);
        assert_eq!(code, 2, "{stdout}");
        let message = json["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("Received {status} status code")) && message.contains("`web`"), "{stdout}");
        assert_eq!(store.seen(path).len(), 1, "a {status} is not retried");
    }
    let wrong = env.file(
        "d.json",
        &referencing("hfb", json!({"type": "http/file", "reference": store.url("/http/td.json"), "artifactAccount": "wrong"})),
    );
    let run = env.run(&["deploy", "--description", &wrong], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stdout.contains("Received 401 status code") && run.stdout.contains("`wrong`") && !run.stdout.contains("not-the-password"),
        "{run:?}"
    );
    let (code, json, stdout) = deploy("/faults/huge.json");
    assert_eq!(code, 2, "{stdout}");
    assert!(json["errors"][0]["message"].as_str().unwrap_or_default().contains("larger than the 8388608-byte limit"), "{stdout}");
    // A 500 is retried; the second answer deploys.
    let (code, _, stdout) = deploy("/faults/flaky.json");
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(store.seen("/faults/flaky.json").len(), 2);
    // Slower than the timeout on every try: the store is unavailable (exit 1), nothing written.
    let (code, _, stdout) = deploy("/faults/slow.json");
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("no complete answer within 1s") && stdout.contains("nothing was written"), "{stdout}");
    assert_eq!(store.seen("/faults/slow.json").len(), 3, "three tries");
    let aws = env.aws().await;
    assert_eq!(aws.service_names().await, ["hfb-web-v000"], "only the flaky one's deploy wrote anything");
    assert_no_secret(&stdout);
}

/// Orca's createServerGroup context with an artifact reference, in the shape of Spinnaker's ECS
/// integration tests (`createServerGroup-artifact-FARGATE-targetGroupMappings.json`): the kork
/// artifact's every key, and the stage's `taskDefinitionArtifactAccount` fallback.
fn orca_artifact_context(app: &str, artifact: Value) -> Value {
    let mut d = referencing(app, artifact);
    let o = d.as_object_mut().unwrap();
    o.insert("account".into(), json!("ecs-main"));
    o.insert("cloudProvider".into(), json!("ecs"));
    o.insert("application".into(), json!(app));
    o.insert("stack".into(), json!("web"));
    o.insert("freeFormDetails".into(), json!(""));
    o.remove("moniker");
    o.insert("taskDefinitionArtifactAccount".into(), json!("gh-raw"));
    o.insert("source".into(), json!({}));
    d
}

fn kork(kind: &str, reference: &str, account: Option<&str>) -> Value {
    json!({"type": kind, "customKind": false, "name": "td.json", "version": null, "location": "us-west-2",
        "reference": reference, "metadata": null, "artifactAccount": account, "provenance": "prov", "uuid": "uid-123", "account": "ecs-main"})
}

#[tokio::test]
async fn serve_and_ops_download_with_orcas_payloads_and_serve_the_artifact_endpoints() {
    let env = TestEnv::new("serve_and_ops_download_artifacts", false);
    let store = FakeStore::start(&task_definition("served"));
    append_config(&env, &http_config(&store, env.dir.path()));
    let server = Server::start(&env, &[]);
    let github = store.url("/github/repos/o/r/contents/td.json");

    // The account comes from taskDefinitionArtifactAccount (the artifact's own is null).
    let ops = json!([{"createServerGroup": orca_artifact_context("srva", kork("github/file", &github, None))}]);
    let id = server.submit(&ops);
    let (task, _) = server.wait(&id);
    assert_eq!(task["status"]["failed"], false, "{task}");
    assert_no_secret(&task.to_string());
    let aws = env.aws().await;
    let service = aws.service("srva-web-v000").await.expect("deployed");
    let td = aws.task_definition(service.task_definition.as_deref().unwrap()).await;
    assert_eq!(td.container_definitions()[0].environment()[0].value(), Some("served"));
    assert_eq!(store.seen("/github/").len(), 1, "the check before accepting and the deploy read the artifact once");

    // A missing artifact: 400, nothing started.
    let ops =
        json!([{"createServerGroup": orca_artifact_context("srvb", kork("http/file", &store.url("/faults/missing.json"), Some("web")))}]);
    let (status, body) = server.post("/ecs/ops", &ops);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "[0].createServerGroup.resolvedTaskDefinitionArtifact", "{body}");
    assert!(aws.service("srvb-web-v000").await.is_none());

    // PUT /artifacts/fetch (Orca's fetchArtifact): the raw bytes.
    let (status, body) = server.request(
        "PUT",
        "/artifacts/fetch/",
        &kork("gitlab/file", &store.url("/gitlab/api/v4/projects/7/repository/files/td.json/raw"), Some("gl")).to_string(),
    );
    assert_eq!(status, 200);
    assert_eq!(body, task_definition("served"));
    let (status, body) =
        server.request("PUT", "/artifacts/fetch", &kork("http/file", &store.url("/http/td.json"), Some("nobody")).to_string());
    assert_eq!(status, 404, "{body}");
    let (status, _) =
        server.request("PUT", "/artifacts/fetch", &kork("http/file", &store.url("/faults/forbidden.json"), Some("web")).to_string());
    assert_eq!(status, 400);

    // GET /artifacts/credentials: names, types, never a secret.
    let (status, body) = server.request("GET", "/artifacts/credentials", "");
    assert_eq!(status, 200);
    let names: Vec<&str> = body.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["embedded-artifact", "web", "wrong", "gh-raw", "gh-metadata", "gl", "bb"]);
    assert_eq!(body[3], json!({"name": "gh-raw", "types": ["github/file"], "type": "artifacts-github"}));
    assert_no_secret(&body.to_string());
    let (status, body) = server.request("GET", "/artifacts/account/gh-raw/names?type=github/file", "");
    assert_eq!(status, 501, "{body}");
    let (status, _) = server.request("GET", "/artifacts/account/nobody/versions?type=github/file&artifactName=x", "");
    assert_eq!(status, 404);
    assert_no_secret(&server.log.lock().unwrap());

    // `ops` from the command line downloads too.
    let ops = json!([{"createServerGroup": referencing("opsa", json!({"type": "bitbucket/file", "reference": store.url("/bitbucket/2.0/repositories/o/r/src/main/td.json")}))}]);
    let run = env.run(&["ops", &env.file("ops.json", &ops)], None);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(aws.service("opsa-web-v000").await.is_some());
}

#[tokio::test]
async fn accounts_validate_and_doctor_cover_artifact_accounts() {
    let env = TestEnv::new("accounts_validate_and_doctor_cover_artifacts", false);
    append_config(
        &env,
        "artifacts:\n  gihub: {enabled: true}\n  gcs: {enabled: true}\n  github:\n    enabled: true\n    accounts:\n      - {name: gh, tokenFile: /nonexistent/gh-token}\n",
    );
    let run = env.run(&["accounts", "validate"], None);
    assert_eq!(run.code, 2, "{run:?}");
    let fields: Vec<&str> = run.json["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.iter().any(|f| f.ends_with("artifacts.gihub")), "a typo is an unknown provider: {fields:?}");
    assert!(!fields.iter().any(|f| f.ends_with("artifacts.gcs")), "Clouddriver's other providers may stay: {fields:?}");
    assert!(fields.iter().any(|f| f.ends_with("artifacts.github.accounts[gh].tokenFile")), "{fields:?}");

    // doctor: the unreadable token file, and an artifact in a bucket the deployer may not read.
    let config = std::fs::read_to_string(&env.config).unwrap().replace("  gihub: {enabled: true}\n", "");
    std::fs::write(&env.config, format!("{config}  s3:\n    enabled: true\n    accounts:\n      - {{name: s3-main, region: us-west-2}}\n"))
        .unwrap();
    let description = referencing(
        "doca",
        json!({"type": "s3/object", "reference": "s3://no-such-bucket-for-doctor/td.json", "artifactAccount": "s3-main"}),
    );
    let file = env.file("d.json", &description);
    let run = env.run(&["doctor", "--account", "ecs-main", "--region", "us-west-2", "--description", &file], None);
    assert_eq!(run.code, 1, "{run:?}");
    let checks = run.json["checks"].as_array().or(run.json.as_array()).cloned().unwrap_or_default();
    let failed: Vec<String> =
        checks.iter().filter(|c| c["status"] == "failed").map(|c| format!("{} {}", c["check"], c["detail"])).collect();
    assert!(failed.iter().any(|c| c.contains("tokenFile") && c.contains("/nonexistent/gh-token")), "{failed:?}");
    assert!(
        failed.iter().any(|c| c.contains("resolvedTaskDefinitionArtifact") && c.contains("s3://no-such-bucket-for-doctor/td.json")),
        "{failed:?}"
    );
}

#[tokio::test]
async fn a_retry_on_another_replica_is_answered_from_its_client_request_id_without_downloading_again() {
    let env = TestEnv::new("artifact_retry_client_request", false);
    let store = FakeStore::start(&task_definition("retried"));
    append_config(&env, &http_config(&store, env.dir.path()));
    let url = crate::serve::postgres_database("retry_crid").await;
    let a = Server::start(&env, &["--postgres-url", &url]);
    let b = Server::start(&env, &["--postgres-url", &url]);
    // The store answers the first download at once and every later one after 10 s.
    let artifact = json!({"type": "http/file", "reference": store.url("/faults/slow-after-first.json"), "artifactAccount": "web"});
    let ops = json!([{"createServerGroup": referencing("retried", artifact)}]);
    let (status, first) = a.post("/ecs/ops?clientRequestId=orca-stage-1", &ops);
    assert_eq!(status, 200, "{first}");
    let started = std::time::Instant::now();
    let (status, again) = b.post("/ecs/ops?clientRequestId=orca-stage-1", &ops);
    assert_eq!((status, &again["id"]), (200, &first["id"]), "{again}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "the retry waited for a download: {:?}", started.elapsed());
    let mut other = ops.clone();
    other[0]["createServerGroup"]["capacity"]["desired"] = json!(1);
    let (status, conflict) = b.post("/ecs/ops?clientRequestId=orca-stage-1", &other);
    assert_eq!(status, 409, "{conflict}");
}

#[tokio::test]
async fn an_artifact_of_a_hundred_thousand_unknown_keys_gets_a_short_answer() {
    let env = TestEnv::new("artifact_many_problems", false);
    let mut td = task_definition("many");
    for i in 0..100_000 {
        td[format!("unknownKey{i}")] = json!(1);
    }
    let store = FakeStore::start(&td);
    append_config(&env, &http_config(&store, env.dir.path()));
    let server = Server::start(&env, &[]);
    let artifact = json!({"type": "http/file", "reference": store.url("/http/td.json"), "artifactAccount": "web"});
    let body = json!([{"createServerGroup": referencing("many", artifact)}]).to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "POST /ecs/ops HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.port,
        body.len()
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    assert!(answer.len() < 64 * 1024, "the answer is {} bytes", answer.len());
    let text = String::from_utf8_lossy(&answer);
    let json: Value = serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap();
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 51, "{json}");
    assert_eq!(errors[50]["message"], "… and 99950 more problems (fix these first)");
    // The CLI shows the same.
    let path = env.dir.path().join("td.json");
    std::fs::write(&path, td.to_string()).unwrap();
    let run = env.deploy(&crate::deploy::fargate("manycli"), &["--artifact", path.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json["errors"].as_array().unwrap().len(), 51, "{}", run.stdout.len());
}
