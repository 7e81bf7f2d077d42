// Workers: who answers the ping, of which role, with how many tasks in flight (GET /v1/workers),
// read again every 5 s while the page is open.
import { api } from "/ui/api.js";
import { el, replace } from "/ui/dom.js";

export function render(page) {
  const error = el("p", { class: "error", role: "alert" });
  const body = el("tbody");
  replace(page, el("h1", {}, "Workers"), error,
    el("table", { id: "workers" }, el("thead", {}, el("tr", {},
      el("th", {}, "worker"), el("th", {}, "role"), el("th", { class: "num" }, "concurrency"),
      el("th", { class: "num" }, "in flight"))), body));
  const load = async () => {
    try {
      const r = await api("GET", "/v1/workers");
      error.textContent = "";
      body.replaceChildren(...r.workers.map((w) => el("tr", { "data-worker": w.worker },
        el("td", { class: "id" }, w.worker), el("td", {}, w.role),
        el("td", { class: "num" }, w.concurrency), el("td", { class: "num" }, w.in_flight))));
      if (r.workers.length === 0) body.append(el("tr", {}, el("td", { colspan: 4, class: "muted" }, "No worker answered.")));
    } catch (e) {
      error.textContent = e.message;
    }
  };
  load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}
