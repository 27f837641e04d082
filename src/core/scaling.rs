//! The rules for copying the previous server group's Application Auto Scaling onto the new one
//! (clouddriver-ecs-behaviour.md §6.2 with Decisions #8 and #9): step and target-tracking
//! policies, the CloudWatch alarms that drive the step policies, and scheduled actions — renamed,
//! pointed at the new service, with `AWS/ECS` dimensions rewritten and actions that cannot work
//! in the destination dropped. Pure: takes what was read from the source, returns requests.

use serde::Serialize;
use serde_json::{Value, json};

use crate::core::model::Alarm;

/// The prefix of the alarms AWS creates for a target-tracking policy
/// (`TargetTracking-service/CLUSTER/NAME-AlarmHigh-…`, `-AlarmLow-…`); they are AWS's, never copied.
const TARGET_TRACKING: &str = "TargetTracking-";

/// Whether AWS created alarm `name` for a target-tracking policy.
pub fn is_target_tracking_alarm(name: &str) -> bool {
    name.starts_with(TARGET_TRACKING)
}

/// Whether alarm `name` is one AWS created for a target-tracking policy of `resource_id`
/// (also one whose policy is gone); [`target_tracking_prefix`] lists them.
pub fn is_target_tracking_alarm_of(resource_id: &str, name: &str) -> bool {
    let rest = name.strip_prefix(&target_tracking_prefix(resource_id));
    rest.is_some_and(|rest| rest.starts_with("AlarmHigh-") || rest.starts_with("AlarmLow-"))
}

/// The name prefix of the target-tracking alarms of `resource_id`.
pub fn target_tracking_prefix(resource_id: &str) -> String {
    format!("{TARGET_TRACKING}{resource_id}-")
}

/// What was read from the source server group's scaling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceScaling {
    pub resource_id: String,
    pub service_name: String,
    pub region: String,
    pub account_id: String,
    /// DescribeScalingPolicies entries, as AWS returned them.
    pub policies: Vec<Value>,
    /// The alarms that name a source policy (by the policy's `Alarms` or by their actions).
    pub alarms: Vec<Alarm>,
    /// DescribeScheduledActions entries, as AWS returned them.
    pub scheduled_actions: Vec<Value>,
}

/// The new server group the copy goes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination<'a> {
    pub resource_id: &'a str,
    pub service_name: &'a str,
    pub ecs_cluster: &'a str,
    pub region: &'a str,
    pub account_id: &'a str,
}

/// One thing to create, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyItem<T> {
    pub from: String,
    pub to: String,
    pub request: T,
}

/// Something of the source that is deliberately not copied, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// Everything the copy will create.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingCopyPlan {
    pub source_resource_id: String,
    pub scaling_policies: Vec<CopyItem<Value>>,
    pub alarms: Vec<CopyItem<Alarm>>,
    pub scheduled_actions: Vec<CopyItem<Value>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

/// Stands in an alarm action for the ARN PutScalingPolicy will return for policy `name`.
pub fn policy_arn_placeholder(name: &str) -> String {
    format!("${{policyArn:{name}}}")
}

/// The copy's name: the source service name replaced literally by the new one (Decisions #8: a
/// `.` is not a wildcard), or `-{new}` appended when the name does not contain it.
pub fn rename(name: &str, source_service: &str, new_service: &str) -> String {
    let replaced = if source_service.is_empty() { name.to_string() } else { name.replace(source_service, new_service) };
    if replaced.contains(new_service) { replaced } else { format!("{replaced}-{new_service}") }
}

/// Rewrites the `ClusterName` and `ServiceName` dimensions of every `AWS/ECS` metric anywhere in
/// `value` (alarm metrics, metric-math queries, customized target-tracking metrics).
pub fn rewrite_ecs_dimensions(value: &mut Value, ecs_cluster: &str, service: &str) {
    match value {
        Value::Object(map) => {
            if map.get("Namespace").and_then(Value::as_str) == Some("AWS/ECS")
                && let Some(Value::Array(dims)) = map.get_mut("Dimensions")
            {
                for d in dims.iter_mut() {
                    match d.get("Name").and_then(Value::as_str) {
                        Some("ClusterName") => d["Value"] = json!(ecs_cluster),
                        Some("ServiceName") => d["Value"] = json!(service),
                        _ => {}
                    }
                }
            }
            for child in map.values_mut() {
                rewrite_ecs_dimensions(child, ecs_cluster, service);
            }
        }
        Value::Array(items) => {
            for item in items {
                rewrite_ecs_dimensions(item, ecs_cluster, service);
            }
        }
        _ => {}
    }
}

/// The region and account of an ARN (`arn:partition:service:region:account:resource`).
pub fn arn_region_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    (parts.next()? == "arn").then_some(())?;
    let _partition = parts.next()?;
    let _service = parts.next()?;
    let region = parts.next()?;
    let account = parts.next()?;
    parts.next()?;
    Some((region, account))
}

/// Alarm actions for the copy: source policy ARNs become the new policies' (placeholders until
/// they exist); ARNs in another region or account than the destination are dropped (Decisions #9).
fn copy_actions(actions: &[String], policy_arns: &[(String, String)], dst: &Destination, dropped: &mut Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for action in actions {
        let mapped = match policy_arns.iter().find(|(src, _)| src == action) {
            Some((_, new_name)) => policy_arn_placeholder(new_name),
            None => match arn_region_account(action) {
                Some((region, account))
                    if (!region.is_empty() && region != dst.region) || (!account.is_empty() && account != dst.account_id) =>
                {
                    dropped.push(action.clone());
                    continue;
                }
                _ => action.clone(),
            },
        };
        if !out.contains(&mapped) {
            out.push(mapped);
        }
    }
    out
}

fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Plans the copy of `src` onto `dst`.
pub fn plan_copy(src: &SourceScaling, dst: &Destination) -> ScalingCopyPlan {
    let rename = |name: &str| rename(name, &src.service_name, dst.service_name);
    let mut skipped = Vec::new();

    let mut policy_arns: Vec<(String, String)> = Vec::new();
    let scaling_policies = src
        .policies
        .iter()
        .map(|p| {
            let from = str_field(p, "PolicyName").to_string();
            let to = rename(&from);
            policy_arns.push((str_field(p, "PolicyARN").to_string(), to.clone()));
            let mut request = p.clone();
            if let Value::Object(m) = &mut request {
                for key in ["PolicyARN", "Alarms", "CreationTime"] {
                    m.remove(key);
                }
                m.insert("PolicyName".into(), json!(to));
                m.insert("ServiceNamespace".into(), json!(crate::core::model::SCALING_NAMESPACE));
                m.insert("ResourceId".into(), json!(dst.resource_id));
            }
            rewrite_ecs_dimensions(&mut request, dst.ecs_cluster, dst.service_name);
            CopyItem { from, to, request }
        })
        .collect();

    let mut alarms = Vec::new();
    for a in &src.alarms {
        if is_target_tracking_alarm(&a.alarm_name) {
            skipped.push(Skipped {
                name: a.alarm_name.clone(),
                reason: "created by AWS for a target-tracking policy; AWS creates the copied policy's own".into(),
            });
            continue;
        }
        let mut dropped = Vec::new();
        let mut copy = a.clone();
        copy.alarm_arn = None;
        copy.alarm_name = rename(&a.alarm_name);
        copy.ok_actions = copy_actions(&a.ok_actions, &policy_arns, dst, &mut dropped);
        copy.alarm_actions = copy_actions(&a.alarm_actions, &policy_arns, dst, &mut dropped);
        copy.insufficient_data_actions = copy_actions(&a.insufficient_data_actions, &policy_arns, dst, &mut dropped);
        let mut value = serde_json::to_value(&copy).expect("alarms serialise");
        rewrite_ecs_dimensions(&mut value, dst.ecs_cluster, dst.service_name);
        let copy: Alarm = serde_json::from_value(value).expect("alarms deserialise");
        for action in dropped {
            skipped.push(Skipped {
                name: format!("{} action {action}", a.alarm_name),
                reason: format!("in another region or account than {}/{}", dst.account_id, dst.region),
            });
        }
        alarms.push(CopyItem { from: a.alarm_name.clone(), to: copy.alarm_name.clone(), request: copy });
    }

    let scheduled_actions = src
        .scheduled_actions
        .iter()
        .map(|s| {
            let from = str_field(s, "ScheduledActionName").to_string();
            let to = rename(&from);
            let mut request = s.clone();
            if let Value::Object(m) = &mut request {
                for key in ["ScheduledActionARN", "CreationTime"] {
                    m.remove(key);
                }
                m.insert("ScheduledActionName".into(), json!(to));
                m.insert("ServiceNamespace".into(), json!(crate::core::model::SCALING_NAMESPACE));
                m.insert("ResourceId".into(), json!(dst.resource_id));
            }
            CopyItem { from, to, request }
        })
        .collect();

    ScalingCopyPlan { source_resource_id: src.resource_id.clone(), scaling_policies, alarms, scheduled_actions, skipped }
}

/// AWS's name limits for what the copy creates, in characters: Application Auto Scaling's
/// `PolicyName` and `ScheduledActionName` (1-256), CloudWatch's `AlarmName` (1-255).
pub const POLICY_NAME_MAX: usize = 256;
pub const SCHEDULED_ACTION_NAME_MAX: usize = 256;
pub const ALARM_NAME_MAX: usize = 255;

/// The copies whose names would break AWS's limits, each naming the source object it comes
/// from. Checked before the first write, from the source's policies (with the alarms AWS lists
/// in each policy's `Alarms`) and scheduled actions; `src.alarms` may still be empty then.
pub fn name_limit_errors(src: &SourceScaling, new_service: &str) -> Vec<crate::core::error::FieldError> {
    let mut names: Vec<(&str, &str, String, usize)> = Vec::new();
    for p in &src.policies {
        names.push(("scalingPolicies", "scaling policy", str_field(p, "PolicyName").to_string(), POLICY_NAME_MAX));
        for a in p.get("Alarms").and_then(Value::as_array).into_iter().flatten() {
            let name = str_field(a, "AlarmName");
            if !is_target_tracking_alarm(name) {
                names.push(("alarms", "alarm", name.to_string(), ALARM_NAME_MAX));
            }
        }
    }
    names.extend(
        src.alarms
            .iter()
            .filter(|a| !is_target_tracking_alarm(&a.alarm_name))
            .map(|a| ("alarms", "alarm", a.alarm_name.clone(), ALARM_NAME_MAX)),
    );
    for s in &src.scheduled_actions {
        names.push(("scheduledActions", "scheduled action", str_field(s, "ScheduledActionName").to_string(), SCHEDULED_ACTION_NAME_MAX));
    }
    let mut errors: Vec<crate::core::error::FieldError> = Vec::new();
    for (field, what, from, max) in names {
        let to = rename(&from, &src.service_name, new_service);
        let length = to.chars().count();
        let field = format!("source.{field}.{from}");
        if length > max && !errors.iter().any(|e| e.field == field) {
            errors.push(crate::core::error::FieldError::new(
                field,
                "createServerGroupDescription.source.name.too.long",
                format!(
                    "the copy of {what} `{from}` of {} would be named `{to}`: {length} characters, and AWS allows {max}; \
                     shorten the server group's name (application, stack, freeFormDetails) or rename the source's {what}",
                    src.service_name
                ),
            ));
        }
    }
    errors
}

/// Whether `alarm`'s actions name the copied policy `policy_name` (by its placeholder), so it
/// can be put only once that policy exists.
pub fn alarm_names_policy(alarm: &Alarm, policy_name: &str) -> bool {
    let placeholder = policy_arn_placeholder(policy_name);
    [&alarm.ok_actions, &alarm.alarm_actions, &alarm.insufficient_data_actions].into_iter().flatten().any(|a| *a == placeholder)
}

/// The alarm with policy-ARN placeholders replaced by the ARNs PutScalingPolicy returned.
pub fn fill_policy_arns(alarm: &Alarm, arns: &[(String, String)]) -> Alarm {
    let fill = |actions: &[String]| -> Vec<String> {
        actions
            .iter()
            .map(|a| {
                arns.iter().find(|(name, _)| &policy_arn_placeholder(name) == a).map(|(_, arn)| arn.clone()).unwrap_or_else(|| a.clone())
            })
            .collect()
    };
    let mut out = alarm.clone();
    out.ok_actions = fill(&alarm.ok_actions);
    out.alarm_actions = fill(&alarm.alarm_actions);
    out.insufficient_data_actions = fill(&alarm.insufficient_data_actions);
    out
}

/// A text member of each of DescribeScalingPolicies' (or DescribeScheduledActions') raw answers:
/// `PolicyARN`, `PolicyName`, `ScheduledActionName`.
pub fn members(items: &[Value], key: &str) -> Vec<String> {
    items.iter().filter_map(|p| p.get(key).and_then(Value::as_str).map(str::to_string)).collect()
}

/// The names of the alarms the policies list (`Alarms[].AlarmName`), each once.
pub fn listed_alarm_names(policies: &[Value]) -> Vec<String> {
    let names = policies.iter().flat_map(|p| p.get("Alarms").and_then(Value::as_array).cloned().unwrap_or_default());
    let mut out: Vec<String> = names.filter_map(|a| a.get("AlarmName").and_then(Value::as_str).map(str::to_string)).collect();
    out.dedup();
    out
}

/// The policy names whose alarms must be found by action (step policies: AWS lists their
/// alarms in `Alarms`, the emulator does not) and the alarm names listed by the policies,
/// leaving out the `TargetTracking-*` alarms that are never copied.
pub fn alarm_lookups(policies: &[Value]) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut action_prefixes = Vec::new();
    for p in policies {
        for a in p.get("Alarms").and_then(Value::as_array).into_iter().flatten() {
            let name = str_field(a, "AlarmName");
            if !name.is_empty() && !is_target_tracking_alarm(name) && !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        if str_field(p, "PolicyType") == "StepScaling" {
            action_prefixes.push(str_field(p, "PolicyARN").to_string());
        }
    }
    (names, action_prefixes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::Dimension;

    fn dst() -> Destination<'static> {
        Destination {
            resource_id: "service/default/asgard-v001",
            service_name: "asgard-v001",
            ecs_cluster: "default",
            region: "us-west-1",
            account_id: "def",
        }
    }

    #[test]
    fn renaming() {
        assert_eq!(rename("policy1", "asgard-v000", "asgard-v001"), "policy1-asgard-v001");
        assert_eq!(rename("policy3-asgard-v000", "asgard-v000", "asgard-v001"), "policy3-asgard-v001");
        assert_eq!(rename("ecsTestPolicy", "ecs", "createdService"), "createdServiceTestPolicy");
        // Literal, not a regex: the dot in `a.b` matches only a dot.
        assert_eq!(rename("axb-up", "a.b", "new"), "axb-up-new");
        assert_eq!(rename("a.b-up", "a.b", "new"), "new-up");
    }

    #[test]
    fn arns() {
        assert_eq!(arn_region_account("arn:aws:sns:us-east-1:123456789012:topic"), Some(("us-east-1", "123456789012")));
        assert_eq!(
            arn_region_account("arn:aws:autoscaling:us-east-1:abc:scalingPolicy:x:resource/ecs/service/c/s:policyName/p"),
            Some(("us-east-1", "abc"))
        );
        assert_eq!(arn_region_account("ok-one"), None);
    }

    fn source() -> SourceScaling {
        SourceScaling {
            resource_id: "service/default/asgard-v000".into(),
            service_name: "asgard-v000".into(),
            region: "us-east-1".into(),
            account_id: "abc".into(),
            policies: vec![
                json!({"PolicyARN": "arn:p1", "PolicyName": "policy1", "ServiceNamespace": "ecs", "ResourceId": "service/default/asgard-v000",
                    "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 30.0, "ScaleOutCooldown": 300, "ScaleInCooldown": 300,
                        "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}},
                    "Alarms": [{"AlarmName": "TargetTracking-alarm1", "AlarmARN": "arn:a1"}], "CreationTime": 1.7e9}),
                json!({"PolicyARN": "arn:p2", "PolicyName": "policy2", "PolicyType": "TargetTrackingScaling",
                    "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0, "CustomizedMetricSpecification": {
                        "MetricName": "CPUUtilization", "Namespace": "AWS/ECS", "Statistic": "Average",
                        "Dimensions": [{"Name": "ClusterName", "Value": "default"}, {"Name": "ServiceName", "Value": "asgard-v000"}]}}}),
                json!({"PolicyARN": "arn:aws:autoscaling:us-east-1:abc:scalingPolicy:1:resource/ecs/service/default/asgard-v000:policyName/policy3-asgard-v000",
                    "PolicyName": "policy3-asgard-v000", "PolicyType": "StepScaling",
                    "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "MinAdjustmentMagnitude": 20, "MetricAggregationType": "Average",
                        "Cooldown": 100, "StepAdjustments": [{"MetricIntervalLowerBound": 10.5, "MetricIntervalUpperBound": 11.5, "ScalingAdjustment": 90}]},
                    "Alarms": []}),
            ],
            alarms: vec![
                Alarm { alarm_name: "TargetTracking-alarm1".into(), ..Default::default() },
                Alarm {
                    alarm_name: "alarm5".into(),
                    namespace: Some("other".into()),
                    dimensions: vec![Dimension { name: "hello".into(), value: "world".into() }],
                    alarm_actions: vec![
                        "arn:aws:autoscaling:us-east-1:abc:scalingPolicy:1:resource/ecs/service/default/asgard-v000:policyName/policy3-asgard-v000".into(),
                        "arn:aws:sns:us-east-1:abc:topic".into(),
                        "arn:aws:sns:us-west-1:abc:someQueue".into(),
                        "arn:aws:sns:us-west-1:def:ok-one".into(),
                    ],
                    datapoints_to_alarm: Some(2),
                    treat_missing_data: Some("breaching".into()),
                    tags: vec![("team".into(), "a".into())],
                    ..Default::default()
                },
                Alarm {
                    alarm_name: "alarm6-asgard-v000".into(),
                    namespace: Some("AWS/ECS".into()),
                    dimensions: vec![Dimension { name: "ClusterName".into(), value: "default".into() }, Dimension { name: "ServiceName".into(), value: "asgard-v000".into() }],
                    ..Default::default()
                },
            ],
            scheduled_actions: vec![json!({"ScheduledActionName": "scale-up-monday", "ScheduledActionARN": "arn:s", "ServiceNamespace": "ecs",
                "Schedule": "cron(0 8 ? * MON *)", "Timezone": "Europe/Berlin", "ResourceId": "service/default/asgard-v000",
                "ScalableDimension": "ecs:service:DesiredCount", "ScalableTargetAction": {"MinCapacity": 4, "MaxCapacity": 10}, "CreationTime": 1.7e9})],
        }
    }

    #[test]
    fn clouddriver_examples() {
        let plan = plan_copy(&source(), &dst());
        let names: Vec<&str> = plan.scaling_policies.iter().map(|p| p.to.as_str()).collect();
        assert_eq!(names, vec!["policy1-asgard-v001", "policy2-asgard-v001", "policy3-asgard-v001"]);
        let p1 = &plan.scaling_policies[0].request;
        assert_eq!(p1["ResourceId"], "service/default/asgard-v001");
        assert!(p1.get("PolicyARN").is_none() && p1.get("Alarms").is_none() && p1.get("CreationTime").is_none());
        assert_eq!(p1["TargetTrackingScalingPolicyConfiguration"]["TargetValue"], 30.0);
        let dims =
            &plan.scaling_policies[1].request["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]["Dimensions"];
        assert_eq!(dims, &json!([{"Name": "ClusterName", "Value": "default"}, {"Name": "ServiceName", "Value": "asgard-v001"}]));
        let step = &plan.scaling_policies[2].request["StepScalingPolicyConfiguration"];
        assert_eq!(step["MinAdjustmentMagnitude"], 20);
        assert_eq!(step["StepAdjustments"][0]["ScalingAdjustment"], 90);

        let alarms: Vec<(&str, &str)> = plan.alarms.iter().map(|a| (a.from.as_str(), a.to.as_str())).collect();
        assert_eq!(alarms, vec![("alarm5", "alarm5-asgard-v001"), ("alarm6-asgard-v000", "alarm6-asgard-v001")]);
        let a5 = &plan.alarms[0].request;
        // Policy ARN mapped; source-region and source-account actions dropped; others kept.
        assert_eq!(a5.alarm_actions, vec![policy_arn_placeholder("policy3-asgard-v001"), "arn:aws:sns:us-west-1:def:ok-one".into()]);
        assert_eq!(a5.dimensions, vec![Dimension { name: "hello".into(), value: "world".into() }]);
        assert_eq!(a5.datapoints_to_alarm, Some(2));
        assert_eq!(a5.treat_missing_data.as_deref(), Some("breaching"));
        assert_eq!(a5.tags, vec![("team".to_string(), "a".to_string())]);
        assert_eq!(plan.alarms[1].request.dimensions[1].value, "asgard-v001");
        assert!(plan.skipped.iter().any(|s| s.name == "TargetTracking-alarm1"));
        assert_eq!(plan.skipped.iter().filter(|s| s.name.starts_with("alarm5 action")).count(), 2);

        let s = &plan.scheduled_actions[0];
        assert_eq!(s.to, "scale-up-monday-asgard-v001");
        assert_eq!(s.request["ResourceId"], "service/default/asgard-v001");
        assert_eq!(s.request["Timezone"], "Europe/Berlin");
        assert_eq!(s.request["ScalableTargetAction"], json!({"MinCapacity": 4, "MaxCapacity": 10}));
        assert!(s.request.get("ScheduledActionARN").is_none());

        let filled = fill_policy_arns(a5, &[("policy3-asgard-v001".into(), "arn:new3".into())]);
        assert_eq!(filled.alarm_actions[0], "arn:new3");
        // Each alarm waits for the policies its actions name, and only those.
        assert!(alarm_names_policy(a5, "policy3-asgard-v001"));
        assert!(!alarm_names_policy(a5, "policy1-asgard-v001"));
        assert!(!alarm_names_policy(&filled, "policy3-asgard-v001"));
    }

    #[test]
    fn metric_math_alarms_are_rewritten_inside_queries() {
        let mut src = source();
        src.alarms = vec![Alarm {
            alarm_name: "math".into(),
            metrics: vec![crate::core::model::MetricQuery {
                id: "m1".into(),
                metric_stat: Some(crate::core::model::MetricStat {
                    metric: crate::core::model::Metric {
                        namespace: Some("AWS/ECS".into()),
                        metric_name: Some("CPUUtilization".into()),
                        dimensions: vec![Dimension { name: "ServiceName".into(), value: "asgard-v000".into() }],
                    },
                    stat: Some("Average".into()),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            ..Default::default()
        }];
        let plan = plan_copy(&src, &dst());
        assert_eq!(plan.alarms[0].request.metrics[0].metric_stat.as_ref().unwrap().metric.dimensions[0].value, "asgard-v001");
    }

    #[test]
    fn copies_whose_names_break_aws_limits_are_named_before_any_write() {
        assert!(name_limit_errors(&source(), "asgard-v001").is_empty());
        let mut src = source();
        src.alarms.clear();
        src.policies[0]["Alarms"] = json!([{"AlarmName": format!("{}-asgard-v000", "a".repeat(244))}]);
        let long = format!("{}-v001", "b".repeat(250));
        let errors = name_limit_errors(&src, &long);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        // policy1 and scale-up-monday get `-NEW` appended (7 + 1 + 255 > 256); the alarm grows by 244.
        assert_eq!(fields.len(), 5, "{fields:?}");
        assert!(fields.contains(&"source.scalingPolicies.policy1"), "{fields:?}");
        assert!(fields.contains(&"source.scheduledActions.scale-up-monday"), "{fields:?}");
        assert!(fields.iter().any(|f| f.starts_with("source.alarms.aaaa")), "{fields:?}");
        let policy = errors.iter().find(|e| e.field == "source.scalingPolicies.policy1").unwrap();
        assert!(policy.message.contains("263 characters, and AWS allows 256"), "{}", policy.message);
        // Exactly at each limit is fine.
        let at_limit = format!("{}-v001", "c".repeat(256 - 5 - 8));
        let mut src = source();
        src.policies.truncate(1);
        src.alarms.clear();
        src.scheduled_actions.clear();
        assert!(name_limit_errors(&src, &at_limit).is_empty(), "{:?}", name_limit_errors(&src, &at_limit));
    }

    #[test]
    fn alarm_lookups_skip_target_tracking_alarms() {
        let (names, prefixes) = alarm_lookups(&source().policies);
        assert!(names.is_empty(), "{names:?}");
        assert_eq!(prefixes.len(), 1);
        assert!(prefixes[0].ends_with("policy3-asgard-v000"));
    }
}
