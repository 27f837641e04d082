//! The command line, as clap derive structs. The `///` comments are the `--help` text.

pub mod accounts;
pub mod output;
pub mod run;

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

    /// Log format on stderr: text, or json (one object per line; a `serve` task's lines carry its
    /// task id, principal and operations).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// More logs on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
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
    /// Deploy the next version of a live server group from itself (cloneServerGroup): every
    /// setting and its scaling copied, only the images, capacity and strategy you give changed.
    Clone(CloneArgs),
    /// List the server groups of an account and region (of one Spinnaker cluster with --cluster).
    List(ListArgs),
    /// Disable a server group: suspend its scaling, scale it to 0 (disableServerGroup).
    Disable(TargetArgs),
    /// Enable a server group: scale it to its scalable target's max (or --desired), resume scaling.
    Enable(EnableArgs),
    /// Resize a server group and its scalable target (resizeServerGroup).
    Resize(ResizeArgs),
    /// Destroy a server group: its alarms, scaling, service and task definition (destroyServerGroup).
    Destroy(TargetArgs),
    /// Roll back: enable --restore, wait until it is healthy, then disable --current.
    Rollback(RollbackArgs),
    /// Move traffic between two server groups by listener-rule weights, in steps with bakes
    /// watched by alarms and target health; restored at once on a failure.
    Shift(ShiftArgs),
    /// Restore the weights before the last completed shift, in one write.
    SwitchBack(RuleArgs),
    /// Disable the server groups the rule no longer sends traffic to (weight 0).
    Finish(RuleArgs),
    /// Remove incomplete server groups (a deploy killed or failed half-way, `list` shows them
    /// INCOMPLETE) whose deploy started longer ago than --older-than; --plan prints what it would remove.
    Cleanup(CleanupArgs),
    /// Run a Clouddriver operations list in order, stopping at the first failure; prints the task.
    Ops(OpsArgs),
    /// Serve Clouddriver's operations and task API over HTTP (POST /ecs/ops, GET /task/{id}).
    Serve(ServeArgs),
    /// List, add, remove and validate accounts in clouddriver.yml.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Enable or disable a provider in clouddriver.yml.
    Provider(ProviderArgs),
    /// Read-only preflight checks of an account (and a description) before the first deploy.
    Doctor(DoctorArgs),
}

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// The AWS and ECS accounts of the loaded configuration.
    List,
    /// Add an AWS account (like `hal config provider aws account add`).
    AddAws {
        name: String,
        #[arg(long)]
        account_id: String,
        /// Regions (repeatable).
        #[arg(long = "region", required = true)]
        regions: Vec<String>,
        /// `role/NAME` or a role ARN.
        #[arg(long)]
        assume_role: Option<String>,
    },
    /// Add an ECS account riding on an AWS account (like `hal config provider ecs account add`).
    AddEcs {
        name: String,
        #[arg(long)]
        aws_account: String,
        #[arg(long, value_name = "default|tags")]
        naming_strategy: Option<String>,
        #[arg(long, value_name = "service-linked|legacy")]
        iam_role_mode: Option<String>,
    },
    /// Remove an account (an AWS account only when no ECS account rides on it).
    Remove { name: String },
    /// Check the configuration offline.
    Validate,
}

#[derive(Debug, Args)]
pub struct OpsArgs {
    /// The operations list (`[{"createServerGroup": {...}}, {"disableServerGroup": {...}}]`); `-` reads stdin.
    #[arg(value_name = "FILE|-")]
    pub file: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; off loopback a bearer token (or --principals) and TLS (or an explicit
    /// --plaintext) are required. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:7002")]
    pub listen: std::net::SocketAddr,

    /// SQLite file holding the tasks (one replica).
    #[arg(long, value_name = "FILE", default_value = "ecs-deployer-tasks.db", conflicts_with = "postgres_url")]
    pub store_file: PathBuf,

    /// PostgreSQL holding the tasks, shared by several replicas (postgres://user:password@host:port/db).
    #[arg(long, value_name = "URL", env = "ECS_DEPLOYER_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,

    /// File holding the bearer token clients must send (`Authorization: Bearer …`): one principal
    /// with every permission.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["token_env", "principals"])]
    pub token_file: Option<PathBuf>,

    /// Read the bearer token from $ECS_DEPLOYER_TOKEN.
    #[arg(long, conflicts_with = "principals")]
    pub token_env: bool,

    /// YAML file of principals (name, tokenSha256 or tokenFile, roles, trustedService, admin),
    /// checked against the accounts' `permissions`; read again on SIGHUP.
    #[arg(long, value_name = "FILE")]
    pub principals: Option<PathBuf>,

    /// A host name clients may use in `Host` (and `Origin`) besides loopback and the listen address,
    /// e.g. the load balancer's name. Repeatable.
    #[arg(long = "allowed-host", value_name = "NAME")]
    pub allowed_hosts: Vec<String>,

    /// The URL browsers reach serve at through a load balancer (https://deployer.example.com):
    /// the console's forms may be posted from it, its host is allowed, and the console's cookie
    /// is `Secure` when its scheme is https. Repeatable.
    #[arg(long = "external-url", value_name = "URL", value_parser = external_url)]
    pub external_urls: Vec<String>,
    /// Serve `/metrics` (Prometheus text format) also on this address, without authentication
    /// (an address only the scraper reaches); without it `/metrics` is authenticated like every
    /// other endpoint.
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// On SIGTERM, how long running tasks may go on to finish (nothing new starts, `/ready` answers
    /// 503) before they are stopped at their next step and undone; a second signal stops them at
    /// once. 0: stop at once (a rolling restart where another replica re-runs nothing).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = bounded_duration(0, 3600))]
    pub shutdown_grace: std::time::Duration,

    /// PEM certificate chain to serve HTTPS with (with --tls-key); read again on SIGHUP.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve plain HTTP off loopback (TLS is terminated in front of serve).
    #[arg(long, conflicts_with = "tls_cert")]
    pub plaintext: bool,

    /// Append the audit log (JSON lines) to this file, created 0600; default: stderr.
    #[arg(long, value_name = "FILE")]
    pub audit_file: Option<PathBuf>,

    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 8 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=64 * 1024 * 1024))]
    pub max_body_bytes: u64,

    /// Tasks this replica runs at once.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_running: u16,

    /// Tasks one principal may have running at once on a replica's workers; its next ones wait
    /// while other principals' run (a wait for health holds no worker).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub max_running_per_principal: u16,

    /// Tasks one principal may have queued or running at once; a post beyond is answered 429.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=10000))]
    pub max_queued_per_principal: u16,

    /// Connections open at once; one more is answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_connections: u32,

    /// How long a client may take to send a request's headers, and how long a connection may idle.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = bounded_duration(1, 300))]
    pub header_timeout: std::time::Duration,

    /// How long reading a request's body and answering it may take.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = bounded_duration(1, 600))]
    pub request_timeout: std::time::Duration,

    /// How long a replica's claim on a running task lasts without renewal (it renews every third of it).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = bounded_duration(1, 3600))]
    pub lease: std::time::Duration,

    /// Finished tasks older than this are deleted from the store.
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = bounded_duration(60, 10 * 365 * 24 * 3600))]
    pub task_retention: std::time::Duration,

    /// How long a finished AWS read behind the read API (server groups, clusters, instances) is
    /// reused; identical concurrent reads always share one. A write through /ecs/ops and
    /// POST /cache/ecs/{type} discard the account's reads at once.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = bounded_duration(0, 60))]
    pub read_ttl: std::time::Duration,
}

/// `--external-url`: an http(s) URL with a host.
fn external_url(s: &str) -> std::result::Result<String, String> {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    match rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default()) {
        Some(authority) if !authority.is_empty() && !authority.contains('@') => Ok(s.to_string()),
        _ => Err(format!("`{s}` is not an http(s) URL with a host (e.g. https://deployer.example.com)")),
    }
}

/// The longest wait for health a command accepts: a day.
pub const MAX_WAIT_SECS: u64 = 24 * 3600;

/// A duration flag between `min` and `max` seconds.
fn bounded_duration(min: u64, max: u64) -> impl Fn(&str) -> std::result::Result<std::time::Duration, String> + Clone {
    move |s| {
        let d = crate::core::strategy::parse_duration(s)?;
        if d < std::time::Duration::from_secs(min) || d > std::time::Duration::from_secs(max) {
            return Err(format!("`{s}` is out of range: give between {min}s and {max}s"));
        }
        Ok(d)
    }
}

#[derive(Debug, Args)]
pub struct ProviderArgs {
    /// The provider: ecs or aws.
    #[arg(value_parser = ["ecs", "aws"])]
    pub provider: String,
    #[arg(value_parser = ["enable", "disable"])]
    pub action: String,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub region: String,
    #[arg(long)]
    pub ecs_cluster: Option<String>,
    /// Also check everything this createServerGroup description needs.
    #[arg(long, value_name = "FILE|-")]
    pub description: Option<String>,
    /// The task-definition artifact the description deploys.
    #[arg(long, value_name = "FILE")]
    pub artifact: Option<PathBuf>,
}

/// Which server group an operation acts on: flags, or a Clouddriver operation description.
#[derive(Debug, Args, Clone, Default)]
pub struct TargetArgs {
    /// The ECS account (from the configuration).
    #[arg(long)]
    pub account: Option<String>,
    /// The AWS region.
    #[arg(long)]
    pub region: Option<String>,
    /// The server group (ECS service) name, e.g. app-prod-v003.
    #[arg(long)]
    pub server_group: Option<String>,
    /// The ECS cluster; found automatically when the server group is in exactly one.
    #[arg(long)]
    pub ecs_cluster: Option<String>,
    /// A Clouddriver operation description instead of the flags (bare, or an operations list); `-` reads stdin.
    #[arg(long, value_name = "FILE|-")]
    pub description: Option<String>,
    /// Go on past the checks that the server group can serve (its images still exist).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct EnableArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Desired count instead of the scalable target's max.
    #[arg(long, value_parser = int32_count)]
    pub desired: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ResizeArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[arg(long, value_parser = int32_count)]
    pub min: Option<i64>,
    #[arg(long, value_parser = int32_count)]
    pub max: Option<i64>,
    #[arg(long, value_parser = int32_count)]
    pub desired: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub region: String,
    /// Only this ECS cluster (default: all of the account's clusters in the region).
    #[arg(long)]
    pub ecs_cluster: Option<String>,
    /// Only this Spinnaker cluster, e.g. app-prod or app-prod-canary.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Print each server group as Clouddriver's read API shows it (the objects `serve` answers at
    /// /serverGroups/…: capacity, instances and their health, task definition), newest first.
    #[arg(long)]
    pub view: bool,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    #[command(flatten)]
    pub list: ListArgs,
    /// Only groups whose deploy started longer ago than this (so a deploy still running is never touched).
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = bounded_duration(0, 10 * 365 * 24 * 3600))]
    pub older_than: std::time::Duration,
    /// Print what would be removed; remove nothing.
    #[arg(long)]
    pub plan: bool,
    /// Restore a journaled traffic rule even when it was changed outside ecs-deployer since.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[arg(long)]
    pub account: String,
    #[arg(long)]
    pub region: String,
    /// The server group to bring back.
    #[arg(long)]
    pub restore: String,
    /// The server group to disable once the restored one is healthy.
    #[arg(long)]
    pub current: String,
    #[arg(long)]
    pub ecs_cluster: Option<String>,
    /// How long to wait for the restored server group to become healthy.
    #[arg(long, default_value = "10m", value_parser = bounded_duration(1, MAX_WAIT_SECS))]
    pub timeout: std::time::Duration,
    /// Go on past the check that the restored group's images still exist.
    #[arg(long)]
    pub force: bool,
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

    /// Deploy strategy (default: the description's `strategy`, else none): redblack disables the
    /// other server groups of the cluster once the new one is healthy; highlander destroys them;
    /// rollingredblack grows the new one in steps while the old one shrinks by the same share.
    #[arg(long, value_name = "none|redblack|highlander|rollingredblack")]
    pub strategy: Option<String>,

    /// rollingredblack's steps, in percent of the new version's desired count (100 is added).
    #[arg(long, value_name = "P,P,…", value_delimiter = ',')]
    pub target_percentages: Vec<i64>,

    /// Wait until the new server group is healthy (always done by redblack and highlander).
    #[arg(long)]
    pub wait: bool,

    /// How long to wait for health.
    #[arg(long, default_value = "10m", value_parser = bounded_duration(1, MAX_WAIT_SECS))]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The ECS account (from the configuration).
    #[arg(long)]
    pub account: String,
    /// The AWS region.
    #[arg(long)]
    pub region: String,
    /// The server group to clone, e.g. app-prod-v003.
    #[arg(long)]
    pub server_group: String,
    /// Its ECS cluster; found automatically when the server group is in exactly one.
    #[arg(long)]
    pub ecs_cluster: Option<String>,
    /// The new image of container CONTAINER (repeatable); every other container keeps its image.
    #[arg(long = "image", value_name = "CONTAINER=IMAGE", value_parser = parse_image)]
    pub images: Vec<(String, String)>,
    /// The new version's capacity (default: the source's scalable target's min and max, and its
    /// desired count; needed when the source is disabled).
    #[arg(long, value_name = "MIN:MAX:DESIRED", value_parser = parse_capacity)]
    pub capacity: Option<(i64, i64, i64)>,
    /// Deploy strategy: none (default), redblack or highlander.
    #[arg(long, value_name = "none|redblack|highlander")]
    pub strategy: Option<String>,
    /// A traffic-managed clone: the `trafficShift` JSON (rule, targetGroups, steps, …) in a file.
    #[arg(long, value_name = "FILE|-")]
    pub traffic_shift: Option<String>,
    /// Print every request the clone would send, and send none.
    #[arg(long)]
    pub plan: bool,
    /// On a failure half-way, leave what was created instead of removing it.
    #[arg(long)]
    pub keep_failed: bool,
    /// Wait until the new server group is healthy (always done by redblack and highlander).
    #[arg(long)]
    pub wait: bool,
    /// How long to wait for health.
    #[arg(long, default_value = "10m", value_parser = bounded_duration(1, MAX_WAIT_SECS))]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// The ECS account (from the configuration).
    #[arg(long)]
    pub account: String,
    /// The AWS region.
    #[arg(long)]
    pub region: String,
    /// The production listener rule (ARN).
    #[arg(long, conflicts_with = "listener", required_unless_present = "listener")]
    pub rule: Option<String>,
    /// A listener whose default action serves production (ARN).
    #[arg(long)]
    pub listener: Option<String>,
    /// The ECS cluster of the server groups (found automatically when omitted).
    #[arg(long)]
    pub ecs_cluster: Option<String>,
    /// Go on past the health checks (audited).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ShiftArgs {
    #[command(flatten)]
    pub rule: RuleArgs,
    /// The server group giving traffic.
    #[arg(long)]
    pub from: String,
    /// The server group taking traffic.
    #[arg(long)]
    pub to: String,
    /// The weights to set, FROM:TO in percent (`90:10`).
    #[arg(long, value_name = "FROM:TO", conflicts_with = "steps", required_unless_present = "steps")]
    pub weights: Option<String>,
    /// Steps of the TO side's percent (`10,50,100`), each baked.
    #[arg(long, value_delimiter = ',', value_name = "PERCENT,…")]
    pub steps: Vec<i32>,
    /// The bake after each step: alarms and target health watched.
    #[arg(long, default_value = "0s", value_parser = bounded_duration(0, MAX_WAIT_SECS))]
    pub bake: std::time::Duration,
    /// A CloudWatch alarm to watch during the bakes (repeatable).
    #[arg(long = "alarm", value_name = "NAME")]
    pub alarms: Vec<String>,
}

fn parse_capacity(s: &str) -> Result<(i64, i64, i64), String> {
    let parts: Vec<&str> = s.split(':').collect();
    match parts.as_slice() {
        [min, max, desired] => Ok((int32_count(min)?, int32_count(max)?, int32_count(desired)?)),
        _ => Err(format!("`{s}` is not MIN:MAX:DESIRED")),
    }
}

fn parse_image(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((c, i)) if !c.is_empty() && !i.is_empty() => Ok((c.to_string(), i.to_string())),
        _ => Err(format!("`{s}` is not CONTAINER=IMAGE")),
    }
}

/// A task count as AWS takes it: an int32, not negative (0 to 2147483647).
fn int32_count(text: &str) -> Result<i64, String> {
    match text.parse::<i64>() {
        Ok(n) if (0..=i64::from(i32::MAX)).contains(&n) => Ok(n),
        _ => Err(format!("`{text}` is not a count AWS takes: give a whole number from 0 to {}", i32::MAX)),
    }
}
