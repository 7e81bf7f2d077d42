// A task: search by id, then its status live from GET /v1/stream/tasks/{id} (state, attempts,
// worker, progress, payload and output previews, trace id), and a cancel button.
import { api, stream } from "/ui/api.js";
import { el, preview, replace, stateBadge, time } from "/ui/dom.js";

const FINAL = new Set(["succeeded", "failed", "dead", "cancelled"]);

function field(dl, label, value, key) {
  if (value === undefined || value === null || value === "") return;
  dl.append(el("dt", {}, label), el("dd", { "data-field": key }, value));
}

function bytesPreview(doc, key) {
  if (typeof doc[key] === "string") return el("pre", { "data-field": key }, preview(doc[key]));
  if (typeof doc[key + "_base64"] === "string") {
    return el("pre", { "data-field": key + "_base64" },
      "(bytes that are not UTF-8, base64)\n" + preview(doc[key + "_base64"]));
  }
  if (doc[key] !== undefined) return el("pre", { "data-field": key }, preview(JSON.stringify(doc[key], null, 2)));
  return null;
}

function show(box, doc) {
  const dl = el("dl", { class: "fields" });
  field(dl, "id", doc.id, "id");
  dl.append(el("dt", {}, "state"), el("dd", {}, stateBadge(doc.state)));
  field(dl, "role", doc.role, "role");
  field(dl, "type", doc.type, "type");
  field(dl, "attempts", doc.attempts, "attempts");
  field(dl, "worker", doc.worker, "worker");
  field(dl, "trace id", doc.trace_id ?? doc.traceparent, "trace_id");
  field(dl, "queued", time(doc.queued_ms), "queued_ms");
  field(dl, "due", doc.due, "due");
  field(dl, "started", time(doc.started_ms), "started_ms");
  field(dl, "finished", time(doc.finished_ms), "finished_ms");
  field(dl, "stream seq", doc.stream_seq, "stream_seq");
  if (doc.progress) {
    const p = doc.progress;
    dl.append(el("dt", {}, "progress"), el("dd", { "data-field": "progress" },
      typeof p.percent === "number" ? el("progress", { max: 100, value: p.percent }) : null,
      typeof p.percent === "number" ? ` ${p.percent} % ` : "", p.message ?? ""));
  }
  field(dl, "error", doc.error, "error");
  const parts = [dl];
  const payload = bytesPreview(doc, "payload");
  if (payload) parts.push(el("h2", {}, "Payload"), payload);
  const output = bytesPreview(doc, "output");
  if (output) parts.push(el("h2", {}, "Output"), output);
  parts.push(el("details", {}, el("summary", {}, "All fields (JSON)"),
    el("pre", {}, JSON.stringify(doc, null, 2))));
  replace(box, parts);
}

export function render(page, { arg, live }) {
  const input = el("input", { type: "text", name: "id", placeholder: "task id", value: arg ?? "",
    autocomplete: "off", required: true });
  const form = el("form", { class: "inline", onsubmit: (e) => {
    e.preventDefault();
    location.hash = "#/task/" + encodeURIComponent(input.value.trim());
  } }, input, el("button", { type: "submit" }, "Show"));
  const error = el("p", { class: "error", role: "alert", id: "task-error" });
  const note = el("p", { class: "muted", id: "task-note" });
  const box = el("div", { class: "card", id: "task", hidden: true });
  const cancel = el("button", { type: "button", class: "danger", id: "cancel", hidden: true },
    "Cancel task");
  replace(page, el("h1", {}, "Task"), form, error, el("div", { class: "actions" }, cancel), note,
    box);
  if (!arg) return () => {};
  let last = null;
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      const r = await api("POST", `/v1/tasks/${encodeURIComponent(arg)}/cancel`);
      note.textContent = `cancel: ${r.state}`;
    } catch (e) {
      error.textContent = e.message;
    } finally {
      cancel.disabled = false;
    }
  });
  return stream(`/v1/stream/tasks/${encodeURIComponent(arg)}`, {
    onOpen: () => { live(true); error.textContent = ""; },
    onError: (e) => { live(false); error.textContent = e.message; },
    // A refused id (400, 404) is final; a broken stream of a task still going is reopened.
    again: (e) => !(e && e.status >= 400 && e.status < 500) && !(last && FINAL.has(last.state)),
    onEvent: (name, doc) => {
      if (name === "error") { error.textContent = doc.detail ?? doc.error; return; }
      if (name !== "status") return;
      last = doc;
      error.textContent = "";
      box.hidden = false;
      cancel.hidden = FINAL.has(doc.state);
      show(box, doc);
    },
  });
}
