#!/usr/bin/env python3
"""End-to-end: the compose stack (3 NATS nodes, R3 streams, two workers per role, the
orchestrator when the image has it) under load and faults. Run through tests/e2e/run, which
builds the images and the venv; this file needs docker, docker-compose or `docker compose`,
nats-py and msgpack.

  1. compose up; wait until every container is healthy (a deadline, polling docker inspect);
     seconds from container start to /ready, per smith container.
  2. faults: submit E2E_TASKS tasks (echo, hash, sleep of a few ms; roles compile, analyze,
     execute) at E2E_RATE per second; at 20 % of them `docker kill` one NATS node and one
     worker, at 40 % start both again (its /ready time is measured), at 60 % (once the cluster
     is healthy again) `docker network disconnect` another NATS node, E2E_PARTITION_SECONDS
     (6) later connect it again.
  3. throughput: E2E_TASKS more tasks as fast as they can be submitted, no faults: tasks/s.
  4. every task id of both phases: exactly one result? Missing ids, duplicate results, failed
     results, dead letters (SMITH_DLQ must be empty), read from the streams themselves.
  5. the MCP gateway from the host (when the image has it): tools/list with the API token names
     the shipped tools, tools/call of echo and sha256 answered by the workers, bad arguments an
     error that publishes no task.
  6. `compose down -v`, always (also on failure or Ctrl-C).

The last line is `e2e: N passed, N failed`.
"""
import asyncio
import calendar
import hashlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import msgpack
import nats

from permissions_test import mcp  # one 2026-07-28 JSON-RPC request to POST /mcp

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "deploy/compose/docker-compose.yml"
# A fresh project name per run: a network the engine failed to remove (see Stack.down) never
# collides with the next run's. Leftovers of earlier runs (smith-e2e*) are removed at start.
PROJECT = os.environ.get("E2E_PROJECT", "smith-e2e-" + secrets.token_hex(3))
SMITH_IMAGE = os.environ.get("SMITH_IMAGE", "mistersmith/smith:local")
NATS_IMAGE = os.environ.get("NATS_IMAGE", "mistersmith/nats:local")
TASKS = int(os.environ.get("E2E_TASKS", "2000"))
RATE = float(os.environ.get("E2E_RATE", "100"))
ROLES = ("compile", "analyze", "execute")
TYPES = tuple(os.environ.get("E2E_TYPES", "echo,hash,sleep").split(","))
HEALTH_DEADLINE = float(os.environ.get("E2E_HEALTH_DEADLINE", "240"))
PARTITION = float(os.environ.get("E2E_PARTITION_SECONDS", "6"))
RESULT_DEADLINE = float(os.environ.get("E2E_RESULT_DEADLINE", "180"))

passed = 0
failed = 0
publish_retries = 0
t0 = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - t0:7.1f}s] {msg}", flush=True)


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(f"{'ok   ' if ok else 'FAIL '} {what}", flush=True)
    return ok


def sh(*args, check_rc=True, capture=True, timeout=300):
    r = subprocess.run(list(args), capture_output=capture, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip() if capture else ''}")
    return r.stdout.strip() if capture else ""


def compose_cmd():
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"]


COMPOSE = compose_cmd()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self):
        self.env_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"{PROJECT}.{os.getpid()}.env"
        self.passwords = {f"SMITH_{n}_PASSWORD": "p" + secrets.token_hex(16)
                          for n in ("ADMIN", "ORCHESTRATOR", "WORKER_COMPILE", "WORKER_ANALYZE",
                                    "WORKER_EXECUTE", "CLIENT", "GATEWAY")}
        self.api_token = "t" + secrets.token_hex(16)
        self.ports = [free_port() for _ in range(3)]
        self.http_port = free_port()
        self.gateway_port = free_port()
        env = dict(self.passwords, SMITH_API_TOKEN=self.api_token, NATS_IMAGE=NATS_IMAGE, SMITH_IMAGE=SMITH_IMAGE,
                   SMITH_NATS_PORT_1=self.ports[0], SMITH_NATS_PORT_2=self.ports[1],
                   SMITH_NATS_PORT_3=self.ports[2], SMITH_HTTP_PORT=self.http_port,
                   SMITH_GATEWAY_PORT=self.gateway_port,
                   SMITH_ACK_WAIT=os.environ.get("E2E_ACK_WAIT", "10s"))
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        self.base = COMPOSE + ["-p", PROJECT, "--env-file", str(self.env_file), "-f", str(COMPOSE_FILE)]
        help_text = sh("docker", "run", "--rm", SMITH_IMAGE, "--help", check_rc=False)
        self.has_orchestrator = "orchestrator" in help_text
        self.services = ["nats-1", "nats-2", "nats-3", "nats-ready", "topology"]
        if self.has_orchestrator:
            self.services.append("orchestrator")
        self.has_gateway = "gateway" in help_text
        if self.has_gateway:
            self.services.append("gateway")
        self.services += [f"worker-{r}-{i}" for r in ROLES for i in (1, 2)]

    def compose(self, *args, **kw):
        return sh(*self.base, *args, **kw)

    def container(self, service):
        cid = self.compose("ps", "-q", service)
        if not cid:
            raise RuntimeError(f"no container for {service}")
        return cid.splitlines()[0]

    def inspect(self, cid):
        return json.loads(sh("docker", "inspect", cid))[0]

    def network(self):
        nets = self.inspect(self.container("nats-1"))["NetworkSettings"]["Networks"]
        return next(iter(nets))

    def down(self, quiet=False):
        """compose down -v, then whatever it could not remove. After a `docker network
        disconnect`/`connect`, the engine here (20.10) sometimes keeps a stale endpoint: `down`
        then fails on the network ("has active endpoints", with no container left) and, in
        compose v1, leaves the volumes too. Containers and volumes are removed here; such a
        network stays behind empty (only restarting the engine drops it) and is reported."""
        if not quiet:
            log("compose down -v")
            r = subprocess.run(self.base + ["down", "-v", "--remove-orphans", "-t", "5"], capture_output=True,
                               text=True, timeout=300)
            if r.returncode != 0 and r.stderr.strip():
                print("compose down: " + r.stderr.strip().splitlines()[-1], flush=True)
            self.env_file.unlink(missing_ok=True)
        projects = [PROJECT] if not quiet else []
        if quiet:  # every earlier e2e project
            for kind in (["ps", "-a"], ["volume", "ls"], ["network", "ls"]):
                out = sh("docker", *kind, "--filter", "label=com.docker.compose.project",
                         "--format", '{{.Label "com.docker.compose.project"}}', check_rc=False)
                projects += [p for p in out.split() if p.startswith("smith-e2e")]
        for project in sorted(set(projects)):
            label = f"label=com.docker.compose.project={project}"
            for cid in sh("docker", "ps", "-aq", "--filter", label, check_rc=False).split():
                sh("docker", "rm", "-f", cid, check_rc=False)
            for vol in sh("docker", "volume", "ls", "-q", "--filter", label, check_rc=False).split():
                sh("docker", "volume", "rm", "-f", vol, check_rc=False)
            for net in sh("docker", "network", "ls", "-q", "--filter", label, check_rc=False).split():
                sh("docker", "network", "rm", net, check_rc=False)
        label = f"label=com.docker.compose.project={PROJECT}"
        left = (sh("docker", "ps", "-aq", "--filter", label, check_rc=False).split()
                + sh("docker", "volume", "ls", "-q", "--filter", label, check_rc=False).split())
        nets = sh("docker", "network", "ls", "-q", "--filter", label, check_rc=False).split()
        if nets and not quiet:
            print(f"note  network {nets} left behind empty by the engine (stale endpoint after the "
                  f"disconnect/connect); removed by restarting the Docker engine", flush=True)
        return not left

    def wait_healthy(self, services, deadline_s):
        """Polls docker inspect until each service's container is healthy (or, for the one-shot
        topology, exited 0). Returns the seconds it took, or raises with the laggards."""
        start = time.monotonic()
        while True:
            pending = []
            for s in services:
                try:
                    st = self.inspect(self.container(s))["State"]
                except RuntimeError:
                    pending.append(f"{s}: no container")
                    continue
                if s == "topology":
                    if st["Status"] == "exited" and st["ExitCode"] != 0:
                        raise RuntimeError(f"topology exited {st['ExitCode']}")
                    if st["Status"] != "exited":
                        pending.append(f"{s}: {st['Status']}")
                elif st.get("Health", {}).get("Status") != "healthy":
                    pending.append(f"{s}: {st['Status']}/{st.get('Health', {}).get('Status')}")
            if not pending:
                return time.monotonic() - start
            if time.monotonic() - start > deadline_s:
                raise RuntimeError("not healthy in time: " + ", ".join(pending))
            time.sleep(0.5)


def started_at(info):
    """Container start as unix seconds (docker gives RFC 3339 with nanoseconds)."""
    ts = info["State"]["StartedAt"]
    date, frac = ts.rstrip("Z").split(".") if "." in ts else (ts.rstrip("Z"), "0")
    base = calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%S"))
    return base + float("0." + frac[:9])


def ready_seconds(stack, service, deadline_s=120):
    """Seconds from the container's start to its first 200 on /ready, asked from inside the
    container (`smith health --url .../ready`; the image has no shell or curl). Waits for the
    container to exist and run first, so it can be started before `compose up`. Resolution:
    one `docker exec`, about 0.1-0.3 s here."""
    end = time.monotonic() + deadline_s
    cid = None
    while time.monotonic() < end:
        if cid is None:
            try:
                cid = stack.container(service)
            except (RuntimeError, subprocess.SubprocessError):
                time.sleep(0.2)
                continue
        r = subprocess.run(["docker", "exec", cid, "/usr/bin/smith", "health", "--url",
                            "http://127.0.0.1:8080/ready"], capture_output=True, timeout=30)
        if r.returncode == 0:
            now = time.time()
            return now - started_at(stack.inspect(cid))
        time.sleep(0.05)
    return None


def task_for(i, phase):
    role = ROLES[i % 3]
    typ = TYPES[(i // 3) % len(TYPES)]
    tid = f"e2e-{phase}-{i:05d}-{secrets.token_hex(3)}"
    payload = {"echo": f"hello {i}".encode(), "hash": os.urandom(64), "sleep": str(2 + i % 5).encode()}[typ]
    body = msgpack.packb({"v": 2, "id": tid, "type": typ, "payload": payload,
                          "created_ms": int(time.time() * 1000)}, use_bin_type=True)
    return tid, f"smith.task.{role}.{typ}.{tid}", body, typ


async def publish(js, subject, body, tid, typ, deadline_s=90):
    """A JetStream publish with retries: the same Nats-Msg-Id makes a retry safe (a duplicate
    within the window is stored once), which is what a client must do across a node's death."""
    end = time.monotonic() + deadline_s
    delay = 0.1
    while True:
        try:
            ack = await js.publish(subject, body, timeout=5, headers={"Nats-Msg-Id": tid, "Smith-Type": typ})
            return ack
        except Exception as e:
            global publish_retries
            publish_retries += 1
            if time.monotonic() > end:
                raise RuntimeError(f"publish {tid}: {e!r}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2)


class Submitter:
    def __init__(self, js):
        self.js = js
        self.retried = 0

    async def run(self, tasks, rate, on_progress=None):
        """Publishes tasks at `rate` per second (0: as fast as acks come, 64 in flight)."""
        sem = asyncio.Semaphore(64)
        start = time.monotonic()
        pending = []

        async def one(t):
            async with sem:
                tid, subj, body, typ = t
                await publish(self.js, subj, body, tid, typ)

        for i, t in enumerate(tasks):
            if rate > 0:
                wait = start + i / rate - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            else:
                await sem.acquire()
                sem.release()
            pending.append(asyncio.create_task(one(t)))
            if on_progress is not None:
                await on_progress(i + 1)
        await asyncio.gather(*pending)
        return time.monotonic() - start


class RawState:
    def __init__(self, d):
        self.messages = d.get("messages", 0)
        self.num_subjects = d.get("num_subjects", 0)


async def results_state(js):
    """SMITH_RESULTS' state from the raw stream info (nats-py's StreamState has no num_subjects,
    the number of task ids with at least one result)."""
    msg = await js._nc.request("$JS.API.STREAM.INFO.SMITH_RESULTS", b"", timeout=3)
    d = json.loads(msg.data)
    if "error" in d:
        raise RuntimeError(d["error"])
    return RawState(d["state"])


async def consumers_report(js):
    """Per role: what the consumer on the server says (printed when results are missing)."""
    for role in ROLES:
        try:
            m = await js._nc.request(f"$JS.API.CONSUMER.INFO.SMITH_TASKS.role-{role}", b"", timeout=3)
            d = json.loads(m.data)
            print(f"  consumer role-{role}: pending {d.get('num_pending')}, ack pending {d.get('num_ack_pending')}, "
                  f"redelivered {d.get('num_redelivered')}, waiting pull requests {d.get('num_waiting')}, "
                  f"leader {d.get('cluster', {}).get('leader')}", flush=True)
        except Exception as e:
            print(f"  consumer role-{role}: {e!r}", flush=True)


async def wait_results(js, want_subjects, deadline_s):
    end = time.monotonic() + deadline_s
    last = -1
    while time.monotonic() < end:
        try:
            st = await results_state(js)
            if st.num_subjects != last:
                last = st.num_subjects
            if st.num_subjects >= want_subjects:
                return True, st
        except Exception:
            pass
        await asyncio.sleep(0.25)
    return False, None


async def read_stream(js, stream):
    """Every message of a stream, by sequence (message get through the stream leader)."""
    st = (await js.stream_info(stream)).state
    out = []
    seqs = list(range(st.first_seq, st.last_seq + 1)) if st.messages else []
    for i in range(0, len(seqs), 200):
        chunk = seqs[i:i + 200]

        async def get(seq):
            for attempt in range(5):
                try:
                    return await js.get_msg(stream, seq=seq)
                except nats.js.errors.NotFoundError:
                    return None
                except Exception:
                    await asyncio.sleep(0.2 * (attempt + 1))
            return None

        out += [m for m in await asyncio.gather(*(get(s) for s in chunk)) if m is not None]
    return out


async def permission_check(stack, urls, client_js):
    """In the compose cluster too: a compile worker's credentials cannot publish a task of
    another role (the server refuses it; no JetStream ack; nothing stored)."""
    errs = []

    async def on_error(e):
        errs.append(str(e))

    before = (await client_js.stream_info("SMITH_TASKS")).state.last_seq
    wc = await nats.connect(servers=urls, user="smith-worker-compile",
                            password=stack.passwords["SMITH_WORKER_COMPILE_PASSWORD"], error_cb=on_error,
                            connect_timeout=3, max_reconnect_attempts=2)
    refused = False
    tid = "e2e-perm-" + secrets.token_hex(4)
    try:
        await wc.jetstream(timeout=2).publish(f"smith.task.execute.echo.{tid}", b"x",
                                              headers={"Nats-Msg-Id": tid})
    except Exception:
        refused = True
    await asyncio.sleep(0.3)
    await wc.close()
    after = (await client_js.stream_info("SMITH_TASKS")).state.last_seq
    check(refused and after == before and any("permissions violation" in e.lower() for e in errs),
          "compose: smith-worker-compile cannot publish to smith.task.execute.echo.<id> (refused, nothing stored)")


def http_get(url, token=None, timeout=5):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except Exception as e:
        return 0, repr(e)


def worker_environ_closed(stack):
    """A process of the worker's uid (as an exec'd program would be) cannot read the worker's
    environment, which holds its NATS password: the worker is not dumpable."""
    cid = stack.container("worker-execute-1")
    r = subprocess.run(["docker", "exec", cid, "grep", "-c", "SMITH_NATS_PASSWORD", "/proc/1/environ"],
                       capture_output=True, text=True, timeout=30)
    uid = subprocess.run(["docker", "exec", cid, "grep", "^Uid:", "/proc/1/status"],
                         capture_output=True, text=True, timeout=30).stdout.split()
    check(r.returncode != 0 and "Permission denied" in r.stderr and uid[1:2] == ["10001"],
          f"worker: its uid (10001) cannot read /proc/1/environ: exit {r.returncode} {r.stderr.strip()[:120]}")


def orchestrator_checks(stack, task_id):
    """The orchestrator's API, from the host through its published port."""
    base = f"http://127.0.0.1:{stack.http_port}"
    st, body = http_get(base + "/ready")
    check(st == 200, f"orchestrator /ready from the host: {st}")
    st, body = http_get(base + "/v1/queues")
    check(st == 401, f"orchestrator GET /v1/queues without the token: {st}")
    st, body = http_get(base + "/v1/queues", stack.api_token)
    ok = st == 200 and all(r in body for r in ROLES)
    check(ok, f"orchestrator GET /v1/queues: {st} {body[:300]}")
    st, body = http_get(base + f"/v1/tasks/{task_id}", stack.api_token)
    check(st == 200 and task_id in body, f"orchestrator GET /v1/tasks/<id>: {st} {body[:200]}")


async def gateway_checks(stack, js):
    """The compose gateway from the host, with the API token: the shipped tools, calls run by
    the workers, and arguments that break the schema refused before anything is published."""
    port, token = stack.gateway_port, stack.api_token
    st, _ = mcp(port, "tools/list", token="wrong")
    check(st == 401, f"gateway tools/list without the token: {st}")
    st, msg = mcp(port, "tools/list", token=token)
    names = [t["name"] for t in (msg or {}).get("result", {}).get("tools", [])]
    shipped = [t["name"] for t in json.loads((ROOT / "deploy/gateway/tools.json").read_text())["tools"]]
    check(st == 200 and names == shipped, f"gateway tools/list: the shipped tools {names}")
    for name, want in (("echo", "hello mcp"), ("sha256", hashlib.sha256(b"hello mcp").hexdigest())):
        st, msg = mcp(port, "tools/call", {"name": name, "arguments": {"text": "hello mcp"}}, token=token)
        res = (msg or {}).get("result", {})
        check(st == 200 and res.get("isError") is False and res.get("content", [{}])[0].get("text") == want,
              f"gateway tools/call {name}, run by a worker: {st} {json.dumps(msg)[:200]}")
    before = (await js.stream_info("SMITH_TASKS")).state.last_seq
    st, msg = mcp(port, "tools/call", {"name": "echo", "arguments": {"text": 5}}, token=token)
    res = (msg or {}).get("result", {})
    after = (await js.stream_info("SMITH_TASKS")).state.last_seq
    check(st == 200 and res.get("isError") is True and after == before,
          f"gateway tools/call echo with bad arguments: an error, no task published ({before} -> {after}): "
          f"{json.dumps(msg)[:200]}")


def fault(stack, what, *args):
    log(f"fault: {what}")
    sh(*args)


async def main_async(stack):
    urls = [f"nats://127.0.0.1:{p}" for p in stack.ports]
    errors = []

    async def on_error(e):
        errors.append(repr(e))

    nc = await nats.connect(servers=urls, user="smith-client", password=stack.passwords["SMITH_CLIENT_PASSWORD"],
                            max_reconnect_attempts=-1, reconnect_time_wait=0.2, error_cb=on_error,
                            connect_timeout=3)
    js = nc.jetstream(timeout=5)
    sub = Submitter(js)

    # -- phase 1: faults while tasks run
    faults_tasks = [task_for(i, "f") for i in range(TASKS)]
    worker_victim, nats_victim, nats_partitioned = "worker-compile-1", "nats-2", "nats-3"
    wc, nv, np_ = stack.container(worker_victim), stack.container(nats_victim), stack.container(nats_partitioned)
    network = stack.network()
    restart_ready = {}
    done = set()

    def restart_and_time():
        sh("docker", "start", nv)
        sh("docker", "start", wc)
        restart_ready["worker"] = ready_seconds(stack, worker_victim)

    threads = []

    async def progress(n):
        frac = n / TASKS
        if frac >= 0.2 and "kill" not in done:
            done.add("kill")
            fault(stack, f"docker kill {nats_victim} and {worker_victim}", "docker", "kill", nv, wc)
        elif frac >= 0.4 and "start" not in done:
            done.add("start")
            log(f"fault: docker start {nats_victim} and {worker_victim}")
            t = threading.Thread(target=restart_and_time)
            t.start()
            threads.append(t)
        elif frac >= 0.6 and "disconnect" not in done:
            done.add("disconnect")
            # Cutting a second node off before the restarted one has caught up would leave the
            # R3 streams without a quorum: a different fault (an outage), not a partition.
            loop = asyncio.get_running_loop()
            for t in threads:
                await loop.run_in_executor(None, t.join)
            waited = await loop.run_in_executor(
                None, stack.wait_healthy, ["nats-1", "nats-2", "nats-3", "nats-ready"], 120)
            log(f"cluster healthy again ({waited:.1f} s of waiting)")
            fault(stack, f"docker network disconnect {network} {nats_partitioned} for {PARTITION:g} s",
                  "docker", "network", "disconnect", network, np_)

            def heal():
                time.sleep(PARTITION)
                fault(stack, f"docker network connect {network} {nats_partitioned}",
                      "docker", "network", "connect", "--alias", nats_partitioned, network, np_)

            t = threading.Thread(target=heal)
            t.start()
            threads.append(t)

    log(f"faults phase: {TASKS} tasks at {RATE:g}/s")
    p1_start = time.time()
    await sub.run(faults_tasks, RATE, progress)
    for t in threads:
        await asyncio.get_running_loop().run_in_executor(None, t.join)
    log("faults phase: all submitted; waiting for results")
    ok, st = await wait_results(js, TASKS, RESULT_DEADLINE)
    p1_end = time.time()
    check(ok, f"faults phase: a result for each of {TASKS} task ids within {RESULT_DEADLINE:g} s"
          + ("" if ok else " (see counts below)"))
    if not ok:
        await consumers_report(js)
    if restart_ready.get("worker") is not None:
        log(f"restarted {worker_victim}: /ready {restart_ready['worker']:.2f} s after its start")

    # The killed node must come back healthy and the partitioned one rejoin.
    try:
        stack.wait_healthy(["nats-1", "nats-2", "nats-3", "nats-ready", worker_victim], 120)
        check(True, "after the faults every NATS node, the gate and the restarted worker are healthy again")
    except RuntimeError as e:
        check(False, f"after the faults: {e}")

    # -- phase 2: throughput, no faults
    tp_tasks = [task_for(i, "t") for i in range(TASKS)]
    log(f"throughput phase: {TASKS} tasks, as fast as they go")
    p2_start = time.time()
    await sub.run(tp_tasks, 0)
    ok2, _ = await wait_results(js, 2 * TASKS, RESULT_DEADLINE)
    p2_end = time.time()
    check(ok2, f"throughput phase: a result for each of {TASKS} task ids")
    if not ok2:
        await consumers_report(js)

    # -- counting, from the streams
    log("reading SMITH_RESULTS and SMITH_DLQ")
    msgs = await read_stream(js, "SMITH_RESULTS")
    per_id = {}
    not_ok = []
    attempts_gt1 = 0
    finished = {}
    for m in msgs:
        r = msgpack.unpackb(m.data, raw=False)
        per_id.setdefault(r["id"], []).append(r)
        if not r.get("ok"):
            not_ok.append((r["id"], r.get("error")))
        if r.get("attempts", 1) > 1:
            attempts_gt1 += 1
        finished[r["id"]] = max(finished.get(r["id"], 0), r.get("finished_ms", 0))
    dlq_info = (await js.stream_info("SMITH_DLQ")).state
    tasks_info = (await js.stream_info("SMITH_TASKS")).state

    rates = {}
    for phase, tasks, start in (("faults", faults_tasks, p1_start), ("throughput", tp_tasks, p2_start)):
        ids = [t[0] for t in tasks]
        exactly_one = sum(1 for i in ids if len(per_id.get(i, [])) == 1)
        missing = [i for i in ids if i not in per_id]
        dup_ids = [i for i in ids if len(per_id.get(i, [])) > 1]
        dup_results = sum(len(per_id[i]) - 1 for i in dup_ids)
        print(f"{phase}: {len(ids)} tasks, {len(ids) - len(missing)} with a result, {exactly_one} with exactly one, "
              f"missing {len(missing)}, duplicated ids {len(dup_ids)} ({dup_results} extra results)", flush=True)
        if missing:
            print(f"  missing, first: {missing[:5]}", flush=True)
        if dup_ids:
            print(f"  duplicated, first: " + ", ".join(
                f"{i} (attempts {[r.get('attempts') for r in per_id[i]]}, workers {[r.get('worker') for r in per_id[i]]})"
                for i in dup_ids[:5]), flush=True)
        check(not missing, f"{phase}: no task id without a result (missing: {len(missing)})")
        check(exactly_one == len(ids), f"{phase}: every task id has exactly one result "
              f"({exactly_one}/{len(ids)}; duplicates: {len(dup_ids)} ids, {dup_results} extra)")
        last = max((finished.get(i, 0) for i in ids), default=0) / 1000
        rates[phase] = len(ids) / (last - start) if last > start else 0.0
    check(not not_ok, f"every result is ok (failed results: {len(not_ok)}{', first: ' + str(not_ok[:3]) if not_ok else ''})")
    check(dlq_info.messages == 0, f"SMITH_DLQ is empty ({dlq_info.messages} dead letters)")
    # Informational: every consumer reports nothing pending (the queues check above), yet after
    # leader changes nats-server 2.9 may keep acked messages of a work-queue stream for a while.
    print(f"note  SMITH_TASKS holds {tasks_info.messages} messages at the end", flush=True)
    print(f"results with attempts > 1 (redeliveries that finished): {attempts_gt1}", flush=True)
    await permission_check(stack, urls, js)
    if stack.has_orchestrator:
        orchestrator_checks(stack, faults_tasks[0][0])
    if stack.has_gateway:
        await gateway_checks(stack, js)
    # Where duplicates come from: the workers' own account of failed result stores (a store
    # that fails is naked and the task runs again; a store that did land but whose publish ack
    # was lost then gives a second result).
    for s in [s for s in stack.services if s.startswith("worker-")]:
        try:
            cid = stack.container(s)
            logs = subprocess.run(["docker", "logs", cid], capture_output=True, text=True, timeout=60)
            text = logs.stdout + logs.stderr
            n_store = text.count('"error_type":"store_failed"')
            n_retried = text.count('"outcome":"retried"')
            if n_store or n_retried:
                print(f"  {s} ({cid[:12]}): {n_store} failed result stores, {n_retried} attempts retried", flush=True)
        except Exception:
            pass
    print(f"client publish retries (same Nats-Msg-Id) across the faults: {publish_retries}", flush=True)
    await nc.close()
    return rates, (p1_end - p1_start)


def run():
    stack = Stack()
    interrupted = []

    def on_signal(sig, frame):
        interrupted.append(sig)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        image_bytes = int(sh("docker", "image", "inspect", "-f", "{{.Size}}", SMITH_IMAGE))
        print(f"image {SMITH_IMAGE}: {image_bytes / 1e6:.1f} MB ({image_bytes} bytes)", flush=True)
        check(image_bytes <= 50 * 1000 * 1000, f"image size {image_bytes / 1e6:.1f} MB <= 50 MB")
        if not stack.has_orchestrator:
            print("note: this image has no `smith orchestrator` yet: the orchestrator service is not started",
                  flush=True)
        stack.down(quiet=True)  # leftovers of an earlier run that could not clean up
        log(f"compose up ({' '.join(COMPOSE)}, project {PROJECT}, NATS image {NATS_IMAGE})")
        up_start = time.monotonic()
        smith_services = [s for s in stack.services if s.startswith("worker-") or s == "orchestrator"]
        readies = {}
        ts = []
        for s in smith_services:  # measuring from before compose up: see ready_seconds
            t = threading.Thread(target=lambda s=s: readies.__setitem__(s, ready_seconds(stack, s, HEALTH_DEADLINE)))
            t.start()
            ts.append(t)
        stack.compose("up", "-d", *stack.services, timeout=600)
        stack.wait_healthy([s for s in stack.services], HEALTH_DEADLINE)
        check(True, f"every service healthy {time.monotonic() - up_start:.1f} s after compose up")
        worker_environ_closed(stack)
        for t in ts:
            t.join()
        vals = [v for v in readies.values() if v is not None]
        check(len(vals) == len(smith_services), f"/ready answered by all {len(smith_services)} smith containers")
        if vals:
            print("seconds from container start to /ready: "
                  + ", ".join(f"{s} {v:.2f}" for s, v in sorted(readies.items()) if v is not None)
                  + f"; median {statistics.median(vals):.2f}, max {max(vals):.2f}", flush=True)
        rates, faults_secs = asyncio.run(main_async(stack))
        print(f"tasks/s through the cluster: {rates['throughput']:.0f} (throughput phase, {TASKS} tasks, "
              f"R3 streams, 2 workers x 4 per role); faults phase {rates['faults']:.0f}/s "
              f"(submitted at {RATE:g}/s)", flush=True)
    except KeyboardInterrupt:
        check(False, "interrupted")
    except Exception as e:
        check(False, f"{type(e).__name__}: {e}")
        try:
            for s in stack.services:
                out = subprocess.run(stack.base + ["logs", "--tail", "15", s], capture_output=True, text=True,
                                     timeout=60).stdout
                print(out[-1500:], flush=True)
        except Exception:
            pass
    finally:
        if os.environ.get("E2E_KEEP") == "1":
            log(f"E2E_KEEP=1: stack left up (project {PROJECT}, env {stack.env_file})")
        else:
            check(stack.down(), "compose down -v: every container and volume removed")
    print(f"e2e wall time: {time.monotonic() - t0:.0f} s", flush=True)
    print(f"e2e: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(run())
