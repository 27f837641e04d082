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
    const CAPS: [&str; 22] = [
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
        "aws_sdk_s3=info",
        "aws_sdk_ecr=info",
        "hyper=off",
        "h2=off",
    ];
    // The audit log goes to stderr (without --audit-file) whatever the verbosity.
    for directive in CAPS.iter().chain(&["hyper_util=off", "rustls=off", "tokio_rustls=off", "ecs_deployer::audit=info"]) {
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    match cli.log_format {
        ecs_deployer::cli::LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .without_time()
            .init(),
        // With time, and the fields of the span a line is in (a `serve` task's id, principal, operations).
        ecs_deployer::cli::LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    // The runtime runs on a thread with a large stack: `serve` polls deploys nested inside its
    // task runner and lock guards, and unoptimised builds keep every future's state in the frame.
    // The stack is reserved, not committed: only what is used costs memory.
    let runner = std::thread::Builder::new()
        .name("ecs-deployer".into())
        .stack_size(RUNTIME_STACK)
        .spawn(move || runtime.block_on(ecs_deployer::run(cli)));
    match runner.map(|thread| thread.join()) {
        Ok(Ok(code)) => std::process::ExitCode::from(code),
        Ok(Err(_)) => std::process::ExitCode::from(1),
        Err(e) => {
            tracing::error!("cannot start the runtime's thread: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// The runtime thread's stack: 64 MiB of address space (8 MiB is the usual main thread's).
const RUNTIME_STACK: usize = 64 * 1024 * 1024;
