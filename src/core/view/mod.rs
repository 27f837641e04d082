//! Clouddriver's read model of ECS (`clouddriver-read-api.md` §3–§4 and its Decisions D2, D3,
//! D4, D6), as typed values: from [`ServerGroupFacts`] — what AWS reported of a service, its
//! tasks, targets, scalable target and task definition — the server group ([`ServerGroupView`]),
//! its instances and their health, the cluster and Deck's list entry, and the dynamic-target
//! selection. The read cache keeps these values; the read API serialises them (the only place
//! they become JSON) and the console, `list --view` and target selection read their fields.
//! Pure.

pub mod health;
pub(crate) mod instance;
mod listing;
mod server_group;
mod target;
pub mod task_definition;

use serde_json::Value;

use crate::core::model::{ScalableTarget, ServiceState, TargetHealth};
use crate::core::moniker::Moniker;

pub use health::{HealthEntry, HealthState, InstanceCounts, TaskStatus};
pub use instance::{Empty, InstanceAt, InstanceView, NetworkInterface, container_instance_arn, task_status};
pub use listing::{ClusterView, ListEntry, cluster, list_entry};
pub use server_group::{
    CapacityView, EventView, ImageView, MonikerView, ServerGroupView, TargetGroupHealth, TaskCounts, disabled, server_group,
    target_group_name,
};
pub use target::{Target, select_target};
pub use task_definition::{ContainerView, EnvVar, TaskDefinitionView};

/// Everything read from AWS about one server group, for its view.
#[derive(Debug, Clone, Default)]
pub struct ServerGroupFacts {
    pub account: String,
    pub region: String,
    pub ecs_cluster: String,
    pub moniker: Moniker,
    pub version: Option<u32>,
    pub service: ServiceState,
    pub scalable_target: Option<ScalableTarget>,
    /// The service's task definition as DescribeTaskDefinition returned it; None when unreadable.
    pub task_definition: Option<Value>,
    /// The service's RUNNING-desired tasks as DescribeTasks returned them.
    pub tasks: Vec<Value>,
    /// The targets of every target group of the service.
    pub target_health: Vec<TargetHealth>,
    /// Container instance ARN → EC2 instance id, for `bridge`/`host` tasks.
    pub hosts: Vec<(String, String)>,
    /// The alarms of the service's scaling policies.
    pub alarms: Vec<String>,
    /// The VPC of the service's `awsvpc` subnets.
    pub vpc_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> ServerGroupFacts {
        ServerGroupFacts {
            account: "prod".into(),
            region: "us-west-2".into(),
            ecs_cluster: "main".into(),
            moniker: Moniker::new("app", Some("web"), None),
            version: Some(4),
            service: ServiceState {
                service_name: "app-web-v004".into(),
                desired_count: 2,
                created_at_ms: Some(1_700_000_000_123),
                task_definition: "arn:aws:ecs:us-west-2:1:task-definition/app-web:3".into(),
                target_group_arns: vec!["arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/web-tg/abc".into()],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn bridge_task(id: &str, instance: &str, port: i64) -> Value {
        json!({"taskArn": format!("arn:aws:ecs:us-west-2:1:task/main/{id}"), "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
               "containerInstanceArn": instance, "containers": [{"networkBindings": [{"containerPort": 80, "hostPort": port}]}]})
    }

    /// A server group with everything the views show: an `awsvpc` task with its ENI and target,
    /// a `bridge` task on an EC2 instance, a task definition with two containers (a secret, a
    /// health check), events, a scalable target with its scaling suspended while enabled.
    fn rich_facts() -> ServerGroupFacts {
        let mut f = facts();
        let tg = f.service.target_group_arns[0].clone();
        f.service.running_count = 2;
        f.service.pending_count = 1;
        f.service.security_groups = vec!["sg-1".into()];
        f.service.subnets = vec!["subnet-1".into()];
        f.service.events = vec![crate::core::model::ServiceEvent {
            id: "e1".into(),
            created_at: Some(1_700_000_100),
            message: "has reached a steady state.".into(),
        }];
        f.vpc_id = Some("vpc-1".into());
        f.alarms = vec!["app-web-v004-cpu-high".into()];
        f.hosts = vec![("ci-1".into(), "i-1".into())];
        f.scalable_target = Some(ScalableTarget {
            resource_id: "service/main/app-web-v004".into(),
            min_capacity: 1,
            max_capacity: 4,
            dynamic_scaling_in_suspended: true,
            dynamic_scaling_out_suspended: true,
            scheduled_scaling_suspended: true,
        });
        f.task_definition = Some(json!({
            "taskDefinitionArn": "arn:aws:ecs:us-west-2:1:task-definition/app-web:3", "taskRoleArn": "arn:aws:iam::1:role/app",
            "cpu": "256", "memory": "512",
            "containerDefinitions": [
                {"name": "web", "image": "nginx:1.27", "portMappings": [{"containerPort": 80}], "environment": [{"name": "A", "value": "1"}],
                 "secrets": [{"name": "TOKEN", "valueFrom": "arn:aws:ssm:us-west-2:1:parameter/token"}],
                 "healthCheck": {"command": ["CMD", "true"]}},
                {"name": "sidecar", "image": "envoy:1"}
            ]
        }));
        f.target_health = vec![
            TargetHealth { target_group_arn: tg.clone(), id: "10.0.0.5".into(), port: Some(80), state: "healthy".into() },
            TargetHealth { target_group_arn: tg.clone(), id: "i-1".into(), port: Some(32768), state: "initial".into() },
            TargetHealth { target_group_arn: tg, id: "10.0.0.9".into(), port: Some(80), state: "unhealthy".into() },
        ];
        f.tasks = vec![
            json!({"taskArn": "arn:aws:ecs:us-west-2:1:task/main/aaa", "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
                   "healthStatus": "HEALTHY", "startedAt": 1_700_000_050.5, "availabilityZone": "us-west-2a",
                   "attachments": [{"id": "att-1", "type": "ElasticNetworkInterface", "details": [{"name": "privateIPv4Address", "value": "10.0.0.5"}]}]}),
            json!({"taskArn": "arn:aws:ecs:us-west-2:1:task/main/bbb", "lastStatus": "PENDING", "desiredStatus": "RUNNING",
                   "healthStatus": "UNKNOWN", "containerInstanceArn": "ci-1",
                   "containers": [{"networkBindings": [{"containerPort": 80, "hostPort": 32768}]}]}),
            json!({"taskArn": "arn:aws:ecs:us-west-2:1:task/main/ccc", "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                   "stoppedReason": "Essential container exited"}),
        ];
        f
    }

    #[test]
    fn bridge_tasks_match_their_target_by_host_instance_and_port() {
        let mut f = facts();
        let tg = f.service.target_group_arns[0].clone();
        f.hosts = vec![("ci-1".into(), "i-1".into())];
        let target =
            |port, state: &str| TargetHealth { target_group_arn: tg.clone(), id: "i-1".into(), port: Some(port), state: state.into() };
        f.target_health = vec![target(32768, "healthy"), target(32769, "initial")];
        assert_eq!(task_status(&f, &bridge_task("a", "ci-1", 32768)).target_states, vec!["healthy"]);
        assert_eq!(task_status(&f, &bridge_task("b", "ci-1", 32769)).target_states, vec!["initial"]);
        assert_eq!(task_status(&f, &bridge_task("c", "ci-2", 32768)).target_states, vec![""], "another host's target is not its own");
    }

    #[test]
    fn capacity_and_disabled() {
        assert_eq!(
            serde_json::to_value(CapacityView::of(2, Some((1, 4)))).unwrap(),
            json!({"min": 1, "max": 4, "desired": 2, "pinned": false})
        );
        assert_eq!(serde_json::to_value(CapacityView::of(3, None)).unwrap(), json!({"min": 3, "max": 3, "desired": 3, "pinned": true}));
        assert!(disabled(0) && !disabled(1));
    }

    #[test]
    fn a_server_group_without_scalable_target_or_task_definition_is_shown_with_warnings() {
        let sg = serde_json::to_value(server_group(&facts())).unwrap();
        assert_eq!(sg["capacity"], json!({"min": 2, "max": 2, "desired": 2, "pinned": true}), "Decisions D4");
        assert_eq!(sg["warnings"].as_array().map(Vec::len), Some(2), "{sg}");
        assert_eq!(
            (sg["createdTime"].clone(), sg["disabled"].clone(), sg["isDisabled"].clone()),
            (json!(1_700_000_000_123i64), json!(false), json!(false))
        );
        assert_eq!(sg["moniker"], json!({"app": "app", "cluster": "app-web", "stack": "web", "sequence": 4}));
        assert_eq!((sg["vpcId"].clone(), sg["targetGroups"].clone()), (json!("None"), json!(["web-tg"])));
        assert!(sg.get("namespace").is_none() && sg.get("taskDefinition").is_none());
        let mut f = facts();
        f.scalable_target = Some(ScalableTarget { min_capacity: 1, max_capacity: 5, ..Default::default() });
        f.task_definition = Some(json!({"containerDefinitions": [{"image": "nginx"}]}));
        let view = server_group(&f);
        let sg = serde_json::to_value(&view).unwrap();
        assert!(sg.get("warnings").is_none(), "{sg}");
        assert_eq!(sg["image"], json!({"imageId": "nginx", "name": "nginx"}));
        let entry = serde_json::to_value(list_entry(&view)).unwrap();
        assert_eq!((entry["isDisabled"].clone(), entry["application"].clone()), (json!(false), json!("app")));
        assert!(entry.get("disabled").is_none());
    }

    /// A view of `name` created at `created`, in `region`, with `instances` tasks.
    fn listed(name: &str, created: i64, disabled: bool, instances: usize, region: &str) -> ServerGroupView {
        let mut f = rich_facts();
        f.service.service_name = name.into();
        f.region = region.into();
        f.service.created_at_ms = Some(created);
        f.service.desired_count = if disabled { 0 } else { 2 };
        f.tasks = f.tasks.into_iter().cycle().take(instances).collect();
        server_group(&f)
    }

    #[test]
    fn targets_parse_and_select_by_clouddrivers_rules() {
        let parsed: Vec<Option<Target>> =
            ["current_asg_dynamic", "NEWEST", "ancestor_asg", "Previous", "oldest_asg_dynamic", "largest", "fail", "biggest"]
                .iter()
                .map(|t| Target::parse(t))
                .collect();
        use Target::*;
        assert_eq!(
            parsed,
            vec![Some(Current), Some(Current), Some(Previous), Some(Previous), Some(Oldest), Some(Largest), Some(Fail), None]
        );
        let groups = vec![
            listed("v1", 1, false, 3, "r"),
            listed("v2", 2, false, 3, "r"),
            listed("v3", 3, true, 0, "r"),
            listed("x", 9, false, 9, "other"),
        ];
        let pick = |t, only_enabled, validate| select_target(&groups, "r", t, only_enabled, validate).map(|sg| sg.name.as_str());
        assert_eq!(pick(Current, false, true), Some("v3"));
        assert_eq!(pick(Current, true, true), Some("v2"));
        assert_eq!(pick(Previous, false, true), Some("v2"));
        assert_eq!(pick(Oldest, false, true), Some("v1"));
        assert_eq!(pick(Largest, false, true), Some("v2"), "ties go to the newest");
        assert_eq!(pick(Fail, false, true), None, "ambiguous");
        let one = vec![listed("v1", 1, false, 1, "r")];
        assert_eq!(select_target(&one, "r", Oldest, false, true), None, "validateOldest needs two");
        assert_eq!(select_target(&one, "r", Oldest, false, false).map(|s| s.name.as_str()), Some("v1"));
        assert_eq!(select_target(&one, "r", Previous, false, true), None);
        assert_eq!(select_target(&one, "r", Fail, false, true).map(|s| s.name.as_str()), Some("v1"));
        assert_eq!(select_target(&one, "elsewhere", Current, false, true), None);
    }

    #[test]
    fn the_views_serialise_to_the_read_apis_json_byte_for_byte() {
        let sg = server_group(&rich_facts());
        let text = serde_json::to_string_pretty(&sg).unwrap();
        insta::assert_snapshot!("server_group_view", text);
        let entry = serde_json::to_string_pretty(&list_entry(&sg)).unwrap();
        insta::assert_snapshot!("list_entry_view", entry);
        let cluster = serde_json::to_string_pretty(&cluster("prod", "app-web", vec![sg.clone()])).unwrap();
        insta::assert_snapshot!("cluster_view", cluster);
        let bare = serde_json::to_string_pretty(&server_group(&facts())).unwrap();
        insta::assert_snapshot!("bare_server_group_view", bare);
    }
}
