"""docs/openapi.yaml kept true (`./dev test-api`):

1. it is a valid OpenAPI 3.1 document (openapi-spec-validator);
2. it has the operations of docs/API.md with their success statuses, and the error codes of its
   table by status, and nothing more;
3. a live orchestrator (tests/openapi/stack.py: nats-server, `smith orchestrator` with a token,
   one worker) answers every request schemathesis makes as the document says: no 5xx, only
   documented statuses, content types, headers and bodies, and 401 without the token; the
   statuses generated requests do not reach (405, 409, 413, 503 without NATS) are checked by
   hand; and the server bugs found on the way stay fixed (explicit cases).

SMITH_BIN names the smith binary (default build/services/smith); SMITH_NATS_SERVER the
nats-server (default: scripts/install-nats-server's). SMITH_API_TEST_EXAMPLES (40) and
SMITH_API_TEST_SEED (1) change schemathesis' examples per operation and its seed.
"""
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from stack import ROOT, Stack, poll  # noqa: E402

SPEC = ROOT / "docs/openapi.yaml"
API_MD = ROOT / "docs/API.md"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# What schemathesis checks every response with. Left out: unsupported_method (TRACE, which the
# HTTP library does not parse, is 400 `bad_request`), and the
# data-acceptance checks (roles are configuration, not schema: a generated role is refused with
# 400 `unknown_role`, as documented; and the server ignores an Idempotency-Key beside an `id`).
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance", "ignored_auth"]
EXAMPLES = int(os.environ.get("SMITH_API_TEST_EXAMPLES", "40"))
SEED = int(os.environ.get("SMITH_API_TEST_SEED", "1"))


def load_spec():
    return yaml.safe_load(SPEC.read_text())


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        path = node["$ref"].removeprefix("#/").split("/")
        node = spec
        for part in path:
            node = node[part]
    return node


def operations(spec):
    """{(METHOD, path): operation}"""
    return {(m.upper(), path): op for path, item in spec["paths"].items()
            for m, op in item.items() if m in METHODS}


# -- 1. the document

def test_document_is_valid_openapi_3_1():
    spec = load_spec()
    assert spec["openapi"].startswith("3.1."), spec["openapi"]
    validate(spec)  # picks the 3.1 validator by the version; raises on the first error
    ids = [op["operationId"] for op in operations(spec).values()]
    assert len(ids) == len(set(ids)), "operationIds must be unique"


# -- 2. the document against docs/API.md

def api_md_operations():
    """{(METHOD, path): (status, query names)} of the headings and list items of docs/API.md:
    "## Submit: `POST /v1/tasks` → 202", "- `GET /v1/dlq?limit=100&from=1` → {...}". A → with no
    status after it names the body of a 200."""
    found = {}
    pattern = re.compile(r"^(?:#+ .*?|- )`(GET|POST|PUT|PATCH|DELETE) (/v1/[^`?\s]*)(\?[^`]*)?`"
                         r"\s*→\s*(\d{3})?")
    for line in API_MD.read_text().splitlines():
        m = pattern.match(line)
        if m:
            method, path, query, status = m.groups()
            names = set(re.findall(r"[?&]([^=&]+)=", query or ""))
            found[(method, path)] = (int(status or 200), names)
    return found


def api_md_error_codes():
    """{status: {codes}} of the table of docs/API.md's Conventions ("| 400 | `invalid_json`, ...")."""
    table = {}
    for line in API_MD.read_text().splitlines():
        m = re.match(r"^\| (\d{3}) \| (.*) \|$", line)
        if m:
            table[int(m.group(1))] = set(re.findall(r"`([a-z_]+)`", m.group(2)))
    return table


def error_enum(spec, response):
    """The `error` codes a documented error response allows (its schema's enum)."""
    schema = resolve(spec, resolve(spec, response)["content"]["application/json"]["schema"])
    codes = set()
    for part in [schema] + [resolve(spec, s) for s in schema.get("allOf", [])]:
        codes |= set(part.get("properties", {}).get("error", {}).get("enum", []))
    return codes


def test_operations_match_api_md():
    spec = load_spec()
    documented = api_md_operations()
    assert len(documented) >= 11, f"docs/API.md's operations were not found: {documented}"
    described = {}
    for key, op in operations(spec).items():
        if not key[1].startswith("/v1/"):
            continue
        success = [int(s) for s in op["responses"] if s.startswith("2")]
        assert len(success) == 1, f"{key}: one success status, not {success}"
        query = {p["name"] for p in (resolve(spec, p) for p in op.get("parameters", []))
                 if p["in"] == "query"}
        described[key] = (success[0], query)
    missing = {k: v for k, v in documented.items() if described.get(k) != v}
    extra = {k: v for k, v in described.items() if documented.get(k) != v}
    assert not missing and not extra, (
        f"docs/API.md and docs/openapi.yaml differ:\n  API.md: {missing}\n  openapi: {extra}")
    # Outside /v1 the probes: named in docs/API.md too.
    text = API_MD.read_text()
    for path in spec["paths"]:
        if not path.startswith("/v1/"):
            assert f"`{path}`" in text, f"{path} is in the spec, not in docs/API.md"


def test_error_codes_match_api_md():
    spec = load_spec()
    table = api_md_error_codes()
    assert table, "docs/API.md has no error table"
    described = {}
    responses = [(int(s), r) for op in operations(spec).values()
                 for s, r in op["responses"].items() if int(s) >= 400]
    for status, response in responses:
        described.setdefault(status, set()).update(error_enum(spec, response))
    # 405 is answered on every path for the methods it does not serve: no operation lists it.
    described.setdefault(405, set()).update(
        error_enum(spec, spec["components"]["responses"]["MethodNotAllowed"]))
    assert described == table, (
        f"error codes by status differ:\n  API.md:  {sorted(table.items())}\n"
        f"  openapi: {sorted(described.items())}")
    for (method, path), op in operations(spec).items():
        for status, response in op["responses"].items():
            body = resolve(spec, response).get("content", {}).get("application/json")
            if path.startswith("/v1/") and int(status) >= 400:
                assert body, f"{method} {path} {status}: an error has a JSON body"


# -- 3. a live orchestrator

@pytest.fixture(scope="module")
def stack():
    with Stack() as s:
        yield s


def request(stack, method, path, token=True):
    req = urllib.request.Request(stack.api_url + path, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {stack.token}")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def check_against_spec(spec, method, template, status, headers, body):
    """The answer is one the spec documents for the operation, body schema included."""
    op = spec["paths"][template][method.lower()]
    assert str(status) in op["responses"], f"{method} {template}: {status} is not documented"
    assert headers.get_content_type() == "application/json"
    schema = resolve(spec, op["responses"][str(status)])["content"]["application/json"]["schema"]
    doc = json.loads(body)
    # Refs resolve against the whole document.
    jsonschema.validate(doc, {**schema, "components": spec["components"]},
                        cls=jsonschema.Draft202012Validator)
    return doc


# (method, path as sent, path template, status expected): bugs found while writing the spec.
REGRESSIONS = [
    # Bytes that are not UTF-8 in a path or query were a 500 (the JSON answer could not be
    # written); now their answer says U+FFFD.
    ("GET", "/v1/tasks/%FF", "/v1/tasks/{id}", 404),
    ("POST", "/v1/tasks/%FF/cancel", "/v1/tasks/{id}/cancel", 404),
    ("GET", "/v1/schedules/%FF", "/v1/schedules/{name}", 404),
    ("DELETE", "/v1/schedules/%FF", "/v1/schedules/{name}", 404),
    ("GET", "/v1/dlq?limit=%FF", "/v1/dlq", 400),
    # Sequences from 2^63 on were a 500 (nats.c sends them signed, the server refuses them);
    # `limit` follows the same rule now (it was cut to 10,000).
    ("GET", "/v1/dlq?from=9223372036854775808", "/v1/dlq", 400),
    ("GET", "/v1/dlq?limit=18446744073709551615", "/v1/dlq", 400),
    ("DELETE", "/v1/dlq/9223372036854775808", "/v1/dlq/{seq}", 400),
    ("POST", "/v1/dlq/18446744073709551615/requeue", "/v1/dlq/{seq}/requeue", 400),
    ("DELETE", "/v1/dlq/9223372036854775807", "/v1/dlq/{seq}", 404),
    ("GET", "/v1/dlq?from=9223372036854775807", "/v1/dlq", 200),
    # A control byte in an id cut the detail short at it; now it is quoted as JSON.
    ("GET", "/v1/tasks/a%00b", "/v1/tasks/{id}", 400),
    # '"' and '\\' in a token broke the JSON nats.c writes for purges and reads by subject (500s):
    # now refused everywhere a token is read (the bodies: test_quote_and_backslash_refused).
    ("POST", "/v1/tasks/d%221/cancel", "/v1/tasks/{id}/cancel", 400),
    ("GET", "/v1/schedules/b%5C1", "/v1/schedules/{name}", 400),
    ("DELETE", "/v1/schedules/b%5C1", "/v1/schedules/{name}", 400),
    # The lists and the purge refuse what they cannot serve.
    ("GET", "/v1/tasks?limit=0", "/v1/tasks", 400),
    ("GET", "/v1/tasks?limit=1001", "/v1/tasks", 400),
    ("GET", "/v1/tasks?state=done", "/v1/tasks", 400),
    ("GET", "/v1/tasks?role=nope", "/v1/tasks", 400),
    ("GET", "/v1/dlq/0", "/v1/dlq/{seq}", 400),
    ("GET", "/v1/dlq/9223372036854775807", "/v1/dlq/{seq}", 404),
    ("POST", "/v1/queues/%FF/purge", "/v1/queues/{role}/purge", 400),
    ("POST", "/v1/queues/a.b/purge", "/v1/queues/{role}/purge", 400),
]


@pytest.mark.parametrize("method,path,template,expected", REGRESSIONS,
                         ids=[f"{m} {p}" for m, p, _, _ in REGRESSIONS])
def test_regressions(stack, method, path, template, expected):
    status, headers, body = request(stack, method, path)
    assert status == expected, body
    doc = check_against_spec(load_spec(), method, template, status, headers, body)
    if "%00" in path:
        assert doc["detail"].startswith('task id "a\\u0000b" must be'), doc["detail"]
    if "%FF" in path and status == 404:
        assert "\ufffd" in doc["detail"], doc["detail"]


def post_json(stack, path, doc):
    req = urllib.request.Request(stack.api_url + path, data=json.dumps(doc).encode(),
                                 method="POST",
                                 headers={"Authorization": f"Bearer {stack.token}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


# A delayed task or a schedule stored with '"' or '\\' in a token could then not be cancelled,
# shown or deleted (500s, and a schedule that fires for ever): they are refused up front.
QUOTED_BODIES = [
    ("/v1/tasks", {"role": "execute", "type": "echo", "id": 'd"1', "delay_ms": 60000}),
    ("/v1/tasks", {"role": "execute", "type": "ec\\ho", "delay_ms": 60000}),
    ("/v1/schedules", {"name": "b\\1", "role": "execute", "type": "echo", "every": "1h"}),
    ("/v1/schedules", {"name": "b1", "role": "execute", "type": 'e"cho', "every": "1h"}),
    # Accepted, "a/b" could never be read back: /v1/tasks/a%2Fb routes as /v1/tasks/a/b.
    ("/v1/tasks", {"role": "execute", "type": "echo", "id": "a/b"}),
]


@pytest.mark.parametrize("path,doc", QUOTED_BODIES, ids=lambda v: json.dumps(v))
def test_quote_and_backslash_refused(stack, path, doc):
    status, headers, body = post_json(stack, path, doc)
    assert status == 400, body
    answer = check_against_spec(load_spec(), "POST", path, status, headers, body)
    assert answer["error"] == "invalid_field", answer


def test_statuses_generated_requests_miss(stack):
    """401, 405, 409 and 413 answers, as the spec documents them."""
    spec = load_spec()
    status, headers, body = request(stack, "GET", "/v1/queues", token=False)
    assert status == 401
    check_against_spec(spec, "GET", "/v1/queues", status, headers, body)
    # Every method a path does not serve is 405, with or without a body (PUT and PATCH without
    # one were 400, OPTIONS 404); HEAD is GET without the body.
    # The Allow header lists what the path serves (RFC 9110 §15.5.6).
    for method, path, allow in (("PUT", "/v1/tasks", "GET, HEAD, POST"),
                                ("PATCH", "/v1/tasks", "GET, HEAD, POST"),
                                ("OPTIONS", "/v1/tasks", "GET, HEAD, POST"),
                                ("DELETE", "/v1/queues", "GET, HEAD"),
                                ("GET", "/v1/queues/execute/purge", "POST"),
                                ("DELETE", "/v1/workers", "GET, HEAD"),
                                ("PATCH", "/v1/dlq/1", "GET, HEAD, DELETE"),
                                ("PUT", "/v1/schedules", "GET, HEAD, POST"),
                                ("POST", "/v1/schedules/nightly", "GET, HEAD, DELETE"),
                                # A path is decoded before it is routed: %2F is a '/' the
                                # route sees.
                                ("GET", "/v1/tasks/x%2Fcancel", "POST")):
        status, headers, body = request(stack, method, path)
        assert status == 405 and headers.get_content_type() == "application/json", (method, body)
        assert headers["Allow"] == allow, (method, path, headers["Allow"])
        doc = json.loads(body)
        jsonschema.validate(doc, {**resolve(spec, spec["components"]["responses"]["MethodNotAllowed"])
                                  ["content"]["application/json"]["schema"],
                                  "components": spec["components"]},
                            cls=jsonschema.Draft202012Validator)
    status, headers, body = request(stack, "HEAD", "/v1/schedules")
    assert status == 200 and body == b"", body
    # A body over SMITH_API_MAX_BODY (2 MiB) is refused unread: the answer comes before the body
    # is sent (sending it would meet a closed connection).
    conn = http.client.HTTPConnection(stack.api_url.removeprefix("http://"), timeout=15)
    try:
        conn.putrequest("POST", "/v1/tasks")
        conn.putheader("Authorization", f"Bearer {stack.token}")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(2 * 1024 * 1024 + 1))
        conn.endheaders()
        r = conn.getresponse()
        status, headers, body = r.status, r.headers, r.read()
    finally:
        conn.close()
    assert status == 413
    check_against_spec(spec, "POST", "/v1/tasks", status, headers, body)
    # A finished task cannot be cancelled.
    status, _, body = post_json(stack, "/v1/tasks", {"role": "execute", "type": "echo",
                                                     "payload": "done"})
    assert status == 202, body
    task = json.loads(body)["id"]
    poll(f"task {task} succeeded",
         lambda: json.loads(request(stack, "GET", f"/v1/tasks/{task}")[2])["state"] == "succeeded")
    status, headers, body = request(stack, "POST", f"/v1/tasks/{task}/cancel")
    assert status == 409
    check_against_spec(spec, "POST", "/v1/tasks/{id}/cancel", status, headers, body)


def test_unavailable_without_nats():
    """With NATS gone /ready is 503 and /v1/ 503 `unavailable`, as the spec says (a stack of its
    own: it loses its NATS)."""
    spec = load_spec()
    with Stack() as own:
        nats = dict(own.procs)["nats"]
        nats.terminate()
        nats.wait(timeout=10)
        poll("/ready 503", lambda: request(own, "GET", "/ready")[0] == 503)
        status, headers, body = request(own, "GET", "/ready", token=False)
        check_against_spec(spec, "GET", "/ready", status, headers, body)
        status, headers, body = poll("/v1/queues 503",
                                     lambda: (r := request(own, "GET", "/v1/queues"))[0] == 503
                                     and r)
        doc = check_against_spec(spec, "GET", "/v1/queues", status, headers, body)
        assert doc["error"] == "unavailable", doc


def test_schemathesis(stack):
    """Every operation, with generated requests (examples, coverage, fuzzing, and stateful
    sequences along the spec's links), against the live orchestrator: 0 failures."""
    with tempfile.TemporaryDirectory(prefix="smith-openapi-report-") as reports:
        report = Path(reports) / "report.json"
        argv = [str(Path(sys.executable).parent / "schemathesis"), "--no-color", "run", str(SPEC),
                "--url", stack.api_url, "--header", f"Authorization: Bearer {stack.token}",
                "--checks", ",".join(CHECKS), "--max-examples", str(EXAMPLES),
                "--seed", str(SEED), "--generation-database", "none",
                "--request-timeout", "15", "--report", "json", "--report-json-path", str(report)]
        started = time.monotonic()
        # Its output goes straight to this process's: the run is in the log as it happens.
        env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "hooks.py"),
               "SMITH_API_TEST_ROLES": ",".join(stack.roles)}
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, timeout=600, cwd=reports, env=env)
        took = time.monotonic() - started
        result = json.loads(report.read_text()) if report.exists() else {}
    stack.check_alive()
    ops, cases = result.get("operations", {}), result.get("test_cases", {})
    print(f"schemathesis: {ops.get('tested')} of {ops.get('total')} operations, "
          f"{cases.get('generated')} test cases, {cases.get('unique_failures')} failures, "
          f"{len(result.get('errors', []))} errors, in {took:.0f} s (seed {SEED})")
    assert proc.returncode == 0, "schemathesis found failures: see its output above"
    assert result.get("complete") and result.get("exit_code") == 0, result
    assert ops.get("tested") == ops.get("total") == len(operations(load_spec())), ops
    assert cases.get("unique_failures") == 0 and not result.get("errors"), result


# Schedules nats-server refuses (JetStream errors 10189, 10223) were 500 `internal`: 400 now,
# and nothing stored.
REFUSED_SCHEDULES = [
    {"every": "2562048h"},  # over the largest Go duration
    {"cron": "a b c d e f"},
    {"cron": "0 30 2 * * *", "time_zone": "Nowhere/Atlantis"},
]


@pytest.mark.parametrize("when", REFUSED_SCHEDULES, ids=lambda w: json.dumps(w))
def test_schedule_refused_by_server_is_400(stack, when):
    status, _, body = post_json(stack, "/v1/schedules",
                                {"name": "refused", "role": "execute", "type": "echo", **when})
    assert status == 400, body
