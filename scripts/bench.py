#!/usr/bin/env python3
"""The deploy benchmark (run through scripts/bench). Every AWS request of a measured run goes
through the delay proxy (scripts/delay_proxy.py), which adds a fixed delay (default 50 ms) on top
of the emulator's own service time and logs each request's start and end as the client sees them.
Per scenario it reports wall time, AWS requests, the longest dependent chain (the longest sequence
of requests each starting after the previous one ended), wall / (chain x delay), and peak RSS; and
the same redeploy done strictly sequentially by a boto3 script, as Clouddriver does. One more row
measures the redeploy with the delay added inside the emulator instead, where concurrent requests
also wait for each other's work on moto's one interpreter.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import fixtures  # noqa: E402

ENDPOINT, PROXY, BINARY = sys.argv[1], sys.argv[2], sys.argv[3]
DELAY_MS = int(os.environ.get("BENCH_DELAY_MS", "50"))
REGION = "us-west-2"
CLUSTER = "bench"
PYTHON = sys.executable


def harness(method, path, body=None, endpoint=ENDPOINT):
    req = urllib.request.Request(endpoint + path, method=method, data=json.dumps(body).encode() if body is not None else None)
    return json.loads(urllib.request.urlopen(req).read() or b"null")


class Meter:
    """Where a measured run's delay is added and its requests are logged: the delay proxy (the
    client talks to it; the answer comes back the delay plus the request's own service time after
    it arrived), or the emulator's own middleware (`emulator`: the request sleeps, then waits its
    turn on moto's one interpreter behind every concurrent request)."""

    def __init__(self, emulator=False):
        self.endpoint, self.control = (ENDPOINT, "/_harness") if emulator else (PROXY, "/_proxy")

    def start(self):
        harness("POST", self.control, {"delayMs": DELAY_MS}, self.endpoint)
        harness("DELETE", self.control + "/requests", None, self.endpoint)

    def stop(self):
        harness("POST", self.control, {"delayMs": 0}, self.endpoint)
        requests = harness("GET", self.control + "/requests", None, self.endpoint)
        # The proxy's promise, checked on every run: no answer sooner than the delay plus the
        # emulator's CPU time for that request (1 ms for the event loop's timer resolution).
        early = [r for r in requests if r["end"] - r["start"] < DELAY_MS / 1000 + r["cpu"] - 0.001]
        if early:
            raise SystemExit(f"answered sooner than the delay plus the request's own service time: {early}")
        return requests


VIA_PROXY, INSIDE_EMULATOR = Meter(), Meter(emulator=True)


def emulator_cpu(requests):
    """The emulator's CPU time over all requests of a run: one Python interpreter does this work
    one request at a time, so concurrent requests queue behind it (AWS serves them in parallel)."""
    return sum(r.get("cpu", 0.0) for r in requests)


def critical_chain(requests):
    """The longest dependent chain (by count) and, among those, the one with the most time spent
    in AWS calls: returns (length, seconds inside its requests). Wall time minus that second
    figure is what the client itself spent between and around its calls."""
    reqs = sorted(requests, key=lambda r: r["start"])
    best = []  # (length, busy seconds) of the best chain ending at request i
    for i, r in enumerate(reqs):
        prev = [best[j] for j in range(i) if reqs[j]["end"] <= r["start"] + 1e-4]
        length, busy = max(prev, default=(0, 0.0))
        best.append((length + 1, busy + (r["end"] - r["start"])))
    return max(best, default=(0, 0.0))


class Account:
    def __init__(self, n, other_services=0, naming="default"):
        self.id = f"{700000000000 + n}"
        self.dir = tempfile.mkdtemp()
        self.config = os.path.join(self.dir, "clouddriver.yml")
        with open(self.config, "w") as f:
            f.write(f"aws:\n  enabled: true\n  defaultAssumeRole: role/SpinnakerManaged\n  accounts:\n    - name: aws\n      accountId: \"{self.id}\"\n"
                    f"      regions: [{{name: {REGION}}}]\necs:\n  enabled: true\n  accounts:\n    - name: ecs\n      awsAccount: aws\n"
                    f"      namingStrategy: {naming}\n")
        sys.argv_backup = sys.argv
        out = subprocess.run([PYTHON, os.path.join(ROOT, "scripts/fixtures.py"), ENDPOINT, self.id, REGION, CLUSTER, "--tagging"],
                             capture_output=True, text=True, check=True)
        self.fixtures = json.loads(out.stdout)
        self.session = fixtures.session_for(ENDPOINT, self.id, REGION)
        if other_services:
            ecs = self.client("ecs")
            td = ecs.register_task_definition(family="other", containerDefinitions=[{"name": "c", "image": "x", "memory": 64}])["taskDefinition"]["taskDefinitionArn"]
            for i in range(other_services):
                ecs.create_service(cluster=CLUSTER, serviceName=f"other{i % 40}-svc-v{i // 40:03d}", taskDefinition=td, desiredCount=0)

    def client(self, name):
        return self.session.client(name, endpoint_url=ENDPOINT)

    def run(self, args, description=None, measured=True, meter=VIA_PROXY):
        cmd = [BINARY, "--config", self.config, "--output", "json"] + args
        if description is not None:
            path = os.path.join(self.dir, "d.json")
            with open(path, "w") as f:
                json.dump(description, f)
            cmd += ["--description", path]
        env = dict(os.environ, AWS_ENDPOINT_URL=meter.endpoint, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION=REGION,
                   RUST_LOG="off")
        if measured:
            meter.start()
        started = time.perf_counter()
        out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - started
        requests = meter.stop() if measured else []
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {out.stdout}\n{out.stderr}")
        rss_kb = int(out.stderr.strip().splitlines()[-1])
        chain, busy = critical_chain(requests)
        if os.environ.get("BENCH_DETAIL") and requests:
            # Every request of the run: when it started (from the first one), how long it took.
            t0 = min(r["start"] for r in requests)
            for r in sorted(requests, key=lambda r: r["start"]):
                print(f"    {(r['start'] - t0) * 1000:7.1f} ms  {(r['end'] - r['start']) * 1000:6.1f} ms  {r['operation']}", file=sys.stderr)
        return {"wall": wall, "requests": len(requests), "chain": chain, "busy": busy, "cpu": emulator_cpu(requests), "rss_mb": rss_kb / 1024,
                "result": json.loads(out.stdout)}


def description(app, source=None, artifact=True):
    d = {"credentials": "ecs", "moniker": {"app": app, "stack": "web"}, "ecsClusterName": CLUSTER,
         "availabilityZones": {REGION: [f"{REGION}a", f"{REGION}b"]}, "capacity": {"min": 1, "max": 4, "desired": 2},
         "launchType": "FARGATE", "networkMode": "awsvpc", "subnetTypes": ["internal"], "securityGroupNames": ["web"],
         "targetGroupMappings": [{"containerName": "web", "containerPort": 80, "targetGroup": "web-tg"}], "placementStrategySequence": [],
         "useTaskDefinitionArtifact": True, "evaluateTaskDefinitionArtifactExpressions": True,
         "spelProcessedTaskDefinitionArtifact": json.load(open(os.path.join(ROOT, "task-definitions/web-fargate.json"))),
         "containerToImageMap": {"web": "nginx:1.27"}, "tags": {"team": "bench"}}
    if source:
        d["source"] = {"account": "ecs", "region": REGION, "asgName": source, "useSourceCapacity": True}
    return d


def s3_artifact_deploy(acct):
    """A first deploy whose task definition is an `s3/object` artifact: the GetObject runs while
    the session opens and the deploy observes, so the chain is the embedded deploy's."""
    import boto3
    s3 = boto3.client("s3", endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    bucket = f"bench-td-{acct.id}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    with open(os.path.join(ROOT, "task-definitions/web-fargate.json"), "rb") as f:
        s3.put_object(Bucket=bucket, Key="web/td.json", Body=f.read())
    with open(acct.config, "a") as f:
        f.write(f"artifacts:\n  s3:\n    enabled: true\n    accounts:\n      - {{name: s3, region: {REGION}}}\n")
    d = description("s3td")
    del d["spelProcessedTaskDefinitionArtifact"]
    d["evaluateTaskDefinitionArtifactExpressions"] = False
    d["resolvedTaskDefinitionArtifact"] = {"type": "s3/object", "reference": f"s3://{bucket}/web/td.json", "artifactAccount": "s3"}
    return acct.run(["deploy"], d)


def add_scaling(acct, service):
    aas, cw = acct.client("application-autoscaling"), acct.client("cloudwatch")
    rid = f"service/{CLUSTER}/{service}"
    dim = "ecs:service:DesiredCount"
    aas.register_scalable_target(ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=dim, MinCapacity=1, MaxCapacity=4)
    for i in range(3):
        arn = aas.put_scaling_policy(PolicyName=f"{service}-step{i}", ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=dim, PolicyType="StepScaling",
                                     StepScalingPolicyConfiguration={"AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                                                                     "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]})["PolicyARN"]
        cw.put_metric_alarm(AlarmName=f"{service}-alarm{i}", Namespace="AWS/ECS", MetricName="CPUUtilization", Statistic="Average", Period=60,
                            EvaluationPeriods=1, Threshold=50 + i, ComparisonOperator="GreaterThanThreshold", AlarmActions=[arn],
                            Dimensions=[{"Name": "ClusterName", "Value": CLUSTER}, {"Name": "ServiceName", "Value": service}])
    aas.put_scaling_policy(PolicyName="cpu", ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=dim, PolicyType="TargetTrackingScaling",
                           TargetTrackingScalingPolicyConfiguration={"TargetValue": 50, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}})
    for i, cron in enumerate(["cron(0 7 ? * MON *)", "cron(0 19 ? * FRI *)"]):
        aas.put_scheduled_action(ServiceNamespace="ecs", ScheduledActionName=f"sched{i}", ResourceId=rid, ScalableDimension=dim, Schedule=cron,
                                 ScalableTargetAction={"MinCapacity": 1 + i, "MaxCapacity": 4})


def baseline(acct, app, source):
    VIA_PROXY.start()
    started = time.perf_counter()
    subprocess.run([PYTHON, os.path.join(ROOT, "scripts/bench_sequential_baseline.py"), PROXY, acct.id, REGION, CLUSTER, app, source,
                    os.path.join(ROOT, "task-definitions/web-fargate.json"), "web-tg"], check=True, capture_output=True)
    wall = time.perf_counter() - started
    requests = VIA_PROXY.stop()
    chain, busy = critical_chain(requests)
    return {"wall": wall, "requests": len(requests), "chain": chain, "busy": busy, "cpu": emulator_cpu(requests), "rss_mb": float("nan")}


def redeploy_with_scaling(acct, app, meter=VIA_PROXY, with_baseline=True):
    """Deploys APP-web-v000 (not measured), gives it scaling, then measures the redeploy that
    copies it and (with_baseline) the same redeploy done by the sequential baseline."""
    acct.run(["deploy"], description(app), measured=False)
    source = f"{app}-web-v000"
    add_scaling(acct, source)
    measured = acct.run(["deploy"], description(app, source=source), meter=meter)
    return measured, baseline(acct, f"{app}-web", source) if with_baseline else None


def clone_with_scaling(acct, app):
    """Deploys APP-web-v000 (not measured), gives it scaling, then measures `clone` of it: the
    live service, its task definition and its scalable target read, then a deploy with it as
    the source."""
    acct.run(["deploy"], description(app), measured=False)
    source = f"{app}-web-v000"
    add_scaling(acct, source)
    return acct.run(["clone", "--account", "ecs", "--region", REGION, "--server-group", source, "--image", "web=nginx:2"])


def traffic_rows(acct):
    """Traffic by listener-rule weights: a shift of 1 and of 3 steps without a bake (a step's cost
    on the critical path), and a canary deploy [10, 50, 100] with a 2 s bake per step (its wall
    time against the 6 s of bake)."""
    elb, ec2 = acct.client("elbv2"), acct.client("ec2")
    vpc, subnets = acct.fixtures["vpc"], list(acct.fixtures["subnets"].values())[:2]
    tg = lambda name: elb.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    blue, green = tg("tr-blue"), tg("tr-green")
    lb = elb.create_load_balancer(Name="tr-alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80,
                                   DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])["Listeners"][0]["ListenerArn"]
    rule = elb.create_rule(ListenerArn=listener, Priority=1, Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
                           Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue, "Weight": 100},
                                                                                           {"TargetGroupArn": green, "Weight": 0}]}}])["Rules"][0]["RuleArn"]
    # The targets ECS would register (moto reports them healthy at once).
    for arn in (blue, green):
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": f"10.0.9.{i}", "Port": 80} for i in range(1, 5)])
    for name in ("tr-blue", "tr-green"):
        d = description("tr")
        d["targetGroupMappings"] = [{"containerName": "web", "containerPort": 80, "targetGroup": name}]
        acct.run(["deploy"], d, measured=False)
    base = ["--account", "ecs", "--region", REGION, "--rule", rule]
    one = acct.run(["shift"] + base + ["--from", "tr-web-v000", "--to", "tr-web-v001", "--weights", "0:100"])
    row("shift, one step (images and targets checked, journaled, written, read back)", one)
    acct.run(["switch-back"] + base, measured=False)
    three = acct.run(["shift"] + base + ["--from", "tr-web-v000", "--to", "tr-web-v001", "--steps", "10,50,100"])
    row("shift, three steps without a bake", three)
    print(f"\na shift step on the critical path: {(three['chain'] - one['chain']) / 2:.1f} requests "
          f"({(three['requests'] - one['requests']) / 2:.1f} in all)\n")
    harness("POST", "/_harness", {"ecs": [{"match": "tr-web", "behaviour": "healthy"}]})
    d = description("tr")
    d["targetGroupMappings"] = [{"containerName": "web", "containerPort": 80, "targetGroup": "tr-blue"}]
    d["trafficShift"] = {"rule": rule, "targetGroups": ["tr-blue", "tr-green"], "steps": [10, 50], "bakeSeconds": 2}
    canary = acct.run(["deploy", "--timeout", "60s"], d)
    row("canary deploy [10, 50, 100], 2 s bake each (finishes the warm group, creates, waits, shifts)", canary)
    print(f"\ncanary deploy: {canary['wall']:.2f} s wall for 6 s of bake ({canary['wall'] - 6:.2f} s beyond the bakes)\n")


def index_rows():
    """The next version, and the cluster's read view, under the tags namer in ECS clusters of 200,
    2,000 and 5,000 other services: listing every service (ECS_DEPLOYER_TAG_INDEX=off) against
    the tag index."""
    for i, n in enumerate([200, 2000, 5000]):
        acct = Account(20 + i, other_services=n, naming="tags")
        acct.run(["deploy"], description("idx"), measured=False)
        os.environ["ECS_DEPLOYER_TAG_INDEX"] = "off"
        listing = acct.run(["deploy", "--plan"], description("idx"))
        del os.environ["ECS_DEPLOYER_TAG_INDEX"]
        row(f"next version (--plan) with {n:,} other services, listing", listing)
        row(f"  same, tag index", acct.run(["deploy", "--plan"], description("idx")))
        view = ["list", "--view", "--account", "ecs", "--region", REGION, "--cluster", "idx-web"]
        os.environ["ECS_DEPLOYER_TAG_INDEX"] = "off"
        row(f"  the cluster's view (list --view --cluster), listing", acct.run(view))
        del os.environ["ECS_DEPLOYER_TAG_INDEX"]
        row(f"  same, tag index", acct.run(view))
        os.environ["ECS_DEPLOYER_TAG_INDEX"] = "only"
        row(f"  same, tag index trusted alone (ECS_DEPLOYER_TAG_INDEX=only)", acct.run(view))
        del os.environ["ECS_DEPLOYER_TAG_INDEX"]


def row(name, m):
    ratio = m["wall"] / (m["chain"] * DELAY_MS / 1000) if m["chain"] else float("nan")
    # The emulator's own service time on the chain (above the added delay), and what is left of
    # the wall time once the chain's AWS calls are taken out: process start, set-up, gaps.
    emulator = (m["busy"] - m["chain"] * DELAY_MS / 1000) * 1000
    own = (m["wall"] - m["busy"]) * 1000
    limit = m["wall"] / m["busy"] if m["busy"] else float("nan")
    rss = f"{m['rss_mb']:.1f} MB" if m["rss_mb"] == m["rss_mb"] else "n/a"
    print(f"| {name} | {m['wall'] * 1000:.0f} ms | {m['requests']} | {m['chain']} | {ratio:.2f} | {emulator:.0f} ms | {m['cpu'] * 1000:.0f} ms "
          f"| {own:.0f} ms | {limit:.2f} | {rss} |", flush=True)


class Serve:
    """`ecs-deployer serve` on loopback, its AWS requests through the delay proxy."""

    def __init__(self, acct, *args):
        env = dict(os.environ, AWS_ENDPOINT_URL=PROXY, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION=REGION, RUST_LOG="info")
        store = os.path.join(acct.dir, "tasks.db")
        self.proc = subprocess.Popen([BINARY, "--config", acct.config, "serve", "--listen", "127.0.0.1:0", "--store-file", store, *args],
                                     env=env, stderr=subprocess.PIPE, text=True)
        for line in self.proc.stderr:
            if "listening on http://" in line:
                self.base = "http://" + line.split("listening on http://")[1].split()[0]
                break
        import threading
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        try:
            return json.loads(urllib.request.urlopen(req).read() or b"null")
        except urllib.error.HTTPError as e:
            return {"status": e.code}

    def page(self, path):
        """An HTML page (the console), as text."""
        return urllib.request.urlopen(self.base + path).read().decode()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def measured(fn):
    """Runs `fn` with the proxy's delay on; the measurement of its AWS requests, as `row` reads it."""
    VIA_PROXY.start()
    started = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - started
    requests = VIA_PROXY.stop()
    chain, busy = critical_chain(requests)
    return {"wall": wall, "requests": len(requests), "chain": chain, "busy": busy, "cpu": emulator_cpu(requests), "rss_mb": float("nan"), "result": out}


def serve_rows(acct):
    """The read API through `serve`: one server-group view, one cluster view of three server
    groups, 50 pollers on one server group, and a deploy through `serve` on warm credentials."""
    for _ in range(3):
        acct.run(["deploy"], description("sv"), measured=False)
    ecs = acct.client("ecs")
    svc = ecs.describe_services(cluster=CLUSTER, services=["sv-web-v002"])["services"][0]
    net = svc["networkConfiguration"]
    ecs.run_task(cluster=CLUSTER, taskDefinition=svc["taskDefinition"], count=2, launchType="FARGATE", group="service:sv-web-v002",
                 networkConfiguration=net)
    server = Serve(acct, "--read-ttl", "2s")
    try:
        sg_path = f"/serverGroups/ecs/{REGION}/sv-web-v002"
        server.call("GET", sg_path)  # opens the session (AssumeRole) and lists the ECS clusters
        invalidate = lambda: server.call("POST", "/cache/ecs/ServerGroup", {"account": "ecs", "region": REGION, "serverGroupName": "sv-web-v002"})
        invalidate()
        row("serve: one server-group view (warm session)", measured(lambda: server.call("GET", sg_path)))
        invalidate()
        row("serve: one cluster view, 3 server groups", measured(lambda: server.call("GET", "/applications/sv/clusters/ecs/sv-web/ecs")))
        invalidate()
        polls = measured(lambda: pollers(server, sg_path, 50, 0.2, 10.0))
        lat = sorted(polls["result"])
        p50, p99 = lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000
        row(f"serve: 50 pollers x 10 s every 200 ms ({len(lat)} reads; p50 {p50:.0f} ms, p99 {p99:.0f} ms)", polls)
        ops = [{"createServerGroup": dict(description("sv"), account="ecs", credentials="ecs")}]
        row("serve: a deploy through POST /ecs/ops (warm credentials)", measured(lambda: deploy_through(server, ops)))
    finally:
        server.stop()


def console_rows(acct):
    """The console's cluster page with 10 server groups: from the read API's views (no AWS
    request while they are fresh), and after a force-refresh (the views' own reads)."""
    for _ in range(10):
        acct.run(["deploy"], description("cn"), measured=False)
    server = Serve(acct, "--read-ttl", "5s")
    try:
        server.page("/console/applications/cn")  # opens the session, reads the views
        warm = measured(lambda: server.page("/console/applications/cn"))
        assert warm["result"].count("cn-web-v0") >= 10, "the page lists the 10 server groups"
        times = []
        for _ in range(20):
            started = time.perf_counter()
            server.page("/console/applications/cn")
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        row(f"console: cluster page, 10 server groups, views fresh (median of 20: {times[10]:.1f} ms, max {times[-1]:.1f} ms)", warm)
        server.call("POST", "/cache/ecs/ServerGroup", {"account": "ecs", "region": REGION, "serverGroupName": "cn-web-v000"})
        row("console: cluster page, 10 server groups, read afresh", measured(lambda: server.page("/console/applications/cn")))
    finally:
        server.stop()


def pollers(server, path, n, every, seconds):
    """`n` threads reading `path` every `every` seconds for `seconds`; each read's latency."""
    import threading
    latencies, lock = [], threading.Lock()
    end = time.perf_counter() + seconds

    def poll():
        while time.perf_counter() < end:
            t = time.perf_counter()
            server.call("GET", path)
            with lock:
                latencies.append(time.perf_counter() - t)
            time.sleep(max(0.0, every - (time.perf_counter() - t)))

    threads = [threading.Thread(target=poll) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def deploy_through(server, ops):
    task = server.call("POST", "/ecs/ops", ops)
    while True:
        state = server.call("GET", task["resourceUri"])
        if state.get("status", {}).get("completed"):
            if state["status"].get("failed"):
                raise SystemExit(f"the deploy through serve failed: {state}")
            return state
        time.sleep(0.02)


def startup():
    times = {}
    for arg in ("--version", "--help"):
        samples = []
        for _ in range(20):
            t = time.perf_counter()
            subprocess.run([BINARY, arg], capture_output=True, check=True)
            samples.append((time.perf_counter() - t) * 1000)
        times[arg] = statistics.median(samples)
    return times


def main():
    print(f"delay per AWS request: {DELAY_MS} ms\n")
    print("| scenario | wall | AWS requests | longest chain | wall / (chain x delay) | emulator time on chain | emulator CPU, all requests "
          "| client's own time | wall / chain's AWS time | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    # Not measured: the emulator's first requests for a service load its modules and models.
    Account(0).run(["deploy"], description("warmup"), measured=False)
    if os.environ.get("BENCH_ONLY") == "console":
        console_rows(Account(8))
        return
    if os.environ.get("BENCH_ONLY") == "index":
        index_rows()
        return
    if os.environ.get("BENCH_ONLY") == "traffic":
        traffic_rows(Account(10))
        return
    if os.environ.get("BENCH_ONLY") == "redeploy":
        redeploy, _ = redeploy_with_scaling(Account(2), "scaled", with_baseline=False)
        row("redeploy, copying 4 policies, 3 alarms, 2 scheduled actions", redeploy)
        row("clone of a server group with the same scaling (its image changed)", clone_with_scaling(Account(9), "cloned"))
        return
    a = Account(1)
    row("first deploy (Fargate, awsvpc, target group, tags)", a.run(["deploy"], description("first")))

    row("first deploy, task definition downloaded from S3 (s3/object)", s3_artifact_deploy(Account(7)))

    redeploy, base = redeploy_with_scaling(Account(2), "scaled")
    row("redeploy, copying 4 policies, 3 alarms, 2 scheduled actions", redeploy)
    row("  same redeploy, sequential baseline (boto3, Clouddriver's order)", base)
    serial, _ = redeploy_with_scaling(Account(5), "serial", meter=INSIDE_EMULATOR, with_baseline=False)
    row("  same redeploy, delay inside the emulator (concurrent requests queue on moto's one interpreter)", serial)
    row("clone of a server group with the same scaling (its image changed)", clone_with_scaling(Account(9), "cloned"))
    big, big_base = redeploy_with_scaling(Account(3, other_services=2000), "big")
    row("same redeploy in an ECS cluster with 2,000 other services", big)
    row("  same, sequential baseline", big_base)

    d = Account(4)
    harness("POST", "/_harness", {"ecs": [{"match": "rb-web", "behaviour": "healthy"}]})
    d.run(["deploy"], description("rb"), measured=False)
    d.run(["deploy"], description("rb"), measured=False)
    row("red/black over two older server groups (wait, disable both)", d.run(["deploy", "--strategy", "redblack"], description("rb")))
    target = ["--account", "ecs", "--region", REGION, "--server-group", "rb-web-v000"]
    row("list", d.run(["list", "--account", "ecs", "--region", REGION, "--ecs-cluster", CLUSTER]))
    row("disable", d.run(["disable"] + target))
    row("enable", d.run(["enable"] + target))
    row("resize", d.run(["resize"] + target + ["--min", "1", "--max", "3", "--desired", "2"]))
    row("destroy", d.run(["destroy"] + target))

    traffic_rows(Account(10))
    index_rows()
    serve_rows(Account(6))
    console_rows(Account(8))

    s = startup()
    print(f"\nredeploy vs sequential baseline: {base['wall'] / redeploy['wall']:.1f}x faster "
          f"({big_base['wall'] / big['wall']:.1f}x with 2,000 other services)")
    print(f"start-up (median of 20): --version {s['--version']:.1f} ms, --help {s['--help']:.1f} ms")


if __name__ == "__main__":
    main()
