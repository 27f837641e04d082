//! Cloning a server group (faithful-copy.md §2.3, Decisions D11): the next version built from
//! the live server group alone, as Deck's "Clone Server Group" starts from it, with only what the
//! user changes — the images, the capacity, the strategy. [`validate`] reads what a clone is
//! asked (`cloneServerGroup`'s body, or the CLI's flags); [`description_of`] turns the live
//! service, its task definition and its scalable target into the createServerGroup description
//! of the next version, the source standing in for the description for every setting it
//! expresses; the deploy then copies the rest and the scaling as for any deploy with `source`.
//! Pure.

use serde_json::{Map, Value, json};

use crate::core::config::{Account, Config};
use crate::core::description::lenient_string;
use crate::core::error::FieldError;
use crate::core::model::ScalableTarget;
use crate::core::naming::{TAG_INCOMPLETE, derive_moniker};
use crate::core::validate::capacity_errors;

const P: &str = "cloneServerGroupDescription";

/// `cloneServerGroup`'s body as it is posted (Clouddriver's naming: `credentials`, `region`,
/// `source.asgName`), or the CLI's flags.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloneDescription {
    #[serde(default, deserialize_with = "lenient_string")]
    pub credentials: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub account: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub region: Option<String>,
    #[serde(default)]
    pub source: Option<CloneSource>,
    #[serde(default, deserialize_with = "crate::core::description::string_map")]
    pub container_to_image_map: Option<Vec<(String, String)>>,
    pub capacity: Option<crate::core::description::Capacity>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub strategy: Option<String>,
    /// A traffic-managed clone (blue-green.md §4), validated with the description.
    pub traffic_shift: Option<Value>,
}

/// The server group to clone.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloneSource {
    #[serde(default, deserialize_with = "lenient_string")]
    pub asg_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub ecs_cluster_name: Option<String>,
}

/// A validated clone.
#[derive(Debug, Clone, PartialEq)]
pub struct CloneRequest {
    pub account: Account,
    pub region: String,
    pub server_group: String,
    /// The ECS cluster that holds it, when given (else found among the region's).
    pub ecs_cluster: Option<String>,
    pub images: Vec<(String, String)>,
    pub capacity: Option<crate::core::request::Capacity>,
    pub strategy: Option<String>,
    pub traffic_shift: Option<Value>,
}

fn err(field: &str, reason: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, format!("{P}.{field}.{reason}"), message)
}

/// Validates a clone against the configuration: every problem at once.
pub fn validate(config: &Config, d: CloneDescription) -> Result<CloneRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let present = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let account = match present(&d.credentials).or_else(|| present(&d.account)) {
        None => {
            errors.push(err("credentials", "not.nullable", "credentials are required: the account of the server group to clone"));
            None
        }
        Some(name) => config.account(&name).map_err(|e| errors.push(err("credentials", "invalid", e.to_string()))).ok(),
    };
    let region = present(&d.region);
    match (&region, &account) {
        (None, _) => errors.push(err("region", "not.nullable", "region is required: the region of the server group to clone")),
        (Some(r), Some(a)) if !a.has_region(r) => errors.push(err(
            "region",
            "not.configured",
            format!("region `{r}` is not configured for account `{}` (its regions: {})", a.name, a.region_names().join(", ")),
        )),
        _ => {}
    }
    let source = d.source.unwrap_or_default();
    let server_group = present(&source.asg_name);
    if server_group.is_none() {
        errors.push(err("source.asgName", "not.nullable", "source.asgName is required: the server group to clone"));
    }
    let capacity = d.capacity.as_ref().and_then(|c| {
        let problems = capacity_errors(P, Some(c));
        let valid = problems.is_empty();
        errors.extend(problems);
        if !valid {
            return None;
        }
        Some(crate::core::request::Capacity { desired: c.desired?, min: c.min?, max: c.max? })
    });
    if let Some(s) = present(&d.strategy)
        && let Err(e) = crate::core::strategy::Strategy::parse(&s)
    {
        errors.push(err("strategy", "invalid", e.to_string()));
    }
    let images = d.container_to_image_map.unwrap_or_default();
    for (container, image) in &images {
        if image.trim().is_empty() {
            errors.push(err("containerToImageMap", "invalid", format!("the image of container `{container}` is blank")));
        }
    }
    match (account, region, server_group) {
        (Some(account), Some(region), Some(server_group)) if errors.is_empty() => Ok(CloneRequest {
            account,
            region,
            server_group,
            ecs_cluster: present(&source.ecs_cluster_name),
            images,
            capacity,
            strategy: present(&d.strategy),
            traffic_shift: d.traffic_shift.clone(),
        }),
        _ => Err(errors),
    }
}

/// The live server group a clone starts from.
pub struct Live<'a> {
    /// Its DescribeServices entry, raw.
    pub service: &'a Map<String, Value>,
    /// Its task definition as DescribeTaskDefinition returns it, raw.
    pub task_definition: &'a Value,
    pub scalable_target: Option<&'a ScalableTarget>,
}

/// Tags ecs-deployer, the tags namer and AWS own: never the user's.
fn user_tag(key: &str) -> bool {
    !key.starts_with("moniker.spinnaker.io/") && !key.starts_with("ecs-deployer/") && !key.starts_with("aws:") && key != TAG_INCOMPLETE
}

/// The createServerGroup description of the next version of the live server group.
pub fn description_of(clone: &CloneRequest, live: &Live<'_>) -> Result<Value, Vec<FieldError>> {
    let s = live.service;
    let text = |key: &str| s.get(key).and_then(Value::as_str).unwrap_or_default();
    let refuse = |reason: &str, message: String| Err(vec![err("source.asgName", reason, message)]);
    if text("schedulingStrategy") == "DAEMON" {
        return refuse(
            "unsupported",
            format!("{} is a DAEMON service: a clone is a REPLICA service of the next version", clone.server_group),
        );
    }
    if text("resourceManagementType") == "ECS" {
        return refuse("unsupported", format!("{} is an ECS Express service, which ecs-deployer does not clone", clone.server_group));
    }
    let tags: Vec<(String, String)> = s
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t.get("key")?.as_str()?.to_string(), t.get("value")?.as_str()?.to_string())))
        .collect();
    let (moniker, _) = derive_moniker(clone.account.naming_strategy, &clone.server_group, &tags);
    let Some(moniker) = moniker else {
        return refuse("invalid", format!("`{}` is not a server group name (app-stack-detail-vNNN)", clone.server_group));
    };
    let desired = s.get("desiredCount").and_then(Value::as_i64).unwrap_or_default();
    let capacity = match (&clone.capacity, live.scalable_target) {
        (Some(c), _) => json!({"min": c.min, "max": c.max, "desired": c.desired}),
        (None, _) if desired == 0 => {
            return Err(vec![err(
                "capacity",
                "not.nullable",
                format!("{} is disabled (desired 0): give the new version's capacity (--capacity MIN:MAX:DESIRED)", clone.server_group),
            )]);
        }
        (None, Some(t)) => json!({"min": t.min_capacity, "max": t.max_capacity.max(desired), "desired": desired}),
        (None, None) => json!({"min": desired, "max": desired, "desired": desired}),
    };
    let dc = s.get("deploymentConfiguration").cloned().unwrap_or_else(|| json!({}));
    let breaker = dc.get("deploymentCircuitBreaker").cloned().unwrap_or_else(|| json!({}));
    let mut d = json!({
        "credentials": clone.account.name,
        "region": clone.region,
        "availabilityZones": {clone.region.clone(): []},
        "moniker": {"app": moniker.app, "stack": moniker.stack, "detail": moniker.detail},
        "ecsClusterName": text("clusterArn").rsplit('/').next().unwrap_or_default(),
        "capacity": capacity,
        "source": {"account": clone.account.name, "region": clone.region, "asgName": clone.server_group,
                   "ecsClusterName": text("clusterArn").rsplit('/').next().unwrap_or_default(), "useSourceCapacity": false},
        "useTaskDefinitionArtifact": true,
        "evaluateTaskDefinitionArtifactExpressions": true,
        "spelProcessedTaskDefinitionArtifact": live.task_definition,
        "containerToImageMap": clone.images.iter().map(|(c, i)| (c.clone(), json!(i))).collect::<Map<String, Value>>(),
        "networkMode": live.task_definition.get("taskDefinition").unwrap_or(live.task_definition).get("networkMode").cloned().unwrap_or(Value::Null),
        "loadBalancers": s.get("loadBalancers").cloned().unwrap_or_else(|| json!([])),
        "serviceRegistries": s.get("serviceRegistries").cloned().unwrap_or_else(|| json!([])),
        "placementStrategySequence": s.get("placementStrategy").cloned().unwrap_or_else(|| json!([])),
        "deploymentConfiguration": {
            "maximumPercent": dc.get("maximumPercent"), "minimumHealthyPercent": dc.get("minimumHealthyPercent"),
            "deploymentCircuitBreaker": {"enable": breaker.get("enable"), "rollback": breaker.get("rollback")},
        },
        "tags": tags.iter().filter(|(k, _)| user_tag(k)).map(|(k, v)| (k.clone(), json!(v))).collect::<Map<String, Value>>(),
        "strategy": clone.strategy.clone().unwrap_or_default(),
        "clonedFrom": clone.server_group,
    });
    let copied = [
        ("networkConfiguration", "networkConfiguration"),
        ("placementConstraints", "placementConstraints"),
        ("platformVersion", "platformVersion"),
        ("healthCheckGracePeriodSeconds", "healthCheckGracePeriodSeconds"),
        ("enableExecuteCommand", "enableExecuteCommand"),
        ("launchType", "launchType"),
        ("capacityProviderStrategy", "capacityProviderStrategy"),
    ];
    let out = d.as_object_mut().expect("an object");
    for (from, to) in copied {
        // What the service does not set: absent, null, or an empty list or object.
        if let Some(v) = s.get(from).filter(|v| !v.is_null() && *v != &json!([]) && *v != &json!({})) {
            out.insert(to.to_string(), v.clone());
        }
    }
    if out.contains_key("capacityProviderStrategy") {
        out.remove("launchType");
    }
    if let Some(shift) = &clone.traffic_shift {
        out.insert("trafficShift".into(), shift.clone());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::description::create_server_group_from_json;

    const CONFIG: &str = "aws:\n  accounts:\n    - {name: aws, accountId: '123456789012', regions: [{name: us-west-2}]}\necs:\n  accounts:\n    - {name: ecs, awsAccount: aws}\n";

    fn request() -> CloneRequest {
        let config = Config::from_yaml(CONFIG).unwrap();
        let d: CloneDescription = serde_json::from_value(json!({"credentials": "ecs", "region": "us-west-2",
            "source": {"asgName": "app-web-v003"}, "containerToImageMap": {"web": "nginx:2"}}))
        .unwrap();
        validate(&config, d).unwrap()
    }

    fn live_service() -> Map<String, Value> {
        json!({
            "serviceName": "app-web-v003", "clusterArn": "arn:aws:ecs:us-west-2:123456789012:cluster/main", "desiredCount": 2,
            "launchType": "FARGATE", "platformVersion": "1.4.0", "healthCheckGracePeriodSeconds": 30, "enableExecuteCommand": true,
            "loadBalancers": [{"targetGroupArn": "arn:tg", "containerName": "web", "containerPort": 80}],
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}},
            "deploymentConfiguration": {"maximumPercent": 150, "minimumHealthyPercent": 50, "deploymentCircuitBreaker": {"enable": true, "rollback": true}},
            "tags": [{"key": "team", "value": "web"}, {"key": "ecs-deployer/incomplete", "value": "x"}, {"key": "moniker.spinnaker.io/application", "value": "app"}],
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn the_clone_is_the_live_server_group_with_only_the_images_changed() {
        let td = json!({"taskDefinition": {"family": "app-web", "networkMode": "awsvpc", "containerDefinitions": [{"name": "web", "image": "nginx:1"}]}});
        let target = ScalableTarget { min_capacity: 1, max_capacity: 4, ..Default::default() };
        let service = live_service();
        let d = description_of(&request(), &Live { service: &service, task_definition: &td, scalable_target: Some(&target) }).unwrap();
        assert_eq!(d["capacity"], json!({"min": 1, "max": 4, "desired": 2}));
        assert_eq!((&d["moniker"]["app"], &d["moniker"]["stack"], &d["ecsClusterName"]), (&json!("app"), &json!("web"), &json!("main")));
        assert_eq!(d["tags"], json!({"team": "web"}), "only the user's tags");
        assert_eq!(d["deploymentConfiguration"]["maximumPercent"], 150);
        assert_eq!(d["containerToImageMap"], json!({"web": "nginx:2"}));
        assert_eq!(d["networkConfiguration"]["awsvpcConfiguration"]["subnets"], json!(["subnet-1"]), "the network by id");
        let parsed = create_server_group_from_json(d).unwrap();
        let config = Config::from_yaml(CONFIG).unwrap();
        let valid = crate::core::request::validate(&config, parsed, &Default::default());
        assert!(valid.is_ok(), "the description a clone builds is a valid one: {:?}", valid.err());
    }

    #[test]
    fn a_disabled_or_daemon_source_needs_more_than_a_clone() {
        let td = json!({"networkMode": "awsvpc", "containerDefinitions": []});
        let mut disabled = live_service();
        disabled.insert("desiredCount".into(), json!(0));
        let refused = description_of(&request(), &Live { service: &disabled, task_definition: &td, scalable_target: None }).unwrap_err();
        assert_eq!(refused[0].code, "cloneServerGroupDescription.capacity.not.nullable");
        let mut daemon = live_service();
        daemon.insert("schedulingStrategy".into(), json!("DAEMON"));
        let refused = description_of(&request(), &Live { service: &daemon, task_definition: &td, scalable_target: None }).unwrap_err();
        assert_eq!(refused[0].code, "cloneServerGroupDescription.source.asgName.unsupported");
        let config = Config::from_yaml(CONFIG).unwrap();
        let errors =
            validate(&config, serde_json::from_value(json!({"region": "eu-north-1", "strategy": "bluegreen"})).unwrap()).unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code.as_str()).collect();
        assert!(
            codes.contains(&"cloneServerGroupDescription.credentials.not.nullable")
                && codes.contains(&"cloneServerGroupDescription.source.asgName.not.nullable"),
            "{codes:?}"
        );
        assert!(codes.contains(&"cloneServerGroupDescription.strategy.invalid"), "{codes:?}");
    }
}
