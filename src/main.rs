//! The `ecs-deployer` binary: parses the command line, sets up logging on stderr, runs the
//! command on a single-threaded runtime (a deploy is I/O-bound) and exits with its code.

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = ecs_deployer::cli::Cli::parse();
    let default = match cli.verbose {
        0 => "ecs_deployer=info",
        1 => "ecs_deployer=debug",
        _ => "ecs_deployer=trace,aws_smithy_runtime=debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    std::process::ExitCode::from(runtime.block_on(ecs_deployer::run(cli)))
}
