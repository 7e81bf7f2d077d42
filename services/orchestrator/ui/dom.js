// Building the page from data: every value becomes text (textContent), never HTML. Task ids,
// payloads, outputs and errors come from anyone who can submit a task.

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  setProps(node, props);
  append(node, children);
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag, props = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  setProps(node, props);
  append(node, children);
  return node;
}

function setProps(node, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

// The link to a task's page: its id goes into the URL's fragment, encoded.
export function taskLink(id) {
  return el("a", { href: "#/task/" + encodeURIComponent(id), class: "task-link" }, id);
}

export function time(ms) {
  if (typeof ms !== "number") return "";
  return new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC");
}

export function age(seconds) {
  if (typeof seconds !== "number" || !(seconds > 0)) return "0 s";
  if (seconds < 60) return seconds.toFixed(seconds < 10 ? 1 : 0) + " s";
  if (seconds < 3600) return Math.floor(seconds / 60) + " min " + Math.floor(seconds % 60) + " s";
  return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
}

export function stateBadge(state) {
  return el("span", { class: "state " + String(state).replace(/[^a-z]/g, ""), "data-state": state },
    state);
}

// At most `max` characters of a value, said when cut.
export function preview(text, max = 4096) {
  const s = String(text);
  return s.length > max ? s.slice(0, max) + `\n… (${s.length - max} more characters)` : s;
}

// A two-step button: the first click asks, the second does `action`.
export function confirmButton(label, ask, action, cls = "danger") {
  const button = el("button", { type: "button", class: cls }, label);
  let armed = false;
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.textContent = ask;
      setTimeout(() => { armed = false; button.textContent = label; }, 4000);
      return;
    }
    button.disabled = true;
    try { await action(); } finally { button.disabled = false; }
  });
  return button;
}
