#!/usr/bin/env python3
"""The benchmark's loopback proxy in front of the emulator (scripts/bench): it adds a fixed delay
to every AWS request and logs each one, as seen from the client's side.

usage: delay_proxy.py PORT UPSTREAM_URL [PARENT_PID]

A request's answer goes back `delay + s` after the request reached the proxy, `s` being the CPU
time the emulator spent on that request alone (the emulator reports it in `x-harness-cpu` when
asked with `x-harness-timing`): the round trip of a server that serves concurrent requests in
parallel, as AWS does. The emulator gets each request at once. It serves requests on one Python
interpreter, so concurrent requests queue behind each other's work inside it; that queueing is
moto's, not AWS's, and is hidden only as far as it fits in the delay: an answer that is still not
ready at its time goes back when it is. Nothing comes back sooner than the delay plus the
request's own service time.

Control (never forwarded): `POST /_proxy {"delayMs": 50}`; `GET /_proxy/requests` (each request's
operation, start and end as the client sees them, and the emulator's CPU time `cpu`);
`DELETE /_proxy/requests`. Everything else, `/_harness` included, goes to the emulator.

One event loop, one thread: the proxy's own work per request is a few hundred microseconds, in a
process of its own beside the emulator's.
"""
import asyncio
import json
import os
import sys
import time
from urllib.parse import parse_qs, urlparse

UPSTREAM = urlparse(sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:5000")
state = {"delay": 0.0, "requests": []}


def operation(headers, body):
    target = headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    return parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]


def with_connection_close(head):
    """The request head with `Connection: close` (one request per upstream connection, so the
    answer ends where the emulator closes it) and the emulator asked for its CPU time."""
    lines = [line for line in head.split(b"\r\n") if line and not line.lower().startswith(b"connection:")]
    return b"\r\n".join(lines + [b"Connection: close", b"x-harness-timing: 1"]) + b"\r\n\r\n"


def split_answer(raw):
    """(head lines, body) of a whole HTTP answer; the emulator's CPU time taken out of the head."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines, cpu = [], 0.0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"x-harness-cpu:"):
            cpu = float(line.split(b":", 1)[1])
        elif not line.lower().startswith(b"connection:"):
            lines.append(line)
    return lines + [b"Connection: close"], body, cpu


async def control(method, path, body, writer):
    if method == "POST" and path == "/_proxy":
        conf = json.loads(body or b"{}")
        if "delayMs" in conf:
            state["delay"] = int(conf["delayMs"]) / 1000.0
        out = b"{}"
    elif path == "/_proxy/requests":
        out = json.dumps(state["requests"]).encode()
        if method == "DELETE":
            state["requests"] = []
    else:
        out = b"{}"
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(out), out))
    await writer.drain()


WARM = 16  # connections to the emulator kept open ahead of need
warm = []
opening = [0]  # connections being opened for `warm`


async def connect():
    return await asyncio.open_connection(UPSTREAM.hostname, UPSTREAM.port)


async def keep_warm():
    while len(warm) + opening[0] < WARM:
        opening[0] += 1
        try:
            warm.append(await connect())
        finally:
            opening[0] -= 1


async def forward(request):
    """The emulator's whole answer to `request`, sent on a connection opened ahead of need: the
    emulator's server accepts a connection and starts its thread on the same interpreter that
    serves the requests, so connections opened at the moment of a burst would queue there."""
    for attempt in range(2):
        reader, writer = warm.pop() if warm and attempt == 0 else await connect()
        asyncio.ensure_future(keep_warm())
        writer.write(request)
        await writer.drain()
        # Half-close: after answering, the emulator's server waits up to 10 ms for more input from
        # the client before it closes the connection (werkzeug's drain), and the answer ends there.
        writer.write_eof()
        raw = await reader.read()
        writer.close()
        if raw:
            return raw
    raise ConnectionError("the emulator closed the connection without an answer")


async def serve(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        arrived = time.time()
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
        if "chunked" in headers.get("transfer-encoding", ""):
            raise ValueError("chunked request bodies are not proxied")
        body = await reader.readexactly(int(headers.get("content-length", 0) or 0))
        method, path = request_line.split(" ")[:2]
        if path.startswith("/_proxy"):
            return await control(method, path, body, writer)
        delay = state["delay"]
        lines, answer, cpu = split_answer(await forward(with_connection_close(head) + body))
        if delay:
            await asyncio.sleep(max(0.0, arrived + delay + cpu - time.time()))
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + answer)
        await writer.drain()
        state["requests"].append({"operation": operation(headers, body), "start": arrived, "end": time.time(), "cpu": cpu})
    except (asyncio.IncompleteReadError, ConnectionError, ValueError) as e:
        print(f"delay_proxy: {e!r}", file=sys.stderr)
    finally:
        writer.close()


async def main():
    port = int(sys.argv[1])
    if len(sys.argv) > 3:
        parent = int(sys.argv[3])

        async def watch():
            while True:
                try:
                    os.kill(parent, 0)
                except OSError:
                    os._exit(0)
                await asyncio.sleep(0.5)

        asyncio.ensure_future(watch())
    await keep_warm()
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=256)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
