// Overview: per role, pending, in flight, workers, the oldest pending task's age and the
// results of the last 15 minutes, live from GET /v1/stream/overview (an event every 2 s).
import { stream } from "/ui/api.js";
import { throughputChart } from "/ui/chart.js";
import { age, el, replace, time } from "/ui/dom.js";

function stat(name, label, value) {
  return el("div", { class: "stat", "data-stat": name },
    el("div", { class: "value" }, value), el("div", { class: "label" }, label));
}

function roleCard(q, counts, bucketSeconds) {
  const total = counts.reduce((a, b) => a + b, 0);
  return el("section", { class: "card role", "data-role": q.role },
    el("h2", {}, el("span", {}, q.role),
      el("span", { class: "muted", "data-stat": "results" }, `${total} results / 15 min`)),
    el("div", { class: "stats" },
      stat("pending", "pending", q.pending),
      stat("in_flight", "in flight", q.in_flight),
      stat("workers", "workers", q.workers),
      stat("oldest", "oldest pending", age(q.oldest_pending_s))),
    throughputChart(counts, bucketSeconds));
}

export function render(page, { live }) {
  const totals = el("div", { class: "totals" });
  const roles = el("div", { class: "roles" }, el("p", { class: "muted" }, "Waiting for data…"));
  const error = el("p", { class: "error", role: "alert" });
  replace(page, el("h1", {}, "Overview"), error, totals, roles);
  return stream("/v1/stream/overview", {
    onOpen: () => live(true),
    onError: (e) => { live(false); error.textContent = e.message; },
    onEvent: (name, doc) => {
      if (name === "error") { error.textContent = doc.detail ?? doc.error; return; }
      if (name !== "overview") return;
      error.textContent = "";
      const queues = doc.queues ?? [];
      const bucket = doc.throughput?.bucket_s ?? 10;
      const history = doc.throughput?.roles ?? {};
      const sum = (f) => queues.reduce((a, q) => a + (q[f] ?? 0), 0);
      const results = Object.values(history).flat().reduce((a, b) => a + b, 0);
      replace(totals,
        stat("pending", "pending", sum("pending")), stat("in_flight", "in flight", sum("in_flight")),
        stat("workers", "workers", doc.workers ?? sum("workers")),
        stat("results", "results / 15 min", results),
        el("div", { class: "stat muted" }, el("div", { class: "label" }, "updated"),
          el("div", {}, time(doc.ts_ms))));
      replace(roles, queues.map((q) => roleCard(q, history[q.role] ?? new Array(90).fill(0),
        bucket)));
    },
  });
}
