// The dashboard's entry: asks for the token, then routes #/… to a page. Each page renders into
// #page and returns a function that stops what it started (streams, timers).
import { token, whenUnauthorized } from "/ui/api.js";
import * as deadLetters from "/ui/dead_letters.js";
import * as overview from "/ui/overview.js";
import * as schedules from "/ui/schedules.js";
import * as task from "/ui/task.js";
import * as workers from "/ui/workers.js";

const pages = { "": overview, task, "dead-letters": deadLetters, schedules, workers };
const $ = (id) => document.getElementById(id);
let stop = () => {};

function live(on) {
  $("live").className = "live " + (on ? "on" : "off");
  $("live").textContent = on ? "live" : "reconnecting";
}

function route() {
  stop();
  stop = () => {};
  $("page").replaceChildren();
  $("live").textContent = "";
  $("live").className = "live";
  const signedIn = token.get() !== null;
  $("login").hidden = signedIn;
  $("nav").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  if (!signedIn) {
    $("token").focus();
    return;
  }
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const page = pages[name] ?? overview;
  let arg = rest.join("/");
  try { arg = decodeURIComponent(arg); } catch { /* left as it came */ }
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.page === (name || "overview"));
  }
  stop = page.render($("page"), { arg, live });
}

whenUnauthorized(() => {
  token.clear();
  $("login-error").textContent = "The orchestrator refused the token: type it again.";
  route();
});

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  token.set($("token").value);
  $("token").value = "";
  $("login-error").textContent = "";
  route();
});
$("sign-out").addEventListener("click", () => {
  token.clear();
  route();
});
window.addEventListener("hashchange", route);
route();
