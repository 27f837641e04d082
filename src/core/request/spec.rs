//! The new service's and its container's settings as the description gives them, read once into
//! typed values with Deck's sentinels for "not set" normalised (`""`, `"None"`, `"None (No
//! registry credentials)"`, a port of 0): what `plan` builds CreateService from ([`ServiceSpec`])
//! and `taskdef` builds an inputs-mode container from ([`ContainerSpec`]). A setting the
//! description leaves out stays `None`, so a later merge with a source server group can tell
//! "not given" from "given". Pure.

use serde_json::Value;

use crate::core::description::{CreateServerGroup, PlacementConstraint, PlacementStrategy};

/// Deck's sentinel for "no registry credentials".
const NO_CREDENTIALS: &str = "None (No registry credentials)";
/// Deck's sentinel for "no log driver".
const NO_LOG_DRIVER: &str = "None";

/// A string that says something: not absent, not empty, not one of `sentinels`.
fn given(s: &Option<String>, sentinels: &[&str]) -> Option<String> {
    s.clone().filter(|s| !s.is_empty() && !sentinels.contains(&s.as_str()))
}

/// CreateService's settings the description expresses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceSpec {
    /// The availability zones of the region deployed to.
    pub zones: Vec<String>,
    /// The purposes of the subnets awsvpc tasks go in (`subnetTypes`, then `subnetType`), without repeats.
    pub subnet_purposes: Vec<String>,
    /// Security groups by name (awsvpc).
    pub security_group_names: Vec<String>,
    /// `associatePublicIpAddress` (awsvpc): `assignPublicIp` ENABLED or DISABLED when given.
    pub assign_public_ip: Option<bool>,
    pub deployment: DeploymentSpec,
    pub enable_execute_command: Option<bool>,
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    /// `placementStrategySequence`.
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    pub platform_version: Option<String>,
    pub health_check_grace_period_seconds: Option<i64>,
    /// `serviceDiscoveryAssociations`.
    pub service_registries: Vec<RegistrySpec>,
    /// The user's tags, in order.
    pub tags: Vec<(String, String)>,
    /// The CreateService members of class C (faithful-copy.md §2) the description sets, by their
    /// CreateService names (`deploymentConfiguration.…` for the ones inside it).
    pub explicit: Vec<(String, Value)>,
    /// `copySourceServiceSettings`, true unless set to false.
    pub copy_source_settings: bool,
    /// `clone`'s CreateService members given as they are sent (see the description's fields).
    pub load_balancers: Option<Value>,
    pub service_registries_raw: Option<Value>,
    pub network_configuration: Option<Value>,
}

/// `deploymentConfiguration` as the description gives it (the circuit breaker's `enable` from
/// either `deploymentCircuitBreaker.enable` or `enableDeploymentCircuitBreaker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeploymentSpec {
    pub maximum_percent: Option<i64>,
    pub minimum_healthy_percent: Option<i64>,
    pub circuit_breaker_enable: Option<bool>,
    pub circuit_breaker_rollback: Option<bool>,
}

/// One service discovery association: the Cloud Map service, and the container and port it
/// points at when the registry takes SRV records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrySpec {
    pub registry_arn: String,
    pub container_port: Option<i64>,
    pub container_name: Option<String>,
}

impl ServiceSpec {
    pub fn of(d: &CreateServerGroup) -> ServiceSpec {
        let dc = d.deployment_configuration.clone().unwrap_or_default();
        let breaker = dc.deployment_circuit_breaker.unwrap_or_default();
        ServiceSpec {
            zones: d.zones(),
            subnet_purposes: d.subnet_purposes(),
            security_group_names: d.security_group_names.clone().unwrap_or_default(),
            assign_public_ip: d.associate_public_ip_address,
            deployment: DeploymentSpec {
                maximum_percent: dc.maximum_percent,
                minimum_healthy_percent: dc.minimum_healthy_percent,
                circuit_breaker_enable: breaker.enable.or(d.enable_deployment_circuit_breaker),
                circuit_breaker_rollback: breaker.rollback,
            },
            enable_execute_command: d.enable_execute_command,
            placement_constraints: d.placement_constraints.clone(),
            placement_strategy: d.placement_strategy_sequence.clone(),
            platform_version: given(&d.platform_version, &[]),
            health_check_grace_period_seconds: d.health_check_grace_period_seconds,
            service_registries: d
                .service_discovery_associations
                .iter()
                .flatten()
                .map(|sd| RegistrySpec {
                    registry_arn: sd.registry.as_ref().and_then(|r| r.arn.clone()).unwrap_or_default(),
                    container_port: sd.container_port.filter(|p| *p != 0),
                    container_name: given(&sd.container_name, &[]),
                })
                .collect(),
            tags: d.tags.clone().unwrap_or_default(),
            explicit: explicit_members(d),
            copy_source_settings: d.copy_source_service_settings != Some(false),
            load_balancers: d.load_balancers.clone(),
            service_registries_raw: d.service_registries.clone(),
            network_configuration: d.network_configuration.clone(),
        }
    }

    /// The explicit value of class-C member `member`, if the description sets it.
    pub fn explicit(&self, member: &str) -> Option<&Value> {
        self.explicit.iter().find(|(m, _)| m == member).map(|(_, v)| v)
    }
}

/// The class-C members the description sets (see [`ServiceSpec::explicit`]).
fn explicit_members(d: &CreateServerGroup) -> Vec<(String, Value)> {
    let dc = d.deployment_configuration.clone().unwrap_or_default();
    let breaker = dc.deployment_circuit_breaker.unwrap_or_default();
    [
        ("volumeConfigurations", &d.volume_configurations),
        ("vpcLatticeConfigurations", &d.vpc_lattice_configurations),
        ("serviceConnectConfiguration", &d.service_connect_configuration),
        ("monitoring", &d.monitoring),
        ("gatewayConnectors", &d.gateway_connectors),
        ("availabilityZoneRebalancing", &d.availability_zone_rebalancing),
        ("propagateTags", &d.propagate_tags),
        ("enableECSManagedTags", &d.enable_ecs_managed_tags),
        ("deploymentConfiguration.alarms", &dc.alarms),
        ("deploymentConfiguration.earlySuccessCriteria", &dc.early_success_criteria),
        ("deploymentConfiguration.deploymentCircuitBreaker.resetOnHealthyTask", &breaker.reset_on_healthy_task),
        ("deploymentConfiguration.deploymentCircuitBreaker.thresholdConfiguration", &breaker.threshold_configuration),
    ]
    .into_iter()
    .filter_map(|(member, value)| value.clone().map(|v| (member.to_string(), v)))
    .collect()
}

/// The inputs-mode container (and artifact mode's images by container name).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerSpec {
    /// `dockerImageAddress` (or the image Orca resolved).
    pub image: Option<String>,
    /// `computeUnits`.
    pub cpu: Option<i64>,
    /// `reservedMemory`.
    pub memory_reservation: Option<i64>,
    /// The protocol of the load-balanced ports; `tcp` unless given.
    pub port_protocol: String,
    /// The container ports the target groups send traffic to: the legacy `targetGroup`'s
    /// `containerPort`, then each `targetGroupMappings[].containerPort`.
    pub load_balanced_ports: Vec<i64>,
    /// The service registries' container ports other than `containerPort` (always `tcp`).
    pub registry_ports: Vec<i64>,
    pub environment: Vec<(String, String)>,
    pub docker_labels: Vec<(String, String)>,
    /// `dockerImageCredentialsSecret`: the secret of the registry credentials.
    pub repository_credentials: Option<String>,
    pub log_configuration: Option<LogSpec>,
    /// `containerToImageMap` (artifact mode): the image of each named container.
    pub images: Vec<(String, String)>,
}

/// The container's log configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSpec {
    pub driver: String,
    pub options: Option<Vec<(String, String)>>,
}

impl ContainerSpec {
    pub fn of(d: &CreateServerGroup) -> ContainerSpec {
        let legacy_port = d.container_port.filter(|_| d.target_group.as_deref().is_some_and(|t| !t.is_empty()));
        let mapped_ports = d.target_group_mappings.iter().flatten().filter_map(|m| m.container_port);
        let registry_ports = d
            .service_discovery_associations
            .iter()
            .flatten()
            // Decisions #16: compared by value with containerPort.
            .filter_map(|sd| sd.container_port.filter(|p| *p != 0 && Some(*p) != d.container_port))
            .collect();
        ContainerSpec {
            image: d.docker_image_address.clone(),
            cpu: d.compute_units,
            memory_reservation: d.reserved_memory,
            port_protocol: given(&d.port_protocol, &[]).unwrap_or_else(|| "tcp".into()),
            load_balanced_ports: legacy_port.into_iter().chain(mapped_ports).collect(),
            registry_ports,
            environment: d.environment_variables.clone().unwrap_or_default(),
            docker_labels: d.docker_labels.clone().unwrap_or_default(),
            repository_credentials: given(&d.docker_image_credentials_secret, &[NO_CREDENTIALS]),
            log_configuration: given(&d.log_driver, &[NO_LOG_DRIVER]).map(|driver| LogSpec { driver, options: d.log_options.clone() }),
            images: d.container_to_image_map.clone().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::description::create_server_group_from_json;
    use serde_json::json;

    #[test]
    fn decks_sentinels_are_read_as_not_set() {
        let d = create_server_group_from_json(json!({
            "logDriver": "None", "dockerImageCredentialsSecret": "None (No registry credentials)", "platformVersion": "",
            "portProtocol": "", "serviceDiscoveryAssociations": [{"registry": {"arn": "arn:sd"}, "containerPort": 0, "containerName": ""}],
        }))
        .unwrap();
        let (service, container) = (ServiceSpec::of(&d), ContainerSpec::of(&d));
        assert_eq!((container.log_configuration, container.repository_credentials), (None, None));
        assert_eq!((service.platform_version, container.port_protocol.as_str()), (None, "tcp"));
        assert_eq!(
            service.service_registries,
            [RegistrySpec { registry_arn: "arn:sd".into(), container_port: None, container_name: None }]
        );
        assert_eq!(service.deployment, DeploymentSpec::default(), "nothing given stays not given, for a merge to tell");
    }

    #[test]
    fn the_ports_are_the_target_groups_then_the_registries_others() {
        let d = create_server_group_from_json(json!({
            "targetGroup": "web", "containerPort": 80, "targetGroupMappings": [{"targetGroup": "api", "containerPort": 8080}],
            "serviceDiscoveryAssociations": [{"registry": {"arn": "a"}, "containerPort": 80}, {"registry": {"arn": "b"}, "containerPort": 9090}],
            "enableDeploymentCircuitBreaker": true, "logDriver": "awslogs", "logOptions": {"awslogs-group": "g"},
        }))
        .unwrap();
        let container = ContainerSpec::of(&d);
        assert_eq!((container.load_balanced_ports, container.registry_ports), (vec![80, 8080], vec![9090]));
        assert_eq!(ServiceSpec::of(&d).deployment.circuit_breaker_enable, Some(true));
        let log = container.log_configuration.unwrap();
        assert_eq!((log.driver.as_str(), log.options), ("awslogs", Some(vec![("awslogs-group".into(), "g".into())])));
    }
}
