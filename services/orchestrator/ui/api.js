// The dashboard's only way to the data: the orchestrator's API (docs/API.md), with the bearer
// token the user typed, kept in sessionStorage (this tab, until it closes) and nowhere else.

const KEY = "smith.token";

export const token = {
  get: () => sessionStorage.getItem(KEY), // null: not signed in ("" is a server without one)
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

function headers(extra = {}) {
  return { Authorization: "Bearer " + (token.get() ?? ""), ...extra };
}

async function failure(res) {
  const text = await res.text();
  let doc = null;
  try { doc = JSON.parse(text); } catch { /* not JSON: the text is the detail */ }
  if (res.status === 401) onUnauthorized();
  return new ApiError(res.status, doc?.error ?? "http_" + res.status,
    doc?.detail ?? (text || res.statusText));
}

export async function api(method, path, body) {
  const init = { method, headers: headers(), cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (!res.ok) throw await failure(res);
  return res.status === 204 ? null : res.json();
}

// Server-Sent Events over fetch(): EventSource cannot send an Authorization header.
// `onEvent(name, data)` gets each event's parsed JSON; `onOpen()` each (re)connection;
// `onError(err)` a refused or broken connection. It reconnects after 2 s while
// `again(err)` says so (default: always). Returns a function that stops it.
export function stream(path, { onEvent, onOpen = () => {}, onError = () => {},
  again = () => true } = {}) {
  const abort = new AbortController();
  let stopped = false;
  const run = async () => {
    while (!stopped) {
      let err = null;
      try {
        const res = await fetch(path, {
          headers: headers({ Accept: "text/event-stream" }), cache: "no-store",
          signal: abort.signal,
        });
        if (!res.ok) throw await failure(res);
        onOpen();
        await read(res.body, onEvent);
      } catch (e) {
        if (stopped) return;
        err = e;
        onError(e);
      }
      if (stopped || !again(err)) return;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  run();
  return () => { stopped = true; abort.abort(); };
}

async function read(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue; // a keep-alive comment
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = text;
        else if (field === "data") data.push(text);
      }
      if (data.length === 0) continue;
      let doc;
      try { doc = JSON.parse(data.join("\n")); } catch { continue; }
      onEvent(name, doc);
    }
  }
}
