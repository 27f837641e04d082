//! ecs-deployer: deploys Amazon ECS services as versioned Spinnaker server groups
//! (`app-stack-detail-v003`), matching Spinnaker Clouddriver's ECS provider field by field and
//! doing better where its Decisions table says so. The pure core (`config`, `description`,
//! `validate`, `moniker`, `taskdef`, `plan`) decides; `aws` is the only module that talks to
//! AWS; `deploy` runs the steps; `output` is the only writer to stdout. See ARCHITECTURE.md.

pub mod aws;
pub mod cli;
pub mod config;
pub mod deploy;
pub mod description;
pub mod error;
pub mod health;
pub mod lifecycle;
pub mod model;
pub mod moniker;
pub mod operations;
pub mod output;
pub mod plan;
pub mod scaling;
pub mod strategy;
pub mod taskdef;
pub mod validate;

use std::io::Read;
use std::path::Path;

use cli::{Cli, Command};
use error::{Error, Result};

/// Largest input file read (descriptions, artifacts): anything bigger is a mistake.
pub const MAX_INPUT_BYTES: u64 = 8 * 1024 * 1024;

/// Reads a JSON input file (or stdin for `-`), with errors that name the file.
pub fn read_json_input(path: &str, what: &str) -> Result<serde_json::Value> {
    let text = if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| Error::invalid(what, &format!("{what}.invalid"), format!("cannot read stdin: {e}")))?;
        if text.len() as u64 > MAX_INPUT_BYTES {
            return Err(Error::invalid(what, &format!("{what}.invalid"), format!("stdin holds more than {MAX_INPUT_BYTES} bytes")));
        }
        text
    } else {
        let p = Path::new(path);
        let fail = |m: String| Error::invalid(what, &format!("{what}.invalid"), m);
        let meta = std::fs::metadata(p).map_err(|e| fail(format!("{path}: {e}")))?;
        if meta.is_dir() {
            return Err(fail(format!("{path}: is a directory, expected a JSON file")));
        }
        if meta.len() > MAX_INPUT_BYTES {
            return Err(fail(format!("{path}: {} bytes is larger than the {MAX_INPUT_BYTES}-byte limit", meta.len())));
        }
        std::fs::read_to_string(p).map_err(|e| fail(format!("{path}: {e}")))?
    };
    description::parse_json_text(&text, if path == "-" { "stdin" } else { path })
}

/// Runs the command line; returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let format = cli.output;
    match run_command(&cli).await {
        Ok(()) => 0,
        Err(err) => {
            output::error(format, &err);
            err.exit_code()
        }
    }
}

async fn run_command(cli: &Cli) -> Result<()> {
    let files = if cli.config.is_empty() { config::Config::default_files() } else { cli.config.clone() };
    let config = config::Config::load(&files)?;
    match &cli.command {
        Command::Deploy(args) => {
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
                wait: args.wait,
                timeout: args.timeout,
            };
            let mut progress = output::StderrProgress::new();
            let outcome = deploy::deploy(&config, description, &options, &mut progress).await?;
            output::deploy(cli.output, &outcome);
            Ok(())
        }
        Command::List(args) => {
            let account = config.account(&args.account)?;
            if !account.has_region(&args.region) {
                return Err(Error::Config(format!("region `{}` is not configured for account `{}`", args.region, account.name)));
            }
            let session = aws::Session::connect(&account, &args.region).await?;
            let rows = lifecycle::list(&session, account.naming_strategy, args.ecs_cluster.as_deref(), args.cluster.as_deref()).await?;
            output::server_groups(cli.output, &rows);
            Ok(())
        }
        Command::Disable(args) => lifecycle_command(cli, &config, operations::Kind::Disable, args, None).await,
        Command::Destroy(args) => lifecycle_command(cli, &config, operations::Kind::Destroy, args, None).await,
        Command::Enable(args) => lifecycle_command(cli, &config, operations::Kind::Enable, &args.target, args.desired).await,
        Command::Resize(args) => {
            let mut op = operations::operation_from_args(operations::Kind::Resize, &args.target)?;
            if args.min.is_some() || args.max.is_some() || args.desired.is_some() {
                let c = op.capacity.get_or_insert_with(Default::default);
                c.min = args.min.or(c.min);
                c.max = args.max.or(c.max);
                c.desired = args.desired.or(c.desired);
            }
            let target = operations::validate(operations::Kind::Resize, &config, &op)?;
            let result = operations::run(operations::Kind::Resize, &target, None).await?;
            output::operations(cli.output, &[result]);
            Ok(())
        }
        Command::Rollback(args) => {
            let account = config.account(&args.account)?;
            if !account.has_region(&args.region) {
                return Err(Error::Config(format!("region `{}` is not configured for account `{}`", args.region, account.name)));
            }
            let session = aws::Session::connect(&account, &args.region).await?;
            let mut progress = output::StderrProgress::new();
            let results =
                lifecycle::rollback(&session, args.ecs_cluster.as_deref(), &args.restore, &args.current, args.timeout, &mut progress)
                    .await?;
            output::operations(cli.output, &results);
            Ok(())
        }
    }
}

async fn lifecycle_command(
    cli: &Cli,
    config: &config::Config,
    kind: operations::Kind,
    args: &cli::TargetArgs,
    desired: Option<i64>,
) -> Result<()> {
    let op = operations::operation_from_args(kind, args)?;
    let target = operations::validate(kind, config, &op)?;
    let result = operations::run(kind, &target, desired).await?;
    output::operations(cli.output, &[result]);
    Ok(())
}
