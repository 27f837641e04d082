//! What the deployer reads from AWS, as plain data: the snapshot `plan` decides from. The AWS
//! module fills these from SDK responses; nothing here knows the SDK.

use serde::Serialize;

/// Application Auto Scaling's namespace of ECS services.
pub const SCALING_NAMESPACE: &str = "ecs";
/// The scalable dimension of an ECS service: its desired count.
pub const SCALABLE_DIMENSION: &str = "ecs:service:DesiredCount";

/// The Application Auto Scaling resource id of an ECS service, `service/{cluster}/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId(String);

impl ResourceId {
    pub fn of(ecs_cluster: &str, service_name: &str) -> ResourceId {
        ResourceId(format!("service/{ecs_cluster}/{service_name}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ResourceId> for String {
    fn from(id: ResourceId) -> String {
        id.0
    }
}

/// How tasks are launched: a launch type or a capacity provider strategy, never both (validated).
#[derive(Debug, Clone, PartialEq)]
pub enum Launch {
    /// `EC2`, `FARGATE` or `EXTERNAL`.
    Type(String),
    CapacityProviders(Vec<crate::core::description::CapacityProviderStrategyItem>),
}

impl Launch {
    /// Launch type FARGATE, or a FARGATE / FARGATE_SPOT capacity provider.
    pub fn is_fargate(&self) -> bool {
        match self {
            Launch::Type(t) => t == "FARGATE",
            Launch::CapacityProviders(items) => {
                items.iter().any(|i| matches!(i.capacity_provider.as_deref(), Some("FARGATE") | Some("FARGATE_SPOT")))
            }
        }
    }

    /// The launch type, when the launch is given as one.
    pub fn launch_type(&self) -> Option<&str> {
        match self {
            Launch::Type(t) => Some(t),
            Launch::CapacityProviders(_) => None,
        }
    }
}

/// An ECS network mode (validated: one ECS knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    Awsvpc,
    Bridge,
    Host,
    None,
}

impl NetworkMode {
    /// The modes ECS knows (`default` in a description means "leave it out").
    pub const ALL: [NetworkMode; 4] = [NetworkMode::Awsvpc, NetworkMode::Bridge, NetworkMode::Host, NetworkMode::None];

    /// A mode's name as ECS spells it; None for anything else (and for `default`).
    pub fn parse(mode: &str) -> Option<NetworkMode> {
        NetworkMode::ALL.into_iter().find(|m| m.as_str() == mode)
    }

    /// The modes' names, for messages.
    pub fn names() -> String {
        NetworkMode::ALL.map(NetworkMode::as_str).join(", ")
    }

    /// The name ECS spells.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkMode::Awsvpc => "awsvpc",
            NetworkMode::Bridge => "bridge",
            NetworkMode::Host => "host",
            NetworkMode::None => "none",
        }
    }

    /// Host ports equal container ports (awsvpc and host); bridge maps them dynamically.
    pub fn maps_host_port_to_container_port(self) -> bool {
        matches!(self, NetworkMode::Awsvpc | NetworkMode::Host)
    }
}

/// An ECS service as DescribeServices reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceState {
    pub service_name: String,
    pub service_arn: String,
    pub ecs_cluster_arn: String,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: String,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    pub task_definition: String,
    /// Seconds since the epoch, when AWS reports it.
    pub created_at: Option<i64>,
    /// The same instant in milliseconds (Clouddriver's `createdTime`).
    pub created_at_ms: Option<i64>,
    pub tags: Vec<(String, String)>,
    pub deployments: Vec<Deployment>,
    pub target_group_arns: Vec<String>,
    /// The `awsvpc` network configuration's subnets and security groups (empty in `bridge`/`host`).
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub events: Vec<ServiceEvent>,
    /// The names of its deployment alarms (`deploymentConfiguration.alarms.alarmNames`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deployment_alarm_names: Vec<String>,
    /// The ARN of its current service deployment (`currentServiceDeployment`), when AWS reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_service_deployment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub status: String,
    pub task_definition: String,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    pub failed_tasks: i64,
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub id: String,
    pub created_at: Option<i64>,
    pub message: String,
}

/// An Application Auto Scaling scalable target of an ECS service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalableTarget {
    pub resource_id: String,
    pub min_capacity: i64,
    pub max_capacity: i64,
    pub dynamic_scaling_in_suspended: bool,
    pub dynamic_scaling_out_suspended: bool,
    pub scheduled_scaling_suspended: bool,
}

impl ScalableTarget {
    pub fn fully_suspended(&self) -> bool {
        self.dynamic_scaling_in_suspended && self.dynamic_scaling_out_suspended && self.scheduled_scaling_suspended
    }

    /// Nothing of its scaling is suspended.
    pub fn fully_resumed(&self) -> bool {
        !self.dynamic_scaling_in_suspended && !self.dynamic_scaling_out_suspended && !self.scheduled_scaling_suspended
    }
}

/// A server group's enabled state and its scaling disagreeing — what a disable or enable cut
/// short (or two racing) leaves: `Some("enabled with scaling suspended")` (it serves, but will
/// not scale) or `Some("disabled with scaling active")` (its policies may scale it up again);
/// None when they agree or it has no scalable target. The one rule `list`, the read API, the
/// console and the operations' own read-back use.
pub fn scaling_mismatch(desired_count: i64, target: Option<&ScalableTarget>) -> Option<&'static str> {
    let target = target?;
    match desired_count > 0 {
        true if !target.fully_resumed() => Some("enabled with scaling suspended"),
        false if !target.fully_suspended() => Some("disabled with scaling active"),
        _ => None,
    }
}

/// A VPC subnet with its tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subnet {
    pub subnet_id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub tags: Vec<(String, String)>,
}

impl Subnet {
    /// Spinnaker's subnet purpose: the `purpose` of the `immutable_metadata` JSON tag, else
    /// `b (a)` from a three-part `Name` tag `a.b.c` (clouddriver-aws AmazonSubnetProvider).
    pub fn purpose(&self) -> Option<String> {
        if let Some((_, meta)) = self.tags.iter().find(|(k, _)| k == "immutable_metadata")
            && let Ok(value) = serde_json::from_str::<serde_json::Value>(meta)
            && let Some(purpose) = value.get("purpose").and_then(|p| p.as_str())
        {
            return Some(purpose.to_string());
        }
        let (_, name) = self.tags.iter().find(|(k, _)| k.eq_ignore_ascii_case("name"))?;
        let parts: Vec<&str> = name.split('.').collect();
        (parts.len() == 3).then(|| format!("{} ({})", parts[1], parts[0]))
    }
}

/// A security group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityGroup {
    pub group_id: String,
    pub group_name: String,
    pub vpc_id: String,
}

/// An IAM role as GetRole returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub arn: String,
    /// The trust policy, URL-decoded JSON text.
    pub assume_role_policy_document: String,
}

impl Role {
    /// True when the trust policy lets `service` (e.g. `ecs-tasks.amazonaws.com`) assume the role.
    /// `Action` and `Principal.Service` may each be a string or a list (Decisions #21).
    pub fn trusts_service(&self, service: &str) -> bool {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&self.assume_role_policy_document) else {
            return false;
        };
        let as_list = |v: Option<&serde_json::Value>| -> Vec<String> {
            match v {
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                _ => Vec::new(),
            }
        };
        let statements = match doc.get("Statement") {
            Some(serde_json::Value::Array(s)) => s.clone(),
            Some(s @ serde_json::Value::Object(_)) => vec![s.clone()],
            _ => Vec::new(),
        };
        statements.iter().any(|s| {
            s.get("Effect").and_then(|e| e.as_str()).unwrap_or("Allow") == "Allow"
                && as_list(s.get("Action")).iter().any(|a| a == "sts:AssumeRole" || a == "sts:*" || a == "*")
                && as_list(s.get("Principal").and_then(|p| p.get("Service"))).iter().any(|p| p == service)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnet_purposes() {
        let s = |tags: &[(&str, &str)]| Subnet {
            tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        };
        assert_eq!(s(&[("immutable_metadata", r#"{"purpose": "internal", "target": "ec2"}"#)]).purpose().unwrap(), "internal");
        assert_eq!(s(&[("Name", "vpc0.external.us-west-2a")]).purpose().unwrap(), "external (vpc0)");
        assert_eq!(s(&[("name", "a.b")]).purpose(), None);
        assert_eq!(s(&[]).purpose(), None);
    }

    #[test]
    fn trust_policies_with_strings_or_lists() {
        let role = |doc: &str| Role { arn: "arn".into(), assume_role_policy_document: doc.into() };
        let single =
            r#"{"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
        let lists = r#"{"Statement": {"Principal": {"Service": ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"]}, "Action": ["sts:AssumeRole", "sts:TagSession"]}}"#;
        let other = r#"{"Statement": [{"Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
        let deny =
            r#"{"Statement": [{"Effect": "Deny", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
        assert!(role(single).trusts_service("ecs-tasks.amazonaws.com"));
        assert!(role(lists).trusts_service("ecs-tasks.amazonaws.com"));
        assert!(!role(other).trusts_service("ecs-tasks.amazonaws.com"));
        assert!(!role(deny).trusts_service("ecs-tasks.amazonaws.com"));
        assert!(!role("not json").trusts_service("ecs-tasks.amazonaws.com"));
    }
}

/// A CloudWatch dimension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

/// A CloudWatch metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metric {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStat {
    pub metric: Metric,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stat: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// One query of a metric-math alarm.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricQuery {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_data: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
}

/// A CloudWatch metric alarm with every field PutMetricAlarm takes (PascalCase, as in the API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions_enabled: Option<bool>,
    #[serde(rename = "OKActions", default)]
    pub ok_actions: Vec<String>,
    #[serde(default)]
    pub alarm_actions: Vec<String>,
    #[serde(default)]
    pub insufficient_data_actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_periods: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison_operator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluate_low_sample_count_percentile: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricQuery>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_metric_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
}

/// A stopped task, for the reason it stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoppedTask {
    pub task_arn: String,
    pub task_definition: String,
    pub stopped_reason: String,
    /// Reasons of the containers that exited (e.g. `CannotPullContainerError: …`).
    pub container_reasons: Vec<String>,
    /// `stopCode` (`TaskFailedToStart`, `EssentialContainerExited`, …).
    pub stop_code: Option<String>,
    /// Each container's name and exit code, where it exited with one.
    pub exit_codes: Vec<(String, i32)>,
}

/// One target of a target group and its health state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetHealth {
    pub target_group_arn: String,
    pub id: String,
    pub port: Option<i32>,
    /// initial, healthy, unhealthy, unused, draining, unavailable
    pub state: String,
}

/// An ECS cluster as the doctor sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    pub status: String,
    pub capacity_providers: Vec<String>,
    /// (registered CPU, remaining CPU, registered memory, remaining memory) per ACTIVE container instance.
    pub container_instances: Vec<(i64, i64, i64, i64)>,
}
