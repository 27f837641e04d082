//! Deployment alarms per version (faithful-copy.md §6, Decisions D8): of the source's
//! `deploymentConfiguration.alarms`, a metric alarm that watches the source service — its
//! `ServiceName` dimension, plainly or inside metric math, or the service's name quoted in a
//! Metrics Insights query — is copied for the new version (renamed by the scaling copy's rule,
//! pointed at the new service, tagged with its server group) and written before CreateService;
//! every other alarm is shared and referenced as it is. Pure.

use serde_json::{Value, json};

use crate::core::error::FieldError;
use crate::core::model::{Alarm, Dimension};
use crate::core::scaling::{ALARM_NAME_MAX, rename};

/// The tag naming the server group a deployment alarm belongs to (destroy deletes those).
pub const TAG_SERVER_GROUP: &str = "ecs-deployer/server-group";

/// The source's deployment alarms, as the new version takes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentAlarms {
    /// The per-version alarms to put before CreateService.
    pub puts: Vec<Alarm>,
    /// The new `deploymentConfiguration.alarms`.
    pub member: Value,
    pub warnings: Vec<String>,
}

/// The names of a DescribeServices entry's deployment alarms, when they are enabled.
pub fn enabled_alarm_names(service: &Value) -> Vec<String> {
    let alarms = service.get("deploymentConfiguration").and_then(|d| d.get("alarms"));
    if alarms.and_then(|a| a.get("enable")).and_then(Value::as_bool) != Some(true) {
        return Vec::new();
    }
    let names = alarms.and_then(|a| a.get("alarmNames")).and_then(Value::as_array).into_iter().flatten();
    names.filter_map(|n| n.as_str().map(str::to_string)).collect()
}

/// The service and ECS cluster of the source and of the new version.
pub struct Versions<'a> {
    pub source_service: &'a str,
    pub source_cluster: &'a str,
    pub new_service: &'a str,
    pub new_cluster: &'a str,
}

fn refuse(alarm: &str, message: String) -> FieldError {
    FieldError::new(format!("deploymentAlarms.{alarm}"), "createServerGroupDescription.deploymentAlarms.notCopyable", message)
}

/// Whether `dims` name the source service (and its cluster, when they name one).
fn watches(dims: &[Dimension], v: &Versions<'_>) -> bool {
    let value = |name: &str| dims.iter().find(|d| d.name == name).map(|d| d.value.as_str());
    value("ServiceName") == Some(v.source_service) && value("ClusterName").is_none_or(|c| c == v.source_cluster)
}

fn point_at_new(dims: &mut [Dimension], v: &Versions<'_>) {
    for d in dims.iter_mut() {
        match d.name.as_str() {
            "ServiceName" => d.value = v.new_service.to_string(),
            "ClusterName" => d.value = v.new_cluster.to_string(),
            _ => {}
        }
    }
}

/// A Metrics Insights query with the source's name replaced where it is a whole quoted literal;
/// Err when the name appears otherwise.
fn rewrite_query(query: &str, v: &Versions<'_>) -> Result<String, ()> {
    let mut out = query.to_string();
    for quote in ['\'', '"'] {
        out = out.replace(&format!("{quote}{}{quote}", v.source_service), &format!("{quote}{}{quote}", v.new_service));
    }
    if out.contains(v.source_service) { Err(()) } else { Ok(out) }
}

/// The per-version copy of `alarm`, None when it does not watch the source (shared).
fn per_version(alarm: &Alarm, v: &Versions<'_>) -> Result<Option<Alarm>, FieldError> {
    if alarm.metric_name.is_none() && alarm.metrics.is_empty() {
        return Err(refuse(
            &alarm.alarm_name,
            format!(
                "deployment alarm {} shows neither a metric nor metric math through this SDK (a PromQL alarm?), so whether it watches {} cannot be told; set deploymentConfiguration.alarms in the description",
                alarm.alarm_name, v.source_service
            ),
        ));
    }
    let queries =
        alarm.metrics.iter().filter_map(|q| q.expression.as_deref()).filter(|e| e.trim_start().to_uppercase().starts_with("SELECT"));
    let in_query = queries.clone().any(|e| e.contains(v.source_service));
    let plain = watches(&alarm.dimensions, v);
    let in_math = alarm.metrics.iter().filter_map(|q| q.metric_stat.as_ref()).any(|s| watches(&s.metric.dimensions, v));
    if !plain && !in_math && !in_query {
        return Ok(None);
    }
    let mut copy = alarm.clone();
    copy.alarm_arn = None;
    copy.alarm_name = rename(&alarm.alarm_name, v.source_service, v.new_service);
    point_at_new(&mut copy.dimensions, v);
    for q in &mut copy.metrics {
        if let Some(stat) = &mut q.metric_stat
            && watches(&stat.metric.dimensions, v)
        {
            point_at_new(&mut stat.metric.dimensions, v);
        }
        if let Some(e) = q.expression.clone().filter(|e| e.trim_start().to_uppercase().starts_with("SELECT")) {
            q.expression = Some(rewrite_query(&e, v).map_err(|()| {
                refuse(
                    &alarm.alarm_name,
                    format!(
                        "deployment alarm {}'s Metrics Insights query names {} other than as a quoted literal, so it cannot be rewritten for the new version: {e}",
                        alarm.alarm_name, v.source_service
                    ),
                )
            })?);
        }
    }
    copy.tags.retain(|(k, _)| k != TAG_SERVER_GROUP);
    copy.tags.push((TAG_SERVER_GROUP.to_string(), v.new_service.to_string()));
    if copy.alarm_name.len() > ALARM_NAME_MAX {
        return Err(FieldError::new(
            format!("deploymentAlarms.{}", alarm.alarm_name),
            "createServerGroupDescription.deploymentAlarms.invalid",
            format!(
                "the new version's copy of deployment alarm {} would be named {} ({} characters), longer than the {ALARM_NAME_MAX} CloudWatch allows",
                alarm.alarm_name,
                copy.alarm_name,
                copy.alarm_name.len()
            ),
        ));
    }
    Ok(Some(copy))
}

/// The new version's deployment alarms from the source's member `source_member` and the metric
/// alarms it names (`alarms`): the per-version ones copied, the shared ones referenced, names
/// that resolve to no metric alarm referenced with a warning; in the source's order.
pub fn plan(source_member: &Value, alarms: &[Alarm], v: &Versions<'_>) -> Result<DeploymentAlarms, Vec<FieldError>> {
    let mut out = DeploymentAlarms::default();
    let mut errors = Vec::new();
    let mut names = Vec::new();
    let listed = source_member.get("alarmNames").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    for name in listed {
        match alarms.iter().find(|a| a.alarm_name == name) {
            None => {
                out.warnings.push(format!(
                    "deployment alarm {name} of {} is not a metric alarm ecs-deployer can read (a composite alarm, or gone): the new version references it as it is",
                    v.source_service
                ));
                names.push(name.to_string());
            }
            Some(alarm) => match per_version(alarm, v) {
                Ok(Some(copy)) => {
                    names.push(copy.alarm_name.clone());
                    out.puts.push(copy);
                }
                Ok(None) => names.push(name.to_string()),
                Err(e) => errors.push(e),
            },
        }
    }
    let flag = |key: &str| source_member.get(key).cloned().unwrap_or(Value::Bool(false));
    out.member = json!({"alarmNames": names, "enable": flag("enable"), "rollback": flag("rollback")});
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::{Metric, MetricQuery, MetricStat};

    const V: Versions<'static> =
        Versions { source_service: "app-v001", source_cluster: "main", new_service: "app-v002", new_cluster: "main" };

    fn dims(service: &str) -> Vec<Dimension> {
        vec![
            Dimension { name: "ClusterName".into(), value: "main".into() },
            Dimension { name: "ServiceName".into(), value: service.into() },
        ]
    }

    fn alarm(name: &str) -> Alarm {
        Alarm {
            alarm_name: name.into(),
            metric_name: Some("CPUUtilization".into()),
            namespace: Some("AWS/ECS".into()),
            ..Default::default()
        }
    }

    #[test]
    fn alarms_that_watch_the_source_are_copied_per_version_and_the_rest_shared() {
        let plain = Alarm { dimensions: dims("app-v001"), ..alarm("app-v001-cpu") };
        let shared = Alarm { dimensions: vec![Dimension { name: "TargetGroup".into(), value: "tg".into() }], ..alarm("alb-5xx") };
        let math = Alarm {
            metric_name: None,
            metrics: vec![
                MetricQuery {
                    id: "m1".into(),
                    metric_stat: Some(MetricStat {
                        metric: Metric { dimensions: dims("app-v001"), ..Default::default() },
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                MetricQuery { id: "e1".into(), expression: Some("m1 * 2".into()), ..Default::default() },
            ],
            ..alarm("errors")
        };
        let insights = Alarm {
            metric_name: None,
            metrics: vec![MetricQuery {
                id: "q".into(),
                expression: Some("SELECT AVG(CPUUtilization) FROM \"AWS/ECS\" WHERE ServiceName = 'app-v001'".into()),
                ..Default::default()
            }],
            ..alarm("insights")
        };
        let member =
            json!({"alarmNames": ["app-v001-cpu", "alb-5xx", "errors", "insights", "composite"], "enable": true, "rollback": true});
        let planned = plan(&member, &[plain, shared, math, insights], &V).unwrap();
        assert_eq!(
            planned.member,
            json!({"alarmNames": ["app-v002-cpu", "alb-5xx", "errors-app-v002", "insights-app-v002", "composite"], "enable": true, "rollback": true})
        );
        assert_eq!(planned.puts.len(), 3);
        assert_eq!(planned.puts[0].dimensions[1].value, "app-v002");
        assert_eq!(planned.puts[1].metrics[0].metric_stat.as_ref().unwrap().metric.dimensions[1].value, "app-v002");
        assert!(planned.puts[2].metrics[0].expression.as_deref().unwrap().ends_with("ServiceName = 'app-v002'"));
        assert!(planned.puts.iter().all(|a| a.tags.contains(&(TAG_SERVER_GROUP.to_string(), "app-v002".to_string()))));
        assert_eq!(planned.warnings.len(), 1, "the composite (unreadable) one is referenced with a warning");
    }

    #[test]
    fn alarms_that_cannot_be_rewritten_are_refused() {
        let unquoted = Alarm {
            metric_name: None,
            metrics: vec![MetricQuery {
                id: "q".into(),
                expression: Some("SELECT MAX(x) FROM y WHERE z LIKE app-v001".into()),
                ..Default::default()
            }],
            ..alarm("odd")
        };
        let promql = Alarm { metric_name: None, ..alarm("promql") };
        let member = json!({"alarmNames": ["odd", "promql"], "enable": true, "rollback": false});
        let errors = plan(&member, &[unquoted, promql], &V).unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors.iter().all(|e| e.code == "createServerGroupDescription.deploymentAlarms.notCopyable"));
        assert_eq!(
            enabled_alarm_names(&json!({"deploymentConfiguration": {"alarms": {"alarmNames": ["a"], "enable": false}}})),
            Vec::<String>::new()
        );
    }
}
