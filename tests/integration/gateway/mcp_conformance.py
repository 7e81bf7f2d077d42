"""docs/MCP.md over real HTTP, both revisions: statuses, headers, JSON-RPC errors, tool calls and
MCP tasks through a real worker (stdlib only). Exits non-zero at the first check that fails,
saying what was expected and what came; prints a line per group passed, then a JSON line of
what gateway_http_test.cpp (which writes the tools file named here) verifies in NATS.

  mcp_conformance.py URL TOKEN ALLOWED_ORIGIN MAX_BODY
"""
import base64
import http.client
import json
import re
import sys
import time
import traceback
import urllib.parse

MODERN, LEGACY, EXT = "2026-07-28", "2025-11-25", "io.modelcontextprotocol/tasks"
VERSION = "io.modelcontextprotocol/protocolVersion"
CAPS = "io.modelcontextprotocol/clientCapabilities"
TOOLS = ["echo", "strict", "nap", "slow1s", "fail", "drop", "hold", "task.nap", "batch"]
TASK_ID = r"mcp-[0-9a-f]{24}-"  # then the tool, a '.' written '~'
NO_TASK = "mcp-000000000000000000000000-echo"
BAD_ARGS = "Invalid arguments for tool strict:\n/text: must be string, not 5"
PROGRESS = "notifications/progress"
ECHO64, NAP64 = (f"=?base64?{base64.b64encode(n).decode()}?=" for n in (b"echo", b"nap"))
submitted = {t: 0 for t in TOOLS}  # the tasks the calls must have made, per tool
report = {"submitted": submitted, "succeeded": [], "failed": [], "cancelled": [], "closed": []}

def check(ok, what, got=None):
    if not ok:
        raise AssertionError(what + ("" if got is None else f"\n  got: {got!r}"))

def has(obj, what, **want):
    check(isinstance(obj, dict) and all(obj.get(k) == v for k, v in want.items()),
          f"{what}: {want}", obj)

def text_of(result):
    return result["content"][0]["text"]

def task_id_in(tool, text):
    m = re.search(TASK_ID + re.escape(tool.replace(".", "~")) + r"\b", text)
    check(m is not None, f"a task id mcp-<24 hex>-{tool} in the text", text)
    return m.group(0)

class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def expect(self, status, code=None, message=None, empty=False):
        check(self.status == status, f"status {status}", (self.status, self.body[:400]))
        check(not empty or self.body == "", "no body", self.body)
        self.error = json.loads(self.body).get("error", {}) if code else {}
        check(code is None or self.error.get("code") == code, f"error {code}", self.body[:400])
        check(message is None or self.error.get("message") == message, repr(message), self.error)
        return self

    def result(self, rid=1):
        body = json.loads(self.expect(200).body)
        check(body.get("id") == rid and "result" in body, f"a result for id {rid}", self.body)
        return body["result"]

class Gateway:
    def __init__(self, url, token, origin, max_body):
        self.url, self.token = urllib.parse.urlsplit(url), token
        self.origin, self.max_body = origin, max_body

    def base(self, **extra):
        return dict({"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                     "Accept": "application/json, text/event-stream"}, **extra)

    def open(self, method, body, headers):
        """Sends a request (a header given None is left out); the connection and the answer."""
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=30)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            conn.request(method, self.url.path, data, {k: v for k, v in headers.items() if v})
        except (BrokenPipeError, ConnectionResetError):
            pass  # a 413 may come before the whole body is sent
        return conn, conn.getresponse()

    def send(self, method, body, headers):
        conn, r = self.open(method, body, headers)
        reply = Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode())
        conn.close()
        return reply

    # 2026-07-28: a request with its _meta and its routing headers right; `headers` spoil them.
    def msg(self, method, params=None, rid=1, tasks=False):
        caps = {"extensions": {EXT: {}}} if tasks else {}
        p = dict(params or {})
        p["_meta"] = dict(p.get("_meta", {}), **{VERSION: MODERN, CAPS: caps})
        return {"jsonrpc": "2.0", "id": rid, "method": method, "params": p}

    def headers(self, msg, **extra):
        p = msg["params"]
        return self.base(**dict({"MCP-Protocol-Version": MODERN, "Mcp-Method": msg["method"],
                                 "Mcp-Name": p.get("name", p.get("taskId"))}, **extra))

    def modern(self, method, params=None, rid=1, tasks=False, **headers):
        msg = self.msg(method, params, rid, tasks)
        return self.send("POST", msg, self.headers(msg, **headers))

    # 2025-11-25: with a session, its headers; a rid of None makes a notification.
    def legacy(self, method, params=None, session=None, rid=1, **headers):
        msg = dict({"jsonrpc": "2.0", "method": method, "params": params or {}},
                   **({} if rid is None else {"id": rid}))
        h = {"Mcp-Session-Id": session, "MCP-Protocol-Version": LEGACY if session else None}
        return msg, self.base(**dict(h, **headers))

    def ask(self, *args, **kwargs):
        return self.send("POST", *self.legacy(*args, **kwargs))

    def initialize(self):
        r = self.ask("initialize", {"protocolVersion": LEGACY, "capabilities": {},
                                    "clientInfo": {"name": "conformance", "version": "1"}})
        init, s = r.result(), r.headers.get("mcp-session-id", "")
        check(init.get("protocolVersion") == LEGACY and re.fullmatch(r"[0-9a-f]{32}", s),
              "protocolVersion 2025-11-25, an Mcp-Session-Id of 32 hex digits", (init, s))
        return s, init

def sse_events(resp):
    """The JSON-RPC messages of an SSE answer as they come: `event: message` and one `data:`
    line each (one message per event), no event ids; comment lines (`:`) are skipped."""
    check(resp.getheader("Content-Type", "").startswith("text/event-stream"),
          "a text/event-stream answer", resp.getheader("Content-Type"))
    for raw in resp:
        line = raw.decode().rstrip("\r\n")
        if line.startswith("data: "):
            yield json.loads(line[len("data: "):])
        else:
            check(line in ("", "event: message") or line.startswith(":"), "SSE lines", line)

def poll(what, fetch, done, deadline=15.0):
    end = time.monotonic() + deadline
    while not done(got := fetch()):
        check(time.monotonic() < end, f"{what} within {deadline}s", got)
        time.sleep(0.05)
    return got

def transport(g):
    """auth, Origin, methods, media types, body size"""
    msg = g.msg("tools/list")
    hdr = g.headers(msg)
    for auth in (None, "Bearer wrong-token"):
        r = g.send("POST", msg, dict(hdr, Authorization=auth)).expect(401)
        check(r.headers.get("www-authenticate", "").startswith("Bearer"), "Bearer", r.headers)
    for extra, status in (({"Origin": "http://evil.example"}, 403), ({"Origin": g.origin}, 200),
                          ({"Accept": "text/html"}, 406), ({"Accept": "*/*"}, 200),
                          ({"Accept": None}, 200), ({"Content-Type": "text/plain"}, 415)):
        g.send("POST", msg, dict(hdr, **extra)).expect(status)
    for method, version, allow in (("GET", MODERN, "POST"), ("DELETE", MODERN, "POST"),
                                   ("PUT", MODERN, "POST"), ("GET", None, "POST, DELETE"),
                                   ("GET", LEGACY, "POST, DELETE")):
        r = g.send(method, b"", g.base(**{"MCP-Protocol-Version": version})).expect(405)
        check(r.headers.get("allow") == allow, f"{method} ({version}): Allow: {allow}", r.headers)
    exact = json.dumps(msg).encode()
    exact += b" " * (g.max_body - len(exact))  # the limit itself is allowed
    for body, status in ((exact, 200), (exact + b" ", 413), (exact + b" " * 4 * g.max_body, 413)):
        g.send("POST", body, hdr).expect(status)

def framing(g):
    """JSON-RPC framing and _meta"""
    hdr = g.headers(g.msg("tools/list"))
    r = g.send("POST", b"{not json", hdr).expect(400, -32700)
    check("id" not in json.loads(r.body), "a parse error without an id", r.body)
    msg, no_version, no_caps = (g.msg("tools/list") for _ in range(3))
    del no_version["params"]["_meta"][VERSION], no_caps["params"]["_meta"][CAPS]
    deep = dict(msg, params=dict(msg["params"], x=json.loads("[" * 70 + "]" * 70)))
    for body, code in (([msg], -32600), ("tools/list", -32600), (dict(msg, jsonrpc="1.0"), -32600),
                       (dict(msg, id=None), -32600), (dict(msg, id=1.5), -32600),
                       (dict(msg, id={"a": 1}), -32600), (dict(msg, params=[1]), -32602),
                       (no_version, -32602), (no_caps, -32602), (deep, -32600)):
        g.send("POST", body, hdr).expect(400, code)

def routing(g):
    """2026-07-28 routing headers and versions"""
    # Without MCP-Protocol-Version a request is 2025-11-25, which needs a session first.
    g.modern("tools/list", **{"MCP-Protocol-Version": None}).expect(400, -32600)
    call = {"name": "echo", "arguments": {"text": "b64"}}
    for params, spoilt in ((None, {"MCP-Protocol-Version": "2099-01-01"}),
                           (None, {"Mcp-Method": None}), (None, {"Mcp-Method": "server/discover"}),
                           (call, {"Mcp-Name": None}), (call, {"Mcp-Name": "nap"}),
                           (call, {"Mcp-Name": NAP64})):
        g.modern("tools/call" if params else "tools/list", params, **spoilt).expect(400, -32020)
    res = g.modern("tools/call", call, **{"Mcp-Name": ECHO64}).result()
    submitted["echo"] += 1
    check(text_of(res) == '{"text":"b64"}', "echo's output", res)
    msg = g.msg("tools/list")
    msg["params"]["_meta"][VERSION] = "2099-01-01"
    r = g.send("POST", msg, g.headers(msg, **{"MCP-Protocol-Version": "2099-01-01"}))
    data = r.expect(400, -32022).error.get("data", {})
    check(set(data.get("supported", [])) >= {MODERN, LEGACY}
          and data.get("requested") == "2099-01-01", "data: supported, requested", data)

def dispatch(g):
    """2026-07-28 dispatch, server/discover, tools/list"""
    g.modern("prompts/list").expect(404, -32601)
    for method in ("tasks/result", "tasks/list"):  # not in this revision
        g.modern(method, {"taskId": NO_TASK}, tasks=True).expect(404, -32601)
    hdr = g.headers(g.msg("tools/list"))
    g.send("POST", {"jsonrpc": "2.0", "method": "notifications/initialized"}, hdr).expect(
        202, empty=True)
    g.send("POST", {"jsonrpc": "2.0", "id": 1, "result": {}}, hdr).expect(400, -32600)
    d, lst = g.modern("server/discover").result(), g.modern("tools/list").result()
    for res in (d, lst):
        has(res, "a cacheable result", resultType="complete", ttlMs=300000, cacheScope="public")
    check(MODERN in d.get("supportedVersions", []) and "tools" in d.get("capabilities", {})
          and EXT in d["capabilities"].get("extensions", {}), "tools, the tasks extension", d)
    check([t["name"] for t in lst["tools"]] == TOOLS, f"tools {TOOLS}", lst)

def sessions(g):
    """2025-11-25 sessions"""
    s, init = g.initialize()
    check(init["capabilities"].get("tasks") == {"cancel": {}, "requests": {"tools": {"call": {}}}},
          "the tasks utility, without list", init["capabilities"])
    g.ask("notifications/initialized", {}, s, None).expect(202, empty=True)
    g.send("POST", {"jsonrpc": "2.0", "id": 9, "result": {}}, g.legacy("", {}, s)[1]).expect(
        202, empty=True)  # a response
    g.ask("ping").expect(400, -32600)
    g.ask("ping", session="0" * 32).expect(404)
    check(g.ask("ping", session=s, rid=2).result(2) == {}, "ping answers {}")
    g.ask("ping", session=s, **{"MCP-Protocol-Version": "2025-06-18"}).expect(400, -32600)
    lst = g.ask("tools/list", session=s).result()
    check([t["name"] for t in lst["tools"]] == TOOLS and "resultType" not in lst, "tools", lst)
    support = [t.get("execution", {}).get("taskSupport") for t in lst["tools"]]
    check(support == ["optional"] * (len(TOOLS) - 1) + ["required"], "taskSupport", lst)
    g.ask("prompts/list", session=s).expect(200, -32601)
    g.ask("tools/call", {"name": "rm", "arguments": {}}, session=s).expect(200, -32602)
    g.ask("tools/call", {"name": "batch", "arguments": {}}, session=s).expect(200, -32601)
    bye = g.send("DELETE", b"", g.base(**{"Mcp-Session-Id": s}))
    check(200 <= bye.status < 300, "DELETE ends the session", (bye.status, bye.body))
    g.ask("ping", session=s).expect(404)
    g.send("DELETE", b"", g.base(**{"Mcp-Session-Id": s})).expect(404)

def tool_calls(g):
    """tools/call: result, failure, timeout, bad arguments"""
    r = g.modern("tools/call", {"name": "echo", "arguments": {"text": "hello"}})
    submitted["echo"] += 1
    check(r.headers.get("content-type", "").startswith("application/json"), "JSON", r.headers)
    has(r.result(), "the output", isError=False, resultType="complete",
        content=[{"type": "text", "text": '{"text":"hello"}'}], structuredContent={"text": "hello"})
    for bad in ({"name": "rm", "arguments": {}}, {"name": "echo", "arguments": 3},
                {"arguments": {}}):
        g.modern("tools/call", bad).expect(400, -32602)
    res = g.modern("tools/call", {"name": "fail", "arguments": {"path": "/nowhere"}}).result()
    submitted["fail"] += 1
    check(res.get("isError") is True and "is not on the allow-list" in text_of(res), "why", res)
    report["failed"].append(task_id_in("fail", text_of(res)))
    start = time.monotonic()
    res = g.modern("tools/call", {"name": "slow1s", "arguments": {"ms": 1500}}).result()
    submitted["slow1s"] += 1
    tid = task_id_in("slow1s", text_of(res))
    has(res, "a timeout", isError=True, content=[{"type": "text", "text":
        f"no result from slow1s (task {tid}) within 1s; the task goes on"}])
    check(time.monotonic() - start >= 0.95, "a wait of 1s", time.monotonic() - start)
    report["succeeded"].append(tid)
    bad_args = {"isError": True, "content": [{"type": "text", "text": BAD_ARGS}]}
    has(g.modern("tools/call", {"name": "strict", "arguments": {"text": 5}}).result(),
        "an error result", resultType="complete", **bad_args)
    s, _ = g.initialize()
    has(g.ask("tools/call", {"name": "strict", "arguments": {"text": 5}}, s).result(),
        "an error result", **bad_args)
    g.ask("tools/call", {"name": "strict", "arguments": {"text": 5}, "task": {}}, s, 2).expect(
        200, -32602, BAD_ARGS)

def progress(g):
    """tools/call with progress over SSE"""
    msg = g.msg("tools/call", {"name": "nap", "arguments": {"ms": 600},
                               "_meta": {"progressToken": "tok-1"}}, rid="call-1")
    conn, resp = g.open("POST", msg, g.headers(msg))
    submitted["nap"] += 1
    *steps, last = list(sse_events(resp)) or [None]
    conn.close()
    check(len(steps) >= 3 and all(m.get("method") == PROGRESS for m in steps),
          "several progress notifications, then the result", steps)
    for i, p in enumerate(m["params"] for m in steps):
        has(p, "a progress notification", progressToken="tok-1", total=100)
        check(0 < p["progress"] <= 100 and p.get("message", "").startswith("slept "), "step", p)
        check(i == 0 or p["progress"] > steps[i - 1]["params"]["progress"], "increasing", steps)
    has(last, "the result last", id="call-1")
    has(last["result"], "the result", isError=False,
        content=[{"type": "text", "text": "slept 600 ms"}])

def cancels(g):
    """cancel: notifications/cancelled, a closed stream"""
    # 2025-11-25: notifications/cancelled names the call's request id, in its session.
    s, _ = g.initialize()
    call = {"name": "hold", "arguments": {"ms": 5000}, "_meta": {"progressToken": 1}}
    conn, resp = g.open("POST", *g.legacy("tools/call", call, s, 42))
    submitted["hold"] += 1
    events = sse_events(resp)
    check(next(events).get("method") == PROGRESS, "progress first")
    g.ask("notifications/cancelled", {"requestId": 42}, s, None).expect(202, empty=True)
    last = list(events)[-1]
    conn.close()
    check(last.get("id") == 42 and last["result"].get("isError") is True
          and "cancelled" in text_of(last["result"]), "an answer saying it was cancelled", last)
    report["cancelled"].append(task_id_in("hold", text_of(last["result"])))
    # 2026-07-28: closing a streamed answer (after its first progress event) cancels the task.
    msg = g.msg("tools/call", {"name": "drop", "arguments": {"ms": 8000},
                               "_meta": {"progressToken": "drop"}})
    conn, resp = g.open("POST", msg, g.headers(msg))
    submitted["drop"] += 1
    check(next(sse_events(resp)).get("method") == PROGRESS, "progress first")
    resp.close()
    conn.close()
    report["closed"].append("drop")

def modern_tasks(g):
    """2026-07-28 tasks extension"""
    def get(tid, tasks=True, **headers):
        return g.modern("tasks/get", {"taskId": tid}, tasks=tasks, **headers)
    call = {"name": "task.nap", "arguments": {"ms": 300}}
    t = g.modern("tools/call", call, tasks=True).result()
    submitted["task.nap"] += 1
    tid = t.get("taskId", "")
    check(re.fullmatch(TASK_ID + "task~nap", tid), "a task id", t)
    has(t, "a task", resultType="task", status="working", ttlMs=86400000, pollIntervalMs=1000)
    check(t["createdAt"].endswith("Z") and t["lastUpdatedAt"].endswith("Z"), "times", t)
    done = poll("completed", lambda: get(tid).result(), lambda v: v.get("status") != "working")
    has(done, "the task ended", status="completed", resultType="complete")
    has(done["result"], "its result", isError=False,
        content=[{"type": "text", "text": "slept 300 ms"}])
    report["succeeded"].append(tid)
    get(tid, **{"Mcp-Name": NO_TASK}).expect(400, -32020)
    data = get(tid, tasks=False).expect(400, -32021).error.get("data", {})
    check(EXT in data.get("requiredCapabilities", {}).get("extensions", {}),
          "data.requiredCapabilities", data)
    get(NO_TASK).expect(400, -32602)
    has(g.modern("tasks/update", {"taskId": tid, "inputResponses": {}}, tasks=True).result(),
        "tasks/update acknowledged", resultType="complete")
    # A required tool: its task at once with the extension, -32021 without.
    g.modern("tools/call", {"name": "batch", "arguments": {}}).expect(400, -32021)
    t = g.modern("tools/call", {"name": "batch", "arguments": {}}, tasks=True).result()
    submitted["batch"] += 1
    check(t.get("resultType") == "task" and re.fullmatch(TASK_ID + "batch", t.get("taskId", "")),
          "a task at once", t)
    report["succeeded"].append(t["taskId"])
    # The same Idempotency-Key, the same task; cancelled by tasks/cancel.
    long_call = dict(call, arguments={"ms": 20000})
    key = {"Idempotency-Key": f"k-{time.time_ns()}"}
    t = g.modern("tools/call", long_call, tasks=True, **key).result()
    again = g.modern("tools/call", long_call, tasks=True, **key).result()
    submitted["task.nap"] += 1
    long_id = t.get("taskId", "")
    check(t.get("resultType") == "task" and again.get("taskId") == long_id, "one task", again)
    has(g.modern("tasks/cancel", {"taskId": long_id}, tasks=True).result(),
        "tasks/cancel acknowledged", resultType="complete")
    poll("cancelled", lambda: get(long_id).result().get("status"), lambda s: s == "cancelled")
    report["cancelled"].append(long_id)

def legacy_tasks(g):
    """2025-11-25 tasks utility"""
    s, _ = g.initialize()
    call = {"name": "task.nap", "arguments": {"ms": 200}, "task": {"ttl": 5}}
    created = g.ask("tools/call", call, s, 3).result(3)
    submitted["task.nap"] += 1
    t = created.get("task", {})
    tid = t.get("taskId", "")
    check(re.fullmatch(TASK_ID + "task~nap", tid) and "resultType" not in created, "a task", t)
    has(t, "a task", status="working", ttl=86400000, pollInterval=1000)
    check(t["createdAt"].endswith("Z") and t["lastUpdatedAt"].endswith("Z")
          and isinstance(t.get("statusMessage"), str), "times, statusMessage", t)
    again = g.ask("tools/call", call, s, 3).result(3)  # the same request id, the same task
    check(again.get("task", {}).get("taskId") == tid, "the same task", again)
    res = g.ask("tasks/result", {"taskId": tid}, s, 5, Accept="application/json").result(5)
    has(res, "the call's result", isError=False, content=[{"type": "text", "text": "slept 200 ms"}])
    has(res.get("_meta", {}), "_meta", **{"io.modelcontextprotocol/related-task": {"taskId": tid}})
    has(g.ask("tasks/get", {"taskId": tid}, s, 6).result(6), "the task", taskId=tid,
        status="completed")
    g.ask("tasks/cancel", {"taskId": tid}, s, 7).expect(
        200, -32602, "Cannot cancel task: already in terminal status 'completed'")
    g.ask("tasks/get", {"taskId": NO_TASK}, s, 8).expect(
        200, -32602, "Failed to retrieve task: Task not found")
    report["succeeded"].append(tid)
    # tasks/cancel of a working task: the task, cancelled.
    call["arguments"] = {"ms": 20000}
    long_id = g.ask("tools/call", call, s, 9).result(9).get("task", {}).get("taskId", "")
    submitted["task.nap"] += 1
    has(g.ask("tasks/cancel", {"taskId": long_id}, s, 10).result(10), "the task, cancelled",
        taskId=long_id, status="cancelled")
    report["cancelled"].append(long_id)

def main():
    g = Gateway(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
    for group in (transport, framing, routing, dispatch, sessions, tool_calls, progress, cancels,
                  modern_tasks, legacy_tasks):
        try:
            group(g)
        except AssertionError as e:
            sys.exit(f"FAILED in {group.__doc__}: expected {e}")
        except Exception:  # an answer of another shape than the contract's
            traceback.print_exc()
            sys.exit(f"FAILED in {group.__doc__}: an answer of another shape (above)")
        print(f"ok: {group.__doc__}", flush=True)
    print(json.dumps(report), flush=True)

if __name__ == "__main__":
    main()
