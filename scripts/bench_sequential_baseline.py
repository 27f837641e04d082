#!/usr/bin/env python3
"""The redeploy-with-scaling-copy done the way Clouddriver's ECS provider does it: the same AWS
calls strictly one after another (clouddriver-ecs-behaviour.md §14), with boto3. It exists only
as the benchmark's baseline; it is not a deployer (no validation, no cleanup).

usage: bench_sequential_baseline.py ENDPOINT ACCOUNT_ID REGION CLUSTER APP SOURCE_SERVICE TASKDEF_JSON TARGET_GROUP
"""
import json
import sys

import boto3


def main():
    endpoint, account_id, region, cluster, app, source, td_path, target_group = sys.argv[1:9]
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=region, aws_access_key_id="test", aws_secret_access_key="test")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/SpinnakerManaged", RoleSessionName="baseline")["Credentials"]
    s = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                              aws_session_token=creds["SessionToken"], region_name=region)
    c = lambda n: s.client(n, endpoint_url=endpoint)
    ecs, aas, cw, elb = c("ecs"), c("application-autoscaling"), c("cloudwatch"), c("elbv2")

    # 1-3. Name resolution: list, describe every service ten at a time, probe candidates.
    arns, token = [], None
    while True:
        page = ecs.list_services(cluster=cluster, **({"nextToken": token} if token else {}))
        arns += page["serviceArns"]
        token = page.get("nextToken")
        if not token:
            break
    taken = []
    for i in range(0, len(arns), 10):
        for svc in ecs.describe_services(cluster=cluster, services=arns[i:i + 10], include=["TAGS"])["services"]:
            name = svc["serviceName"]
            if name.startswith(app + "-v"):
                taken.append(int(name.rsplit("-v", 1)[1]))
    version = max(taken) if taken else 0
    while True:
        name = f"{app}-v{version:03d}"
        found = ecs.describe_services(cluster=cluster, services=[name])["services"]
        if not found or found[0]["status"] == "INACTIVE":
            break
        version += 1
    # 4-5. Source scalable target and service.
    src_id = f"service/{cluster}/{source}"
    target = aas.describe_scalable_targets(ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount", ResourceIds=[src_id])["ScalableTargets"][0]
    src_service = ecs.describe_services(cluster=cluster, services=[source])["services"][0]
    # 7. Task definition.
    td = json.load(open(td_path))
    td["family"] = app
    td["containerDefinitions"][0]["name"] = f"v{version:03d}"
    td_arn = ecs.register_task_definition(**td)["taskDefinition"]["taskDefinitionArn"]
    # 8-9. Tagging settings, target group.
    ecs.list_account_settings(effectiveSettings=True)
    tg_arn = elb.describe_target_groups(Names=[target_group])["TargetGroups"][0]["TargetGroupArn"]
    # 11. Service (subnets and security groups come from Clouddriver's cache: no call).
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=td_arn, desiredCount=src_service["desiredCount"],
                       loadBalancers=[{"targetGroupArn": tg_arn, "containerName": f"v{version:03d}", "containerPort": 80}])
    # 12. Scalable target.
    dst_id = f"service/{cluster}/{name}"
    aas.register_scalable_target(ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount", ResourceId=dst_id,
                                 MinCapacity=target["MinCapacity"], MaxCapacity=target["MaxCapacity"])
    # 13. Policies, then alarms, one at a time (plus the scheduled actions ecs-deployer also copies).
    arn_map = {}
    alarm_names = []
    for p in aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=src_id)["ScalingPolicies"]:
        args = {k: p[k] for k in ("PolicyType", "StepScalingPolicyConfiguration", "TargetTrackingScalingPolicyConfiguration") if k in p}
        out = aas.put_scaling_policy(PolicyName=p["PolicyName"].replace(source, name), ServiceNamespace="ecs", ResourceId=dst_id,
                                     ScalableDimension="ecs:service:DesiredCount", **args)
        arn_map[p["PolicyARN"]] = out["PolicyARN"]
        alarm_names += [a["AlarmName"] for a in p.get("Alarms", []) if not a["AlarmName"].startswith("TargetTracking-")]
    alarms = []
    for src_arn in arn_map:  # the emulator lists step policies' alarms only by action
        alarms += cw.describe_alarms(ActionPrefix=src_arn)["MetricAlarms"]
    for a in alarms:
        cw.put_metric_alarm(AlarmName=a["AlarmName"].replace(source, name), EvaluationPeriods=a["EvaluationPeriods"],
                            Threshold=a["Threshold"], ComparisonOperator=a["ComparisonOperator"], MetricName=a["MetricName"],
                            Namespace=a["Namespace"], Statistic=a["Statistic"], Period=a["Period"],
                            AlarmActions=[arn_map.get(x, x) for x in a.get("AlarmActions", [])])
    for sa in aas.describe_scheduled_actions(ServiceNamespace="ecs", ResourceId=src_id)["ScheduledActions"]:
        aas.put_scheduled_action(ServiceNamespace="ecs", ScheduledActionName=sa["ScheduledActionName"].replace(source, name),
                                 ResourceId=dst_id, ScalableDimension="ecs:service:DesiredCount", Schedule=sa["Schedule"],
                                 ScalableTargetAction=sa["ScalableTargetAction"])
    print(name)


if __name__ == "__main__":
    main()
