// Schedules: the list (GET /v1/schedules), create (POST /v1/schedules), delete
// (DELETE /v1/schedules/{name}).
import { api } from "/ui/api.js";
import { confirmButton, el, replace, time } from "/ui/dom.js";

function input(name, placeholder, extra = {}) {
  return el("input", { type: "text", name, placeholder, autocomplete: "off", ...extra });
}

export function render(page) {
  const note = el("p", { class: "muted", role: "status", id: "schedule-note" });
  const error = el("p", { class: "error", role: "alert", id: "schedule-error" });
  const body = el("tbody");
  const f = {
    name: input("name", "name", { required: true }), role: input("role", "role", { required: true }),
    type: input("type", "type", { required: true }),
    kind: el("select", { name: "kind" }, el("option", { value: "every" }, "every"),
      el("option", { value: "cron" }, "cron")),
    when: input("when", "5m, or 0 30 2 * * *", { required: true }),
    zone: input("time_zone", "time zone (cron, optional)"),
    payload: input("payload", "payload (JSON, or text)"),
  };

  const load = async () => {
    try {
      const r = await api("GET", "/v1/schedules");
      body.replaceChildren(...r.schedules.map((s) => el("tr", { "data-name": s.name },
        el("td", { class: "id" }, s.name), el("td", {}, s.role), el("td", {}, s.type),
        el("td", {}, s.schedule + (s.time_zone ? ` (${s.time_zone})` : "")),
        el("td", {}, time(s.created_ms)),
        el("td", {}, confirmButton("Delete", "Really delete?", async () => {
          try {
            await api("DELETE", `/v1/schedules/${encodeURIComponent(s.name)}`);
            note.textContent = `schedule ${s.name} deleted`;
            await load();
          } catch (e) {
            error.textContent = e.message;
          }
        })))));
      if (r.schedules.length === 0) body.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No schedules.")));
    } catch (e) {
      error.textContent = e.message;
    }
  };

  const create = async (e) => {
    e.preventDefault();
    const req = { name: f.name.value.trim(), role: f.role.value.trim(), type: f.type.value.trim() };
    req[f.kind.value] = f.when.value.trim();
    if (f.zone.value.trim()) req.time_zone = f.zone.value.trim();
    const text = f.payload.value;
    if (text !== "") {
      try { req.payload = JSON.parse(text); } catch { req.payload = text; }
    }
    try {
      const r = await api("POST", "/v1/schedules", req);
      e.target.reset();
      error.textContent = "";
      note.textContent = `schedule ${r.name} ${r.replaced ? "replaced" : "created"}: ${r.schedule}`;
      await load();
    } catch (err) {
      error.textContent = err.message;
    }
  };

  replace(page, el("h1", {}, "Schedules"),
    el("form", { class: "inline card", id: "schedule-form", onsubmit: create },
      f.name, f.role, f.type, f.kind, f.when, f.zone, f.payload,
      el("button", { type: "submit" }, "Create")),
    error, note,
    el("table", { id: "schedules" }, el("thead", {}, el("tr", {},
      ["name", "role", "type", "schedule", "created", ""].map((h) => el("th", {}, h)))), body));
  load();
  return () => {};
}
