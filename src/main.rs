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
        _ => "ecs_deployer=trace",
    };
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Never log what can carry credentials or secrets, whatever RUST_LOG says: request signing
    // (canonical requests hold session tokens), request and response bodies (task definitions
    // name secrets), raw HTTP traffic. The SDK's own messages above debug stay.
    const CAPS: [&str; 20] = [
        "aws_sigv4=off",
        "aws_credential_types=off",
        "aws_config=warn",
        "aws_smithy_runtime=info",
        "aws_smithy_runtime_api=info",
        "aws_smithy_http=info",
        "aws_smithy_http_client=info",
        "aws_smithy_types=info",
        "aws_smithy_json=info",
        "aws_smithy_query=info",
        "aws_smithy_xml=info",
        "aws_sdk_ecs=info",
        "aws_sdk_applicationautoscaling=info",
        "aws_sdk_cloudwatch=info",
        "aws_sdk_elasticloadbalancingv2=info",
        "aws_sdk_ec2=info",
        "aws_sdk_iam=info",
        "aws_sdk_sts=info",
        "hyper=off",
        "h2=off",
    ];
    // The audit log goes to stderr (without --audit-file) whatever the verbosity.
    for directive in CAPS.iter().chain(&["hyper_util=off", "rustls=off", "tokio_rustls=off", "ecs_deployer::audit=info"]) {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
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
