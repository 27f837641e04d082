#!/usr/bin/env python3
"""Sustained concurrency on one cluster (#14 item 2), measured, not a test: N CLI deploys of one
Spinnaker cluster, P at a time, and M posts of the same deploy to one `serve` (--max-running R).
Reports how many deploys failed, how many name races were lost and retried, and whether every
version is distinct. usage: race.py ENDPOINT BINARY [N P M R]
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENDPOINT, BINARY = sys.argv[1], sys.argv[2]
N, P, M, R = (int(a) for a in (sys.argv[3:7] if len(sys.argv) >= 7 else ("100", "8", "200", "5")))
REGION, CLUSTER = "us-west-2", "race"
ENV = dict(os.environ, AWS_ENDPOINT_URL=ENDPOINT, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION=REGION,
           ECS_DEPLOYER_POLL_INTERVAL_MS="150")


def account(n):
    acct_id = f"{710000000000 + n}"
    d = tempfile.mkdtemp()
    config = os.path.join(d, "clouddriver.yml")
    with open(config, "w") as f:
        f.write(f"aws:\n  enabled: true\n  defaultAssumeRole: role/SpinnakerManaged\n  accounts:\n    - name: aws\n      accountId: \"{acct_id}\"\n"
                f"      regions: [{{name: {REGION}}}]\necs:\n  enabled: true\n  accounts:\n    - name: ecs\n      awsAccount: aws\n")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts/fixtures.py"), ENDPOINT, acct_id, REGION, CLUSTER, "--tagging"],
                   capture_output=True, check=True)
    return d, config


def description(app):
    return {"credentials": "ecs", "application": app, "stack": "prod", "ecsClusterName": CLUSTER,
            "availabilityZones": {REGION: [f"{REGION}a"]}, "capacity": {"min": 1, "max": 2, "desired": 1}, "launchType": "EC2",
            "networkMode": "bridge", "dockerImageAddress": "nginx", "computeUnits": 64, "reservedMemory": 64, "placementStrategySequence": []}


def cli_run():
    d, config = account(1)
    path = os.path.join(d, "d.json")
    json.dump(description("cli"), open(path, "w"))

    def one(_):
        out = subprocess.run([BINARY, "--config", config, "--output", "json", "deploy", "--description", path], capture_output=True, text=True, env=ENV)
        races = out.stderr.count("was created by another deploy")
        name = json.loads(out.stdout).get("serverGroupName") if out.returncode == 0 else None
        return out.returncode, races, name

    started = time.time()
    with ThreadPoolExecutor(P) as pool:
        results = list(pool.map(one, range(N)))
    names = [n for _, _, n in results if n]
    failed = sum(1 for c, _, _ in results if c != 0)
    print(f"CLI: {N} deploys of one cluster, {P} at a time: {failed} failed, {sum(r for _, r, _ in results)} name races lost and retried, "
          f"{len(set(names))} distinct versions of {len(names)}, {time.time() - started:.1f} s")


def serve_run():
    d, config = account(2)
    proc = subprocess.Popen([BINARY, "--config", config, "serve", "--listen", "127.0.0.1:0", "--store-file", os.path.join(d, "t.db"),
                             "--max-running", str(R)], stderr=subprocess.PIPE, text=True, env=ENV, cwd=d)
    port = None
    log = []
    while port is None:
        line = proc.stderr.readline()
        log.append(line)
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        port = m and m.group(1)
    # Keep reading its log, or serve blocks once the pipe is full.
    import threading
    threading.Thread(target=lambda: log.extend(proc.stderr), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    ops = json.dumps([{"createServerGroup": description("srv")}]).encode()
    started = time.time()
    ids = []
    for _ in range(M):
        req = urllib.request.Request(base + "/ecs/ops", data=ops, method="POST", headers={"Content-Type": "application/json"})
        ids.append(json.loads(urllib.request.urlopen(req).read())["id"])
    failed, names = 0, []
    for i in ids:
        while True:
            task = json.loads(urllib.request.urlopen(f"{base}/task/{i}").read())
            if task["status"]["completed"]:
                break
            time.sleep(0.1)
        if task["status"]["failed"]:
            failed += 1
        else:
            names.append(task["resultObjects"][0]["serverGroupName"])
    proc.terminate()
    proc.wait()
    races = "".join(log).count("was created by another deploy")
    print(f"serve: {M} posts of one cluster, --max-running {R}: {failed} failed, {races} name races lost and retried, "
          f"{len(set(names))} distinct versions of {len(names)}, {time.time() - started:.1f} s")


if __name__ == "__main__":
    cli_run()
    serve_run()
