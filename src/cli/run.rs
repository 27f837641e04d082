//! The commands: loads the configuration, reads the inputs (bounded), dispatches each command to
//! the engine and maps its outcome to an exit code through [`super::output`], the only printer.

use std::path::Path;

use crate::aws;
use crate::cli::{self, Cli, Command, accounts, output};
use crate::core::error::{Error, FieldError, Result};
use crate::core::{config, description, input};
use crate::engine::operations::list as ops;
use crate::engine::{deploy, doctor, interrupt, lifecycle, operations};
use crate::serve;

/// Largest input file read (descriptions, artifacts): anything bigger is a mistake.
pub const MAX_INPUT_BYTES: u64 = 8 * 1024 * 1024;

/// Reads a JSON input file (or stdin for `-`, or a FIFO or device: at most [`MAX_INPUT_BYTES`]
/// whatever it is), with errors that name the file.
pub fn read_json_input(path: &str, what: &str) -> Result<serde_json::Value> {
    let fail = |m: String| Error::invalid(what, &format!("{what}.invalid"), m);
    let text = if path == "-" {
        input::read_bounded(std::io::stdin(), MAX_INPUT_BYTES).map_err(|e| fail(format!("stdin {e}")))?
    } else {
        input::read_path(Path::new(path), MAX_INPUT_BYTES).map_err(|e| fail(format!("{path}: {e}")))?
    };
    description::parse_json_text(&text, if path == "-" { "stdin" } else { path })
}

/// Runs the command line; returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    interrupt::listen();
    let format = cli.output;
    let settings = match settings_from_env() {
        Ok(settings) => settings,
        Err(err) => {
            output::error(format, &err);
            return err.exit_code();
        }
    };
    crate::core::settings::install(settings);
    match run_command(&cli).await {
        Ok(status) => status.0,
        Err(err) => {
            output::error(format, &err);
            err.exit_code()
        }
    }
}

/// `deploy`: a createServerGroup description (and artifact) from files, run and printed.
async fn deploy_command(cli: &Cli, config: &config::Config, args: &cli::DeployArgs) -> Result<()> {
    let value = read_json_input(&args.description, "description")?;
    let description = description::create_server_group_from_json(value)?;
    let artifact = match &args.artifact {
        Some(path) => Some(read_json_input(&path.to_string_lossy(), "artifact")?),
        None => None,
    };
    let options = deploy::DeployOptions {
        plan_only: args.plan,
        keep_failed: args.keep_failed,
        artifact,
        images: args.images.clone(),
        strategy: args.strategy.clone(),
        target_percentages: args.target_percentages.clone(),
        wait: args.wait,
        timeout: args.timeout,
    };
    let mut progress = output::StderrProgress::new();
    let outcome = deploy::deploy(config, description, &options, &mut progress).await?;
    output::deploy(cli.output, &outcome);
    Ok(())
}

/// `clone`: the next version of a live server group, from itself.
async fn clone_command(cli: &Cli, config: &config::Config, args: &cli::CloneArgs) -> Result<()> {
    let d = crate::core::clone::CloneDescription {
        credentials: Some(args.account.clone()),
        region: Some(args.region.clone()),
        source: Some(crate::core::clone::CloneSource {
            asg_name: Some(args.server_group.clone()),
            ecs_cluster_name: args.ecs_cluster.clone(),
        }),
        container_to_image_map: Some(args.images.clone()),
        capacity: args.capacity.map(|(min, max, desired)| crate::core::description::Capacity {
            min: Some(min),
            max: Some(max),
            desired: Some(desired),
        }),
        strategy: args.strategy.clone(),
        traffic_shift: match &args.traffic_shift {
            Some(path) => Some(read_json_input(path, "trafficShift")?),
            None => None,
        },
        ..Default::default()
    };
    let request = crate::core::clone::validate(config, d).map_err(crate::core::error::Error::Invalid)?;
    let options = deploy::DeployOptions {
        plan_only: args.plan,
        keep_failed: args.keep_failed,
        wait: args.wait,
        timeout: args.timeout,
        ..Default::default()
    };
    let mut progress = output::StderrProgress::new();
    let outcome = crate::engine::clone::clone(config, &request, &options, &mut progress).await?;
    output::deploy(cli.output, &outcome);
    Ok(())
}

/// The production rule of a traffic command.
fn rule_of(args: &cli::RuleArgs) -> crate::core::traffic::RuleRef {
    match (&args.rule, &args.listener) {
        (Some(rule), _) => crate::core::traffic::RuleRef::Rule(rule.clone()),
        (None, listener) => crate::core::traffic::RuleRef::ListenerDefault(listener.clone().unwrap_or_default()),
    }
}

/// `shift`: traffic moved between two server groups, in steps.
async fn shift_command(cli: &Cli, config: &config::Config, args: &cli::ShiftArgs) -> Result<()> {
    let r = &args.rule;
    let account = account_in_region(config, &r.account, &r.region)?;
    let invalid = |message: String| Error::invalid("weights", "trafficShift.weights.invalid", message);
    let steps = match &args.weights {
        Some(w) => {
            let (_, to) = crate::core::traffic::parse_weights(w).map_err(invalid)?;
            crate::core::traffic::Steps { percents: vec![to], bakes: vec![args.bake] }
        }
        None => crate::core::traffic::Steps::new(&args.steps, &[args.bake]).map_err(invalid)?,
    };
    let shift = crate::engine::traffic::Shift {
        rule: rule_of(r),
        ecs_cluster: r.ecs_cluster.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        steps,
        alarms: args.alarms.clone(),
        stickiness: None,
        owner: "cli".into(),
        force: r.force,
    };
    let session = aws::Session::connect(&account, &r.region).await?;
    let mut progress = output::StderrProgress::new();
    let done = crate::engine::traffic::shift(&session, &shift, &mut progress).await?;
    output::traffic(cli.output, &done);
    Ok(())
}

/// `switch-back`: the weights before the last completed shift.
async fn switch_back_command(cli: &Cli, config: &config::Config, args: &cli::RuleArgs) -> Result<()> {
    let account = account_in_region(config, &args.account, &args.region)?;
    let session = aws::Session::connect(&account, &args.region).await?;
    let done = crate::engine::traffic::switch_back(&session, &rule_of(args), args.force).await?;
    output::traffic(cli.output, &done);
    Ok(())
}

/// `finish`: the server groups at weight 0 disabled.
async fn finish_command(cli: &Cli, config: &config::Config, args: &cli::RuleArgs) -> Result<()> {
    let account = account_in_region(config, &args.account, &args.region)?;
    let session = aws::Session::connect(&account, &args.region).await?;
    let groups = lifecycle::list(&session, account.naming_strategy, args.ecs_cluster.as_deref(), None).await?;
    let results = crate::engine::traffic::finish(&session, &rule_of(args), &groups).await?;
    output::operations(cli.output, &results);
    Ok(())
}

/// `cleanup`: the incomplete server groups of an account and region removed (or, with --plan, listed).
async fn cleanup_command(cli: &Cli, config: &config::Config, args: &cli::CleanupArgs) -> Result<()> {
    let list = &args.list;
    let account = account_in_region(config, &list.account, &list.region)?;
    let session = aws::Session::connect(&account, &list.region).await?;
    let scope =
        lifecycle::Scope { naming: account.naming_strategy, ecs_cluster: list.ecs_cluster.as_deref(), cluster: list.cluster.as_deref() };
    let mut results = crate::engine::traffic::recover(&session, args.older_than, args.plan, args.force).await?;
    results.extend(lifecycle::cleanup(&session, &scope, args.older_than, args.plan).await?);
    output::cleanup(cli.output, &results);
    Ok(())
}

/// The settings the environment may override (`ECS_DEPLOYER_INITIAL_BACKOFF_MS`,
/// `ECS_DEPLOYER_MAX_ATTEMPTS`, `ECS_DEPLOYER_POLL_INTERVAL_MS`, `ECS_DEPLOYER_ARTIFACT_TIMEOUT_MS`,
/// `ECS_DEPLOYER_AWS_CALL_TIMEOUT_MS`, `ECS_DEPLOYER_AWS_CONCURRENCY`, `ECS_DEPLOYER_TAG_INDEX`),
/// read once; a tag index setting other than `off`, `on` or `only` is a configuration error.
fn settings_from_env() -> Result<crate::core::settings::Settings> {
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse::<u64>().ok());
    let defaults = crate::core::settings::Settings::default();
    let tag_index = match std::env::var("ECS_DEPLOYER_TAG_INDEX") {
        Err(_) => defaults.tag_index,
        Ok(text) => crate::core::settings::TagIndex::parse(&text).ok_or_else(|| {
            Error::Config(format!("ECS_DEPLOYER_TAG_INDEX is `{}`: set it to `off`, `on` (the default) or `only`", text.trim()))
        })?,
    };
    Ok(crate::core::settings::Settings {
        initial_backoff: number("ECS_DEPLOYER_INITIAL_BACKOFF_MS")
            .map(std::time::Duration::from_millis)
            .unwrap_or(defaults.initial_backoff),
        max_attempts: number("ECS_DEPLOYER_MAX_ATTEMPTS").map(|n| n.clamp(1, 20) as u32).unwrap_or(defaults.max_attempts),
        poll_interval: number("ECS_DEPLOYER_POLL_INTERVAL_MS")
            .map(|ms| std::time::Duration::from_millis(ms.max(10)))
            .unwrap_or(defaults.poll_interval),
        artifact_timeout: number("ECS_DEPLOYER_ARTIFACT_TIMEOUT_MS")
            .map(|ms| std::time::Duration::from_millis(ms.clamp(100, 600_000)))
            .unwrap_or(defaults.artifact_timeout),
        aws_call_timeout: number("ECS_DEPLOYER_AWS_CALL_TIMEOUT_MS")
            .map(|ms| std::time::Duration::from_millis(ms.clamp(1_000, 600_000)))
            .unwrap_or(defaults.aws_call_timeout),
        aws_concurrency: number("ECS_DEPLOYER_AWS_CONCURRENCY").map(|n| n.clamp(2, 256) as usize).unwrap_or(defaults.aws_concurrency),
        tag_index,
    })
}

/// The files to read when no `--config` is given: `$ECS_DEPLOYER_CONFIG`, else
/// `./clouddriver.yml` plus `./clouddriver-local.yml` when they exist.
pub fn default_files() -> Vec<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("ECS_DEPLOYER_CONFIG").filter(|p| !p.is_empty()) {
        return std::env::split_paths(&path).collect();
    }
    ["clouddriver.yml", "clouddriver-local.yml"].iter().map(std::path::PathBuf::from).filter(|p| p.is_file()).collect()
}

/// How a command ends that printed its own outcome: `ops` with a failed task, `doctor` with a
/// failed check (the output says why; only the code is left to give).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus(pub u8);

impl ExitStatus {
    pub const OK: ExitStatus = ExitStatus(0);
}

impl From<()> for ExitStatus {
    fn from(_: ()) -> ExitStatus {
        ExitStatus::OK
    }
}

async fn run_command(cli: &Cli) -> Result<ExitStatus> {
    aws::check_endpoint_env().map_err(Error::Config)?;
    let files = if cli.config.is_empty() { default_files() } else { cli.config.clone() };
    let config = config::Config::load(&files)?;
    let done = |r: Result<()>| r.map(ExitStatus::from);
    match &cli.command {
        Command::Deploy(args) => done(deploy_command(cli, &config, args).await),
        Command::Clone(args) => done(clone_command(cli, &config, args).await),
        Command::Shift(args) => done(shift_command(cli, &config, args).await),
        Command::SwitchBack(args) => done(switch_back_command(cli, &config, args).await),
        Command::Finish(args) => done(finish_command(cli, &config, args).await),
        Command::List(args) => done(list_command(cli, &config, args).await),
        Command::Cleanup(args) => done(cleanup_command(cli, &config, args).await),
        Command::Disable(args) => done(lifecycle_command(cli, &config, operations::Kind::Disable, args, None).await),
        Command::Destroy(args) => done(lifecycle_command(cli, &config, operations::Kind::Destroy, args, None).await),
        Command::Enable(args) => done(lifecycle_command(cli, &config, operations::Kind::Enable, &args.target, args.desired).await),
        Command::Resize(args) => done(resize_command(cli, &config, args).await),
        Command::Ops(args) => ops_command(&config, args).await,
        Command::Serve(args) => done(serve::serve(config, serve_options(args).await?).await),
        Command::Accounts(command) => done(accounts_command(cli, &config, command).await),
        Command::Provider(args) => done(edit_config(cli, |e, _| {
            e.set_enabled(&args.provider, args.action == "enable");
            Ok(format!("{} provider {}d", args.provider, args.action))
        })),
        Command::Doctor(args) => doctor_command(cli, &config, args).await,
        Command::Rollback(args) => done(rollback_command(cli, &config, args).await),
    }
}

/// `list`: the server groups of an account and region.
async fn list_command(cli: &Cli, config: &config::Config, args: &cli::ListArgs) -> Result<()> {
    let account = account_in_region(config, &args.account, &args.region)?;
    if args.view {
        let reader = crate::engine::read::Reader::new(std::sync::Arc::new(config.clone()), std::time::Duration::ZERO);
        let views = reader.region_views(&account.name, &args.region, args.ecs_cluster.as_deref(), args.cluster.as_deref()).await;
        output::server_group_views(cli.output, &views.map_err(crate::engine::read::ReadError::into_error)?);
        return Ok(());
    }
    let session = aws::Session::connect(&account, &args.region).await?;
    let rows = lifecycle::list(&session, account.naming_strategy, args.ecs_cluster.as_deref(), args.cluster.as_deref()).await?;
    output::server_groups(cli.output, &rows);
    Ok(())
}

/// `resize`: flags over the description's capacity.
async fn resize_command(cli: &Cli, config: &config::Config, args: &cli::ResizeArgs) -> Result<()> {
    let mut op = operation_from_args(operations::Kind::Resize, &args.target)?;
    if args.min.is_some() || args.max.is_some() || args.desired.is_some() {
        let c = op.capacity.get_or_insert_with(Default::default);
        c.min = args.min.or(c.min);
        c.max = args.max.or(c.max);
        c.desired = args.desired.or(c.desired);
    }
    let target = operations::validate(operations::Kind::Resize, config, &op)?;
    let result = operations::run(operations::Kind::Resize, &target, None).await?;
    output::operations(cli.output, &[result]);
    Ok(())
}

/// `ops`: an operations list run as a Clouddriver task, printed; a failed task's exit code.
async fn ops_command(config: &config::Config, args: &cli::OpsArgs) -> Result<ExitStatus> {
    let value = read_json_input(&args.file, "operations")?;
    let operations = ops::parse(config, value)?;
    let mut progress = output::StderrProgress::new();
    let task = ops::run(operations, &ops::TaskState::default(), &mut progress).await;
    output::json_out(&task);
    if !task.status.failed {
        return Ok(ExitStatus::OK);
    }
    Ok(ExitStatus(task.exception.as_ref().map(|e| e.exit_code).unwrap_or(1)))
}

/// `doctor`: the checks, printed; 1 when one failed.
async fn doctor_command(cli: &Cli, config: &config::Config, args: &cli::DoctorArgs) -> Result<ExitStatus> {
    let account = account_in_region(config, &args.account, &args.region)?;
    let description = match &args.description {
        Some(path) => {
            let d = description::create_server_group_from_json(read_json_input(path, "description")?)?;
            let artifact = match &args.artifact {
                Some(p) => Some(read_json_input(&p.to_string_lossy(), "artifact")?),
                None => None,
            };
            Some((d, deploy::DeployOptions { artifact, ..Default::default() }))
        }
        None => None,
    };
    let checks = doctor::doctor(config, &account, &args.region, args.ecs_cluster.as_deref(), description).await?;
    output::checks(cli.output, &checks);
    Ok(if checks.iter().any(|c| c.status == doctor::Status::Failed) { ExitStatus(1) } else { ExitStatus::OK })
}

/// `rollback`: enable the older server group, wait for it, disable the current one.
async fn rollback_command(cli: &Cli, config: &config::Config, args: &cli::RollbackArgs) -> Result<()> {
    let account = account_in_region(config, &args.account, &args.region)?;
    let session = aws::Session::connect(&account, &args.region).await?;
    let mut progress = output::StderrProgress::new();
    let results =
        lifecycle::rollback(&session, args.ecs_cluster.as_deref(), &args.restore, &args.current, args.timeout, args.force, &mut progress)
            .await?;
    output::operations(cli.output, &results);
    Ok(())
}

/// The file account edits go to: the first `--config`, else the first default file, else ./clouddriver.yml.
fn edited_file(cli: &Cli) -> std::path::PathBuf {
    cli.config.first().cloned().or_else(|| default_files().into_iter().next()).unwrap_or_else(|| "clouddriver.yml".into())
}

fn edit_config(cli: &Cli, edit: impl FnOnce(&mut accounts::Editor, &str) -> Result<String>) -> Result<()> {
    let path = edited_file(cli);
    let before = accounts::read(&path)?;
    let mut editor = accounts::Editor::new(&before);
    let message = edit(&mut editor, &before)?;
    accounts::write_checked(&path, &editor.text())?;
    output::message(cli.output, &format!("{message} ({})", path.display()));
    Ok(())
}

async fn accounts_command(cli: &Cli, config: &config::Config, command: &cli::AccountsCommand) -> Result<()> {
    use cli::AccountsCommand as A;
    match command {
        A::List => {
            let accounts: Vec<config::Account> = config.ecs_account_names().iter().map(|n| config.account(n)).collect::<Result<_>>()?;
            output::accounts(cli.output, &accounts);
            Ok(())
        }
        A::Validate => {
            let files = if cli.config.is_empty() { default_files() } else { cli.config.clone() };
            let mut problems = Vec::new();
            for f in &files {
                problems.extend(accounts::validate_text(&accounts::read(f)?, &f.display().to_string()));
            }
            let files_named = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" + ");
            for (key, message) in crate::engine::artifacts::unreadable_credentials(config) {
                problems.push(accounts::Problem { file: files_named.clone(), key, message });
            }
            if problems.is_empty() {
                let message = format!("configuration is valid: {} ECS accounts", config.ecs_account_names().len());
                output::message_with_warnings(cli.output, &message, &config.warnings());
                Ok(())
            } else {
                Err(Error::Invalid(
                    problems.into_iter().map(|p| FieldError::new(format!("{}: {}", p.file, p.key), "config.invalid", p.message)).collect(),
                ))
            }
        }
        A::AddAws { name, account_id, regions, assume_role } => edit_config(cli, |e, text| {
            if accounts::has_account(text, "aws", name) {
                return Err(Error::invalid(
                    "name",
                    "config.invalid",
                    format!("an AWS account named `{name}` already exists; the file was not changed"),
                ));
            }
            e.add_account("aws", &accounts::aws_account_fields(name, account_id, regions, assume_role.as_deref()))?;
            Ok(format!("added AWS account {name}"))
        }),
        A::AddEcs { name, aws_account, naming_strategy, iam_role_mode } => edit_config(cli, |e, text| {
            if accounts::has_account(text, "ecs", name) {
                return Err(Error::invalid(
                    "name",
                    "config.invalid",
                    format!("an ECS account named `{name}` already exists; the file was not changed"),
                ));
            }
            let mut fields = vec![("name".to_string(), name.clone()), ("awsAccount".to_string(), aws_account.clone())];
            if let Some(s) = naming_strategy {
                fields.push(("namingStrategy".into(), s.clone()));
            }
            if let Some(m) = iam_role_mode {
                fields.push(("iamRoleMode".into(), m.clone()));
            }
            e.add_account("ecs", &fields)?;
            Ok(format!("added ECS account {name} on AWS account {aws_account}"))
        }),
        A::Remove { name } => edit_config(cli, |e, _| {
            if e.remove_account("ecs", name) {
                return Ok(format!("removed ECS account {name}"));
            }
            if e.remove_account("aws", name) {
                return Ok(format!("removed AWS account {name}"));
            }
            Err(Error::invalid("name", "config.invalid", format!("no account named `{name}`; the file was not changed")))
        }),
    }
}

/// The ECS account `name`, checked to have `region`.
fn account_in_region(config: &config::Config, name: &str, region: &str) -> Result<config::Account> {
    let account = config.account(name)?;
    if !account.has_region(region) {
        return Err(Error::Config(format!(
            "region `{region}` is not configured for account `{}` (its regions: {})",
            account.name,
            account.region_names().join(", ")
        )));
    }
    Ok(account)
}

async fn lifecycle_command(
    cli: &Cli,
    config: &config::Config,
    kind: operations::Kind,
    args: &cli::TargetArgs,
    desired: Option<i64>,
) -> Result<()> {
    let op = operation_from_args(kind, args)?;
    let target = operations::validate(kind, config, &op)?;
    let result = operations::run(kind, &target, desired).await?;
    output::operations(cli.output, &[result]);
    Ok(())
}

/// Reads the operation from `--description` or the flags.
fn operation_from_args(kind: operations::Kind, args: &cli::TargetArgs) -> Result<description::ServerGroupOperation> {
    let mut op = match &args.description {
        Some(path) => description::server_group_operation_from_json(read_json_input(path, "description")?, kind.operation().name())?,
        None => description::ServerGroupOperation::default(),
    };
    if args.account.is_some() {
        op.credentials = args.account.clone();
    }
    if args.region.is_some() {
        op.region = args.region.clone();
    }
    if args.server_group.is_some() {
        op.server_group_name = args.server_group.clone();
    }
    if args.ecs_cluster.is_some() {
        op.ecs_cluster_name = args.ecs_cluster.clone();
    }
    if args.force {
        op.force = Some(true);
    }
    Ok(op)
}

/// The options of `serve`: checks authentication and TLS against the listen address and
/// opens the store (SQLite marks the tasks a crash cut short as failed; PostgreSQL is polled
/// for the tasks posted to other replicas).
async fn serve_options(args: &cli::ServeArgs) -> Result<serve::ServeOptions> {
    let principals = serve_principals(args)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(serve::listener::Tls::load(cert, key)?),
        _ => None,
    };
    if tls.is_none() && !args.plaintext && !args.listen.ip().is_loopback() {
        return Err(Error::Config(format!(
            "serve listens on {}, off loopback, without TLS: give --tls-cert FILE --tls-key FILE, or --plaintext when a \
             proxy in front of serve terminates TLS",
            args.listen
        )));
    }
    let audit = match &args.audit_file {
        Some(path) => serve::audit::Audit::open(path)?,
        None => serve::audit::Audit::Stderr,
    };
    // The store unavailable is a failure (exit 1): the same command works later. A SQLite file
    // held by another serve is a choice to make (exit 2), as is every start-up conflict.
    let unavailable = |e: serve::store::StoreError| match e {
        serve::store::StoreError::InUse(_) => Error::Config(e.to_string()),
        serve::store::StoreError::Failed(_) => Error::Failed { message: e.to_string(), report: Vec::new() },
    };
    let (store, poll_ms, store_lock) = match &args.postgres_url {
        Some(url) => (serve::store::Store::open_postgres(url).await.map_err(unavailable)?, 200, None),
        None => {
            let (store, lock) = serve::store::Store::open_sqlite(&args.store_file).await.map_err(unavailable)?;
            (store, 1000, Some(lock))
        }
    };
    Ok(serve::ServeOptions {
        listen: args.listen,
        store,
        principals,
        max_body_bytes: args.max_body_bytes as usize,
        max_running: args.max_running as usize,
        max_running_per_principal: args.max_running_per_principal as i64,
        max_queued_per_principal: args.max_queued_per_principal as i64,
        lease: args.lease,
        poll: std::time::Duration::from_millis(poll_ms),
        store_lock,
        limits: serve::listener::Limits {
            header_timeout: args.header_timeout,
            request_timeout: args.request_timeout,
            max_connections: args.max_connections as usize,
        },
        tls,
        allowed_hosts: args.allowed_hosts.clone(),
        audit,
        task_retention: args.task_retention,
        read_ttl: args.read_ttl,
        external_urls: args.external_urls.clone(),
        metrics_listen: args.metrics_listen,
        shutdown_grace: args.shutdown_grace,
    })
}

/// Who may call: the principals file, the bearer token's one principal, or (loopback only) anyone.
fn serve_principals(args: &cli::ServeArgs) -> Result<serve::principals::Principals> {
    if let Some(path) = &args.principals {
        return serve::principals::Principals::load(path);
    }
    let token = match (&args.token_file, args.token_env) {
        (Some(path), _) => Some(crate::core::input::read_text_limited(path, 64 * 1024, "--token-file")?.trim().to_string()),
        (None, true) => Some(
            std::env::var("ECS_DEPLOYER_TOKEN")
                .map_err(|_| Error::Config("--token-env is set but ECS_DEPLOYER_TOKEN is not".into()))?
                .trim()
                .to_string(),
        ),
        (None, false) => None,
    };
    match token {
        Some(t) if t.chars().count() < serve::principals::MIN_TOKEN_CHARS => Err(Error::Config(format!(
            "the bearer token is {} characters long; use at least {} (e.g. `openssl rand -hex 32 > token`)",
            t.chars().count(),
            serve::principals::MIN_TOKEN_CHARS
        ))),
        Some(t) => Ok(serve::principals::Principals::from_token(&t)),
        None if !args.listen.ip().is_loopback() => Err(Error::Config(format!(
            "serve listens on {}, off loopback, without authentication: give --principals FILE, a bearer token with \
             --token-file FILE or --token-env (ECS_DEPLOYER_TOKEN), or listen on 127.0.0.1",
            args.listen
        ))),
        None => Ok(serve::principals::Principals::open()),
    }
}
