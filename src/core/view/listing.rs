//! The views that list server groups: the cluster (`EcsServerCluster`, §3.1, its server groups
//! of every region) and Deck's list entry (`ServerGroupViewModel`, §3.5: `isDisabled`, instances
//! without `healthClass`). Pure.

use serde::Serialize;

use super::health::{HealthState, InstanceCounts};
use super::instance::Empty;
use super::server_group::{CapacityView, MonikerView, ServerGroupView};

/// The moniker of a cluster: its application and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterMoniker {
    pub app: String,
    pub cluster: String,
}

/// A cluster of one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub name: String,
    pub account_name: String,
    pub server_groups: Vec<ServerGroupView>,
    pub load_balancers: Vec<String>,
    pub target_groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moniker: Option<ClusterMoniker>,
}

/// The cluster `name` of `account` with its server groups.
pub fn cluster(account: &str, name: &str, server_groups: Vec<ServerGroupView>) -> ClusterView {
    let moniker = server_groups.first().map(|sg| ClusterMoniker { app: sg.moniker.app.clone(), cluster: name.to_string() });
    ClusterView {
        kind: "ecs",
        name: name.to_string(),
        account_name: account.to_string(),
        server_groups,
        load_balancers: Vec::new(),
        target_groups: Vec::new(),
        moniker,
    }
}

/// An instance's health entry in the list: type and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListHealth {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub state: HealthState,
}

/// An instance in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListInstance {
    pub id: String,
    pub name: String,
    pub health: Vec<ListHealth>,
    pub health_state: HealthState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

/// A server group as Deck lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListEntry {
    pub instances: Vec<ListInstance>,
    pub application: String,
    pub tags: Empty,
    pub provider_metadata: Empty,
    pub name: String,
    pub account: String,
    pub region: String,
    pub cluster: String,
    pub vpc_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub cloud_provider: &'static str,
    pub is_disabled: bool,
    pub moniker: MonikerView,
    pub created_time: i64,
    pub capacity: CapacityView,
    pub load_balancers: Vec<String>,
    pub target_groups: Vec<String>,
    pub security_groups: Vec<String>,
    pub instance_counts: InstanceCounts,
    pub labels: Empty,
    pub server_group_managers: Vec<String>,
}

/// The list entry of a server group.
pub fn list_entry(sg: &ServerGroupView) -> ListEntry {
    let instances = sg
        .instances
        .iter()
        .map(|i| ListInstance {
            id: i.name.clone(),
            name: i.name.clone(),
            health: i.health.iter().map(|h| ListHealth { kind: h.kind, state: h.state }).collect(),
            health_state: i.health_state,
            launch_time: i.launch_time,
            availability_zone: i.availability_zone.clone(),
        })
        .collect();
    ListEntry {
        instances,
        application: sg.moniker.app.clone(),
        tags: Empty {},
        provider_metadata: Empty {},
        name: sg.name.clone(),
        account: sg.account.clone(),
        region: sg.region.clone(),
        cluster: sg.cluster.clone(),
        vpc_id: sg.vpc_id.clone(),
        kind: sg.kind,
        cloud_provider: sg.cloud_provider,
        is_disabled: sg.is_disabled,
        moniker: sg.moniker.clone(),
        created_time: sg.created_time,
        capacity: sg.capacity,
        load_balancers: sg.load_balancers.clone(),
        target_groups: sg.target_groups.clone(),
        security_groups: sg.security_groups.clone(),
        instance_counts: sg.instance_counts,
        labels: Empty {},
        server_group_managers: sg.server_group_managers.clone(),
    }
}
