#!/usr/bin/env python3
"""Creates what a deploy needs in an AWS account on the emulator (or any endpoint): an ECS
cluster, a VPC with subnets tagged with Spinnaker purposes, a security group, an ALB target
group and the account role. Prints the ids as JSON. Used by scripts/demo and the tests.

usage: fixtures.py ENDPOINT ACCOUNT_ID REGION CLUSTER [--tagging]
"""
import json
import sys

import boto3


def session_for(endpoint, account_id, region):
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=region,
                       aws_access_key_id="test", aws_secret_access_key="test")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/SpinnakerManaged",
                            RoleSessionName="fixtures")["Credentials"]
    return boto3.session.Session(aws_access_key_id=creds["AccessKeyId"],
                                 aws_secret_access_key=creds["SecretAccessKey"],
                                 aws_session_token=creds["SessionToken"], region_name=region)


def main():
    endpoint, account_id, region, cluster = sys.argv[1:5]
    tagging = "--tagging" in sys.argv
    s = session_for(endpoint, account_id, region)
    c = lambda name: s.client(name, endpoint_url=endpoint)
    ecs, ec2, elb, iam = c("ecs"), c("ec2"), c("elbv2"), c("iam")

    ecs.create_cluster(clusterName=cluster)
    if tagging:
        for name in ("serviceLongArnFormat", "taskLongArnFormat"):
            ecs.put_account_setting(name=name, value="enabled")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = {}
    for i, (zone, purpose) in enumerate([("a", "internal"), ("b", "internal"), ("a", "external"), ("c", "internal")]):
        tags = [{"Key": "immutable_metadata", "Value": json.dumps({"purpose": purpose, "target": "ecs"})}]
        sn = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{zone}",
                               TagSpecifications=[{"ResourceType": "subnet", "Tags": tags}])["Subnet"]["SubnetId"]
        subnets[f"{purpose}-{zone}"] = sn
    sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    other_sg = ec2.create_security_group(GroupName="web", Description="web elsewhere", VpcId=other_vpc)["GroupId"]
    tg = elb.create_target_group(Name="web-tg", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    tg2 = elb.create_target_group(Name="admin-tg", Protocol="HTTP", Port=81, VpcId=vpc, TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    # ECS refuses a target group no load balancer is associated with (emulator B3): a rule of a
    # fixture ALB references both at weight 0, which associates them without sending them traffic.
    alb = elb.create_load_balancer(Name="fixtures-alb", Subnets=[subnets["internal-a"], subnets["internal-b"]])["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elb.create_listener(LoadBalancerArn=alb, Protocol="HTTP", Port=80,
                                   DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])["Listeners"][0]["ListenerArn"]
    elb.create_rule(ListenerArn=listener, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/fixtures/*"]}],
                    Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg, "Weight": 0}, {"TargetGroupArn": tg2, "Weight": 0}]}}])
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    untrusted = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    # IAM is global: a second region of the same account finds the roles there already.
    def role(name, policy, **extra):
        try:
            return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy), **extra)["Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            return iam.get_role(RoleName=name)["Role"]["Arn"]
    task_role = role("app-task", trust, Path="/apps/")
    role("ec2-only", untrusted)
    print(json.dumps({"vpc": vpc, "subnets": subnets, "securityGroup": sg, "otherSecurityGroup": other_sg,
                      "targetGroup": tg, "adminTargetGroup": tg2, "taskRole": task_role}))


if __name__ == "__main__":
    main()
