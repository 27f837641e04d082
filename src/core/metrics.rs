//! What the process is doing, counted (issue #30): operations by kind and outcome with their
//! durations, AWS requests by service, operation and outcome (throttled apart), the task queue
//! and running tasks, read-view hits, misses and coalesced reads, lease renewals and takeovers,
//! artifact downloads. One registry for the process (`METRICS`, see ARCHITECTURE "Process-wide
//! state"), counted with atomics, rendered in the Prometheus text format by `prometheus-client`.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Operation {
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Kind {
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AwsRequest {
    service: String,
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: String,
}

type Durations = Family<Kind, Histogram, fn() -> Histogram>;

struct Metrics {
    registry: Registry,
    operations: Family<Operation, Counter>,
    durations: Durations,
    aws: Family<AwsRequest, Counter>,
    queued: Gauge,
    running: Gauge,
    reads: Family<Outcome, Counter>,
    leases: Family<Outcome, Counter>,
    artifacts: Family<Outcome, Counter>,
}

fn durations() -> Histogram {
    // 0.1 s to about 27 minutes.
    Histogram::new(exponential_buckets(0.1, 2.0, 15))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("ecs_deployer");
    let m = Metrics {
        registry: Registry::default(),
        operations: Family::default(),
        durations: Family::new_with_constructor(durations as fn() -> Histogram),
        aws: Family::default(),
        queued: Gauge::default(),
        running: Gauge::default(),
        reads: Family::default(),
        leases: Family::default(),
        artifacts: Family::default(),
    };
    registry.register("operations", "Operations run, by kind and outcome", m.operations.clone());
    registry.register("operation_duration_seconds", "How long operations ran, by kind", m.durations.clone());
    registry.register(
        "aws_requests",
        "AWS requests sent (each attempt), by service, operation and outcome: ok, throttled, error",
        m.aws.clone(),
    );
    registry.register("tasks_queued", "Tasks waiting in the store for a replica", m.queued.clone());
    registry.register("tasks_running", "Tasks this replica runs now", m.running.clone());
    registry.register(
        "read_views",
        "Read-view lookups: hit (reused), miss (read from AWS), coalesced (joined a read in flight)",
        m.reads.clone(),
    );
    registry.register("leases", "Task leases: renewal, takeover (an abandoned task adopted)", m.leases.clone());
    registry.register("artifact_downloads", "Artifact downloads by outcome: ok, refused, unavailable", m.artifacts.clone());
    Metrics { registry, ..m }
});

/// An operation ended: `outcome` is `succeeded` or the failure's kind.
pub fn operation(operation: &str, outcome: &str, seconds: f64) {
    let m = &*METRICS;
    m.operations.get_or_create(&Operation { operation: operation.into(), outcome: outcome.into() }).inc();
    m.durations.get_or_create(&Kind { operation: operation.into() }).observe(seconds);
}

/// One AWS request attempt ended.
pub fn aws_request(service: &str, operation: &str, outcome: &str) {
    let labels = AwsRequest { service: service.into(), operation: operation.into(), outcome: outcome.into() };
    METRICS.aws.get_or_create(&labels).inc();
}

/// The task queue and this replica's running tasks, as of now.
pub fn tasks(queued: i64, running: i64) {
    METRICS.queued.set(queued);
    METRICS.running.set(running);
}

/// A read-view lookup: `hit`, `miss` or `coalesced`.
pub fn read_view(outcome: &'static str) {
    METRICS.reads.get_or_create(&Outcome { outcome: outcome.into() }).inc();
}

/// A lease event: `renewal` or `takeover`.
pub fn lease(event: &'static str) {
    METRICS.leases.get_or_create(&Outcome { outcome: event.into() }).inc();
}

/// An artifact download ended: `ok`, `refused` or `unavailable`.
pub fn artifact_download(outcome: &'static str) {
    METRICS.artifacts.get_or_create(&Outcome { outcome: outcome.into() }).inc();
}

/// The metrics in the Prometheus text format (OpenMetrics).
pub fn render() -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &METRICS.registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counters_render_in_the_text_format() {
        operation("createServerGroup", "succeeded", 1.5);
        aws_request("ECS", "DescribeServices", "throttled");
        read_view("hit");
        let text = render();
        assert!(text.contains("ecs_deployer_operations_total{operation=\"createServerGroup\",outcome=\"succeeded\"}"), "{text}");
        assert!(text.contains("ecs_deployer_aws_requests_total{service=\"ECS\",operation=\"DescribeServices\",outcome=\"throttled\"}"));
        assert!(text.contains("ecs_deployer_operation_duration_seconds_bucket{le=\"1.6\",operation=\"createServerGroup\"}"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
