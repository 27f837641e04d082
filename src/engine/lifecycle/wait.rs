//! Waiting until a server group is healthy: polling its service (and, only when the verdict
//! needs them, its stopped tasks and targets) until [`health::assess`] says healthy or failed.

use std::time::{Duration, Instant};

use futures::future::try_join_all;

use crate::aws::Session;
use crate::core::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::warn;

use crate::core::deployment::{Judgement, ServiceDeployment};
use crate::core::health::{self, Snapshot, Verdict};

/// How long to wait for health, and how often to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    pub timeout: Duration,
    pub poll: Duration,
    /// Follow ECS's service deployment (a new server group's wait, Decisions D10); enable,
    /// resize and rollback start none and wait on counts and targets.
    pub follow_deployment: bool,
}

impl WaitOptions {
    /// Polls at the settings' interval (3 s unless set) until `timeout`.
    pub fn new(timeout: Duration) -> Self {
        WaitOptions { timeout, poll: crate::core::settings::get().poll_interval, follow_deployment: false }
    }

    /// The wait of a new server group: ECS's service deployment decides with the counts.
    pub fn following_deployment(self) -> Self {
        WaitOptions { follow_deployment: true, ..self }
    }
}

/// Set once a wait fell back from service deployments to the `deployments[]` judgement, so the
/// process says so once (the API is refused per account or region, not per deploy).
static FELL_BACK: AtomicBool = AtomicBool::new(false);

/// How a wait follows the new server group's service deployment.
enum Follow {
    Off,
    /// Following; its ARN once known.
    On(Option<String>),
}

impl Follow {
    /// Stops following (the API refused, or AWS has no such deployment) and says so once.
    fn fall_back(&mut self, name: &str, why: &str) {
        *self = Follow::Off;
        if !FELL_BACK.swap(true, Ordering::SeqCst) {
            warn!(
                "ECS's service deployments cannot be read ({why}); {name} and later new server groups are judged by their deployments[] instead"
            );
        }
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

/// One poll: the service (and its service deployment, when followed), then only what the
/// judgement needs — stopped tasks once tasks have failed or the deployment did, targets once the
/// rollout is done.
async fn read_snapshot(
    session: &Session,
    ecs_cluster: &str,
    name: &str,
    task_definition: &str,
    follow: &mut Follow,
    seen_events: &mut Vec<String>,
    progress: &mut dyn Progress,
) -> Result<Snapshot> {
    let names = [name.to_string()];
    let known = match follow {
        Follow::On(Some(arn)) => Some(arn.clone()),
        _ => None,
    };
    let deployment = async {
        match &known {
            Some(arn) => Some(session.describe_service_deployment(arn).await),
            None => None,
        }
    };
    let (service, deployment) = tokio::join!(session.describe_services(ecs_cluster, &names, false), deployment);
    let mut snapshot = Snapshot { service: service?.into_iter().next(), ..Default::default() };
    let Some(s) = snapshot.service.clone() else { return Ok(snapshot) };
    for e in s.events.iter().rev() {
        if !seen_events.contains(&e.id) {
            seen_events.push(e.id.clone());
            progress.event(&e.message);
        }
    }
    let deployment = match (deployment, &*follow) {
        (Some(read), _) => Some(read),
        (None, Follow::On(None)) => first_deployment(session, ecs_cluster, name, &s, follow).await,
        (None, _) => None,
    };
    snapshot.deployment = match deployment {
        Some(Ok(Some(d))) => ServiceDeployment::from_json(&d),
        Some(Ok(None)) => {
            follow.fall_back(name, "AWS reports the deployment MISSING");
            None
        }
        Some(Err(e)) => {
            follow.fall_back(name, &e.to_string());
            None
        }
        None => None,
    };
    let deployment_failed = snapshot.deployment.as_ref().is_some_and(|d| matches!(d.judgement(), Judgement::Failed(_)));
    if deployment_failed || s.deployments.iter().any(|d| d.failed_tasks > 0) {
        snapshot.stopped_tasks = session.stopped_tasks(ecs_cluster, name).await?;
    }
    let rolled_out = matches!(health::assess(&snapshot, task_definition), Verdict::Healthy);
    if rolled_out && !s.target_group_arns.is_empty() {
        let targets = try_join_all(s.target_group_arns.iter().map(|tg| session.target_health(tg))).await?;
        snapshot.targets = targets.into_iter().flatten().collect();
    }
    Ok(snapshot)
}

/// The new server group's service deployment, read the first time: by the ARN the service names
/// (`currentServiceDeployment`), else the newest ListServiceDeployments gives.
async fn first_deployment(
    session: &Session,
    ecs_cluster: &str,
    name: &str,
    service: &crate::core::model::ServiceState,
    follow: &mut Follow,
) -> Option<std::result::Result<Option<serde_json::Value>, crate::core::error::AwsError>> {
    let arn = match &service.current_service_deployment {
        Some(arn) => arn.clone(),
        None => match session.list_service_deployments(ecs_cluster, name).await {
            Ok(listed) => match crate::core::deployment::newest_arn(&listed) {
                Some(arn) => arn,
                None => return Some(Ok(None)),
            },
            Err(e) => return Some(Err(e)),
        },
    };
    *follow = Follow::On(Some(arn.clone()));
    Some(session.describe_service_deployment(&arn).await)
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
    let mut seen_events: Vec<String> = Vec::new();
    let mut follow = if wait.follow_deployment { Follow::On(None) } else { Follow::Off };
    loop {
        let snapshot = read_snapshot(session, ecs_cluster, name, task_definition, &mut follow, &mut seen_events, progress).await?;
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
        if crate::engine::interrupt::handing_over() {
            progress.done();
            return Err(Error::HandedOver);
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
