#!/usr/bin/env python3
"""The compose NATS permissions, checked against a plain local nats-server (no Docker).

Starts one nats-server on free loopback ports with deploy/nats/auth.conf (the very file the
compose cluster includes) and JetStream, then:
  - applies the topology as smith-admin (`smith topology apply`),
  - runs `smith worker` of each role with that role's user and gets an echo task done by each,
    and finds no permission violation in the server log,
  - proves a worker's credentials cannot publish to another role's task subject (the publish is
    refused with a permissions violation and no JetStream ack; the stream holds nothing new),
    nor publish another role's result (but may its own, and read it back by direct get), nor
    pull another role's consumer, nor change the topology,
  - and that the client user cannot consume tasks;
  - runs `smith gateway` as smith-gateway with deploy/gateway/tools.json: MCP tools/call over
    HTTP (2026-07-28) answered by the workers, and a call cancelled by closing its stream; the
    gateway user publishes each tool's task subject and no other task subject (auth.conf's list
    is the tools file's role/type pairs, nothing broader), cannot pull, ack or change the topology.

  tests/e2e/permissions_test.py [--smith PATH]   (default: build/services/smith, else `smith`)

Needs nats-server on PATH and the pip packages nats-py and msgpack (tests/e2e/run makes a venv).
The last line is `permissions: N passed, N failed`; exit 0 when nothing failed, 77 when
nats-server or smith is missing.
"""
import argparse
import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import msgpack
import nats
from nats.errors import TimeoutError as NatsTimeout

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("compile", "analyze", "execute")
TOOLS = json.loads((ROOT / "deploy/gateway/tools.json").read_text())["tools"]

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {what}", flush=True)
    else:
        failed += 1
        print(f"FAIL  {what}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def passwords():
    names = ["ADMIN", "ORCHESTRATOR", "CLIENT", "GATEWAY"] + [f"WORKER_{r.upper()}" for r in ROLES]
    # nats-server parses an environment value as a config value: a password must start with a
    # letter (a leading digit reads as a number).
    return {f"SMITH_{n}_PASSWORD": "p" + secrets.token_hex(16) for n in names}


def task_body(task_id, typ, payload):
    return msgpack.packb({"v": 2, "id": task_id, "type": typ, "payload": payload,
                          "created_ms": int(time.time() * 1000)}, use_bin_type=True)


async def connect(url, user, password, errors):
    async def on_error(e):
        errors.append(str(e))

    return await nats.connect(url, user=user, password=password, error_cb=on_error,
                              allow_reconnect=False, connect_timeout=3)


def mcp(port, method, params=None, stream=False, token="tok"):
    """One 2026-07-28 request to the gateway's POST /mcp: params._meta and the routing headers
    (docs/MCP.md). Returns (HTTP status, JSON-RPC message), or the open response with stream."""
    params = dict(params or {})
    params["_meta"] = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                       "io.modelcontextprotocol/clientCapabilities": {}, **params.get("_meta", {})}
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method, "Authorization": f"Bearer {token}"}
    headers.update({"Mcp-Name": params["name"]} if "name" in params else {})
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    try:
        r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/mcp", body, headers),
                                   timeout=30)
    except urllib.error.HTTPError as e:
        r = e
    except OSError as e:  # not serving (yet)
        return 0, {"error": repr(e)}
    return (r.status, r) if stream else (r.status, json.loads(r.read() or b"null"))


def gateway_publish_list():
    """The smith-gateway user's publish allow list, as auth.conf writes it."""
    conf = (ROOT / "deploy/nats/auth.conf").read_text()
    block = re.search(r"user: smith-gateway,.*?publish: \{ allow: \[(.*?)\]", conf, re.S)
    return re.findall(r'"([^"]+)"', block.group(1)) if block else []


async def refused(conn, errs, subject, data=b""):
    """A request (JetStream publish, API call) the server drops: a violation naming it, no answer."""
    errs.clear()
    try:
        await conn.request(subject, data, timeout=1)
        answered = True
    except Exception:
        answered = False
    await asyncio.sleep(0.2)
    return not answered and any("permissions violation" in e.lower() and subject.lower() in e.lower() for e in errs)


async def gateway_calls(port, nc):
    """The gateway answers MCP calls with the workers' results, and a call whose stream is
    closed is cancelled (notice, delete, a "cancelled" result: the cancel permissions)."""
    for _ in range(100):  # until it serves
        st, msg = mcp(port, "tools/list")
        if st != 0:
            break
        await asyncio.sleep(0.1)
    names = [t["name"] for t in (msg or {}).get("result", {}).get("tools", [])]
    check(st == 200 and names == [t["name"] for t in TOOLS], f"smith gateway as smith-gateway: tools/list {st} {names}")
    for name, text, want in (("echo", "hi", "hi"), ("sha256", "hi", hashlib.sha256(b"hi").hexdigest())):
        st, msg = mcp(port, "tools/call", {"name": name, "arguments": {"text": text}})
        res = (msg or {}).get("result", {})
        check(st == 200 and not res.get("isError") and res.get("content", [{}])[0].get("text") == want,
              f"gateway tools/call {name} over HTTP, run by a worker: {st} {json.dumps(msg)[:200]}")
    sub = await nc.subscribe("smith.result.execute.*")
    st, r = mcp(port, "tools/call", {"name": "wait", "arguments": {"ms": 3000}, "_meta": {"progressToken": "p"}},
                stream=True)
    if st == 200:
        with r:  # the first progress event, then the stream is closed
            while (line := r.readline()) and b"notifications/progress" not in line:
                pass
    try:
        res = msgpack.unpackb((await sub.next_msg(timeout=10)).data, raw=False)
    except NatsTimeout:
        res = {}
    await sub.unsubscribe()
    check(res.get("status") == "cancelled", f"gateway: closing a call's stream cancels its task: {res.get('error')}")


async def gateway_refusals(url, env, js):
    """What the gateway user may not do, and every tool's task subject it may publish."""
    gerr = []
    gc = await connect(url, "smith-gateway", env["SMITH_GATEWAY_PASSWORD"], gerr)
    before = (await js.stream_info("SMITH_TASKS")).state.last_seq
    tid = "perm-g-" + secrets.token_hex(4)
    for subject in (f"smith.task.compile.echo.{tid}", f"smith.task.execute.hash.{tid}",
                    f"smith.schedule.execute.echo.{tid}", f"smith.result.compile.{tid}",
                    "$JS.API.CONSUMER.MSG.NEXT.SMITH_TASKS.role-execute", "$JS.ACK.SMITH_TASKS.role-execute.1.1.1.0.0",
                    "$JS.API.STREAM.CREATE.SMITH_X", "$JS.API.STREAM.DELETE.SMITH_TASKS",
                    "$JS.API.STREAM.PURGE.SMITH_TASKS", "$JS.API.CONSUMER.DURABLE.CREATE.SMITH_TASKS.role-x"):
        check(await refused(gc, gerr, subject, b"{}" if subject.startswith("$JS.API") else b"x"),
              f"smith-gateway publishing to {subject}: refused (permissions violation, no answer)")
    after = (await js.stream_info("SMITH_TASKS")).state.last_seq
    check(after == before, f"nothing reached SMITH_TASKS from the gateway's refused publishes ({before} -> {after})")
    pairs = sorted({(t["role"], t["type"]) for t in TOOLS})
    for role, typ in pairs:  # no worker runs now: the tasks stay queued
        gerr.clear()
        try:
            ack = json.loads((await gc.request(f"smith.task.{role}.{typ}.{tid}", b"x", timeout=2)).data)
        except Exception as e:
            ack = {"error": repr(e)}
        check(ack.get("stream") == "SMITH_TASKS" and not gerr,
              f"smith-gateway publishing to smith.task.{role}.{typ}.<id> (a tool's): stored {ack}")
    await gc.close()
    listed = gateway_publish_list()
    tasks = {e for e in listed if e == ">" or re.match(r"(smith|\*)\.(task|\*|>)(\.|$)", e)}
    want = {f"smith.task.{r}.{t}.*" for r, t in pairs}
    check(listed and tasks == want, f"auth.conf: smith-gateway's task subjects are the tools file's pairs, nothing "
          f"broader (extra {sorted(tasks - want)}, missing {sorted(want - tasks)})")


async def checks(url, env, smith, work, log_path):
    client_errors = []
    nc = await connect(url, "smith-client", env["SMITH_CLIENT_PASSWORD"], client_errors)
    js = nc.jetstream(timeout=3)

    # Each role's worker, with its own user, does a task.
    procs = []
    try:
        for role in ROLES:
            wenv = dict(os.environ, SMITH_NATS_URL=url, SMITH_NATS_USER=f"smith-worker-{role}",
                        SMITH_NATS_PASSWORD=env[f"SMITH_WORKER_{role.upper()}_PASSWORD"],
                        SMITH_LOG_LEVEL="info", SMITH_DRAIN_TIMEOUT="2s")
            out = open(work / f"worker-{role}.log", "w")
            procs.append((role, out, subprocess.Popen(
                [smith, "worker", "--role", role, "--concurrency", "2", "--http-port", "0",
                 "--http-host", "127.0.0.1", "--no-apply-topology"],
                env=wenv, stdout=out, stderr=subprocess.STDOUT)))
        gport, out = free_port(), open(work / "gateway.log", "w")
        procs.append(("gateway", out, subprocess.Popen(
            [smith, "gateway", "--tools", str(ROOT / "deploy/gateway/tools.json"), "--http-port", str(gport),
             "--http-host", "127.0.0.1"], stdout=out, stderr=subprocess.STDOUT,
            env=dict(os.environ, SMITH_NATS_URL=url, SMITH_NATS_USER="smith-gateway", SMITH_API_TOKEN="tok",
                     SMITH_NATS_PASSWORD=env["SMITH_GATEWAY_PASSWORD"]))))
        cases = [("echo", b"hi", b"hi"), ("hash", b"hi", hashlib.sha256(b"hi").hexdigest().encode()),
                 ("sleep", b"5", None)]
        for role in ROLES:
            for typ, payload, want in cases:
                tid = f"perm-{role}-{typ}-{secrets.token_hex(4)}"
                sub = await nc.subscribe(f"smith.result.{role}.{tid}")
                await js.publish(f"smith.task.{role}.{typ}.{tid}", task_body(tid, typ, payload),
                                 headers={"Nats-Msg-Id": tid, "Smith-Type": typ})
                try:
                    msg = await sub.next_msg(timeout=10)
                    res = msgpack.unpackb(msg.data, raw=False)
                    check(res.get("ok") is True and (want is None or res.get("output") == want),
                          f"a {role} worker with user smith-worker-{role} runs a {typ} task and stores its result"
                          + ("" if res.get("ok") else f": {res.get('error')}"))
                except NatsTimeout:
                    check(False, f"a {role} worker with user smith-worker-{role} runs a {typ} task (no result in 10 s)")
                await sub.unsubscribe()
        # The orchestrator counts workers by asking them; their answers are responses.
        oerr = []
        oc = await connect(url, "smith-orchestrator", env["SMITH_ORCHESTRATOR_PASSWORD"], oerr)
        try:
            reply = await oc.request("smith.ping.workers", b"", timeout=2)
            body = reply.data.decode(errors="replace")
            check('"role"' in body, f"a worker answers smith-orchestrator's smith.ping.workers: {body[:120]}")
        except Exception:
            print("note  no worker answered smith.ping.workers (this smith may predate worker pings)",
                  flush=True)
        await oc.close()
        await gateway_calls(gport, nc)
    finally:
        for role, out, p in procs:
            p.send_signal(signal.SIGTERM)
        for role, out, p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            out.close()

    server_log = log_path.read_text()
    violations = [l for l in server_log.splitlines() if "Violation" in l]
    check(not violations, "no permission violation by the workers, the gateway, the admin or the client"
          + ("" if not violations else ":\n      " + "\n      ".join(violations[:5])))
    for name in [f"worker-{r}" for r in ROLES] + ["gateway"]:
        wlog = (work / f"{name}.log").read_text()
        check("nats async error" not in wlog and "Permissions Violation" not in wlog,
              f"{name}: no async error in its log")

    before = (await js.stream_info("SMITH_TASKS")).state.messages

    # A compile worker's credentials: no publishing to another role's task subject.
    werr = []
    wc = await connect(url, "smith-worker-compile", env["SMITH_WORKER_COMPILE_PASSWORD"], werr)
    wjs = wc.jetstream(timeout=2)
    # A JetStream publish is a request: no ack comes, the server dropped it.
    check(await refused(wc, werr, "smith.task.execute.echo.perm-x", task_body("perm-x", "echo", b"x")),
          "smith-worker-compile publishing to smith.task.execute.echo.perm-x: refused (permissions violation, no ack)")
    # Plain publish (no ack asked) is dropped by the server too: the stream holds nothing new.
    await wc.publish("smith.task.compile.echo.perm-y", task_body("perm-y", "echo", b"y"))
    await wc.flush()
    await asyncio.sleep(0.3)
    after = (await js.stream_info("SMITH_TASKS")).state.messages
    check(after == before, f"nothing reached SMITH_TASKS from the worker's publishes ({before} -> {after})")

    # Results: only under its own role (smith.result.compile.>), read back by direct get.
    result = msgpack.packb({"v": 2, "id": "x", "ok": True, "output": b""}, use_bin_type=True)
    check(await refused(wc, werr, "smith.result.analyze.x", result),
          "smith-worker-compile publishing to smith.result.analyze.x: refused (permissions violation, no ack)")
    werr.clear()
    try:
        ack = await wjs.publish("smith.result.compile.x", result)
        stored = ack.stream == "SMITH_RESULTS"
    except Exception:
        stored = False
    check(stored and not werr, "smith-worker-compile publishing to smith.result.compile.x: stored in SMITH_RESULTS"
          + ("" if not werr else f": {werr}"))
    # A worker reads stored results by direct get with the subject in the API subject (what
    # smith sends for a literal subject): its own role's, and no other's.
    try:
        reply = await wc.request("$JS.API.DIRECT.GET.SMITH_RESULTS.smith.result.compile.x", b"",
                                 timeout=2)
        got = reply.data == result and reply.headers.get("Nats-Subject") == "smith.result.compile.x"
    except Exception:
        got = False
    check(got and not werr, "smith-worker-compile reads smith.result.compile.x by direct get on SMITH_RESULTS")
    check(await refused(wc, werr, "$JS.API.DIRECT.GET.SMITH_RESULTS.smith.result.analyze.x"),
          "smith-worker-compile reading smith.result.analyze.x by direct get: refused")

    # Nor pulling another role's consumer, nor changing the topology.
    check(await refused(wc, werr, "$JS.API.CONSUMER.MSG.NEXT.SMITH_TASKS.role-execute", b'{"batch":1,"no_wait":true}'),
          "smith-worker-compile pulling from role-execute: refused")
    try:
        await wjs.delete_stream("SMITH_TASKS")
        deleted = True
    except Exception:
        deleted = False
    check(not deleted, "smith-worker-compile deleting SMITH_TASKS: refused")
    await wc.close()

    # The client submits and reads, but does not consume tasks.
    check(await refused(nc, client_errors, "$JS.API.CONSUMER.MSG.NEXT.SMITH_TASKS.role-compile",
                        b'{"batch":1,"no_wait":true}'), "smith-client pulling from role-compile: refused")
    await gateway_refusals(url, env, js)
    await nc.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smith", default=None)
    args = ap.parse_args()
    smith = args.smith or (str(ROOT / "build/services/smith") if (ROOT / "build/services/smith").exists()
                           else shutil.which("smith"))
    server = shutil.which("nats-server")
    if not smith or not server:
        print("permissions: skipped (needs nats-server and smith)")
        return 77

    env = passwords()
    work = Path(tempfile.mkdtemp(prefix="smith-perm."))
    port, http = free_port(), free_port()
    shutil.copy(ROOT / "deploy/nats/auth.conf", work / "auth.conf")
    (work / "server.conf").write_text(
        f"server_name: perm-1\nlisten: 127.0.0.1:{port}\nhttp: 127.0.0.1:{http}\n"
        f"jetstream {{ store_dir: \"{work / 'js'}\" }}\ninclude ./auth.conf\n")
    log_path = work / "server.log"
    srv = subprocess.Popen([server, "-c", str(work / "server.conf")], env=dict(os.environ, **env),
                           stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    url = f"nats://127.0.0.1:{port}"
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline or srv.poll() is not None:
                    print(log_path.read_text())
                    check(False, "nats-server starts with deploy/nats/auth.conf")
                    return 1
                time.sleep(0.05)
        check(True, "nats-server starts with deploy/nats/auth.conf")
        r = subprocess.run([smith, "topology", "apply"], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, SMITH_NATS_URL=url, SMITH_NATS_USER="smith-admin",
                                    SMITH_NATS_PASSWORD=env["SMITH_ADMIN_PASSWORD"], SMITH_REPLICAS="1"))
        check(r.returncode == 0, "smith topology apply as smith-admin"
              + ("" if r.returncode == 0 else f": {r.stdout}{r.stderr}"))
        asyncio.run(checks(url, env, smith, work, log_path))
        # A worker may read stream and consumer info but not change them.
        r = subprocess.run([smith, "topology", "apply"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, SMITH_NATS_URL=url, SMITH_NATS_USER="smith-worker-compile",
                                    SMITH_NATS_PASSWORD=env["SMITH_WORKER_COMPILE_PASSWORD"],
                                    SMITH_NATS_REQUEST_TIMEOUT="1s", SMITH_REPLICAS="1",
                                    SMITH_MAX_ACK_PENDING="7"))
        check(r.returncode != 0, "smith topology apply as smith-worker-compile (a change): refused")
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()
        if failed == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs kept in {work}")
    print(f"permissions: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
