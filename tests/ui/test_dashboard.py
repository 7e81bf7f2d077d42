"""The dashboard (docs/DASHBOARD.md) in a real browser: headless chromium (Debian's, through
chromedriver, driven by selenium) against a live nats-server, orchestrator and worker.

It signs in with the token, watches the overview change as tasks finish, follows a task with
progress to its end, cancels one, requeues a dead letter and sees it succeed, creates and
deletes a schedule, lists the workers, and shows hostile ids, payloads and errors as text with
no script run. Screenshots of each page go to SMITH_UI_ARTIFACTS. The files' headers, the
stream routes and their bound are checked over plain HTTP first."""
import http.client
import json
import time
import urllib.error
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from stack import poll  # noqa: E402 (tests/openapi, on the path conftest.py sets; deadline 30 s)

WAIT_S = 30

# Ids are one subject token (no '.', '*', '>', whitespace, '/'): markup that fits in one.
HOSTILE_ID = "xss<img-src=x-onerror=alert(1)"
# Payloads and errors are any text: markup that would run a script if parsed as HTML.
HOSTILE_TEXT = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


# -- HTTP helpers

def call(stack, method, path, body=None, token=True, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(stack.api_url + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {stack.token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def submit(stack, headers=None, **task):
    status, _, body = call(stack, "POST", "/v1/tasks", {"role": "execute", **task}, headers=headers)
    assert status == 202, body
    return json.loads(body)["id"]


def state_of(stack, task_id):
    status, _, body = call(stack, "GET", "/v1/tasks/" + urllib.request.quote(task_id, safe=""))
    return json.loads(body).get("state") if status == 200 else None


def open_stream(stack, path, token=True):
    """A connection reading `path` as Server-Sent Events: (connection, response)."""
    conn = http.client.HTTPConnection(stack.api_url.removeprefix("http://"), timeout=15)
    conn.putrequest("GET", path)
    if token:
        conn.putheader("Authorization", f"Bearer {stack.token}")
    conn.putheader("Accept", "text/event-stream")
    conn.endheaders()
    return conn, conn.getresponse()


def next_event(response):
    """(name, data) of the next event, comments and retry lines skipped."""
    name, data = "message", []
    while True:
        line = response.readline().decode()
        if line in ("\n", "\r\n", ""):
            if data:
                return name, json.loads("\n".join(data))
            if line == "":
                raise AssertionError("the stream ended")
            continue
        line = line.rstrip("\r\n")
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


# -- the files and the routes, over HTTP

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


@pytest.mark.parametrize("path,kind", [("/ui", "text/html"), ("/ui/", "text/html"),
                                       ("/ui/index.html", "text/html"),
                                       ("/ui/app.js", "text/javascript"),
                                       ("/ui/style.css", "text/css")])
def test_files_are_served_with_types_and_strict_headers(stack, path, kind):
    status, headers, body = call(stack, "GET", path, token=False)
    assert status == 200 and headers.get_content_type() == kind, (status, headers)
    assert headers.get_content_charset() == "utf-8"
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, (name, headers[name])
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert "frame-ancestors 'none'" in csp, csp
    etag = headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"'), etag
    status, headers, body = call(stack, "GET", path, token=False, headers={"If-None-Match": etag})
    assert status == 304 and body == b"", status
    if kind == "text/html":
        # No inline script: the page's only script is a module from /ui.
        text = (call(stack, "GET", path, token=False)[2]).decode()
        assert '<script type="module" src="/ui/app.js"></script>' in text
        assert text.count("<script") == 1


def test_head_is_get_without_the_body(stack):
    status, headers, body = call(stack, "HEAD", "/ui/app.js", token=False)
    assert status == 200 and body == b"", (status, body)
    assert headers.get_content_type() == "text/javascript"


def test_unknown_files_and_methods_are_refused(stack):
    status, headers, body = call(stack, "GET", "/ui/secret.txt", token=False)
    assert status == 404 and json.loads(body)["error"] == "not_found"
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, body = call(stack, "POST", "/ui/app.js", body={}, token=False)
    assert status == 405 and headers["Allow"] == "GET, HEAD", body
    status, _, body = call(stack, "GET", "/nothing", token=False)
    assert status == 404 and "/ui" in json.loads(body)["detail"], body


def test_stream_routes_need_the_token(stack):
    for path in ("/v1/stream/overview", "/v1/stream/tasks/x"):
        status, _, body = call(stack, "GET", path, token=False)
        assert status == 401 and json.loads(body)["error"] == "unauthorized", body
        conn, r = open_stream(stack, path, token=False)
        try:
            assert r.status == 401, r.status
        finally:
            conn.close()


def test_stream_routes_answer_a_snapshot_without_accept_event_stream(stack):
    status, headers, body = call(stack, "GET", "/v1/stream/overview")
    assert status == 200 and headers.get_content_type() == "application/json"
    doc = json.loads(body)
    assert [q["role"] for q in doc["queues"]] == stack.roles, doc
    assert doc["workers"] == 1, doc
    assert doc["throughput"]["bucket_s"] == 10
    assert all(len(c) == 90 for c in doc["throughput"]["roles"].values()), doc
    task = submit(stack, type="echo", payload="snap")
    poll("snap succeeded", lambda: state_of(stack, task) == "succeeded")
    status, _, body = call(stack, "GET", f"/v1/stream/tasks/{task}")
    assert status == 200 and json.loads(body)["state"] == "succeeded", body
    status, _, body = call(stack, "GET", "/v1/stream/tasks/no-such-task")
    assert status == 404 and json.loads(body)["error"] == "not_found", body
    status, _, body = call(stack, "GET", "/v1/stream/nothing")
    assert status == 404, body
    status, headers, body = call(stack, "POST", "/v1/stream/overview", body={})
    assert status == 405 and headers["Allow"] == "GET, HEAD", body


def test_task_stream_sends_each_change_until_the_end(stack):
    task = submit(stack, type="sleep", payload={"ms": 1500})
    conn, r = open_stream(stack, f"/v1/stream/tasks/{task}")
    try:
        assert r.status == 200 and r.getheader("Content-Type") == "text/event-stream"
        states = []
        while True:
            name, doc = next_event(r)
            assert name == "status" and doc["id"] == task, (name, doc)
            states.append(doc["state"])
            if doc["state"] == "succeeded":
                break
        assert "running" in states, states
        assert r.readline() == b"", "the stream ends with the task"
    finally:
        conn.close()


def test_overview_stream_counts_results_and_bounds_its_clients(stack):
    conns = []
    try:
        conn, r = open_stream(stack, "/v1/stream/overview")
        conns.append(conn)
        assert r.status == 200
        name, first = next_event(r)
        assert name == "overview"
        before = sum(first["throughput"]["roles"].get("execute", []))
        for i in range(3):
            submit(stack, type="echo", payload=i)

        def counted():
            _, doc = next_event(r)
            return sum(doc["throughput"]["roles"].get("execute", [])) >= before + 3
        poll("3 more results in the overview", counted)
        # 8 streams at once (this one and 7 more); the 9th is refused, and a stream closed makes
        # room again.
        for _ in range(7):
            c, resp = open_stream(stack, "/v1/stream/overview")
            conns.append(c)
            assert resp.status == 200
        c, resp = open_stream(stack, "/v1/stream/overview")
        assert resp.status == 503 and json.loads(resp.read())["error"] == "busy"
        assert resp.getheader("Retry-After") == "1"
        c.close()
        # /v1 itself is not held up by the streams.
        assert call(stack, "GET", "/v1/queues")[0] == 200
        conns.pop().close()

        def room_again():
            c, resp = open_stream(stack, "/v1/stream/overview")
            ok = resp.status == 200
            if ok:
                conns.append(c)
            else:
                c.close()
            return ok
        poll("a stream slot freed", room_again)
    finally:
        for c in conns:
            c.close()


# -- the browser

def wait(browser, what, condition, deadline_s=WAIT_S):
    try:
        return WebDriverWait(browser, deadline_s, poll_frequency=0.1).until(
            lambda d: condition(d))
    except Exception as e:
        raise AssertionError(f"{what}: not within {deadline_s} s ({type(e).__name__})") from None


def text_of(browser, css):
    """The text an element shows, or None; read in one step (the page redraws as events come)."""
    return browser.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : null", css)


def go(browser, stack, fragment):
    browser.get(stack.api_url + "/ui" + fragment)


def shot(browser, artifacts, name):
    browser.save_screenshot(str(artifacts / f"{name}.png"))


def no_script_ran(browser):
    assert browser.execute_script("return window.__pwned === undefined"), "a hostile script ran"
    assert browser.execute_script("return document.querySelectorAll('main img').length") == 0


def test_sign_in_with_the_token(stack, browser, artifacts):
    go(browser, stack, "")
    wait(browser, "the sign-in form", lambda d: d.find_element(By.ID, "login").is_displayed())
    assert not browser.find_element(By.ID, "nav").is_displayed()
    browser.find_element(By.ID, "token").send_keys(stack.token)
    browser.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
    wait(browser, "the role cards", lambda d: len(d.find_elements(By.CSS_SELECTOR,
                                                                    "section.role")) == 3)
    roles = [e.get_attribute("data-role")
             for e in browser.find_elements(By.CSS_SELECTOR, "section.role")]
    assert roles == stack.roles
    # The token lives in sessionStorage only.
    assert browser.execute_script("return sessionStorage.getItem('smith.token')") == stack.token
    assert browser.execute_script("return localStorage.length") == 0
    assert "token" not in browser.current_url


def results_shown(browser, role):
    text = text_of(browser, f'section.role[data-role="{role}"] [data-stat="results"]')
    return int(text.split()[0]) if text else None


def test_overview_changes_as_tasks_finish(stack, browser, artifacts):
    go(browser, stack, "#/")
    before = wait(browser, "the execute card", lambda d: results_shown(d, "execute") is not None)
    before = results_shown(browser, "execute")
    ids = [submit(stack, type="echo", payload={"n": i}) for i in range(6)]
    for i in ids:
        poll(f"{i} succeeded", lambda: state_of(stack, i) == "succeeded")
    wait(browser, "6 more results on the overview",
         lambda d: (results_shown(d, "execute") or 0) >= before + 6)
    workers = text_of(browser, '.totals [data-stat="workers"] .value')
    assert workers == "1", workers
    bars = browser.find_elements(By.CSS_SELECTOR, 'section.role[data-role="execute"] svg rect')
    assert len(bars) == 90
    assert browser.find_element(By.ID, "live").text == "live"
    shot(browser, artifacts, "overview")


def show_task(browser, stack, task_id):
    go(browser, stack, "#/task")
    box = wait(browser, "the task search", lambda d: d.find_element(By.NAME, "id"))
    box.send_keys(task_id)
    browser.find_element(By.CSS_SELECTOR, "form.inline button[type=submit]").click()
    wait(browser, f"task {task_id}", lambda d: text_of(d, '[data-field="id"]') == task_id)


def shown_state(browser):
    return browser.execute_script(
        "const e = document.querySelector('#task .state'); return e ? e.dataset.state : null")


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_task_is_followed_live_to_its_end(stack, browser, artifacts):
    task = submit(stack, type="sleep", payload={"ms": 4000},
                  headers={"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"})
    poll(f"{task} running", lambda: state_of(stack, task) == "running")
    show_task(browser, stack, task)
    wait(browser, "progress shown", lambda d: text_of(d, '[data-field="progress"]'))
    assert shown_state(browser) == "running"
    assert text_of(browser, '[data-field="worker"]')
    assert browser.find_element(By.ID, "cancel").is_displayed()
    shot(browser, artifacts, "task-running")
    wait(browser, "succeeded", lambda d: shown_state(d) == "succeeded", deadline_s=WAIT_S)
    assert text_of(browser, '[data-field="output"]') == "slept 4000 ms"
    assert text_of(browser, '[data-field="attempts"]') == "1"
    assert text_of(browser, '[data-field="trace_id"]') == TRACE_ID
    assert not browser.find_element(By.ID, "cancel").is_displayed()
    shot(browser, artifacts, "task-succeeded")


def test_a_task_is_cancelled_from_its_page(stack, browser, artifacts):
    task = submit(stack, type="sleep", payload={"ms": 60000})
    poll(f"{task} running", lambda: state_of(stack, task) == "running")
    show_task(browser, stack, task)
    wait(browser, "running", lambda d: shown_state(d) == "running")
    browser.find_element(By.ID, "cancel").click()
    wait(browser, "cancelled", lambda d: shown_state(d) == "cancelled")
    assert state_of(stack, task) == "cancelled"


def test_hostile_ids_payloads_and_errors_are_shown_as_text(stack, browser, artifacts):
    task = submit(stack, type="echo", id=HOSTILE_ID, payload=HOSTILE_TEXT)
    poll("the hostile echo succeeded", lambda: state_of(stack, task) == "succeeded")
    show_task(browser, stack, HOSTILE_ID)
    wait(browser, "its output", lambda d: text_of(d, '[data-field="output"]') == HOSTILE_TEXT)
    no_script_ran(browser)
    # An error that quotes the payload: exec refuses a program that is not allowed.
    bad = submit(stack, type="exec", payload={"argv": [HOSTILE_TEXT]})
    poll("the hostile exec ended", lambda: state_of(stack, bad) in ("failed", "dead"))
    show_task(browser, stack, bad)
    wait(browser, "its error", lambda d: HOSTILE_TEXT in (text_of(d, '[data-field="error"]') or ""))
    no_script_ran(browser)
    shot(browser, artifacts, "task-hostile")
    # A refused id is an error shown as text too.
    go(browser, stack, "#/task/" + urllib.request.quote("no<b>such", safe=""))
    wait(browser, "the refusal", lambda d: "no<b>such" in (text_of(d, "#task-error") or ""))
    no_script_ran(browser)


def test_a_dead_letter_is_viewed_requeued_and_succeeds(stack, browser, artifacts):
    # Fails its 3 attempts (MaxDeliver), succeeds on the 4th: the one a requeue gives it.
    task = submit(stack, type="fail", id="doomed<i-ui",
                  payload={"fail_times": 3, "mode": "error", "note": HOSTILE_TEXT})
    poll(f"{task} dead", lambda: state_of(stack, task) == "dead")
    go(browser, stack, "#/dead-letters")
    row = wait(browser, "its row", lambda d: [r for r in d.find_elements(
        By.CSS_SELECTOR, "#dead-letters tbody tr[data-seq]") if task in r.text])[0]
    seq = row.get_attribute("data-seq")
    row.find_element(By.CSS_SELECTOR, '[data-action="view"]').click()
    # The payload is JSON: the note is in it with its quotes escaped.
    wait(browser, "the original task", lambda d: json.dumps(HOSTILE_TEXT)[1:-1] in (
        text_of(d, '#dlq-detail [data-field="payload"]') or ""))
    no_script_ran(browser)
    shot(browser, artifacts, "dead-letters")
    row.find_element(By.CSS_SELECTOR, '[data-action="requeue"]').click()
    wait(browser, "requeued", lambda d: f"dead letter {seq} requeued as {task}"
         in (text_of(d, "#dlq-note") or ""))
    browser.find_element(By.CSS_SELECTOR, "#dlq-note a").click()
    wait(browser, "the requeued task succeeded", lambda d: shown_state(d) == "succeeded")
    assert text_of(browser, '[data-field="output"]') == "succeeded on attempt 4"
    assert text_of(browser, '[data-field="id"]') == task
    shot(browser, artifacts, "requeued-task")


def test_a_dead_letter_is_deleted(stack, browser):
    task = submit(stack, type="fail", payload={"fail_times": 9, "mode": "error"})
    poll(f"{task} dead", lambda: state_of(stack, task) == "dead")
    go(browser, stack, "#/dead-letters")
    row = wait(browser, "its row", lambda d: [r for r in d.find_elements(
        By.CSS_SELECTOR, "#dead-letters tbody tr[data-seq]") if task in r.text])[0]
    seq = row.get_attribute("data-seq")
    delete = row.find_element(By.CSS_SELECTOR, "button.danger")
    delete.click()
    assert delete.text == "Really delete?"
    delete.click()
    wait(browser, "deleted", lambda d: f"dead letter {seq} deleted" == text_of(d, "#dlq-note"))
    status, _, body = call(stack, "GET", "/v1/dlq")
    assert status == 200 and int(seq) not in [d["seq"] for d in json.loads(body)["dead_letters"]]


def test_a_schedule_is_created_and_deleted(stack, browser, artifacts):
    go(browser, stack, "#/schedules")
    form = wait(browser, "the form", lambda d: d.find_element(By.ID, "schedule-form"))
    for name, value in (("name", "ui-hourly"), ("role", "execute"), ("type", "echo"),
                        ("when", "1h"), ("payload", '"beat"')):
        form.find_element(By.NAME, name).send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    row = wait(browser, "its row", lambda d: d.find_element(
        By.CSS_SELECTOR, '#schedules tr[data-name="ui-hourly"]'))
    assert "@every 1h" in row.text
    status, _, body = call(stack, "GET", "/v1/schedules/ui-hourly")
    assert status == 200 and json.loads(body)["schedule"] == "@every 1h", body
    shot(browser, artifacts, "schedules")
    delete = row.find_element(By.CSS_SELECTOR, "button.danger")
    delete.click()
    delete.click()
    wait(browser, "gone", lambda d: not d.find_elements(
        By.CSS_SELECTOR, '#schedules tr[data-name="ui-hourly"]'))
    assert call(stack, "GET", "/v1/schedules/ui-hourly")[0] == 404
    # A refusal is shown as the API said it (the form was emptied after the create).
    form = browser.find_element(By.ID, "schedule-form")
    assert form.find_element(By.NAME, "name").get_attribute("value") == ""
    for name, value in (("name", "bad"), ("role", "execute"), ("type", "echo"), ("when", "100ms")):
        form.find_element(By.NAME, name).send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, "the refusal", lambda d: "100ms" in (text_of(d, "#schedule-error") or ""))


def test_workers_are_listed(stack, browser, artifacts):
    go(browser, stack, "#/workers")
    row = wait(browser, "a worker", lambda d: d.find_element(By.CSS_SELECTOR,
                                                               "#workers tr[data-worker]"))
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    assert cells[1] == "execute" and cells[2] == "4", cells
    shot(browser, artifacts, "workers")


def test_no_console_errors(browser):
    # A CSP violation, a failed module or a script error would show here.
    # The API's own refusals (the schedule of 100ms: 400) are network entries of /v1/ URLs.
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"
              and not (e["source"] == "network" and "/v1/" in e["message"])]
    assert not errors, errors


def test_a_wrong_token_is_asked_again(stack, browser):
    browser.execute_script("sessionStorage.setItem('smith.token', 'wrong')")
    go(browser, stack, "#/workers")
    wait(browser, "the sign-in form", lambda d: d.find_element(By.ID, "login").is_displayed())
    assert "refused" in browser.find_element(By.ID, "login-error").text
    assert browser.execute_script("return sessionStorage.getItem('smith.token')") is None
