#!/usr/bin/env python3
"""`./dev cluster` as a user runs it (README, docs/DEPLOY-LOCAL.md), on ports and a project of
its own: `./dev cluster --detach` must end with the summary, every address the summary names
must answer (the API with the token and not without, the dashboard, the MCP gateway, the three
NATS ports), and `./dev cluster down` must leave no container, network or volume of the project.
Run by tests/e2e/run after the images are built (SMITH_IMAGE and NATS_IMAGE name them); stdlib
only. The last line is `cluster: N passed, N failed`.
"""
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from permissions_test import mcp  # one JSON-RPC request to the gateway's POST /mcp

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "smith-cluster-test-" + secrets.token_hex(3)
passed = failed = 0


def check(ok, what):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print(f"{'ok   ' if ok else 'FAIL '} {what}", flush=True)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, token=None):
    """(status, content type, body) of a GET; status 0 when nothing answers."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        r = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
    except urllib.error.HTTPError as e:
        r = e
    except OSError:
        return 0, "", b""
    return r.status, r.headers.get("Content-Type", ""), r.read()


def nats_info(url):
    """The first line a NATS server sends on connect (INFO {...}), or ''."""
    host, port = url.removeprefix("nats://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=5) as s:
            return s.makefile("rb").readline().decode(errors="replace")
    except OSError:
        return ""


def leftovers():
    label = f"label=com.docker.compose.project={PROJECT}"
    out = []
    for kind in (["ps", "-aq"], ["network", "ls", "-q"], ["volume", "ls", "-q"]):
        r = subprocess.run(["docker", *kind, "--filter", label], capture_output=True, text=True)
        out += r.stdout.split()
    return out


def run(*args, timeout):
    print(f"$ ./dev cluster {' '.join(args)}", flush=True)
    r = subprocess.run([str(ROOT / "dev"), "cluster", *args], capture_output=True, text=True,
                       timeout=timeout, env=ENV)
    print(r.stdout + r.stderr, end="", flush=True)
    return r


with tempfile.TemporaryDirectory() as tmp:
    ports = {name: free_port() for name in ("SMITH_HTTP_PORT", "SMITH_GATEWAY_PORT",
                                            "SMITH_NATS_PORT_1", "SMITH_NATS_PORT_2", "SMITH_NATS_PORT_3")}
    ENV = dict(os.environ, SMITH_CLUSTER_PROJECT=PROJECT,
               SMITH_CLUSTER_ENV_FILE=str(Path(tmp) / "cluster.env"),
               **{k: str(v) for k, v in ports.items()})
    try:
        up = run("--detach", timeout=900)
        out = up.stdout
        check(up.returncode == 0 and "is up:" in out, "./dev cluster --detach: exit 0 after the summary")
        api = re.search(r"^  API +(http://\S+/v1/queues)", out, re.M)
        ui = re.search(r"^  dashboard +(http://\S+/ui)", out, re.M)
        gateway = re.search(r"^  MCP gateway +http://127\.0\.0\.1:(\d+)/mcp", out, re.M)
        nats_urls = re.findall(r"nats://127\.0\.0\.1:\d+", out)
        token = re.search(r"^  token +(\S+)", out, re.M)
        check(api and ui and gateway and token and len(nats_urls) == 3,
              "the summary names the API, the dashboard, the MCP gateway, the token and 3 NATS ports")
        check(api and api[1] == f"http://127.0.0.1:{ports['SMITH_HTTP_PORT']}/v1/queues",
              "the API is on the port SMITH_HTTP_PORT asked for")
        if api and token:
            status, _, body = get(api[1], token[1])
            queues = json.loads(body)["queues"] if status == 200 else []
            check(status == 200 and sum(q["workers"] for q in queues) == 6,
                  f"GET {api[1]} with the token: 200, 6 workers ({status})")
            status, _, _ = get(api[1])
            check(status == 401, f"GET {api[1]} without the token: 401 ({status})")
        if ui:
            status, ctype, _ = get(ui[1])
            check(status == 200 and ctype.startswith("text/html"),
                  f"GET {ui[1]}: 200 text/html ({status} {ctype})")
        if gateway and token:
            status, msg = mcp(int(gateway[1]), "tools/list", token=token[1])
            names = [t["name"] for t in (msg or {}).get("result", {}).get("tools", [])]
            check(status == 200 and "echo" in names, f"the MCP gateway lists its tools ({status}, {names})")
        for url in nats_urls:
            check(nats_info(url).startswith("INFO {"), f"{url} answers as a NATS server")
    finally:
        down = run("down", timeout=300)
        check(down.returncode == 0, "./dev cluster down: exit 0")
        left = leftovers()
        check(not left, f"nothing of the project is left (containers, networks, volumes): {left}")
print(f"cluster: {passed} passed, {failed} failed", flush=True)
sys.exit(1 if failed else 0)
