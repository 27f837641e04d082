//! The merge rule between the description and the source server group (faithful-copy.md §2):
//! settings the description can express (class E) are the description's — `--plan` warns where
//! the source differs; settings it cannot express (class C) are copied from the source unless the
//! description sets them or `copySourceServiceSettings` is false; nothing else is ever copied
//! (class N). Every member of the new CreateService body gets an origin. The source is read
//! whole (its DescribeServices entry, PRIMARY deployment and current revision, raw), so members
//! this SDK release does not model pass through. Pure.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::error::FieldError;
use crate::core::request::ServiceSpec;

/// The source server group's service as AWS returned it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceService {
    /// The DescribeServices entry (T), its `deployments[]` included (P).
    pub service: Map<String, Value>,
    /// Its current service revision (R).
    pub revision: Revision,
}

/// What is known of the source's current service revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Revision {
    /// Being read: its members come with [`revision_members`], which apply receives before
    /// CreateService (the read runs beside the task definition's registration).
    Pending,
    Read(Map<String, Value>),
    /// AWS has none: the service was created and last deployed before revisions existed
    /// (2024-10-25), so it predates `monitoring` and `gatewayConnectors` too.
    Missing,
    /// It could not be read (the reason): its members are unknown.
    #[default]
    Unknown,
    Unreadable(String),
}

/// Where a member of the new CreateService body comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Origin {
    /// The description (or the command line) sets it.
    Description,
    /// Copied from the source server group.
    Source,
    /// Clouddriver's (or AWS's) default.
    Default,
    /// Decided per deploy: the name, the count, the task definition, the crash marker.
    Deploy,
}

/// The class-C members of the new service and what the merge found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    /// Top-level members to add, in CreateService order.
    pub members: Vec<(String, Value)>,
    /// Members inside `deploymentConfiguration` (`alarms`, `earlySuccessCriteria`).
    pub deployment: Vec<(String, Value)>,
    /// Members inside `deploymentConfiguration.deploymentCircuitBreaker`.
    pub breaker: Vec<(String, Value)>,
    pub origins: Vec<(String, Origin)>,
    pub warnings: Vec<String>,
    pub refusals: Vec<FieldError>,
}

/// The top-level class-C members, in the order they are added to CreateService, and where the
/// source holds each: on the service (T) or its revision (R), else its PRIMARY deployment (P).
const MEMBERS: [(&str, Where); 6] = [
    ("availabilityZoneRebalancing", Where::Service),
    ("volumeConfigurations", Where::Deployment),
    ("serviceConnectConfiguration", Where::Deployment),
    ("vpcLatticeConfigurations", Where::Deployment),
    ("monitoring", Where::RevisionOnly),
    ("gatewayConnectors", Where::RevisionOnly),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Service,
    Deployment,
    RevisionOnly,
}

fn refusal(member: &str, reason: &str, message: String) -> FieldError {
    FieldError::new(member, format!("createServerGroupDescription.{member}.{reason}"), message)
}

impl SourceService {
    fn name(&self) -> &str {
        self.service.get("serviceName").and_then(Value::as_str).unwrap_or_default()
    }

    /// The PRIMARY entry of `deployments[]` (P).
    fn primary(&self) -> Option<&Map<String, Value>> {
        let deployments = self.service.get("deployments").and_then(Value::as_array)?;
        deployments.iter().filter_map(Value::as_object).find(|d| d.get("status").and_then(Value::as_str) == Some("PRIMARY"))
    }

    /// The source's value of top-level member `member`, from where AWS returns it.
    fn member(&self, member: &str, at: Where) -> Option<&Value> {
        let revision = match &self.revision {
            Revision::Read(r) => r.get(member),
            _ => None,
        };
        let found = match at {
            Where::Service => self.service.get(member),
            Where::Deployment => revision.or_else(|| self.primary().and_then(|p| p.get(member))),
            Where::RevisionOnly => revision,
        };
        found.filter(|v| !v.is_null())
    }

    fn deployment_configuration(&self) -> Option<&Map<String, Value>> {
        self.service.get("deploymentConfiguration").and_then(Value::as_object)
    }
}

/// The ARNs of a DescribeServices entry's current service revisions (`currentServiceRevisions`).
pub fn revision_arns(service: &Value) -> Vec<String> {
    let revisions = service.get("currentServiceRevisions").and_then(Value::as_array);
    revisions.into_iter().flatten().filter_map(|r| r.get("arn").and_then(Value::as_str).map(str::to_string)).collect()
}

/// The members only the source's revision holds (`monitoring`, `gatewayConnectors`), once it is
/// read, for a plan made while it was [`Revision::Pending`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RevisionMembers {
    pub members: Vec<(String, Value)>,
    pub origins: Vec<(String, Origin)>,
    pub warnings: Vec<String>,
}

/// The revision-only members copied from `revision` (nothing the description sets: those are
/// in the plan already), and the warning an unreadable revision gives.
pub fn revision_members(spec: &ServiceSpec, source: Option<&SourceService>, revision: &Revision) -> RevisionMembers {
    let Some(source) = source.filter(|_| spec.copy_source_settings) else { return RevisionMembers::default() };
    let read = SourceService { service: source.service.clone(), revision: revision.clone() };
    let mut out = Merged::default();
    revision_only(spec, &read, &mut out);
    RevisionMembers { members: out.members, origins: out.origins, warnings: out.warnings }
}

/// The revision-only members the description leaves out, copied from a read revision.
fn revision_only(spec: &ServiceSpec, source: &SourceService, out: &mut Merged) {
    for (member, at) in MEMBERS.into_iter().filter(|(_, at)| *at == Where::RevisionOnly) {
        if spec.explicit(member).is_none()
            && let Some(v) = source.member(member, at)
        {
            out.members.push((member.to_string(), v.clone()));
            out.origins.push((member.to_string(), Origin::Source));
        }
    }
    if matches!(source.revision, Revision::Unknown | Revision::Unreadable(_)) && spec.explicit("monitoring").is_none() {
        let why = match &source.revision {
            Revision::Unreadable(why) => why.as_str(),
            _ => "it was not read",
        };
        out.warnings.push(format!(
            "the service revision of source {} could not be read ({why}): its monitoring and gatewayConnectors are unknown and not copied",
            source.name()
        ));
    }
}

/// Merges the description's class-C members with the source's (when it is copied from).
pub fn merge(spec: &ServiceSpec, source: Option<&SourceService>, can_tag: bool) -> Merged {
    let mut out = Merged::default();
    let source = source.filter(|_| spec.copy_source_settings);
    if let Some(s) = source
        && s.service.get("resourceManagementType").and_then(Value::as_str) == Some("ECS")
    {
        out.refusals.push(refusal(
            "source",
            "unsupported",
            format!(
                "source server group {} is an ECS Express service, which ecs-deployer does not copy; deploy from a description",
                s.name()
            ),
        ));
    }
    for (member, at) in MEMBERS {
        let copied = source.filter(|s| at != Where::RevisionOnly || s.revision != Revision::Pending);
        if copied.is_some() && spec.explicit(member).is_none() && at == Where::RevisionOnly {
            continue; // below, with the revision
        }
        let (value, origin) = match (spec.explicit(member), copied.and_then(|s| s.member(member, at))) {
            (Some(v), _) => (v.clone(), Origin::Description),
            (None, Some(v)) => match copyable(member, v, source.map(SourceService::name).unwrap_or_default()) {
                Ok(Some(v)) => (v, Origin::Source),
                Ok(None) => continue,
                Err(e) => {
                    out.refusals.push(e);
                    continue;
                }
            },
            (None, None) => continue,
        };
        out.members.push((member.to_string(), value));
        out.origins.push((member.to_string(), origin));
    }
    if let Some(s) = source.filter(|s| s.revision != Revision::Pending) {
        revision_only(spec, s, &mut out);
    }
    tagging(spec, source, can_tag, &mut out);
    deployment(spec, source, &mut out);
    out
}

/// What of a source's class-C value is copied: Lattice without native blue/green's
/// `advancedConfiguration`; a client-only Service Connect configuration (an advertising one is
/// refused: a namespace allows one advertiser per name); nothing of a disabled one.
fn copyable(member: &str, value: &Value, source: &str) -> Result<Option<Value>, FieldError> {
    match member {
        "vpcLatticeConfigurations" => {
            let mut v = value.clone();
            for c in v.as_array_mut().into_iter().flatten().filter_map(Value::as_object_mut) {
                c.remove("advancedConfiguration");
            }
            Ok(Some(v))
        }
        "serviceConnectConfiguration" => {
            if value.get("enabled").and_then(Value::as_bool) != Some(true) {
                return Ok(None);
            }
            let services = value.get("services").and_then(Value::as_array).filter(|s| !s.is_empty());
            match services {
                None => Ok(Some(value.clone())),
                Some(services) => Err(advertises(value, services, source)),
            }
        }
        _ => Ok(Some(value.clone())),
    }
}

fn advertises(config: &Value, services: &[Value], source: &str) -> FieldError {
    let namespace = config.get("namespace").and_then(Value::as_str).unwrap_or("(the cluster's default namespace)");
    let names: Vec<String> = services
        .iter()
        .map(|s| {
            let discovery = s.get("discoveryName").or_else(|| s.get("portName")).and_then(Value::as_str).unwrap_or("?");
            let aliases: Vec<String> = s
                .get("clientAliases")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|a| {
                    format!("{}:{}", a.get("dnsName").and_then(Value::as_str).unwrap_or(discovery), a.get("port").unwrap_or(&Value::Null))
                })
                .collect();
            if aliases.is_empty() { discovery.to_string() } else { format!("{discovery} (aliases {})", aliases.join(", ")) }
        })
        .collect();
    refusal(
        "serviceConnectConfiguration",
        "advertises",
        format!(
            "source server group {source} advertises {} in Service Connect namespace {namespace}, and a namespace allows one advertiser \
             per name, so the new version cannot advertise them beside it. Either set serviceConnectConfiguration in the description \
             (a client-only one, or one with per-version names) or deploy with copySourceServiceSettings: false, accepting that the new \
             version does not take over the names; or keep one service per name (ECS-native blue/green, or take the names off {source} \
             first with an UpdateService, which replaces its tasks)",
            names.join(", ")
        ),
    )
}

/// `propagateTags` and `enableECSManagedTags`: set only when the account can tag services; the
/// description's, else the source's pair, else Clouddriver's `SERVICE` / `true` (Decisions D9).
fn tagging(spec: &ServiceSpec, source: Option<&SourceService>, can_tag: bool, out: &mut Merged) {
    if !can_tag {
        return;
    }
    for (member, default) in [("enableECSManagedTags", Value::Bool(true)), ("propagateTags", Value::from("SERVICE"))] {
        let (value, origin) = match (spec.explicit(member), source.and_then(|s| s.member(member, Where::Service))) {
            (Some(v), _) => (v.clone(), Origin::Description),
            (None, Some(v)) => (v.clone(), Origin::Source),
            (None, None) => (default, Origin::Default),
        };
        out.members.push((member.to_string(), value));
        out.origins.push((member.to_string(), origin));
    }
}

/// The class-C members inside `deploymentConfiguration` (§2.1).
fn deployment(spec: &ServiceSpec, source: Option<&SourceService>, out: &mut Merged) {
    let dc = source.and_then(SourceService::deployment_configuration);
    let breaker = dc.and_then(|d| d.get("deploymentCircuitBreaker")).and_then(Value::as_object);
    type Object = Map<String, Value>;
    let members: [(&str, Option<&Object>, bool); 4] = [
        ("alarms", dc, false),
        ("earlySuccessCriteria", dc, false),
        ("resetOnHealthyTask", breaker, true),
        ("thresholdConfiguration", breaker, true),
    ];
    for (member, from, in_breaker) in members {
        let path = if in_breaker {
            format!("deploymentConfiguration.deploymentCircuitBreaker.{member}")
        } else {
            format!("deploymentConfiguration.{member}")
        };
        let (value, origin) = match (spec.explicit(&path), from.and_then(|m| m.get(member)).filter(|v| !v.is_null())) {
            (Some(v), _) => (v.clone(), Origin::Description),
            (None, Some(v)) => (v.clone(), Origin::Source),
            (None, None) => continue,
        };
        if in_breaker { &mut out.breaker } else { &mut out.deployment }.push((member.to_string(), value));
        out.origins.push((path, origin));
    }
}

/// Whether any of the source's scaling policies tracks a 20-second metric (then the monitoring
/// check needs the source's revision before the first write).
pub fn tracks_high_resolution(policies: &[Value]) -> bool {
    policies.iter().any(|p| high_resolution_metric(p).is_some())
}

/// The metric a `…HighResolution` target-tracking policy tracks.
fn high_resolution_metric(policy: &Value) -> Option<(&str, &'static str)> {
    let kind = policy.pointer("/TargetTrackingScalingPolicyConfiguration/PredefinedMetricSpecification/PredefinedMetricType")?.as_str()?;
    match kind {
        "ECSServiceAverageCPUUtilizationHighResolution" => Some((kind, "CPUUtilization")),
        "ECSServiceAverageMemoryUtilizationHighResolution" => Some((kind, "MemoryUtilization")),
        _ => None,
    }
}

/// Copied target-tracking policies that track 20-second metrics need the new service to publish
/// them (faithful-copy.md §5): each `…HighResolution` policy of the source whose metric the merged
/// `monitoring` does not publish at 20 seconds is refused, naming the policy and the metric.
pub fn monitoring_problems(settings: &Map<String, Value>, late: &RevisionMembers, policies: &[Value]) -> Vec<FieldError> {
    let monitoring = settings.get("monitoring").or_else(|| late.members.iter().find(|(m, _)| m == "monitoring").map(|(_, v)| v));
    let published = |metric: &str| {
        let configs = monitoring.and_then(|m| m.get("metricConfigurations")).and_then(Value::as_array);
        configs.into_iter().flatten().any(|c| {
            c.get("resolutionSeconds").and_then(Value::as_i64) == Some(20)
                && c.get("metricNames").and_then(Value::as_array).is_some_and(|n| n.iter().any(|m| m == metric))
        })
    };
    let mut out = Vec::new();
    for p in policies {
        let Some((kind, metric)) = high_resolution_metric(p) else { continue };
        if !published(metric) {
            let name = p.get("PolicyName").and_then(Value::as_str).unwrap_or_default();
            out.push(refusal(
                "monitoring",
                "highResolutionRequired",
                format!(
                    "the copied scaling policy `{name}` tracks {kind}, a 20-second metric, but the new version would not publish \
                     {metric} at 20 seconds (the source's monitoring is not known to, or does not); set monitoring \
                     {{\"metricConfigurations\": [{{\"metricNames\": [\"{metric}\"], \"resolutionSeconds\": 20}}]}} in the description, \
                     or copySourceScalingPoliciesAndActions: false"
                ),
            ));
        }
    }
    out
}

/// The class-E members where the description's value (in `body`) differs from the source's:
/// one warning each, for `--plan` (Decisions D2).
pub fn differences(body: &Map<String, Value>, source: &SourceService) -> Vec<String> {
    let mut out = Vec::new();
    let name = source.name();
    let mut compare = |path: &str, ours: Option<&Value>, theirs: Option<&Value>| {
        if let (Some(ours), Some(theirs)) = (ours, theirs.filter(|v| !v.is_null()))
            && ours != theirs
        {
            out.push(format!("source {name} has {path} {theirs}; the new version gets {ours} from the description"));
        }
    };
    for member in [
        "launchType",
        "platformVersion",
        "placementConstraints",
        "placementStrategy",
        "healthCheckGracePeriodSeconds",
        "enableExecuteCommand",
    ] {
        compare(member, body.get(member), source.service.get(member));
    }
    let ours = body.get("deploymentConfiguration");
    let theirs = source.service.get("deploymentConfiguration");
    for member in ["maximumPercent", "minimumHealthyPercent"] {
        compare(&format!("deploymentConfiguration.{member}"), ours.and_then(|d| d.get(member)), theirs.and_then(|d| d.get(member)));
    }
    for member in ["enable", "rollback"] {
        let pick = |d: Option<&Value>| d.and_then(|d| d.get("deploymentCircuitBreaker")).and_then(|b| b.get(member)).cloned();
        compare(&format!("deploymentConfiguration.deploymentCircuitBreaker.{member}"), pick(ours).as_ref(), pick(theirs).as_ref());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::description::create_server_group_from_json;
    use serde_json::json;

    fn spec(d: Value) -> ServiceSpec {
        ServiceSpec::of(&create_server_group_from_json(d).unwrap())
    }

    fn source(service: Value, revision: Revision) -> SourceService {
        SourceService { service: service.as_object().unwrap().clone(), revision }
    }

    fn rich() -> SourceService {
        let service = json!({
            "serviceName": "app-v001", "availabilityZoneRebalancing": "DISABLED", "propagateTags": "TASK_DEFINITION", "enableECSManagedTags": false,
            "deploymentConfiguration": {"maximumPercent": 150, "minimumHealthyPercent": 50,
                "deploymentCircuitBreaker": {"enable": true, "rollback": true, "resetOnHealthyTask": false, "thresholdConfiguration": {"type": "COUNT", "value": 5}},
                "alarms": {"alarmNames": ["a"], "enable": true, "rollback": false}, "earlySuccessCriteria": {"enable": true, "healthyPercent": 80}},
            "deployments": [{"status": "PRIMARY", "volumeConfigurations": [{"name": "data"}],
                "vpcLatticeConfigurations": [{"roleArn": "r", "targetGroupArn": "t", "portName": "web", "advancedConfiguration": {"x": 1}}]}],
            "healthCheckGracePeriodSeconds": 30,
        });
        let revision = json!({"monitoring": {"metricConfigurations": [{"metricNames": ["CPUUtilization"], "resolutionSeconds": 20}]}, "gatewayConnectors": [{"g": 1}]});
        source(service, Revision::Read(revision.as_object().unwrap().clone()))
    }

    fn members(m: &Merged) -> Vec<&str> {
        m.members.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn class_c_members_come_from_where_aws_returns_them() {
        let m = merge(&spec(json!({})), Some(&rich()), true);
        assert_eq!(
            members(&m),
            [
                "availabilityZoneRebalancing",
                "volumeConfigurations",
                "vpcLatticeConfigurations",
                "monitoring",
                "gatewayConnectors",
                "enableECSManagedTags",
                "propagateTags"
            ]
        );
        let lattice = &m.members[2].1;
        assert!(lattice[0].get("advancedConfiguration").is_none(), "never native blue/green's: {lattice}");
        assert_eq!(m.members[5].1, json!(false), "the source's managed-tags pair (Decisions D9)");
        assert_eq!(m.deployment.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["alarms", "earlySuccessCriteria"]);
        assert_eq!(
            m.breaker,
            [
                ("resetOnHealthyTask".to_string(), json!(false)),
                ("thresholdConfiguration".to_string(), json!({"type": "COUNT", "value": 5}))
            ]
        );
        assert!(m.origins.iter().all(|(_, o)| *o == Origin::Source), "{:?}", m.origins);
        assert!(m.refusals.is_empty() && m.warnings.is_empty());
    }

    #[test]
    fn a_pending_revision_leaves_its_members_for_later() {
        let mut pending = rich();
        let revision = std::mem::replace(&mut pending.revision, Revision::Pending);
        let m = merge(&spec(json!({})), Some(&pending), false);
        assert_eq!(members(&m), ["availabilityZoneRebalancing", "volumeConfigurations", "vpcLatticeConfigurations"]);
        assert!(m.warnings.is_empty());
        let late = revision_members(&spec(json!({})), Some(&pending), &revision);
        assert_eq!(late.members.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["monitoring", "gatewayConnectors"]);
        let unreadable = revision_members(&spec(json!({})), Some(&pending), &Revision::Unreadable("denied".into()));
        assert!(unreadable.members.is_empty() && unreadable.warnings[0].contains("denied"));
        let explicit = merge(&spec(json!({"monitoring": {"metricConfigurations": []}})), Some(&pending), false);
        assert!(members(&explicit).contains(&"monitoring"), "the description's own monitoring needs no revision");
        assert!(
            revision_members(&spec(json!({"monitoring": {}})), Some(&pending), &revision).members.iter().all(|(k, _)| k != "monitoring")
        );
    }

    #[test]
    fn an_explicit_value_wins_even_empty_and_the_flag_turns_copying_off() {
        let m = merge(&spec(json!({"volumeConfigurations": [], "availabilityZoneRebalancing": "ENABLED"})), Some(&rich()), true);
        assert_eq!(m.members[0], ("availabilityZoneRebalancing".to_string(), json!("ENABLED")));
        assert_eq!(m.members[1], ("volumeConfigurations".to_string(), json!([])));
        assert_eq!(m.origins[0].1, Origin::Description);
        let off = merge(&spec(json!({"copySourceServiceSettings": false})), Some(&rich()), true);
        assert_eq!(members(&off), ["enableECSManagedTags", "propagateTags"], "Clouddriver's body exactly");
        assert_eq!(off.members[1].1, json!("SERVICE"));
        assert!(off.deployment.is_empty() && off.breaker.is_empty());
        assert!(
            merge(&spec(json!({})), Some(&rich()), false).members.iter().all(|(k, _)| !k.contains("Tags")),
            "no tagging, no tag members"
        );
    }

    #[test]
    fn service_connect_is_copied_client_only_and_an_advertiser_is_refused() {
        let with = |sc: Value| {
            source(
                json!({"serviceName": "app-v001", "deployments": [{"status": "PRIMARY", "serviceConnectConfiguration": sc}]}),
                Revision::Missing,
            )
        };
        let client = merge(&spec(json!({})), Some(&with(json!({"enabled": true, "namespace": "ns", "services": []}))), false);
        assert_eq!(members(&client), ["serviceConnectConfiguration"]);
        assert!(merge(&spec(json!({})), Some(&with(json!({"enabled": false}))), false).members.is_empty());
        let advertising = json!({"enabled": true, "namespace": "ns", "services": [{"portName": "web", "discoveryName": "web", "clientAliases": [{"dnsName": "web.ns", "port": 80}]}]});
        let refused = merge(&spec(json!({})), Some(&with(advertising.clone())), false);
        assert_eq!(refused.refusals[0].code, "createServerGroupDescription.serviceConnectConfiguration.advertises");
        assert!(
            refused.refusals[0].message.contains("web (aliases web.ns:80)")
                && refused.refusals[0].message.contains("copySourceServiceSettings: false")
        );
        let explicit = merge(&spec(json!({"serviceConnectConfiguration": {"enabled": false}})), Some(&with(advertising)), false);
        assert!(explicit.refusals.is_empty(), "the description's own configuration is not the source's");
    }

    #[test]
    fn an_unreadable_revision_is_said_once_and_express_sources_are_refused() {
        let s = source(
            json!({"serviceName": "app-v001", "resourceManagementType": "ECS"}),
            Revision::Unreadable("AccessDeniedException".into()),
        );
        let m = merge(&spec(json!({})), Some(&s), false);
        assert_eq!(m.refusals[0].code, "createServerGroupDescription.source.unsupported");
        assert_eq!(m.warnings.len(), 1);
        assert!(m.warnings[0].contains("AccessDeniedException"));
        assert!(merge(&spec(json!({"monitoring": {}})), Some(&s), false).warnings.is_empty(), "set in the description, nothing is unknown");
    }

    #[test]
    fn a_high_resolution_policy_needs_20_second_monitoring() {
        let policy = json!({"PolicyName": "cpu", "TargetTrackingScalingPolicyConfiguration": {"PredefinedMetricSpecification":
            {"PredefinedMetricType": "ECSServiceAverageCPUUtilizationHighResolution"}}});
        let monitored = json!({"monitoring": {"metricConfigurations": [{"metricNames": ["CPUUtilization"], "resolutionSeconds": 20}]}});
        let none = RevisionMembers::default();
        assert!(monitoring_problems(monitored.as_object().unwrap(), &none, std::slice::from_ref(&policy)).is_empty());
        let slow = json!({"monitoring": {"metricConfigurations": [{"metricNames": ["CPUUtilization"], "resolutionSeconds": 60}]}});
        let refused = monitoring_problems(slow.as_object().unwrap(), &none, std::slice::from_ref(&policy));
        assert_eq!(refused[0].code, "createServerGroupDescription.monitoring.highResolutionRequired");
        assert!(refused[0].message.contains("`cpu`"));
        assert_eq!(monitoring_problems(&Map::new(), &none, std::slice::from_ref(&policy)).len(), 1, "no monitoring at all");
        let late = revision_members(&spec(json!({})), Some(&rich()), &rich().revision);
        assert!(monitoring_problems(&Map::new(), &late, &[policy]).is_empty(), "the revision's 20-second CPU metrics, read later");
    }

    #[test]
    fn differences_in_class_e_members_are_warned() {
        let body = json!({"healthCheckGracePeriodSeconds": 0, "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {"enable": true, "rollback": false}}});
        let warnings = differences(body.as_object().unwrap(), &rich());
        assert_eq!(warnings.len(), 4, "{warnings:#?}");
        assert!(warnings[0].contains("healthCheckGracePeriodSeconds 30; the new version gets 0"));
    }
}
