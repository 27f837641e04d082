"""The attacker's probe of `serve`, measured (scripts/probe runs it on the release binary).

Each figure is what issue #15 found before the fix, measured again:
  - a configuration of `x: [[[...]]]` 32,000 deep: how long until ecs-deployer answers;
  - GET /health while an 8 MiB post of 22,489 invalid operations is checked: its latency;
  - five clients sending one header line a second: how long until serve closes each;
  - Content-Length 10^12 with a 2-byte body: how long until the answer;
  - the cost of authorization: POST /ecs/ops latency with a principals file and restricted accounts.
No AWS is needed: every post here is refused or fails validation before a task would run.
"""

import hashlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BINARY = sys.argv[1]
DIR = tempfile.mkdtemp(prefix="ecs-deployer-probe-")
CONFIG = os.path.join(DIR, "clouddriver.yml")
with open(CONFIG, "w") as f:
    f.write(
        "aws:\n  accounts:\n    - name: aws-main\n      accountId: '123456789012'\n      regions: [{name: us-west-2}]\n"
        "      permissions: {READ: [payments], WRITE: [payments]}\n"
        "ecs:\n  accounts:\n    - {name: ecs-main, awsAccount: aws-main}\n"
    )
TOKEN = "probe-token-0123456789abcdef"
with open(os.path.join(DIR, "principals.yml"), "w") as f:
    f.write(f"principals:\n  - {{name: team, tokenSha256: {hashlib.sha256(TOKEN.encode()).hexdigest()}, roles: [payments]}}\n")


# Tasks that do get stored fail at once: no AWS answers on port 9.
ENV = dict(os.environ, AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="probe", AWS_SECRET_ACCESS_KEY="probe", AWS_REGION="us-west-2")


def start(*args):
    proc = subprocess.Popen(
        [BINARY, "--config", CONFIG, "serve", "--listen", "127.0.0.1:0", "--store-file", os.path.join(DIR, f"t{time.time_ns()}.db"), *args],
        stderr=subprocess.PIPE, text=True, cwd=DIR, env=ENV,
    )
    for line in proc.stderr:
        if "listening on http://" in line:
            port = int(line.split("listening on http://")[1].split()[0].rsplit(":", 1)[1])
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, port
    raise SystemExit("serve did not start")


def exchange(port, data, timeout=60):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(timeout)
    s.sendall(data)
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
    except OSError:
        pass
    s.close()
    return out


def post(port, body, headers=""):
    head = f"POST /ecs/ops HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{headers}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    return exchange(port, head.encode() + body)


def deep_yaml():
    path = os.path.join(DIR, "deep.yml")
    with open(path, "w") as f:
        f.write("x: " + "[" * 32000 + "]" * 32000 + "\n")
    started = time.perf_counter()
    run = subprocess.run([BINARY, "--config", path, "list", "--account", "a", "--region", "us-west-2"], capture_output=True, text=True, env=ENV)
    return (time.perf_counter() - started) * 1000, run.returncode


def health_during_large_post():
    proc, port = start()
    op = {"disableServerGroup": {"credentials": "nope", "region": "nowhere", "padding": "x" * 270}}
    body = json.dumps([op] * 22489).encode()
    latencies = []
    for _ in range(5):
        done = threading.Event()

        def big():
            post(port, body)
            done.set()

        t = threading.Thread(target=big)
        t.start()
        worst = 0.0
        while not done.is_set():
            started = time.perf_counter()
            exchange(port, f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
            worst = max(worst, time.perf_counter() - started)
        t.join()
        latencies.append(worst * 1000)
    proc.kill()
    return max(latencies), len(body)


def slow_clients():
    proc, port = start("--header-timeout", "10s")
    closed = []

    def client():
        s = socket.create_connection(("127.0.0.1", port))
        started = time.perf_counter()
        s.sendall(b"GET /task HTTP/1.1\r\n")
        try:
            for i in range(120):
                time.sleep(1)
                s.sendall(f"X-Slow-{i}: 1\r\n".encode())
                s.sendall(b"")
        except OSError:
            pass
        closed.append(time.perf_counter() - started)

    threads = [threading.Thread(target=client) for _ in range(5)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    proc.kill()
    return max(closed)


def lying_length():
    proc, port = start()
    started = time.perf_counter()
    answer = exchange(port, f"POST /ecs/ops HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n[]".encode())
    proc.kill()
    return (time.perf_counter() - started) * 1000, answer.split(b" ")[1].decode() if answer else "closed"


def authorization_cost():
    denied = json.dumps([{"disableServerGroup": {"credentials": "ecs-main", "region": "us-west-2", "serverGroupName": "a-v000"}}]).encode()
    figures = {}
    for label, args, headers in [
        ("token, open", ["--token-file", os.path.join(DIR, "token")], f"Authorization: Bearer {TOKEN}\r\n"),
        ("principals, restricted", ["--principals", os.path.join(DIR, "principals.yml")], f"Authorization: Bearer {TOKEN}\r\n"),
    ]:
        with open(os.path.join(DIR, "token"), "w") as f:
            f.write(TOKEN)
        proc, port = start(*args)
        times = []
        for _ in range(200):
            started = time.perf_counter()
            answer = post(port, denied, headers)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        proc.kill()
        figures[label] = statistics.median(times)
    return figures


ms, code = deep_yaml()
print(f"config nested 32,000 deep: answered in {ms:.0f} ms (exit {code}); before #15: 2.5 s for 64 KB, over 20 s for 200 KB")
worst, size = health_during_large_post()
print(f"/health during a {size / 1048576:.1f} MiB post of 22,489 invalid operations: worst {worst:.1f} ms over 5 posts; before #15: 381 ms")
print(f"5 clients sending a header line a second: all closed after {slow_clients():.1f} s (--header-timeout 10s); before #15: open after 40 s")
ms, status = lying_length()
print(f"Content-Length 10^12 with a 2-byte body: {status} after {ms:.0f} ms; before #15: no answer")
for label, median in authorization_cost().items():
    print(f"POST /ecs/ops (validated, authorized, stored), {label}: median {median:.2f} ms over 200")
