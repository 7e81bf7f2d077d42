// Dead letters: the list (GET /v1/dlq), one with its original task (GET /v1/dlq/{seq}),
// requeue (POST /v1/dlq/{seq}/requeue) and delete (DELETE /v1/dlq/{seq}).
import { api } from "/ui/api.js";
import { confirmButton, el, preview, replace, taskLink, time } from "/ui/dom.js";

export function render(page) {
  const note = el("p", { class: "muted", id: "dlq-note", role: "status" });
  const error = el("p", { class: "error", role: "alert", id: "dlq-error" });
  const body = el("tbody");
  const detail = el("div", { class: "card", id: "dlq-detail", hidden: true });
  const more = el("button", { type: "button", class: "secondary", hidden: true }, "More");
  let next = 1;

  const view = async (seq) => {
    try {
      const d = await api("GET", `/v1/dlq/${seq}`);
      const task = d.task ?? {};
      let payload = typeof task.payload === "string" ? task.payload
        : typeof task.payload_base64 === "string" ? "(bytes that are not UTF-8, base64)\n"
          + task.payload_base64 : "";
      try { payload = JSON.stringify(JSON.parse(payload), null, 2); } catch { /* text */ }
      replace(detail, el("h2", {}, `Dead letter ${seq}`),
        el("dl", { class: "fields" },
          el("dt", {}, "task"), el("dd", {}, taskLink(d.id)),
          el("dt", {}, "role / type"), el("dd", {}, `${d.role} / ${d.type}`),
          el("dt", {}, "attempts"), el("dd", {}, d.attempts),
          el("dt", {}, "reason"), el("dd", { "data-field": "reason" }, d.reason ?? ""),
          el("dt", {}, "meta"), el("dd", {}, JSON.stringify(task.meta ?? {}))),
        el("h2", {}, "Payload"), el("pre", { "data-field": "payload" }, preview(payload)),
        el("details", {}, el("summary", {}, "All fields (JSON)"),
          el("pre", {}, JSON.stringify(d, null, 2))));
      detail.hidden = false;
    } catch (e) {
      error.textContent = e.message;
    }
  };

  const row = (d) => el("tr", { "data-seq": d.seq },
    el("td", { class: "num" }, d.seq),
    el("td", { class: "id" }, taskLink(d.id)),
    el("td", {}, d.role), el("td", {}, d.type),
    el("td", { class: "num" }, d.attempts),
    el("td", {}, time(d.failed_ms)),
    el("td", { class: "reason" }, preview(d.reason ?? "", 300)),
    el("td", {}, el("div", { class: "actions" },
      el("button", { type: "button", class: "secondary", "data-action": "view",
        onclick: () => view(d.seq) }, "View"),
      el("button", { type: "button", "data-action": "requeue", onclick: async (e) => {
        e.target.disabled = true;
        try {
          const r = await api("POST", `/v1/dlq/${d.seq}/requeue`);
          replace(note, `dead letter ${d.seq} requeued as `, taskLink(r.id));
          await load(true);
        } catch (err) {
          error.textContent = err.message;
          e.target.disabled = false;
        }
      } }, "Requeue"),
      confirmButton("Delete", "Really delete?", async () => {
        try {
          await api("DELETE", `/v1/dlq/${d.seq}`);
          replace(note, `dead letter ${d.seq} deleted`);
          await load(true);
        } catch (err) {
          error.textContent = err.message;
        }
      }))));

  const load = async (fresh) => {
    if (fresh) { next = 1; body.replaceChildren(); }
    try {
      const r = await api("GET", `/v1/dlq?limit=100&from=${next}`);
      error.textContent = "";
      body.append(...r.dead_letters.map(row));
      more.hidden = r.dead_letters.length < 100;
      next = r.next_seq;
      if (body.children.length === 0) body.append(el("tr", {}, el("td", { colspan: 8, class: "muted" }, "No dead letters.")));
    } catch (e) {
      error.textContent = e.message;
    }
  };
  more.addEventListener("click", () => load(false));

  replace(page, el("h1", {}, "Dead letters"), error, note,
    el("table", { id: "dead-letters" }, el("thead", {}, el("tr", {},
      ["seq", "task", "role", "type", "attempts", "failed", "reason", ""].map((h) =>
        el("th", {}, h)))), body), more, detail);
  load(true);
  return () => {};
}
