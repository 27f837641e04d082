//! A createServerGroup description validated into typed values ([`DeployRequest`]): the
//! low-level input (Clouddriver's description, every field optional, plus the CLI's `--artifact`
//! and `--image`) checked against clouddriver.yml in one step, [`validate`], which returns every
//! problem at once or a request whose fields say what validation proved — the account, region,
//! ECS cluster, moniker, capacity, launch, network mode, task-definition source, load balancers
//! and source server group, the service's and container's settings ([`spec`]). `plan` and
//! `taskdef` read these, never the description. Pure.

use serde::Serialize;
use serde_json::{Map, Value};

mod inputs;
mod spec;

use crate::core::artifact::{self, ArtifactAccount, ArtifactRef, Fetch};
use crate::core::config::{Account, Config};
use crate::core::description::CreateServerGroup;
use crate::core::error::FieldError;
use crate::core::model::{Launch, NetworkMode};
use crate::core::moniker::Moniker;
use crate::core::taskdef;
use crate::core::traffic::deploy::{self as traffic, TrafficShift};
use crate::core::validate::{Identity, validate_create};
use inputs::{ArtifactInput, artifact_input, merge_inputs};
pub use spec::{ContainerSpec, DeploymentSpec, LogSpec, RegistrySpec, ServiceSpec};

/// What the CLI adds to a description: `--artifact FILE`'s document and `--image CONTAINER=IMAGE`.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub artifact: Option<Value>,
    pub images: Vec<(String, String)>,
}

/// A validated request and the source server group's account, when there is a source.
#[derive(Debug, Clone)]
pub struct Validated {
    pub request: DeployRequest,
    pub source_account: Option<Account>,
}

/// Deck's sentinels for "not set".
const NO_IAM_ROLE: &str = "None (No IAM role)";

/// A validated deploy request: what validation proved, as typed values — the account, region,
/// ECS cluster, moniker, capacity, launch, network mode, task-definition source, load balancers,
/// source server group, and the service's and container's settings ([`ServiceSpec`],
/// [`ContainerSpec`]). Nothing past validation reads the description.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub account: Account,
    pub region: String,
    pub ecs_cluster: String,
    pub moniker: Moniker,
    pub capacity: Capacity,
    pub launch: Launch,
    /// The description's network mode (None for unset or `default`).
    pub declared_network_mode: Option<NetworkMode>,
    /// The effective network mode: the description's, else the artifact's; None: ECS's default.
    pub network_mode: Option<NetworkMode>,
    pub task_definition: TaskDefinitionSource,
    pub load_balancers: Vec<LoadBalancerEntry>,
    pub source: Option<SourceRef>,
    pub service: ServiceSpec,
    pub container: ContainerSpec,
    /// `iamRole`: the task role's name or ARN (Deck's "None (No IAM role)" is None).
    pub iam_role: Option<String>,
    /// `copySourceScalingPoliciesAndActions`, true unless set to false.
    pub copies_scaling: bool,
    /// A traffic-managed deploy's `trafficShift`.
    pub traffic_shift: Option<TrafficShift>,
}

/// The new server group's capacity (validated: 0 ≤ min ≤ desired ≤ max).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capacity {
    pub desired: i64,
    pub min: i64,
    pub max: i64,
}

/// Where the task definition comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskDefinitionSource {
    /// Built from the description's inputs (Clouddriver's inputs mode).
    Inputs,
    /// The checked artifact, with the deploy's names, images and roles applied (artifact mode).
    Artifact(Map<String, Value>),
    /// An artifact still to download (`s3/object`, `http/file`, `github/file`, …): the shell
    /// fetches it before anything is written and reads it with [`DeployRequest::with_downloaded`].
    Download(Box<Download>),
}

/// A referenced artifact, the account that downloads it and the request that does.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    pub artifact: ArtifactRef,
    pub account: ArtifactAccount,
    pub fetch: Fetch,
}

/// The previous server group named by `source`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRef {
    pub account: String,
    /// The source account's AWS account id (filled from configuration).
    pub account_id: String,
    pub region: String,
    pub server_group_name: String,
    pub ecs_cluster_name: String,
    pub use_source_capacity: bool,
}

impl DeployRequest {
    /// Reads a validated description (its identity proven by validation) as typed values.
    fn new(description: &CreateServerGroup, identity: Identity, account: Account, task_definition: TaskDefinitionSource) -> Self {
        let Identity { region, ecs_cluster, moniker, capacity } = identity;
        let present = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        // Clouddriver looks the source up only when account, region and name are all given.
        let source = description.source.as_ref().and_then(|s| {
            Some(SourceRef {
                account: present(s.account.as_deref())?,
                account_id: String::new(),
                region: present(s.region.as_deref())?,
                server_group_name: present(s.asg_name.as_deref())?,
                ecs_cluster_name: present(s.ecs_cluster_name.as_deref()).unwrap_or_else(|| ecs_cluster.clone()),
                use_source_capacity: s.use_source_capacity == Some(true),
            })
        });
        let declared_network_mode = declared_network_mode(description);
        DeployRequest {
            launch: Launch::of(description),
            load_balancers: load_balancer_entries(description),
            network_mode: declared_network_mode.or_else(|| artifact_network_mode(&task_definition)),
            declared_network_mode,
            account,
            region,
            ecs_cluster,
            moniker,
            capacity,
            task_definition,
            source,
            service: ServiceSpec::of(description),
            container: ContainerSpec::of(description),
            iam_role: description.iam_role.clone().filter(|r| !r.is_empty() && r != NO_IAM_ROLE),
            copies_scaling: description.copy_source_scaling_policies_and_actions != Some(false),
            traffic_shift: None,
        }
    }

    /// The checked artifact, in artifact mode.
    pub fn artifact(&self) -> Option<&Map<String, Value>> {
        match &self.task_definition {
            TaskDefinitionSource::Artifact(a) => Some(a),
            TaskDefinitionSource::Inputs | TaskDefinitionSource::Download(_) => None,
        }
    }

    /// The artifact still to download, if there is one.
    pub fn pending_download(&self) -> Option<&Download> {
        match &self.task_definition {
            TaskDefinitionSource::Download(d) => Some(d),
            _ => None,
        }
    }

    /// The request with its downloaded artifact read in (JSON or YAML, checked like any
    /// artifact); the network mode follows the artifact's when the description gives none.
    pub fn with_downloaded(mut self, bytes: &[u8]) -> Result<DeployRequest, Vec<FieldError>> {
        let Some(download) = self.pending_download() else { return Ok(self) };
        let label = format!("{} (artifact account `{}`)", download.artifact.label(), download.account.name);
        let doc = artifact::parse_document(bytes, &label, "resolvedTaskDefinitionArtifact").map_err(|e| vec![e])?;
        let task_definition = TaskDefinitionSource::Artifact(taskdef::load_artifact(doc)?);
        self.network_mode = self.declared_network_mode.or_else(|| artifact_network_mode(&task_definition));
        self.task_definition = task_definition;
        Ok(self)
    }

    /// Launch and network mode, for the task definition.
    pub fn platform(&self) -> taskdef::Platform<'_> {
        taskdef::Platform { launch: &self.launch, network_mode: self.network_mode }
    }

    /// True for the `awsvpc` network mode.
    pub fn is_awsvpc(&self) -> bool {
        self.network_mode == Some(NetworkMode::Awsvpc)
    }

    /// The `iamRole` to resolve with IAM, if one has to be: inputs mode, or an artifact without a task role.
    pub fn iam_role_to_resolve(&self) -> Option<&str> {
        let role = self.iam_role.as_deref()?;
        match self.artifact() {
            Some(a) if a.get("taskRoleArn").and_then(Value::as_str).is_some_and(|s| !s.is_empty()) => None,
            _ => Some(role),
        }
    }

    /// Rewrites every mapping to a target group of a pair — by name (`names`), or in the given
    /// `loadBalancers` by ARN (`arns`) — to the target group `to` (name, ARN): a traffic-managed
    /// deploy's idle one.
    pub fn retarget(&mut self, names: &[String], arns: &[&str], to: (&str, &str)) {
        let mut entries: Vec<LoadBalancerEntry> = Vec::new();
        for mut e in std::mem::take(&mut self.load_balancers) {
            if names.contains(&e.target_group) {
                e.target_group = to.0.to_string();
            }
            if !entries.contains(&e) {
                entries.push(e);
            }
        }
        self.load_balancers = entries;
        if let Some(Value::Array(given)) = &mut self.service.load_balancers {
            for lb in given.iter_mut() {
                if lb.get("targetGroupArn").and_then(Value::as_str).is_some_and(|arn| arns.contains(&arn)) {
                    lb["targetGroupArn"] = Value::String(to.1.to_string());
                }
            }
            given.dedup();
        }
    }

    /// Target group names to look up with ELBv2, in order, without repeats.
    pub fn target_group_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for m in &self.load_balancers {
            if !names.contains(&m.target_group) {
                names.push(m.target_group.clone());
            }
        }
        names
    }
}

/// A target group the service registers with, by name, with its container and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerEntry {
    pub container_name: Option<String>,
    pub container_port: Option<i64>,
    pub target_group: String,
}

/// The target group ARNs of CreateService `loadBalancers` given as they are (a clone's).
pub fn given_target_group_arns(given: Option<&Value>) -> impl Iterator<Item = String> + '_ {
    given
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|lb| lb.get("targetGroupArn").and_then(Value::as_str).map(str::to_string))
}

/// `targetGroupMappings` plus the legacy `targetGroup`, duplicates collapsed (§5.2).
fn load_balancer_entries(d: &CreateServerGroup) -> Vec<LoadBalancerEntry> {
    let mut entries: Vec<LoadBalancerEntry> = Vec::new();
    let non_blank = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    for m in d.target_group_mappings.iter().flatten() {
        if let Some(tg) = non_blank(&m.target_group) {
            let e = LoadBalancerEntry { container_name: non_blank(&m.container_name), container_port: m.container_port, target_group: tg };
            if !entries.contains(&e) {
                entries.push(e);
            }
        }
    }
    if let Some(tg) = non_blank(&d.target_group) {
        let e =
            LoadBalancerEntry { container_name: non_blank(&d.load_balanced_container), container_port: d.container_port, target_group: tg };
        if !entries.contains(&e) {
            entries.push(e);
        }
    }
    entries
}

/// Validates a description (with the CLI's inputs) against clouddriver.yml: every problem at
/// once, or the typed request. Nothing is read from AWS.
pub fn validate(config: &Config, mut description: CreateServerGroup, inputs: &Inputs) -> Result<Validated, Vec<FieldError>> {
    merge_inputs(&mut description, inputs);
    let mut errors = Vec::new();
    let account = match description.account_name() {
        Some(name) => config
            .account(name)
            .map_err(|e| errors.push(FieldError::new("credentials", "createServerGroupDescription.credentials.invalid", e.to_string())))
            .ok(),
        None => None,
    };
    let identity = validate_create(&description, account.as_ref()).map_err(|e| errors.extend(e)).ok();
    let source_account = source_account(config, &description, &mut errors);
    let task_definition = match artifact_input(config, &description, inputs) {
        Ok(None) => TaskDefinitionSource::Inputs,
        Ok(Some(ArtifactInput::Document(doc))) => match taskdef::load_artifact(doc) {
            Ok(a) => TaskDefinitionSource::Artifact(a),
            Err(e) => {
                errors.extend(e);
                TaskDefinitionSource::Inputs
            }
        },
        Ok(Some(ArtifactInput::Download(download))) => TaskDefinitionSource::Download(download),
        Err(e) => {
            errors.push(e);
            TaskDefinitionSource::Inputs
        }
    };
    let mapped: Vec<String> = load_balancer_entries(&description)
        .into_iter()
        .map(|e| e.target_group)
        .chain(given_target_group_arns(description.load_balancers.as_ref()).map(|arn| traffic::target_group_name(&arn)))
        .collect();
    let traffic_shift = description
        .traffic_shift
        .as_ref()
        .and_then(|t| traffic::validate(t, &mapped, &config.url_restrictions()).map_err(|e| errors.extend(e)).ok());
    // Without an account or an identity, validation said why.
    let (Some(account), Some(identity)) = (account, identity) else { return Err(errors) };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut request = DeployRequest::new(&description, identity, account, task_definition);
    request.traffic_shift = traffic_shift;
    if let (Some(src), Some(a)) = (request.source.as_mut(), source_account.as_ref()) {
        src.account_id = a.account_id.clone();
    }
    Ok(Validated { request, source_account })
}

/// The account of a complete `source`, checked to have the source's region.
fn source_account(config: &Config, description: &CreateServerGroup, errors: &mut Vec<FieldError>) -> Option<Account> {
    let source = description.source.as_ref().filter(|s| s.is_complete())?;
    let name = source.account.as_deref().unwrap_or_default();
    match config.account(name) {
        Ok(a) => {
            let region = source.region.as_deref().unwrap_or_default();
            if !a.has_region(region) {
                errors.push(FieldError::new(
                    "source.region",
                    "createServerGroupDescription.source.region.not.configured",
                    format!(
                        "source region `{region}` is not configured for account `{name}` (its regions: {})",
                        a.region_names().join(", ")
                    ),
                ));
            }
            Some(a)
        }
        Err(e) => {
            errors.push(FieldError::new("source.account", "createServerGroupDescription.source.account.invalid", e.to_string()));
            None
        }
    }
}

/// The artifact's network mode, when it has one.
fn artifact_network_mode(source: &TaskDefinitionSource) -> Option<NetworkMode> {
    match source {
        TaskDefinitionSource::Artifact(a) => a.get("networkMode").and_then(Value::as_str).and_then(NetworkMode::parse),
        _ => None,
    }
}

/// The description's network mode; None for unset or `default`.
pub fn declared_network_mode(d: &CreateServerGroup) -> Option<NetworkMode> {
    d.network_mode.as_deref().and_then(NetworkMode::parse)
}

impl Launch {
    /// The description's launch: its launch type, else its capacity provider strategy.
    pub fn of(d: &CreateServerGroup) -> Launch {
        match d.launch_type.as_deref().filter(|l| !l.trim().is_empty()) {
            Some(launch_type) => Launch::Type(launch_type.to_string()),
            None => Launch::CapacityProviders(d.capacity_provider_strategy.clone().unwrap_or_default()),
        }
    }
}
