//! The JSON key tree of ECS `RegisterTaskDefinition` input, generated from aws-sdk-ecs's
//! request serializers (aws-sdk-ecs 1.133.1) by `scripts/gen-taskdef-schema.py`. Do not edit.

use super::shape::{Field, Kind, Kind::*};

/// Every shape reachable from the request, by the SDK's shape name.
pub static SHAPES: &[(&str, &[Field])] = &[
    (
        "container_definition",
        &[
            Field { key: "name", kind: Str, required: false },
            Field { key: "image", kind: Str, required: false },
            Field { key: "repositoryCredentials", kind: Obj("repository_credentials"), required: false },
            Field { key: "cpu", kind: Int, required: false },
            Field { key: "memory", kind: Int, required: false },
            Field { key: "memoryReservation", kind: Int, required: false },
            Field { key: "links", kind: List(&Str), required: false },
            Field { key: "portMappings", kind: List(&Obj("port_mapping")), required: false },
            Field { key: "essential", kind: Bool, required: false },
            Field { key: "restartPolicy", kind: Obj("container_restart_policy"), required: false },
            Field { key: "entryPoint", kind: List(&Str), required: false },
            Field { key: "command", kind: List(&Str), required: false },
            Field { key: "environment", kind: List(&Obj("key_value_pair")), required: false },
            Field { key: "environmentFiles", kind: List(&Obj("environment_file")), required: false },
            Field { key: "mountPoints", kind: List(&Obj("mount_point")), required: false },
            Field { key: "volumesFrom", kind: List(&Obj("volume_from")), required: false },
            Field { key: "linuxParameters", kind: Obj("linux_parameters"), required: false },
            Field { key: "secrets", kind: List(&Obj("secret")), required: false },
            Field { key: "dependsOn", kind: List(&Obj("container_dependency")), required: false },
            Field { key: "startTimeout", kind: Int, required: false },
            Field { key: "stopTimeout", kind: Int, required: false },
            Field { key: "versionConsistency", kind: Str, required: false },
            Field { key: "hostname", kind: Str, required: false },
            Field { key: "user", kind: Str, required: false },
            Field { key: "workingDirectory", kind: Str, required: false },
            Field { key: "disableNetworking", kind: Bool, required: false },
            Field { key: "privileged", kind: Bool, required: false },
            Field { key: "readonlyRootFilesystem", kind: Bool, required: false },
            Field { key: "dnsServers", kind: List(&Str), required: false },
            Field { key: "dnsSearchDomains", kind: List(&Str), required: false },
            Field { key: "extraHosts", kind: List(&Obj("host_entry")), required: false },
            Field { key: "dockerSecurityOptions", kind: List(&Str), required: false },
            Field { key: "interactive", kind: Bool, required: false },
            Field { key: "pseudoTerminal", kind: Bool, required: false },
            Field { key: "dockerLabels", kind: Map(&Str), required: false },
            Field { key: "ulimits", kind: List(&Obj("ulimit")), required: false },
            Field { key: "logConfiguration", kind: Obj("log_configuration"), required: false },
            Field { key: "healthCheck", kind: Obj("health_check"), required: false },
            Field { key: "systemControls", kind: List(&Obj("system_control")), required: false },
            Field { key: "resourceRequirements", kind: List(&Obj("resource_requirement")), required: false },
            Field { key: "firelensConfiguration", kind: Obj("firelens_configuration"), required: false },
            Field { key: "credentialSpecs", kind: List(&Str), required: false },
        ],
    ),
    (
        "container_dependency",
        &[Field { key: "containerName", kind: Str, required: true }, Field { key: "condition", kind: Str, required: true }],
    ),
    (
        "container_restart_policy",
        &[
            Field { key: "enabled", kind: Bool, required: true },
            Field { key: "ignoredExitCodes", kind: List(&Int), required: false },
            Field { key: "restartAttemptPeriod", kind: Int, required: false },
        ],
    ),
    (
        "device",
        &[
            Field { key: "hostPath", kind: Str, required: true },
            Field { key: "containerPath", kind: Str, required: false },
            Field { key: "permissions", kind: List(&Str), required: false },
        ],
    ),
    (
        "docker_volume_configuration",
        &[
            Field { key: "scope", kind: Str, required: false },
            Field { key: "autoprovision", kind: Bool, required: false },
            Field { key: "driver", kind: Str, required: false },
            Field { key: "driverOpts", kind: Map(&Str), required: false },
            Field { key: "labels", kind: Map(&Str), required: false },
        ],
    ),
    (
        "efs_authorization_config",
        &[Field { key: "accessPointId", kind: Str, required: false }, Field { key: "iam", kind: Str, required: false }],
    ),
    (
        "efs_volume_configuration",
        &[
            Field { key: "fileSystemId", kind: Str, required: true },
            Field { key: "rootDirectory", kind: Str, required: false },
            Field { key: "transitEncryption", kind: Str, required: false },
            Field { key: "transitEncryptionPort", kind: Int, required: false },
            Field { key: "authorizationConfig", kind: Obj("efs_authorization_config"), required: false },
        ],
    ),
    ("environment_file", &[Field { key: "value", kind: Str, required: true }, Field { key: "type", kind: Str, required: true }]),
    ("ephemeral_storage", &[Field { key: "sizeInGiB", kind: Int, required: true }]),
    (
        "f_sx_windows_file_server_authorization_config",
        &[Field { key: "credentialsParameter", kind: Str, required: true }, Field { key: "domain", kind: Str, required: true }],
    ),
    (
        "f_sx_windows_file_server_volume_configuration",
        &[
            Field { key: "fileSystemId", kind: Str, required: true },
            Field { key: "rootDirectory", kind: Str, required: true },
            Field { key: "authorizationConfig", kind: Obj("f_sx_windows_file_server_authorization_config"), required: false },
        ],
    ),
    (
        "firelens_configuration",
        &[Field { key: "type", kind: Str, required: true }, Field { key: "options", kind: Map(&Str), required: false }],
    ),
    (
        "health_check",
        &[
            Field { key: "command", kind: List(&Str), required: true },
            Field { key: "interval", kind: Int, required: false },
            Field { key: "timeout", kind: Int, required: false },
            Field { key: "retries", kind: Int, required: false },
            Field { key: "startPeriod", kind: Int, required: false },
        ],
    ),
    ("host_entry", &[Field { key: "hostname", kind: Str, required: true }, Field { key: "ipAddress", kind: Str, required: true }]),
    ("host_volume_properties", &[Field { key: "sourcePath", kind: Str, required: false }]),
    (
        "inference_accelerator",
        &[Field { key: "deviceName", kind: Str, required: true }, Field { key: "deviceType", kind: Str, required: true }],
    ),
    (
        "kernel_capabilities",
        &[Field { key: "add", kind: List(&Str), required: false }, Field { key: "drop", kind: List(&Str), required: false }],
    ),
    ("key_value_pair", &[Field { key: "name", kind: Str, required: false }, Field { key: "value", kind: Str, required: false }]),
    (
        "linux_parameters",
        &[
            Field { key: "capabilities", kind: Obj("kernel_capabilities"), required: false },
            Field { key: "devices", kind: List(&Obj("device")), required: false },
            Field { key: "initProcessEnabled", kind: Bool, required: false },
            Field { key: "sharedMemorySize", kind: Int, required: false },
            Field { key: "tmpfs", kind: List(&Obj("tmpfs")), required: false },
            Field { key: "maxSwap", kind: Int, required: false },
            Field { key: "swappiness", kind: Int, required: false },
        ],
    ),
    (
        "log_configuration",
        &[
            Field { key: "logDriver", kind: Str, required: true },
            Field { key: "options", kind: Map(&Str), required: false },
            Field { key: "secretOptions", kind: List(&Obj("secret")), required: false },
        ],
    ),
    (
        "mount_point",
        &[
            Field { key: "sourceVolume", kind: Str, required: false },
            Field { key: "containerPath", kind: Str, required: false },
            Field { key: "readOnly", kind: Bool, required: false },
        ],
    ),
    (
        "port_mapping",
        &[
            Field { key: "containerPort", kind: Int, required: false },
            Field { key: "hostPort", kind: Int, required: false },
            Field { key: "protocol", kind: Str, required: false },
            Field { key: "name", kind: Str, required: false },
            Field { key: "appProtocol", kind: Str, required: false },
            Field { key: "containerPortRange", kind: Str, required: false },
        ],
    ),
    (
        "proxy_configuration",
        &[
            Field { key: "type", kind: Str, required: false },
            Field { key: "containerName", kind: Str, required: true },
            Field { key: "properties", kind: List(&Obj("key_value_pair")), required: false },
        ],
    ),
    (
        "register_task_definition_input",
        &[
            Field { key: "family", kind: Str, required: false },
            Field { key: "taskRoleArn", kind: Str, required: false },
            Field { key: "executionRoleArn", kind: Str, required: false },
            Field { key: "networkMode", kind: Str, required: false },
            Field { key: "containerDefinitions", kind: List(&Obj("container_definition")), required: false },
            Field { key: "volumes", kind: List(&Obj("volume")), required: false },
            Field { key: "placementConstraints", kind: List(&Obj("task_definition_placement_constraint")), required: false },
            Field { key: "requiresCompatibilities", kind: List(&Str), required: false },
            Field { key: "cpu", kind: Str, required: false },
            Field { key: "memory", kind: Str, required: false },
            Field { key: "tags", kind: List(&Obj("tag")), required: false },
            Field { key: "pidMode", kind: Str, required: false },
            Field { key: "ipcMode", kind: Str, required: false },
            Field { key: "proxyConfiguration", kind: Obj("proxy_configuration"), required: false },
            Field { key: "inferenceAccelerators", kind: List(&Obj("inference_accelerator")), required: false },
            Field { key: "ephemeralStorage", kind: Obj("ephemeral_storage"), required: false },
            Field { key: "runtimePlatform", kind: Obj("runtime_platform"), required: false },
            Field { key: "enableFaultInjection", kind: Bool, required: false },
        ],
    ),
    ("repository_credentials", &[Field { key: "credentialsParameter", kind: Str, required: true }]),
    ("resource_requirement", &[Field { key: "value", kind: Str, required: true }, Field { key: "type", kind: Str, required: true }]),
    (
        "runtime_platform",
        &[Field { key: "cpuArchitecture", kind: Str, required: false }, Field { key: "operatingSystemFamily", kind: Str, required: false }],
    ),
    (
        "s3_files_volume_configuration",
        &[
            Field { key: "fileSystemArn", kind: Str, required: true },
            Field { key: "rootDirectory", kind: Str, required: false },
            Field { key: "transitEncryptionPort", kind: Int, required: false },
            Field { key: "accessPointArn", kind: Str, required: false },
        ],
    ),
    ("secret", &[Field { key: "name", kind: Str, required: true }, Field { key: "valueFrom", kind: Str, required: true }]),
    ("system_control", &[Field { key: "namespace", kind: Str, required: false }, Field { key: "value", kind: Str, required: false }]),
    ("tag", &[Field { key: "key", kind: Str, required: false }, Field { key: "value", kind: Str, required: false }]),
    (
        "task_definition_placement_constraint",
        &[Field { key: "type", kind: Str, required: false }, Field { key: "expression", kind: Str, required: false }],
    ),
    (
        "tmpfs",
        &[
            Field { key: "containerPath", kind: Str, required: true },
            Field { key: "size", kind: Int, required: true },
            Field { key: "mountOptions", kind: List(&Str), required: false },
        ],
    ),
    (
        "ulimit",
        &[
            Field { key: "name", kind: Str, required: true },
            Field { key: "softLimit", kind: Int, required: true },
            Field { key: "hardLimit", kind: Int, required: true },
        ],
    ),
    (
        "volume",
        &[
            Field { key: "name", kind: Str, required: false },
            Field { key: "host", kind: Obj("host_volume_properties"), required: false },
            Field { key: "dockerVolumeConfiguration", kind: Obj("docker_volume_configuration"), required: false },
            Field { key: "efsVolumeConfiguration", kind: Obj("efs_volume_configuration"), required: false },
            Field { key: "s3filesVolumeConfiguration", kind: Obj("s3_files_volume_configuration"), required: false },
            Field {
                key: "fsxWindowsFileServerVolumeConfiguration",
                kind: Obj("f_sx_windows_file_server_volume_configuration"),
                required: false,
            },
            Field { key: "configuredAtLaunch", kind: Bool, required: false },
        ],
    ),
    (
        "volume_from",
        &[Field { key: "sourceContainer", kind: Str, required: false }, Field { key: "readOnly", kind: Bool, required: false }],
    ),
];

/// The root shape: the body of `aws ecs register-task-definition --cli-input-json`.
pub const ROOT: Kind = Obj("register_task_definition_input");
