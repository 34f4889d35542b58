// Small DOM helpers: element builders, formatting, toasts and the confirmation dialog.
const SVG_NS = "http://www.w3.org/2000/svg";

function fill(el, attrs, children, isSvg) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class" && !isSvg) el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value" && !isSvg) el.value = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const h = (tag, attrs, ...children) => fill(document.createElement(tag), attrs, children, false);
export const s = (tag, attrs, ...children) => fill(document.createElementNS(SVG_NS, tag), attrs, children, true);

export function fmtDate(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "";
  const abs = Math.abs(ms);
  if (abs === 0) return "0";
  if (abs < 1) return `${ms.toFixed(2)} ms`;
  if (abs < 1000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1000).toFixed(abs < 10_000 ? 2 : 1)} s`;
  if (abs < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (abs < 86_400_000 * 3) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}

export const fmtCount = (n) => Number(n).toLocaleString("en-US");

// JSON text or value, indented when it parses; anything else as is.
export function pretty(value) {
  if (value === null || value === undefined) return "";
  if (typeof value !== "string") return JSON.stringify(value, null, 2);
  try {
    const parsed = JSON.parse(value);
    return typeof parsed === "string" ? pretty2(parsed) : JSON.stringify(parsed, null, 2);
  } catch {
    return value;
  }
}

function pretty2(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function short(value, n = 80) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}

export const badge = (status) => h("span", { class: `badge st-${status}`, dataset: { status } }, status);

export function toast(message, kind = "info") {
  const box = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", title: "click to dismiss" }, message);
  box.addEventListener("click", () => box.remove());
  document.getElementById("toasts").append(box);
  setTimeout(() => box.remove(), kind === "error" ? 12000 : 4000);
}

// A modal confirmation with optional fields; resolves to {field: value} or null when cancelled.
// fields: [{name, label, type: "text"|"textarea"|"checkbox", value, placeholder, validate}]
export function confirmDialog({ title, message, fields = [], confirmLabel = "Confirm", danger = false }) {
  const dialog = document.getElementById("confirm");
  return new Promise((resolve) => {
    const inputs = {};
    const error = h("p", { class: "field-error", role: "alert" });
    const rows = fields.map((f) => {
      const id = `f-${f.name}`;
      let input;
      if (f.type === "textarea") input = h("textarea", { id, name: f.name, rows: 5, placeholder: f.placeholder || "" });
      else if (f.type === "checkbox") input = h("input", { id, name: f.name, type: "checkbox" });
      else input = h("input", { id, name: f.name, type: "text", placeholder: f.placeholder || "" });
      if (f.type === "checkbox") input.checked = !!f.value;
      else input.value = f.value ?? "";
      inputs[f.name] = input;
      return f.type === "checkbox"
        ? h("label", { class: "check" }, input, " ", f.label)
        : h("label", { for: id }, f.label, input);
    });
    const values = () => Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.type === "checkbox" ? el.checked : el.value]));
    const validate = () => {
      for (const f of fields) {
        const problem = f.validate ? f.validate(inputs[f.name].value) : null;
        inputs[f.name].classList.toggle("invalid", !!problem);
        if (problem) return problem;
      }
      return null;
    };
    const ok = h("button", { type: "submit", class: danger ? "danger" : "primary" }, confirmLabel);
    const onInput = () => {
      const problem = validate();
      error.textContent = problem || "";
      ok.disabled = !!problem;
    };
    const form = h("form", { method: "dialog", class: "dialog-form" },
      h("h2", {}, title), message ? h("p", {}, message) : null, rows, error,
      h("div", { class: "buttons" },
        h("button", { type: "button", value: "cancel", onclick: () => dialog.close("cancel") }, "Cancel"), ok));
    form.addEventListener("input", onInput);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (validate()) return;
      const result = values();
      dialog.close("ok");
      resolve(result);
    });
    dialog.replaceChildren(form);
    dialog.onclose = () => { if (dialog.returnValue !== "ok") resolve(null); };
    dialog.returnValue = "";
    dialog.showModal();
    onInput();
    (Object.values(inputs)[0] || ok).focus();
  });
}

export function jsonProblem(text, { allowEmpty = true } = {}) {
  if (!text.trim()) return allowEmpty ? null : "JSON is required";
  try {
    JSON.parse(text);
    return null;
  } catch (e) {
    return `Not valid JSON: ${e.message}`;
  }
}

// Polls fn every `ms` while the page is shown; returns a stop function.
export function every(ms, fn) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    if (stopped) return;
    if (!document.hidden) {
      try { await fn(); } catch (e) { console.warn(e); }
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  return () => { stopped = true; clearTimeout(timer); };
}
