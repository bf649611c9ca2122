// Building the page: elements are made with createElement and filled with text nodes only (never
// innerHTML), so whatever comes from Redis (queue names, task types, payloads, errors) shows as text.

/**
 * An element: `h("a", { href: "#/", class: "x", onclick: fn }, "text", child)`. Strings and numbers
 * become text nodes; null, undefined and false children are skipped; arrays are flattened.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "checked" || key === "disabled") el[key] = Boolean(value);
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces the content of an element. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export function formatNumber(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : "–";
}

export function formatBytes(n) {
  if (typeof n !== "number") return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function formatMs(ms) {
  if (typeof ms !== "number") return "–";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function formatDate(iso) {
  return iso === null || iso === undefined ? "–" : iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** A payload or result ({ size, text, hex, truncated }) as pretty JSON, text, or hex. */
export function bytesView(bytes, { preview = false } = {}) {
  if (bytes === null || bytes === undefined) return "–";
  if (bytes.size === 0) return preview ? "(empty)" : h("span", { class: "muted" }, "(empty)");
  let shown;
  let kind;
  if (bytes.text !== null) {
    try {
      const parsed = JSON.parse(bytes.text);
      shown = preview ? JSON.stringify(parsed) : JSON.stringify(parsed, null, 2);
      kind = "json";
    } catch {
      shown = bytes.text;
      kind = "text";
    }
  } else {
    shown = bytes.hex.replace(/(..)/g, "$1 ").trim() + (bytes.truncated ? " …" : "");
    kind = "hex";
  }
  if (preview) return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
  return h("pre", { class: `bytes ${kind}`, "data-kind": kind }, shown);
}
