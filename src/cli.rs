//! The command line, as clap derive structs. The `///` comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Deploys Amazon ECS services as versioned Spinnaker server groups, the way Spinnaker
/// Clouddriver's ECS provider does.
#[derive(Debug, Parser)]
#[command(name = "ecs-deployer", version, about, propagate_version = true)]
pub struct Cli {
    /// Account configuration in clouddriver.yml format; repeat to layer files (later ones win key by
    /// key). Default: $ECS_DEPLOYER_CONFIG, else ./clouddriver.yml and ./clouddriver-local.yml.
    #[arg(long = "config", global = true, value_name = "FILE")]
    pub config: Vec<PathBuf>,

    /// Result format on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// More logs on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new server group (createServerGroup) from a Clouddriver description.
    Deploy(DeployArgs),
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The createServerGroup description (or an operations list holding one); `-` reads stdin.
    #[arg(long, value_name = "FILE|-")]
    pub description: String,

    /// A task-definition artifact (register-task-definition or describe-task-definition JSON);
    /// turns on artifact mode.
    #[arg(long, value_name = "FILE")]
    pub artifact: Option<PathBuf>,

    /// Puts IMAGE into the artifact's container CONTAINER (an entry of containerToImageMap).
    #[arg(long = "image", value_name = "CONTAINER=IMAGE", value_parser = parse_image)]
    pub images: Vec<(String, String)>,

    /// Print every request the deploy would send, and send none.
    #[arg(long)]
    pub plan: bool,

    /// On a failure half-way, leave what was created instead of removing it.
    #[arg(long)]
    pub keep_failed: bool,
}

fn parse_image(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((c, i)) if !c.is_empty() && !i.is_empty() => Ok((c.to_string(), i.to_string())),
        _ => Err(format!("`{s}` is not CONTAINER=IMAGE")),
    }
}
