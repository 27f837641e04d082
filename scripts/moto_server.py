#!/usr/bin/env python3
"""Starts the moto AWS emulator for ecs-deployer's tests and demo, with the places where moto
5.2.5 differs from AWS fixed first (aws-emulator-notes.md §9). Each fix restores the behaviour
AWS documents; the deployer itself never works around the emulator.

usage: moto_server.py HOST PORT [PARENT_PID]
With PARENT_PID the server exits when that process does (test harnesses start it that way).
"""
import sys
import threading

from werkzeug.serving import WSGIRequestHandler

from moto.ecs import models as ecs_models
from moto.ecs import responses as ecs_responses
from moto.ecs.exceptions import InvalidParameterException
from moto.applicationautoscaling import models as aas_models


# 1. AWS accepts a container that sets only `memoryReservation` on the EC2 launch type (the
#    task then has no hard limit); moto demands `memory` (EC2ContainerServiceBackend._validate_container_defs).
def _validate_container_defs(memory, container_definitions, requires_compatibilities):
    for cd in container_definitions:
        if "name" not in cd and "Name" not in cd:
            raise ecs_models.TaskDefinitionMissingPropertyError("name")
        if "image" not in cd and "Image" not in cd:
            raise ecs_models.TaskDefinitionMissingPropertyError("image")
        if not memory and not any(k in cd for k in ("memory", "Memory", "memoryReservation", "MemoryReservation")):
            if requires_compatibilities and "FARGATE" in requires_compatibilities:
                continue
            raise ecs_models.TaskDefinitionMemoryError(cd["name"])


ecs_models.EC2ContainerServiceBackend._validate_container_defs = staticmethod(_validate_container_defs)


# 2. AWS answers a CreateService for a name that is ACTIVE or DRAINING in the cluster with
#    `InvalidParameterException: Creation of service was not idempotent.`, unless the request
#    repeats the clientToken of the call that created it, in which case it returns that service.
#    moto silently replaces the service.
_create_lock = threading.Lock()
_client_tokens = {}  # service arn -> clientToken it was created with
_orig_create_service = ecs_models.EC2ContainerServiceBackend.create_service
_orig_create_service_response = ecs_responses.EC2ContainerServiceResponse.create_service


def create_service_response(self):
    token = self._get_param("clientToken")
    cluster = self._get_param("cluster", "default")
    name = self._get_param("serviceName")
    with _create_lock:
        try:
            existing = self.ecs_backend._get_service(cluster, name)
        except Exception:
            existing = None
        if existing is not None and existing.status in ("ACTIVE", "DRAINING"):
            if token and _client_tokens.get(existing.arn) == token:
                return ecs_responses.ActionResult({"service": existing})
            raise InvalidParameterException("Creation of service was not idempotent.")
        check_volume_configurations(self)
        result = _orig_create_service_response(self)
        created = self.ecs_backend._get_service(cluster, name)
        _client_tokens[created.arn] = token
        keep_dropped_members(self, created)
        return result


ecs_responses.EC2ContainerServiceResponse.create_service = create_service_response


# 3. AWS's ListServices does not list INACTIVE (deleted) services; moto keeps listing them.
_orig_list_services = ecs_models.EC2ContainerServiceBackend.list_services


def list_services(self, cluster_str, scheduling_strategy=None, launch_type=None):
    arns = _orig_list_services(self, cluster_str, scheduling_strategy, launch_type=launch_type)
    cluster = self._get_cluster(cluster_str)
    inactive = {s.arn for k, s in self.services.items() if k.startswith(cluster.name + ":") and s.status == "INACTIVE"}
    return [a for a in arns if a not in inactive]


ecs_models.EC2ContainerServiceBackend.list_services = list_services


# 8. AWS's ListServices returns at most `maxResults` ARNs (1-100; 10 when not given) and a
#    `nextToken` for the rest; moto returns every service in one page. The token here is the
#    last ARN of the page (ARNs come sorted), so a page never repeats or skips a service that
#    existed throughout.
def list_services_response(self):
    import base64
    arns = self.ecs_backend.list_services(self._get_param("cluster", "default"), self._get_param("schedulingStrategy"),
                                          launch_type=self._get_param("launchType"))
    max_results = self._get_param("maxResults")
    max_results = 10 if max_results is None else int(max_results)
    if not 1 <= max_results <= 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    token = self._get_param("nextToken")
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except Exception:
            raise InvalidParameterException("Invalid nextToken.")
        arns = [a for a in arns if a > after]
    page = arns[:max_results]
    result = {"serviceArns": page}
    if len(arns) > max_results:
        result["nextToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
    return ecs_responses.ActionResult(result)


ecs_responses.EC2ContainerServiceResponse.list_services = list_services_response


# 4. AWS's DeregisterScalableTarget deletes the target's scaling policies (and so the alarms
#    AWS created for target tracking) and its scheduled actions; moto leaves them behind. And a
#    target that does not exist is an ObjectNotFoundException, as AWS documents.
_orig_deregister = aas_models.ApplicationAutoscalingBackend.deregister_scalable_target


def deregister_scalable_target(self, namespace, r_id, dimension):
    # AWS answers a missing target with ObjectNotFoundException; moto with a ValidationException.
    if not self._scalable_target_exists(r_id, dimension):
        from moto.core.exceptions import JsonRESTError
        raise JsonRESTError("ObjectNotFoundException", f"No scalable target found for service namespace: {namespace}, "
                                                      f"resource ID: {r_id}, scalable dimension: {dimension}")
    _orig_deregister(self, namespace, r_id, dimension)
    for policy in list(self.policies.values()):
        if policy.resource_id == r_id and policy.scalable_dimension == dimension:
            self.delete_scaling_policy(policy.policy_name, namespace, r_id, dimension)
    self.scheduled_actions = [a for a in self.scheduled_actions if not (a.resource_id == r_id and a.scalable_dimension == dimension)]


aas_models.ApplicationAutoscalingBackend.deregister_scalable_target = deregister_scalable_target


# 9. AWS's PutScalingPolicy on an existing policy updates it in place: the same PolicyARN, and a
#    target-tracking policy's alarms replaced, never duplicated. moto builds a new policy (a new
#    ARN, new TargetTracking-* alarms) and orphans the old alarms, so a put retried after a lost
#    answer left two alarms behind per alarm (#14.4).
_orig_put_scaling_policy = aas_models.ApplicationAutoscalingBackend.put_scaling_policy


def put_scaling_policy(self, policy_name, service_namespace, resource_id, scalable_dimension, policy_body, policy_type):
    key = aas_models.FakeApplicationAutoscalingPolicy.formulate_key(service_namespace, resource_id, scalable_dimension, policy_name)
    old = self.policies.get(key)
    if old is not None:
        old.delete_alarms(self.account_id, self.region_name)
    policy = _orig_put_scaling_policy(self, policy_name, service_namespace, resource_id, scalable_dimension, policy_body, policy_type)
    if old is not None and policy.policy_arn != old.policy_arn:
        for alarm in policy.alarms:
            alarm.alarm_actions = [a.replace(policy.policy_arn, old.policy_arn) for a in alarm.alarm_actions]
        policy._guid, policy.policy_arn, policy.creation_time = old._guid, old.policy_arn, old.creation_time
    return policy


aas_models.ApplicationAutoscalingBackend.put_scaling_policy = put_scaling_policy


# 10. AWS's DescribeScalingPolicies lists in a step policy's `Alarms` the CloudWatch alarms whose
#     actions invoke it; moto lists only the alarms it made for target tracking.
from moto.applicationautoscaling import responses as aas_responses  # noqa: E402

_orig_build_alarms = aas_responses._build_alarms


def _build_alarms(policy):
    listed = _orig_build_alarms(policy)
    if policy.policy_type != "StepScaling":
        return listed
    from moto.cloudwatch.models import cloudwatch_backends
    cloudwatch = cloudwatch_backends[policy.account_id][policy.region_name]
    for alarm in list(cloudwatch.alarms.values()):
        actions = list(alarm.alarm_actions or []) + list(alarm.ok_actions or []) + list(alarm.insufficient_data_actions or [])
        if policy.policy_arn in actions:
            listed.append({"AlarmARN": alarm.alarm_arn, "AlarmName": alarm.name})
    return listed


aas_responses._build_alarms = _build_alarms


# 5. AWS names the ECS service-linked roles AWSServiceRoleForECS and
#    AWSServiceRoleForApplicationAutoScaling_ECSService; moto derives AWSServiceRoleForecs and
#    AWSServiceRoleForApplicationAutoScaling_Ecs from the service names.
from moto.iam import models as iam_models  # noqa: E402

_orig_create_slr = iam_models.IAMBackend.create_service_linked_role
_SLR_NAMES = {
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "ecs.application-autoscaling.amazonaws.com": "AWSServiceRoleForApplicationAutoScaling_ECSService",
}


def create_service_linked_role(self, service_name, description, suffix):
    if service_name not in _SLR_NAMES:
        return _orig_create_slr(self, service_name, description, suffix)
    import json
    policy = {"Version": "2012-10-17", "Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": [service_name]}}]}
    return self.create_role(_SLR_NAMES[service_name], json.dumps(policy), f"/aws-service-role/{service_name}/",
                            permissions_boundary=None, description=description, tags=[], max_session_duration="3600")


iam_models.IAMBackend.create_service_linked_role = create_service_linked_role


# 6. moto models storage, not ECS's control loop: a service never starts tasks and its rollout
#    never finishes. The harness can play ECS for services whose name contains `match`
#    (`POST /_harness {"ecs": [{"match": "...", "behaviour": "healthy"}]}`):
#    `healthy` — the deployment rolls out (running = desired, rolloutState COMPLETED), as ECS does
#    once tasks start; `failed` — the circuit breaker marks the deployment FAILED; `rollback` — the
#    circuit breaker rolls back to the previous task definition.
ECS_RULES = []
_orig_describe_services = ecs_models.EC2ContainerServiceBackend.describe_services

# B5. The harness plays ECS's scheduler for services whose name contains a `match` of
#     `POST /_harness {"scheduler": [{"match": "…"}]}` (on in `scripts/demo`): each time such a
#     service is described its tasks are kept at its desired count — started with RunTask and
#     `group: service:NAME` and registered (ENI address, container port) in every target group of
#     its load balancers, or deregistered and stopped when the desired count drops — and its
#     deployment rolls out (as the `healthy` behaviour).
SCHEDULER = []
_schedule_lock = threading.RLock()


def _schedule(backend, service):
    if service.status != "ACTIVE" or not any(r.get("match") and r["match"] in service.name for r in SCHEDULER):
        return False
    with _schedule_lock:
        group = f"service:{service.name}"
        tasks = [t for t in backend.tasks.get(service.cluster_name, {}).values()
                 if t.group == group and t.last_status != "STOPPED" and t.desired_status == "RUNNING"]
        elb = elbv2_models.elbv2_backends[backend.account_id][backend.region_name]
        network = (service.deployments[0].get("networkConfiguration") if service.deployments else None) or None
        if len(tasks) < service.desired_count:
            started = backend.run_task(service.cluster_name, service.task_definition, service.desired_count - len(tasks), None,
                                       "ecs-svc/scheduler", [], service.launch_type or "FARGATE", networking_configuration=network,
                                       group=group)
            for task in started:
                _register(elb, service, task, True)
        for task in tasks[service.desired_count:]:
            _register(elb, service, task, False)
            backend.stop_task(service.cluster_name, task.task_arn, "Scaling activity initiated by (deployment ecs-svc)")
    return True


def _register(elb, service, task, register):
    ip = next((d["value"] for a in task.attachments for d in a["details"] if d["name"] == "privateIPv4Address"), None)
    if ip is None:
        return
    for lb in service.load_balancers:
        group = elb.target_groups.get(lb.get("targetGroupArn"))
        if group is None:
            continue
        target = {"Id": ip, "Port": lb.get("containerPort", 80)}
        if register:
            group.register([target])
        elif ip in group.targets:
            group.deregister([target])


def describe_services(self, cluster_str, service_names_or_arns):
    services, failures = _orig_describe_services(self, cluster_str, service_names_or_arns)
    for service in services:
        scheduled = _schedule(self, service)
        rule = next((r for r in ECS_RULES if r.get("match") and r["match"] in service.name), None)
        rule = rule or ({"match": service.name, "behaviour": "healthy"} if scheduled else None)
        if rule is None or service.status != "ACTIVE" or not service.deployments:
            continue
        primary = service.deployments[0]
        behaviour = rule.get("behaviour", "healthy")
        if behaviour == "healthy":
            service.running_count = service.desired_count
            service.pending_count = 0
            primary.update(desiredCount=service.desired_count, runningCount=service.desired_count, pendingCount=0,
                           rolloutState="COMPLETED", rolloutStateReason=f"ECS deployment {primary['id']} completed.",
                           taskDefinition=service.task_definition)
        elif behaviour == "failed":
            primary.update(runningCount=0, failedTasks=3, rolloutState="FAILED",
                           rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.")
        elif behaviour == "rollback":
            primary.update(taskDefinition=primary["taskDefinition"].rsplit(":", 1)[0] + ":0", rolloutState="COMPLETED",
                           rolloutStateReason="ECS deployment circuit breaker: rolling back to the last completed deployment.")
    return services, failures


ecs_models.EC2ContainerServiceBackend.describe_services = describe_services


# 8. A service's tasks. AWS's ListTasks honours `serviceName` (the tasks whose group is
#    `service:NAME`); moto ignores it (a TODO: its services start no tasks). The harness starts a
#    service's tasks itself with RunTask and `group: service:NAME`, as ECS's scheduler does.
#    moto also walks each task one lifecycle state further on every DescribeTasks (RUNNING →
#    DEACTIVATING → … → STOPPED after four reads), which no real task does; here a task keeps its
#    state until StopTask. What ECS and ELB would report while tasks start, fail their health
#    check or drain, the harness sets (`POST /_harness {"tasks": [{"match": "<task id or
#    group>", "lastStatus": "PENDING", "healthStatus": "UNKNOWN"}], "targets": [{"match":
#    "<target id>", "state": "initial"}]}`).
_orig_list_tasks = ecs_models.EC2ContainerServiceBackend.list_tasks


def list_tasks(self, cluster_str=None, container_instance=None, family=None, started_by=None, service_name=None, desiredStatus=None):
    tasks = _orig_list_tasks(self, cluster_str, container_instance, family, started_by, None, desiredStatus)
    if service_name:
        name = service_name.rsplit("/", 1)[-1]
        tasks = [t for t in tasks if t.group == f"service:{name}"]
    return tasks


ecs_models.EC2ContainerServiceBackend.list_tasks = list_tasks

# RunTask of a Fargate task definition whose containers set no memory (the task's `memory`
# holds it, as AWS allows) fails with a TypeError in moto's placement arithmetic; the task's
# own size is what AWS places by.
_orig_requirements = ecs_models.EC2ContainerServiceBackend._calculate_task_resource_requirements


def _calculate_task_resource_requirements(task_definition):
    sized = [dict(c, memory=c.get("memory") or c.get("memoryReservation") or 0) for c in task_definition.container_definitions]
    original = task_definition.container_definitions
    task_definition.container_definitions = sized
    try:
        out = _orig_requirements(task_definition)
    finally:
        task_definition.container_definitions = original
    if not out["MEMORY"]:
        out["MEMORY"] = int(task_definition.memory or 0)
    return out


ecs_models.EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(_calculate_task_resource_requirements)

# An awsvpc task's ENI attachment names the ENI's private DNS name, which moto's
# NetworkInterface lacks (AttributeError: every awsvpc RunTask fails); AWS names it
# `ip-A-B-C-D.REGION.compute.internal`.
from moto.ec2.models.elastic_network_interfaces import NetworkInterface  # noqa: E402

NetworkInterface.private_dns_name = property(
    lambda self: self.__dict__.get("_private_dns_name")
    or f"ip-{self.private_ip_address.replace('.', '-')}.{self.ec2_backend.region_name}.compute.internal",
    lambda self, value: self.__dict__.__setitem__("_private_dns_name", value),
)

from moto.moto_api import state_manager  # noqa: E402

state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})

TASK_RULES = []
_orig_describe_tasks = ecs_models.EC2ContainerServiceBackend.describe_tasks


def describe_tasks(self, cluster_str, tasks):
    found = _orig_describe_tasks(self, cluster_str, tasks)
    for task in found:
        for rule in TASK_RULES:
            if rule.get("match") and (rule["match"] in task.task_arn or rule["match"] == task.group):
                if "lastStatus" in rule:
                    task.last_status = rule["lastStatus"]
                if "healthStatus" in rule:
                    task.health_status = rule["healthStatus"]
    return found


ecs_models.EC2ContainerServiceBackend.describe_tasks = describe_tasks

# A task AWS starts reports when it started and in which zone; moto's leave both out.
_orig_run_task = ecs_models.EC2ContainerServiceBackend.run_task


def run_task(self, *args, **kwargs):
    import datetime
    from moto.ec2.models import ec2_backends
    tasks = _orig_run_task(self, *args, **kwargs)
    for task in tasks:
        task.started_at = datetime.datetime.now(datetime.timezone.utc)
        subnet = next((d["value"] for a in task.attachments for d in a["details"] if d["name"] == "subnetId"), None)
        if subnet:
            task.availability_zone = ec2_backends[self.account_id][self.region_name].get_subnet(subnet).availability_zone
    return tasks


ecs_models.EC2ContainerServiceBackend.run_task = run_task

from moto.elbv2 import models as elbv2_models  # noqa: E402

TARGET_RULES = []
_orig_health_for = elbv2_models.FakeTargetGroup.health_for


def health_for(self, target, ec2_backend):
    status = _orig_health_for(self, target, ec2_backend)
    rule = next((r for r in reversed(TARGET_RULES) if r.get("match") == target.get("Id")), None)
    if rule is not None and target["Id"] in self.targets:
        status.status = rule["state"]
    return status


elbv2_models.FakeTargetGroup.health_for = health_for


# 9. A moto service has no creation time, so DescribeServices leaves out `createdAt`, which AWS
#    always returns (Clouddriver's `createdTime`, by which Orca orders server groups).
_orig_service_init = ecs_models.Service.__init__


def service_init(self, *args, **kwargs):
    import datetime
    _orig_service_init(self, *args, **kwargs)
    self.created_at = datetime.datetime.now(datetime.timezone.utc)


ecs_models.Service.__init__ = service_init


# F1. CreateService keeps what moto drops (faithful-copy.md §8): AWS stores and returns
#     `deploymentConfiguration` (alarms, circuit breaker thresholds), placement, the grace period,
#     exec, `availabilityZoneRebalancing` (ENABLED when not given), managed tags and a capacity
#     provider strategy (then no launch type) on the service, and the volume, Service Connect and
#     VPC Lattice configurations on its deployment; `monitoring` and `gatewayConnectors` only on
#     the service revision (F2).
from botocore import xform_name  # noqa: E402

_SERVICE_MEMBERS = ["deploymentConfiguration", "placementConstraints", "placementStrategy", "healthCheckGracePeriodSeconds",
                    "enableExecuteCommand", "availabilityZoneRebalancing", "enableECSManagedTags", "capacityProviderStrategy"]
_DEPLOYMENT_MEMBERS = ["volumeConfigurations", "serviceConnectConfiguration", "vpcLatticeConfigurations"]
_REVISION_MEMBERS = ["loadBalancers", "serviceRegistries", "networkConfiguration", "launchType", "capacityProviderStrategy", "platformVersion",
                     "serviceConnectConfiguration", "volumeConfigurations", "vpcLatticeConfigurations", "monitoring", "gatewayConnectors"]


# F4. AWS refuses a volume configuration that names no `configuredAtLaunch` volume of the task
#     definition (a backstop: the deployer refuses it first).
def check_volume_configurations(resp):
    configs = resp._get_param("volumeConfigurations") or []
    if not configs:
        return
    task_definition = resp.ecs_backend.describe_task_definition(resp._get_param("taskDefinition"))
    at_launch = {v.get("name") for v in (task_definition.volumes or []) if v.get("configuredAtLaunch")}
    if any(c.get("name") not in at_launch for c in configs):
        raise InvalidParameterException("Volume configuration provided but no matching configuredAtLaunch volume found in task definition.")


def keep_dropped_members(resp, service):
    for member in _SERVICE_MEMBERS:
        value = resp._get_param(member)
        if value is not None:
            setattr(service, xform_name(member), value)
    if resp._get_param("availabilityZoneRebalancing") is None:
        service.availability_zone_rebalancing = "ENABLED"
    primary = service.deployments[0] if service.deployments else None
    if resp._get_param("capacityProviderStrategy"):
        service.launch_type = None
        if primary is not None:
            primary["launchType"] = None
            primary["capacityProviderStrategy"] = resp._get_param("capacityProviderStrategy")
    for member in _DEPLOYMENT_MEMBERS:
        value = resp._get_param(member)
        if value is not None and primary is not None:
            primary[member] = value
    request = {m: resp._get_param(m) for m in _REVISION_MEMBERS if resp._get_param(m) is not None}
    add_revision(resp.ecs_backend, service, request)


# F2. Service revisions (§8.2): CreateService and every UpdateService that changes the task
#     definition or forces a new deployment append a revision holding the request's members and
#     the containers' images (`imageDigest` from a harness rule `{"ecs": [{"match": "<image>",
#     "imageDigest": "sha256:…"}]}`, as ECS pins digests at deployment start); the service names
#     it in `currentServiceRevisions`; DescribeServiceRevisions answers from the history.
# F3. Service deployments: one per revision, named by `currentServiceDeployment`, listed by
#     ListServiceDeployments and described by DescribeServiceDeployments. Its status follows the
#     harness's `behaviour` rules (`healthy` → SUCCESSFUL, `failed` → STOPPED with the circuit
#     breaker TRIGGERED, `rollback` → ROLLBACK_SUCCESSFUL, none → IN_PROGRESS); a rule's
#     `deployment` sets any status and fields; `serviceDeployments: "unsupported" | "denied"`
#     makes the three actions answer UnsupportedFeatureException / AccessDeniedException.
import datetime  # noqa: E402
import itertools  # noqa: E402

_REVISIONS = {}  # revision arn -> revision
_DEPLOYMENTS = {}  # deployment arn -> deployment (its status filled in when described)
_HISTORY = {}  # service arn -> [deployment arn, ...], newest last
_numbers = itertools.count(1)


def _rule_for(service_name, key):
    return next((r for r in reversed(ECS_RULES) if r.get("match") and r["match"] in service_name and key in r), None)


def _image_digest(image, account_id=None):
    rule = next((r for r in reversed(ECS_RULES) if r.get("match") == image and "imageDigest" in r), None)
    if rule:
        return rule["imageDigest"]
    return _ecr_digest(image, account_id)


# B7. As ECS resolves an ECR image's tag to its digest at deployment start, a revision's
#     `imageDigest` of an image in the emulator's ECR (`<account>.dkr.ecr.<region>.amazonaws.com/
#     <repository>:<tag>`) is that image's digest: a test that deletes the image sees the deployer
#     refuse to send traffic to the version that ran it (blue-green.md §9.1).
def _ecr_digest(image, account_id):
    import re
    m = re.match(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([^:@]+)(?::([^@]+))?(?:@(sha256:[0-9a-f]{64}))?$", image or "")
    if not m:
        return None
    registry, region, repository, tag, digest = m.groups()
    if digest:
        return digest
    try:
        from moto.ecr.models import ecr_backends
        repo = ecr_backends[registry][region].repositories.get(repository)
        found = [i for i in (repo.images if repo else []) if (tag or "latest") in i.image_tags]
        return found[0].get_image_digest() if found else None
    except Exception:
        return None


def add_revision(backend, service, request):
    now = datetime.datetime.now(datetime.timezone.utc)
    number = next(_numbers)
    prefix = f"arn:aws:ecs:{service.region_name}:{backend.account_id}"
    revision_arn = f"{prefix}:service-revision/{service.cluster_name}/{service.name}/{number}"
    deployment_arn = f"{prefix}:service-deployment/{service.cluster_name}/{service.name}/{number:020d}"
    images = []
    try:
        task_definition = backend.describe_task_definition(service.task_definition)
        for c in task_definition.container_definitions:
            entry = {"containerName": c.get("name"), "image": c.get("image")}
            if _image_digest(c.get("image")):
                entry["imageDigest"] = _image_digest(c.get("image"))
            images.append(entry)
    except Exception:
        pass
    revision = dict(request, serviceRevisionArn=revision_arn, serviceArn=service.arn, clusterArn=service.cluster_arn,
                    taskDefinition=service.task_definition, containerImages=images, createdAt=now)
    _REVISIONS[revision_arn] = revision
    history = _HISTORY.setdefault(service.arn, [])
    sources = [{"arn": _DEPLOYMENTS[history[-1]]["targetServiceRevision"]["arn"]}] if history else []
    _DEPLOYMENTS[deployment_arn] = {
        "serviceDeploymentArn": deployment_arn, "serviceArn": service.arn, "clusterArn": service.cluster_arn, "createdAt": now,
        "startedAt": now, "updatedAt": now, "sourceServiceRevisions": sources,
        "targetServiceRevision": {"arn": revision_arn, "requestedTaskCount": service.desired_count, "runningTaskCount": 0, "pendingTaskCount": 0},
        "deploymentConfiguration": getattr(service, "deployment_configuration", None) or {"maximumPercent": 200, "minimumHealthyPercent": 100},
    }
    history.append(deployment_arn)
    service.current_service_deployment = deployment_arn
    service.current_service_revisions = [{"arn": revision_arn, "requestedTaskCount": service.desired_count, "runningTaskCount": 0,
                                          "pendingTaskCount": 0, "requestedTestTrafficWeight": None, "requestedProductionTrafficWeight": None}]


_orig_update_service_response = ecs_responses.EC2ContainerServiceResponse.update_service


def update_service_response(self):
    result = _orig_update_service_response(self)
    if self._get_param("taskDefinition") or self._get_param("forceNewDeployment"):
        service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("service"))
        request = {m: self._get_param(m) for m in _REVISION_MEMBERS if self._get_param(m) is not None}
        add_revision(self.ecs_backend, service, request)
    return result


ecs_responses.EC2ContainerServiceResponse.update_service = update_service_response


def _deployment_now(deployment):
    """The deployment as ECS would report it now, by the harness's rules for its service."""
    out = dict(deployment)
    name = deployment["serviceArn"].rsplit("/", 1)[-1]
    behaviour = _rule_for(name, "behaviour")
    behaviour = behaviour["behaviour"] if behaviour else None
    if behaviour == "healthy":
        out.update(status="SUCCESSFUL", finishedAt=out["updatedAt"], statusReason="ECS deployment completed.")
    elif behaviour == "failed":
        out.update(status="STOPPED", finishedAt=out["updatedAt"], statusReason="ECS deployment circuit breaker: tasks failed to start.",
                   deploymentCircuitBreaker={"status": "TRIGGERED", "failureCount": 3, "threshold": 3})
    elif behaviour == "rollback":
        out.update(status="ROLLBACK_SUCCESSFUL", finishedAt=out["updatedAt"],
                   statusReason="ECS deployment circuit breaker: rolling back to the last completed deployment.",
                   rollback={"reason": "ECS deployment circuit breaker: tasks failed to start.", "startedAt": out["updatedAt"],
                             "serviceRevisionArn": (out["sourceServiceRevisions"] or [{"arn": out["targetServiceRevision"]["arn"]}])[0]["arn"]})
    else:
        out.update(status="IN_PROGRESS")
    rule = _rule_for(name, "deployment")
    if rule:
        out.update(rule["deployment"])
    return out


def _deployments_refused(self, names):
    from moto.core.exceptions import JsonRESTError
    for name in names:
        rule = _rule_for(name, "serviceDeployments")
        if rule and rule["serviceDeployments"] == "unsupported":
            raise JsonRESTError("UnsupportedFeatureException", "Service deployments are not supported in this Region.")
        if rule and rule["serviceDeployments"] == "denied":
            raise JsonRESTError("AccessDeniedException", "User is not authorized to perform: ecs:DescribeServiceDeployments")


def list_service_deployments(self):
    service = self._get_param("service").rsplit("/", 1)[-1]
    _deployments_refused(self, [service])
    found = self.ecs_backend._get_service(self._get_param("cluster", "default"), service)
    arns = list(reversed(_HISTORY.get(found.arn, [])))[: int(self._get_param("maxResults") or 20)]
    summaries = []
    for arn in arns:
        d = _deployment_now(_DEPLOYMENTS[arn])
        summaries.append({k: d.get(k) for k in ("serviceDeploymentArn", "serviceArn", "clusterArn", "startedAt", "createdAt", "finishedAt",
                                                 "status", "statusReason")} | {"targetServiceRevisionArn": d["targetServiceRevision"]["arn"]})
    return ecs_responses.ActionResult({"serviceDeployments": summaries})


def describe_service_deployments(self):
    arns = self._get_param("serviceDeploymentArns") or []
    _deployments_refused(self, [a.split("/")[-2] for a in arns if "/" in a])
    found = [_deployment_now(_DEPLOYMENTS[a]) for a in arns if a in _DEPLOYMENTS]
    failures = [{"arn": a, "reason": "MISSING"} for a in arns if a not in _DEPLOYMENTS]
    return ecs_responses.ActionResult({"serviceDeployments": found, "failures": failures})


def describe_service_revisions(self):
    arns = self._get_param("serviceRevisionArns") or []
    _deployments_refused(self, [a.split("/")[-2] for a in arns if "/" in a])
    found = [_REVISIONS[a] for a in arns if a in _REVISIONS]
    failures = [{"arn": a, "reason": "MISSING"} for a in arns if a not in _REVISIONS]
    return ecs_responses.ActionResult({"serviceRevisions": found, "failures": failures})


ecs_responses.EC2ContainerServiceResponse.list_service_deployments = list_service_deployments
ecs_responses.EC2ContainerServiceResponse.describe_service_deployments = describe_service_deployments
ecs_responses.EC2ContainerServiceResponse.describe_service_revisions = describe_service_revisions


# F5. AWS's PutMetricAlarm ignores `Tags` when the alarm already exists (model doc); moto merges them.
from moto.cloudwatch import models as cw_models  # noqa: E402

_orig_put_metric_alarm = cw_models.CloudWatchBackend.put_metric_alarm


def put_metric_alarm(self, *args, **kwargs):
    if kwargs.get("name") in self.alarms:
        kwargs["tags"] = None
    return _orig_put_metric_alarm(self, *args, **kwargs)


cw_models.CloudWatchBackend.put_metric_alarm = put_metric_alarm


# 7. Speed, not behaviour. AWS serves concurrent requests in parallel; moto serves them one
#    interpreter at a time, so its own CPU time per request queues up behind every concurrent
#    request and lands in the benchmark's wall time. Two pieces of that time are pure waste:
#    the server lists and stats its ~180 package directories on every request to route it
#    (`backends.list_of_moto_modules`), and every action looks up its response class's methods
#    with `inspect.getmembers` (`method_names_from_class`). Both answers never change while the
#    server runs; they are computed once here. Routing and answers are exactly as before.
import functools  # noqa: E402

from moto import backends as moto_backends  # noqa: E402
from moto.core import responses as core_responses  # noqa: E402

_moto_modules = tuple(moto_backends.list_of_moto_modules())
moto_backends.list_of_moto_modules = lambda: _moto_modules
core_responses.method_names_from_class = functools.cache(core_responses.method_names_from_class)


class FaultsAndTiming:
    """WSGI middleware for the test harness and the benchmark (not an AWS behaviour):

    * a fixed delay added to every AWS request (`POST /_harness {"delayMs": 50}`), to model
      the 40-150 ms round trips of the real service;
    * fault rules (`POST /_harness {"rules": [...]}`): for requests whose operation is
      `operation` and whose body contains `match`, answer `action` instead, at most `times` times:
      `throttle` (400 ThrottlingException), `5xx` (503), `reset` (connection closed before an
      answer), `lost` (the request is applied, then the answer is replaced by a 500: the
      client never learns that it succeeded), `error` (`status`/`code`/`message` given);
    * a log of every AWS request with its operation, start/end times and the CPU time the emulator
      spent on it (`GET /_harness/requests`), and of the operations as they arrive
      (`GET /_harness/started`: a test kills a client while its request is in flight),
      from which the benchmark reads the request count and the longest dependent chain.
    """

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.delay_ms = 0
        self.rules = []
        self.requests = []
        self.started = []  # operations as they arrive (the log above has them once answered)

    @staticmethod
    def operation(environ, body):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            return target.rsplit(".", 1)[-1]
        from urllib.parse import parse_qs
        try:
            return parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        except Exception:
            return ""

    def harness(self, environ, start_response):
        import json
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if method == "POST" and path == "/_harness":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            conf = json.loads(environ["wsgi.input"].read(length) or b"{}")
            with self.lock:
                if "delayMs" in conf:
                    self.delay_ms = int(conf["delayMs"])
                if conf.get("clearRules"):
                    self.rules = []
                if "rules" in conf:
                    self.rules.extend(dict(r, used=0) for r in conf["rules"])
                if "ecs" in conf:
                    ECS_RULES.extend(conf["ecs"])
                SCHEDULER.extend(conf.get("scheduler", []))
                TASK_RULES.extend(conf.get("tasks", []))
                TARGET_RULES.extend(conf.get("targets", []))
            out = b"{}"
        elif path == "/_harness/requests":
            with self.lock:
                out = json.dumps(self.requests).encode()
                if method == "DELETE":
                    self.requests = []
                    self.started = []
        elif path == "/_harness/pid":
            # Which process answers on this port: a test that picked a port another emulator took
            # meanwhile sees that it is not its own.
            import os
            out = json.dumps(os.getpid()).encode()
        elif path == "/_harness/started":
            with self.lock:
                out = json.dumps(self.started).encode()
                if method == "DELETE":
                    self.started = []
        elif path == "/_harness/rules":
            with self.lock:
                out = json.dumps(self.rules).encode()
        else:
            out = b"{}"
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
        return [out]

    def __call__(self, environ, start_response):
        import io
        import time
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_harness"):
            return self.harness(environ, start_response)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        op = self.operation(environ, body)
        started = time.time()
        cpu_started = time.thread_time()
        rule = None
        with self.lock:
            self.started.append(op)
            delay = self.delay_ms
            for r in self.rules:
                if r.get("operation") in (op, "*") and r.get("match", "").encode() in body and r["used"] < r.get("times", 1):
                    r["used"] += 1
                    rule = r
                    break
        if delay:
            time.sleep(delay / 1000.0)
        try:
            if rule is None and environ.get("HTTP_X_HARNESS_TIMING"):
                return self.timed(environ, start_response, cpu_started)
            if rule is None:
                return self.app(environ, start_response)
            action = rule["action"]
            if action == "slow":
                time.sleep(int(rule.get("ms", 1000)) / 1000.0)
                return self.app(environ, start_response)
            if action == "reset":
                # The connection drops before the answer is complete: the client reads a
                # truncated body on a closed connection, as after a reset.
                start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", "4096"), ("Connection", "close")])
                return [b"{"]
            if action == "lost":
                self.app(environ, lambda *a, **k: None)
                return self.answer(environ, body, start_response, 500, "InternalFailure", "injected: the response was lost after the request was applied")
            if action == "throttle":
                code = "ThrottlingException" if environ.get("HTTP_X_AMZ_TARGET") else "Throttling"
                return self.answer(environ, body, start_response, 400, code, "Rate exceeded")
            if action == "5xx":
                return self.answer(environ, body, start_response, 503, "ServiceUnavailable", "injected 503")
            return self.answer(environ, body, start_response, int(rule.get("status", 400)), rule.get("code", "InjectedError"), rule.get("message", "injected"))
        finally:
            with self.lock:
                self.requests.append({"operation": op, "start": started, "end": time.time(), "cpu": time.thread_time() - cpu_started,
                                      "fault": rule["action"] if rule else None})

    def timed(self, environ, start_response, cpu_started):
        """The emulator's answer with the CPU time it spent on the request in `x-harness-cpu`,
        for the benchmark's delay proxy (scripts/delay_proxy.py), which asks with `x-harness-timing`."""
        import time
        captured, written = [], []

        def capture(status, headers, exc_info=None):
            captured.append((status, headers, exc_info))
            return written.append

        out = self.app(environ, capture)
        try:
            chunks = written + list(out)
        finally:
            if hasattr(out, "close"):
                out.close()
        status, headers, exc_info = captured[-1]
        start_response(status, list(headers) + [("x-harness-cpu", f"{time.thread_time() - cpu_started:.6f}")], exc_info)
        return chunks

    @staticmethod
    def answer(environ, body, start_response, status, code, message):
        """An error in the protocol of the service asked: JSON for ECS and Application Auto
        Scaling, EC2's XML for EC2, awsQuery XML for the others."""
        import json
        if environ.get("HTTP_X_AMZ_TARGET"):
            out = json.dumps({"__type": code, "message": message}).encode()
            headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-errortype", code)]
        elif b"Version=2016-11-15" in body:
            out = f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>injected</RequestID></Response>".encode()
            headers = [("Content-Type", "text/xml")]
        else:
            out = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>".encode()
            headers = [("Content-Type", "text/xml")]
        start_response(f"{status} Injected", headers + [("Content-Length", str(len(out)))])
        return [out]


class OneWrite(WSGIRequestHandler):
    """werkzeug's handler, answering each request in one write. Unbuffered (its default), it
    sends the status and headers, then the body, in two writes; the first releases the
    interpreter lock, and under concurrent requests the body then waits behind other requests'
    work — measured up to 45 ms after the headers. Real AWS sends an answer as a whole."""

    wbufsize = -1


def exit_with_parent(pid):
    import os
    import time

    def watch():
        while True:
            try:
                os.kill(pid, 0)
            except OSError:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


# B1. ELBv2's rules for a forward action (blue-green.md §1.2) that moto does not check: weights
#     0-999, at most 5 target groups in an ALB forward, a duration when stickiness is enabled.
from moto.elbv2 import exceptions as elbv2_exceptions  # noqa: E402

_orig_validate_actions = elbv2_models.ELBv2Backend._validate_actions


def validate_actions(self, actions):
    _orig_validate_actions(self, actions)
    for action in actions:
        config = action.data.get("ForwardConfig") if action.type == "forward" else None
        if not config:
            continue
        groups = config.get("TargetGroups", [])
        if len(groups) > 5:
            raise elbv2_exceptions.ValidationError(f"A forward action can have at most 5 target groups, not {len(groups)}")
        for group in groups:
            weight = int(group.get("Weight", 1))
            if not 0 <= weight <= 999:
                raise elbv2_exceptions.ValidationError(f"Target group weight must be between 0 and 999, not {weight}")
        sticky = config.get("TargetGroupStickinessConfig") or {}
        if str(sticky.get("Enabled", "false")).lower() == "true" and not sticky.get("DurationSeconds"):
            raise elbv2_exceptions.ValidationError("DurationSeconds is required when target group stickiness is enabled")


elbv2_models.ELBv2Backend._validate_actions = validate_actions


# B2. Every forward a rule or a listener's default action is modified to associates its target
#     groups with the listener's load balancer, as CreateRule and CreateListener already do.
def _associate(backend, listener_arn, actions):
    listener = next((l for lb in backend.load_balancers.values() for l in lb.listeners.values() if l.arn == listener_arn), None)
    if listener is None:
        return
    for action in actions:
        if action.type == "forward":
            for arn in backend._get_target_group_arns_from(action_data=action.data):
                group = backend.target_groups.get(arn)
                if group is not None and listener.load_balancer_arn not in group.load_balancer_arns:
                    group.load_balancer_arns.append(listener.load_balancer_arn)


_orig_modify_rule = elbv2_models.ELBv2Backend.modify_rule
_orig_modify_listener = elbv2_models.ELBv2Backend.modify_listener


def modify_rule(self, rule_arn, conditions, actions):
    rule = _orig_modify_rule(self, rule_arn, conditions, actions)
    _associate(self, rule.listener_arn, rule.actions)
    return rule


def modify_listener(self, arn, *args, **kwargs):
    listener = _orig_modify_listener(self, arn, *args, **kwargs)
    _associate(self, arn, listener.default_actions)
    return listener


elbv2_models.ELBv2Backend.modify_rule = modify_rule
elbv2_models.ELBv2Backend.modify_listener = modify_listener


# B3. ECS's CreateService refuses a target group that no load balancer is associated with.
_orig_create_service_b3 = ecs_responses.EC2ContainerServiceResponse.create_service


def create_service_b3(self):
    backend = elbv2_models.elbv2_backends[self.current_account][self.region]
    for lb in self._get_param("loadBalancers") or []:
        group = backend.target_groups.get(lb.get("targetGroupArn"))
        if group is not None and not group.load_balancer_arns:
            raise InvalidParameterException(
                f"The target group with targetGroupArn {group.arn} does not have an associated load balancer.")
    return _orig_create_service_b3(self)


ecs_responses.EC2ContainerServiceResponse.create_service = create_service_b3



# T1. The Resource Groups Tagging API forgets a deleted service (AWS drops resources that no
#     longer exist); moto 5.2.5 keeps listing INACTIVE ECS services in GetResources.
_orig_ecs_tagged = ecs_models.EC2ContainerServiceBackend.iter_tagged_resources


def iter_tagged_resources(self):
    inactive = {s.physical_resource_id for s in self.services.values() if s.status == "INACTIVE"}
    for resource in _orig_ecs_tagged(self):
        if resource.arn not in inactive:
            yield resource


ecs_models.EC2ContainerServiceBackend.iter_tagged_resources = iter_tagged_resources

if __name__ == "__main__":
    # S3: AWS refuses another account's bucket unless a bucket policy grants it (403
    # AccessDenied); moto serves any account's buckets to everyone unless told otherwise.
    import os
    os.environ["MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS"] = "false"
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    host, port = sys.argv[1], int(sys.argv[2])
    if len(sys.argv) > 3:
        exit_with_parent(int(sys.argv[3]))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, FaultsAndTiming(app), threaded=True, request_handler=OneWrite)
