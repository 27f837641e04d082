//! A rolling red/black run by ecs-deployer itself (blue-green.md §8; the CLI's
//! `--strategy rollingredblack --target-percentages …`): the new version, created at 0/0/0, grows
//! to each step's share of its capacity (pinned min = max = desired until the last), is waited
//! for, and the old enabled version is then disabled by the same share (scaled down: traffic on
//! a shared target group follows the task count) — fully at 100.

use std::time::Duration;

use super::after::NewGroup;
use crate::aws::Session;
use crate::core::error::Result;
use crate::core::request::DeployRequest;
use crate::core::strategy::rolling::grown;
use crate::engine::lifecycle::{self, OperationResult, Progress, WaitOptions};

/// The new version and how it grows.
pub(super) struct Rolling<'a> {
    pub(super) session: &'a Session,
    pub(super) group: &'a NewGroup,
    pub(super) td: &'a str,
    /// The new version's (min, max, desired) at 100 %.
    pub(super) capacity: (i64, i64, i64),
    pub(super) timeout: Duration,
}

impl Rolling<'_> {
    /// The newest other enabled server group of the cluster, in the same ECS cluster.
    async fn source(&self, req: &DeployRequest) -> Result<Option<String>> {
        let group = self.group;
        let rows = lifecycle::list(self.session, req.account.naming_strategy, Some(&group.ecs_cluster), Some(&group.family)).await?;
        let mut enabled: Vec<_> = rows.into_iter().filter(|r| r.enabled && r.server_group_name != group.server_group).collect();
        enabled.sort_by_key(|r| std::cmp::Reverse((r.created_at.unwrap_or(0), r.version.unwrap_or(0))));
        Ok(enabled.into_iter().next().map(|r| r.server_group_name))
    }

    /// Runs the steps; a failure reports what each group is left at.
    pub(super) async fn run(&self, req: &DeployRequest, steps: &[i64], progress: &mut dyn Progress) -> Result<Vec<OperationResult>> {
        let source = self.source(req).await?;
        let mut done = Vec::new();
        for p in steps {
            if let Err(e) = self.step(source.as_deref(), *p, &mut done, progress).await {
                let mut report: Vec<String> = done.iter().map(|r| format!("done: {} {}", r.operation, r.server_group_name)).collect();
                report.push(format!(
                    "stopped at {p}%: {} and {} are left as the steps before set them",
                    self.group.server_group,
                    source.as_deref().unwrap_or("no older group")
                ));
                return Err(e.with_report(report));
            }
        }
        Ok(done)
    }

    async fn step(&self, source: Option<&str>, p: i64, done: &mut Vec<OperationResult>, progress: &mut dyn Progress) -> Result<()> {
        let (session, group) = (self.session, self.group);
        let (min, max, desired) = self.capacity;
        let now = grown(desired, p);
        let capacity = if p < 100 { (now, now, now) } else { (min, max, desired) };
        done.push(lifecycle::resize(session, &group.ecs_cluster, &group.server_group, capacity, None).await?);
        let wait = WaitOptions::new(self.timeout).following_deployment();
        lifecycle::wait_healthy(session, &group.ecs_cluster, &group.server_group, self.td, wait, progress).await?;
        let Some(source) = source else { return Ok(()) };
        if p < 100 {
            done.push(lifecycle::disable_partly(session, &group.ecs_cluster, source, p).await?);
            return Ok(());
        }
        let (_, service) = lifecycle::locate(session, source, Some(&group.ecs_cluster)).await?;
        let mut r = lifecycle::disable(session, &group.ecs_cluster, source).await?;
        lifecycle::end_rolling(session, &group.ecs_cluster, &service, &mut r).await?;
        done.push(r);
        Ok(())
    }
}
