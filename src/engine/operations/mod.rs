//! The lifecycle operations as commands: turns flags or a Clouddriver operation description
//! (`disableServerGroup`, `enableServerGroup`, `resizeServerGroup`, `destroyServerGroup`) into a
//! validated target — account, region, server group — opens the session, finds the server
//! group's ECS cluster and runs the operation from [`crate::engine::lifecycle`].

pub mod list;

use crate::aws::Session;
use crate::core::config::{Account, Config};
use crate::core::description::{Capacity, ServerGroupOperation};
use crate::core::error::{Error, FieldError, Result};
use crate::core::operation::Operation;
use crate::engine::lifecycle::{self, OperationResult};

/// A lifecycle operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Disable,
    Enable,
    Resize,
    Destroy,
}

impl Kind {
    /// The Clouddriver operation.
    pub fn operation(self) -> Operation {
        match self {
            Kind::Disable => Operation::DisableServerGroup,
            Kind::Enable => Operation::EnableServerGroup,
            Kind::Resize => Operation::ResizeServerGroup,
            Kind::Destroy => Operation::DestroyServerGroup,
        }
    }

    /// The lifecycle operation of a Clouddriver operation, if it is one.
    pub fn of(operation: Operation) -> Option<Kind> {
        [Kind::Disable, Kind::Enable, Kind::Resize, Kind::Destroy].into_iter().find(|k| k.operation() == operation)
    }

    fn verb(self) -> &'static str {
        match self {
            Kind::Disable => "Disable",
            Kind::Enable => "Enable",
            Kind::Resize => "Resize",
            Kind::Destroy => "Destroy",
        }
    }

    /// Clouddriver's validator key, which prefixes the error codes.
    fn validator(self) -> &'static str {
        match self {
            Kind::Disable => "disableServiceDescription",
            Kind::Enable => "enableServiceDescription",
            Kind::Resize => "resizeServiceDescription",
            Kind::Destroy => "destroyServiceAtomicOperation",
        }
    }
}

/// A validated operation target.
#[derive(Debug, Clone)]
pub struct Target {
    pub account: Account,
    pub region: String,
    pub server_group: String,
    pub ecs_cluster: Option<String>,
    pub capacity: Option<Capacity>,
    /// Go on past the checks that the group can serve.
    pub force: bool,
    /// A disable of this share of the traffic only (1-99: rolling red/black).
    pub desired_percentage: Option<i64>,
}

/// Clouddriver's `ServerGroupDescriptionValidator` (+ capacity for resize), all errors at once.
pub fn validate(kind: Kind, config: &Config, op: &ServerGroupOperation) -> Result<Target> {
    let v = kind.validator();
    let mut errors = Vec::new();
    let account = match op.account_name() {
        None => {
            errors.push(FieldError::new(
                "credentials",
                format!("{v}.credentials.not.nullable"),
                "credentials are required: name the ECS account (--account)",
            ));
            None
        }
        Some(name) => match config.account(name) {
            Ok(a) => Some(a),
            Err(e) => {
                errors.push(FieldError::new("credentials", format!("{v}.credentials.invalid"), e.to_string()));
                None
            }
        },
    };
    match (op.region_name(), &account) {
        (None, _) => errors.push(FieldError::new("region", format!("{v}.region.empty"), "region is required (--region)")),
        (Some(region), Some(a)) if !a.has_region(region) => errors.push(FieldError::new(
            "region",
            format!("{v}.region.not.configured"),
            format!("region `{region}` is not configured for account `{}` (its regions: {})", a.name, a.region_names().join(", ")),
        )),
        _ => {}
    }
    if op.server_group().is_none() {
        errors.push(FieldError::new(
            "serverGroupName",
            format!("{v}.serverGroupName.not.nullable"),
            "serverGroupName is required (--server-group)",
        ));
    }
    if kind == Kind::Resize {
        errors.extend(crate::core::validate::capacity_errors(v, op.capacity.as_ref()));
    }
    // Each missing part has an error above.
    let (Some(account), Some(region), Some(server_group), true) = (account, op.region_name(), op.server_group(), errors.is_empty()) else {
        return Err(Error::Invalid(errors));
    };
    Ok(Target {
        account,
        region: region.to_string(),
        server_group: server_group.to_string(),
        ecs_cluster: op.ecs_cluster_name.clone().filter(|c| !c.is_empty()),
        capacity: op.capacity.clone(),
        force: op.force == Some(true),
        desired_percentage: op.desired_percentage.filter(|p| (1..100).contains(p)),
    })
}

/// Runs a validated lifecycle operation.
pub async fn run(kind: Kind, target: &Target, desired: Option<i64>) -> Result<OperationResult> {
    crate::engine::journal::status(format!("Initializing {} Amazon ECS Server Group Operation...", kind.verb()));
    let session = Session::connect(&target.account, &target.region).await?;
    let name = &target.server_group;
    let (ecs_cluster, service) = match lifecycle::locate(&session, name, target.ecs_cluster.as_deref()).await {
        // A destroy finishes what an earlier one (or a killed deploy) left of the server group.
        Err(Error::Invalid(e)) if kind == Kind::Destroy && e.iter().all(|e| e.field == "serverGroupName") => {
            match lifecycle::locate_remains(&session, name, target.ecs_cluster.as_deref()).await? {
                Some(remains) => remains,
                None => return Err(Error::Invalid(e)),
            }
        }
        other => other?,
    };
    let capacity = target.capacity.clone().unwrap_or_default();
    let serves_from_zero = match kind {
        Kind::Enable => true,
        Kind::Resize => capacity.desired.unwrap_or(0) > 0,
        _ => false,
    };
    if serves_from_zero && service.desired_count == 0 {
        crate::engine::images::check(&session, &ecs_cluster, name, target.force).await?;
    }
    let partly = target.desired_percentage.filter(|_| kind == Kind::Disable);
    if let Some(percent) = partly {
        return lifecycle::disable_partly(&session, &ecs_cluster, name, percent).await;
    }
    if kind == Kind::Disable || (kind == Kind::Resize && capacity.desired == Some(0)) {
        crate::engine::traffic::check_disable(&session, &ecs_cluster, &service, target.force).await?;
    }
    match kind {
        Kind::Disable => {
            let mut r = lifecycle::disable(&session, &ecs_cluster, name).await?;
            lifecycle::end_rolling(&session, &ecs_cluster, &service, &mut r).await?;
            Ok(r)
        }
        Kind::Enable => lifecycle::enable(&session, &ecs_cluster, name, desired, Some(service.desired_count)).await,
        Kind::Resize => {
            let c = capacity;
            let capacity = (c.min.unwrap_or(0), c.max.unwrap_or(0), c.desired.unwrap_or(0));
            lifecycle::resize(&session, &ecs_cluster, name, capacity, Some(service.desired_count)).await
        }
        Kind::Destroy => lifecycle::destroy(&session, &ecs_cluster, &service).await,
    }
}
