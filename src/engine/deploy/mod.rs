//! The createServerGroup operation, as an imperative shell around the pure core: validate the
//! description, open the AWS sessions, observe (reads only, all at once), `plan`, and apply the
//! plan in order — register the task definition, create the service, register the scalable
//! target. A failure after anything was created removes what this deploy created (unless the
//! user keeps it) and says exactly what exists. The previous server group is only ever read.
//!
//! One concept per file: the outcome ([`outcome`]), observing AWS ([`observe`]), the source's
//! shared scaling reads ([`source`]), the artifact download ([`download`]), one attempt under
//! the locks ([`attempt`]), apply and its ledger ([`apply`], [`created`]), the scaling copy
//! ([`copy`]), what follows a created group ([`after`]), and handing a deploy over when `serve`
//! stops ([`handover`]). This file prepares a deploy, runs the race for the next free name, and
//! continues a handed-over deploy.

mod after;
mod apply;
mod attempt;
mod copy;
mod created;
mod download;
pub mod handover;
mod observe;
mod outcome;
mod rolling;
mod source;
mod traffic;

use std::time::Duration;

use serde_json::Value;
use tracing::warn;

use crate::aws::Session;
use crate::core::config::{Account, Config};
use crate::core::description::CreateServerGroup;
use crate::core::error::{Error, Result};
use crate::core::request::{self, DeployRequest, Inputs};
use crate::engine::artifacts;
use crate::engine::journal;
use crate::engine::lifecycle::Progress;
use after::StrategyRun;
pub use apply::retry_delays;
use attempt::{Attempt, Next};
use download::Download;
pub use outcome::{CopiedItem, DeployOutcome, ScalableTargetResult, ScalingCopyResult};

/// How a deploy runs.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// Compute and return the plan; write nothing.
    pub plan_only: bool,
    /// Leave a server group that failed half-way in place instead of removing it.
    pub keep_failed: bool,
    /// `--artifact FILE`'s JSON.
    pub artifact: Option<Value>,
    /// `--image CONTAINER=IMAGE` entries.
    pub images: Vec<(String, String)>,
    /// `--strategy`; else the description's `strategy`.
    pub strategy: Option<String>,
    /// `--target-percentages`; else the description's `targetPercentages` (rolling red/black).
    pub target_percentages: Vec<i64>,
    /// Wait until the new server group is healthy (the strategies always do).
    pub wait: bool,
    /// How long to wait; zero means the default of 10 minutes.
    pub timeout: Duration,
}

/// A createServerGroup description validated and resolved: everything a deploy needs before
/// its first AWS call. Made once per operation ([`prepare`]) and run by [`deploy_prepared`].
pub struct Prepared {
    req: DeployRequest,
    source_account: Option<Account>,
    run: StrategyRun,
}

impl Prepared {
    /// The request the plan is computed from.
    pub fn request(&self) -> &DeployRequest {
        &self.req
    }

    /// Whether the deploy may be handed over (see [`handover`]): not one that shifts traffic or
    /// rolls its capacity (those finish, or stop and undo, where they run).
    pub fn may_hand_over(&self) -> bool {
        self.req.traffic_shift.is_none() && self.run.rolling.is_none()
    }
}

/// Validates and resolves a description (and the strategy options) for a deploy; every problem
/// at once, nothing read from AWS.
pub fn prepare(config: &Config, mut description: CreateServerGroup, options: &DeployOptions) -> Result<Prepared> {
    let run = StrategyRun::new(&mut description, options)?;
    let inputs = Inputs { artifact: options.artifact.clone(), images: options.images.clone() };
    let v = request::validate(config, description, &inputs).map_err(Error::Invalid)?;
    Ok(Prepared { req: v.request, source_account: v.source_account, run })
}

/// How long a deploy that lost the race for a name waits before it reads the names again: a
/// random time up to 50 ms x 2^attempt (at most 3.2 s), so deploys that collided once spread out
/// instead of colliding again in lockstep ("full jitter").
fn race_backoff(attempt: u32, random: u64) -> Duration {
    let ceiling_ms = 50u64 << attempt.clamp(1, 6);
    Duration::from_millis(random % ceiling_ms + 1)
}

/// The account's session, and the source's when it is another account or region (both at once).
async fn connect(req: &DeployRequest, source_account: Option<&Account>) -> Result<(Session, Option<Session>)> {
    let same_session = |a: &Account, region: &str| a.name == req.account.name && region == req.region;
    Ok(match (source_account, &req.source) {
        (Some(a), Some(src)) if !same_session(a, &src.region) => {
            let (s, src_s) = tokio::try_join!(Session::connect(&req.account, &req.region), Session::connect(a, &src.region))?;
            (s, Some(src_s))
        }
        _ => (Session::connect(&req.account, &req.region).await?, None),
    })
}

/// Runs createServerGroup, then waits and runs the deploy strategy when asked to.
pub async fn deploy(
    config: &Config,
    description: CreateServerGroup,
    options: &DeployOptions,
    progress: &mut dyn Progress,
) -> Result<DeployOutcome> {
    let prepared = prepare(config, description, options)?;
    deploy_prepared(prepared, options, progress).await
}

/// Downloads a prepared deploy's referenced artifact and reads it in (nothing to do without one).
pub async fn resolve_prepared(prepared: &mut Prepared) -> Result<()> {
    if prepared.req.pending_download().is_some() {
        prepared.req = artifacts::resolve(prepared.req.clone()).await?;
    }
    Ok(())
}

/// Continues a deploy another replica handed over after creating its server group (see
/// [`handover`]): waits for the group (unless it was seen healthy) and runs the strategy on what
/// is left; nothing is created again.
pub async fn resume_prepared(prepared: Prepared, resume: handover::Resume, progress: &mut dyn Progress) -> Result<DeployOutcome> {
    let Prepared { req, run, .. } = prepared;
    let outcome = resume.outcome;
    journal::status(format!("Continuing the deploy of {}, handed over after it was created...", outcome.server_group_name));
    let session = Session::connect(&req.account, &req.region).await?;
    let group = after::NewGroup::continued(&outcome, &req);
    let options = DeployOptions::default();
    after::after_created(&session, &req, &group, outcome, after::Follow { run: &run, options: &options, pair: None }, progress).await
}

/// Each lost race re-reads the cluster and takes the next free name; with N concurrent deploys
/// of one cluster, the last one loses at most N - 1 races.
const MAX_NAME_RACES: u32 = 12;

/// Runs a prepared deploy (see [`deploy`]).
pub async fn deploy_prepared(prepared: Prepared, options: &DeployOptions, progress: &mut dyn Progress) -> Result<DeployOutcome> {
    journal::status("Initializing Create Amazon ECS Server Group Operation...");
    let Prepared { mut req, source_account, run } = prepared;
    let source_account = source_account.filter(|_| req.source.is_some());
    // A traffic-managed deploy reads the rule and decides the target group before anything else.
    let early = match &req.traffic_shift {
        Some(_) => Some(connect(&req, source_account.as_ref()).await?),
        None => None,
    };
    let pair = match (&early, req.traffic_shift.clone()) {
        (Some((session, _)), Some(shift)) => {
            let pair = traffic::before_create(session, &req, &shift, options.plan_only).await?;
            traffic::rewrite(&mut req, &shift, &pair);
            Some(pair)
        }
        _ => None,
    };
    // The artifact download depends on nothing AWS says: it runs while the sessions open and the
    // first attempt observes.
    let download = Download::start(&req);
    let (session, source_session) = match early {
        Some(sessions) => sessions,
        None => source::driving(connect(&req, source_account.as_ref()), download.progress()).await?,
    };
    let source_session = source_session.as_ref().or(req.source.as_ref().map(|_| &session));
    let reads = source::source_reads(&req, source_session);
    let attempt = Attempt { session: &session, source_session, download: &download, reads: &reads, options };
    let mut pair = pair;
    let raced = async {
        for race in 1..=MAX_NAME_RACES {
            // Nothing is created yet: a hand-over starts the deploy again elsewhere.
            if crate::engine::interrupt::handing_over() {
                return Err(Error::HandedOver);
            }
            match attempt.run().await? {
                Next::Planned(mut outcome) => {
                    outcome.traffic_steps = pair.take().map(|p| p.planned).unwrap_or_default();
                    return Ok(Some(*outcome));
                }
                Next::Created(outcome, plan) => {
                    let req = download.request().await?;
                    let pair = pair.take();
                    let group = after::NewGroup::of(&plan);
                    return after::after_created(&session, &req, &group, *outcome, after::Follow { run: &run, options, pair }, progress)
                        .await
                        .map(Some);
                }
                Next::NameTaken(name) if race < MAX_NAME_RACES => {
                    warn!("{name} was created by another deploy at the same time; choosing the next version");
                    tokio::time::sleep(race_backoff(race, uuid::Uuid::new_v4().as_u128() as u64)).await;
                }
                Next::NameTaken(_) => {}
            }
        }
        Ok(None)
    };
    let raced: Result<Option<DeployOutcome>> = raced.await;
    match (raced, &req.traffic_shift) {
        (Ok(Some(outcome)), _) => return Ok(outcome),
        (Err(e), Some(shift)) if !options.plan_only => return Err(e.with_report(traffic::abandon(&session, shift).await)),
        (Err(e), _) => return Err(e),
        (Ok(None), _) => {}
    }
    Err(Error::Failed {
        message: format!("other deploys kept taking the next name of {} ({MAX_NAME_RACES} tries)", req.moniker.cluster()),
        report: vec!["nothing was left behind by this deploy".into()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::description::create_server_group_from_json;
    use serde_json::json;

    const CONFIG: &str = "aws:\n  enabled: true\n  accounts:\n    - {name: aws-main, accountId: '123456789012', regions: [{name: us-west-2}, {name: us-east-1}]}\necs:\n  enabled: true\n  accounts:\n    - {name: ecs-main, awsAccount: aws-main}\n";

    /// The bad-input corpus over the pure preparation (validation, configuration, artifacts):
    /// each is refused with an error naming the problem. `tests/it/reliability.rs` keeps a few
    /// of them as process-level runs (exit 2, nothing written).
    #[test]
    fn every_bad_description_is_refused_with_an_error_that_names_it() {
        let config = Config::from_yaml(CONFIG).unwrap();
        let good = json!({
            "credentials": "ecs-main", "application": "zulu", "stack": "prod",
            "ecsClusterName": "main", "availabilityZones": {"us-west-2": ["us-west-2a"]},
            "capacity": {"min": 1, "max": 5, "desired": 2}, "launchType": "EC2", "networkMode": "bridge",
            "dockerImageAddress": "nginx", "computeUnits": 64, "reservedMemory": 64, "placementStrategySequence": []
        });
        let patch = |p: &Value| {
            let mut d = good.clone();
            for (k, v) in p.as_object().unwrap() {
                if v.is_null() {
                    d.as_object_mut().unwrap().remove(k);
                } else {
                    d[k] = v.clone();
                }
            }
            d
        };
        let prepared = |d: Value| create_server_group_from_json(d).and_then(|d| prepare(&config, d, &DeployOptions::default()));
        assert!(prepared(good.clone()).is_ok(), "the good description prepares");
        let descriptions: Vec<(Value, &str)> = vec![
            (json!({"capacity": {"min": "lots", "max": 1, "desired": 1}}), "capacity.min"),
            (json!({"capacity": "three"}), "capacity"),
            (json!({"availabilityZones": "us-west-2"}), "availabilityZones"),
            (json!({"healthCheckGracePeriodSeconds": "soon"}), "healthCheckGracePeriodSeconds"),
            (json!({"associatePublicIpAddress": "maybe"}), "associatePublicIpAddress"),
            (json!({"environmentVariables": [1, 2]}), "environmentVariables"),
            (json!({"tags": "team=x"}), "tags"),
            (json!({"targetGroupMappings": "web-tg"}), "targetGroupMappings"),
            (json!({"placementStrategySequence": {"type": "spread"}}), "placementStrategySequence"),
            (json!({"credentials": null}), "credentials"),
            (json!({"credentials": "nobody"}), "nobody"),
            (json!({"capacity": null}), "capacity"),
            (json!({"capacity": {"min": 1, "max": 2}}), "capacity.desired"),
            (json!({"capacity": {"min": -1, "max": 2, "desired": 0}}), "capacity.min"),
            (json!({"capacity": {"min": 3, "max": 2, "desired": 2}}), "min.max.range"),
            (json!({"capacity": {"min": 1, "max": 2, "desired": 3}}), "exceeds.max"),
            (json!({"capacity": {"min": 2, "max": 3, "desired": 1}}), "less.than.min"),
            (json!({"subnetTypes": ["a"], "subnetType": "b"}), "subnetTypes"),
            (json!({"availabilityZones": {"us-west-2": ["a"], "us-east-1": ["b"]}}), "must.have.only.one"),
            (json!({"availabilityZones": {"us-west-2": []}}), "zones"),
            (json!({"availabilityZones": null}), "availabilityZones"),
            (json!({"availabilityZones": {"eu-north-1": ["eu-north-1a"]}}), "region.not.configured"),
            (json!({"region": "us-east-1"}), "region"),
            (json!({"placementStrategySequence": [{"type": "wild"}]}), "placementStrategySequence"),
            (json!({"placementStrategySequence": [{"type": "spread", "field": "host"}]}), "spread"),
            (json!({"placementStrategySequence": [{"type": "binpack", "field": "disk"}]}), "binpack"),
            (json!({"placementStrategySequence": null}), "placementStrategySequence"),
            (json!({"application": null}), "application"),
            (json!({"moniker": {"stack": "prod"}}), "moniker.app"),
            (json!({"moniker": {"app": "other"}}), "moniker.app"),
            (json!({"ecsClusterName": null}), "ecsClusterName"),
            (json!({"serviceDiscoveryAssociations": [{"containerPort": 80}]}), "serviceDiscoveryAssociations"),
            (json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE"}]}), "launchType"),
            (json!({"launchType": null}), "launchType"),
            (json!({"launchType": "FARGATE_SPOT"}), "launchType"),
            (json!({"dockerImageAddress": null}), "dockerImageAddress"),
            (json!({"computeUnits": null}), "computeUnits"),
            (json!({"computeUnits": -5}), "computeUnits"),
            (json!({"reservedMemory": null}), "reservedMemory"),
            (json!({"containerPort": 70000}), "containerPort"),
            (json!({"targetGroup": "web-tg"}), "containerPort"),
            (json!({"targetGroupMappings": [{"targetGroup": "web-tg", "containerPort": 99999}]}), "targetGroupMappings"),
            (json!({"environmentVariables": {"CLOUD_STACK": "x"}}), "environmentVariables"),
            (json!({"networkMode": "aws-vpc"}), "networkMode"),
            (json!({"networkMode": "AWSVPC"}), "networkMode"),
            (json!({"application": "my.app"}), "application"),
            (json!({"application": "my app"}), "application"),
            (json!({"stack": "pro/d"}), "stack"),
            (json!({"freeFormDetails": "x y"}), "freeFormDetails"),
            (json!({"strategy": "bluegreen"}), "strategy"),
            (json!({"useTaskDefinitionArtifact": true}), "resolvedTaskDefinitionArtifact"),
            (
                json!({"useTaskDefinitionArtifact": true, "resolvedTaskDefinitionArtifact": {"type": "s3/object", "reference": "s3://b/k"}}),
                "artifacts.s3",
            ),
            (
                json!({"useTaskDefinitionArtifact": true, "resolvedTaskDefinitionArtifact": {"type": "embedded/base64", "reference": "%%%"}}),
                "base64",
            ),
            (
                json!({"useTaskDefinitionArtifact": true, "evaluateTaskDefinitionArtifactExpressions": true}),
                "spelProcessedTaskDefinitionArtifact",
            ),
            (json!({"deploymentConfiguration": {"maximumPercent": 500}}), "maximumPercent"),
            // AWS takes int32: out-of-range numbers are errors, never saturated or wrapped (#14.10).
            (serde_json::from_str(r#"{"capacity": {"min": 1, "max": 18446744073709551616, "desired": 1}}"#).unwrap(), "capacity.max"),
            (json!({"capacity": {"min": 1, "max": 2, "desired": 4294967296u64}}), "out of range"),
            (json!({"capacity": {"min": "2147483648", "max": 2, "desired": 1}}), "capacity.min"),
            (json!({"healthCheckGracePeriodSeconds": 9999999999u64}), "healthCheckGracePeriodSeconds"),
        ];
        assert!(descriptions.len() >= 55);
        for (p, needle) in &descriptions {
            let error = match prepared(patch(p)) {
                Ok(_) => panic!("{p}: accepted"),
                Err(e) => e,
            };
            assert_eq!(error.exit_code(), 2, "{p}: {error}");
            let text = match &error {
                Error::Invalid(errors) => {
                    assert!(errors.iter().all(|e| !e.message.is_empty()), "{p}");
                    serde_json::to_string(&errors).unwrap()
                }
                other => other.to_string(),
            };
            assert!(text.contains(needle), "{p}: the error should name `{needle}`: {text}");
        }
    }
}
