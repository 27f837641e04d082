//! Waiting until a server group is healthy: polling its service (and, only when the verdict
//! needs them, its stopped tasks and targets) until [`health::assess`] says healthy or failed.

use std::time::{Duration, Instant};

use futures::future::try_join_all;

use crate::aws::Session;
use crate::core::error::{Error, Result};
use crate::core::health::{self, Snapshot, Verdict};

/// How long to wait for health, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    pub timeout: Duration,
    pub poll: Duration,
}

impl WaitOptions {
    /// Polls at the settings' interval (3 s unless set) until `timeout`.
    pub fn new(timeout: Duration) -> Self {
        WaitOptions { timeout, poll: crate::core::settings::get().poll_interval }
    }
}

/// Something that shows a wait's progress to a person.
pub trait Progress {
    /// The current state, e.g. "rollout IN_PROGRESS (desired 2, running 1, pending 1)".
    fn status(&mut self, line: &str);
    /// A service event, shown once.
    fn event(&mut self, message: &str);
    fn done(&mut self);
}

/// Progress shown nowhere: a plan run by `doctor`, a task of `serve` (whose history gets the lines).
pub struct Quiet;

impl Progress for Quiet {
    fn status(&mut self, _: &str) {}
    fn event(&mut self, _: &str) {}
    fn done(&mut self) {}
}

/// Polls until the server group is healthy (see [`health::assess`]), it has failed, or `timeout` passed.
pub async fn wait_healthy(
    session: &Session,
    ecs_cluster: &str,
    name: &str,
    task_definition: &str,
    wait: WaitOptions,
    progress: &mut dyn Progress,
) -> Result<()> {
    // A wait holds no worker slot in `serve`: other tasks run meanwhile.
    crate::engine::slot::while_waiting(wait_healthy_here(session, ecs_cluster, name, task_definition, wait, progress)).await
}

async fn wait_healthy_here(
    session: &Session,
    ecs_cluster: &str,
    name: &str,
    task_definition: &str,
    wait: WaitOptions,
    progress: &mut dyn Progress,
) -> Result<()> {
    let timeout = wait.timeout;
    // The CLI bounds the timeout; a caller that did not waits at most a day, never panics.
    let deadline = Instant::now().checked_add(timeout).unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400));
    let names = [name.to_string()];
    let mut seen_events: Vec<String> = Vec::new();
    loop {
        let service = session.describe_services(ecs_cluster, &names, false).await?.into_iter().next();
        let mut snapshot = Snapshot { service, ..Default::default() };
        if let Some(s) = &snapshot.service {
            for e in s.events.iter().rev() {
                if !seen_events.contains(&e.id) {
                    seen_events.push(e.id.clone());
                    progress.event(&e.message);
                }
            }
            // Only read what the judgement needs: stopped tasks once tasks have failed, targets
            // once the rollout is done.
            if s.deployments.iter().any(|d| d.failed_tasks > 0) {
                snapshot.stopped_tasks = session.stopped_tasks(ecs_cluster, name).await?;
            }
            let rolled_out = matches!(health::assess(&snapshot, task_definition), Verdict::Healthy);
            if rolled_out && !s.target_group_arns.is_empty() {
                let targets = try_join_all(s.target_group_arns.iter().map(|tg| session.target_health(tg))).await?;
                snapshot.targets = targets.into_iter().flatten().collect();
            }
        }
        let last = match health::assess(&snapshot, task_definition) {
            Verdict::Healthy => {
                progress.done();
                return Ok(());
            }
            Verdict::Failed(reason) => {
                progress.done();
                return Err(Error::Failed { message: format!("server group {name} is not healthy: {reason}"), report: Vec::new() });
            }
            Verdict::Waiting(what) => {
                progress.status(&format!("{name}: {what}"));
                what
            }
        };
        if crate::engine::interrupt::requested() {
            progress.done();
            let report = vec![format!("interrupted while waiting for {name} to become healthy; last seen: {last}")];
            return Err(Error::Interrupted { report: [report, vec![format!("{name} exists and was left as it is")]].concat() });
        }
        if Instant::now() >= deadline {
            progress.done();
            return Err(Error::Failed {
                message: format!(
                    "timed out after {}s waiting for server group {name} to become healthy (rollout COMPLETED, tasks running, targets healthy); last seen: {last}",
                    timeout.as_secs()
                ),
                report: vec![format!("check `aws ecs describe-services --cluster {ecs_cluster} --services {name}` for its events")],
            });
        }
        tokio::time::sleep(wait.poll.min(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(10)))).await;
    }
}
