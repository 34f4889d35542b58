// Triggers beyond HTTP: next timer occurrences, queue depths and poison counts, blob listeners,
// other trigger types, functions that are off, recent invocations; and "Run now", which is
// POST /admin/functions/{name} with {"input": ...} (Core Tools' call for non-HTTP functions).
import { call, getJson } from "./api.js";
import { every, fmtCount, fmtDate, fmtMs, h, toast } from "./dom.js";

const TRIGGERS = "/admin/emulator/triggers";
const REFRESH_MS = 2000;

const table = (id, headers, rows, empty) => h("table", { class: "grid", id },
  h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
  h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, empty))));

const count = (n) => (n === null || n === undefined ? "–" : fmtCount(n));

export async function triggersPage(main) {
  const inputs = new Map(); // function -> its input box, kept across refreshes
  const box = h("div", {});

  const runNow = async (name) => {
    const text = inputs.get(name)?.value ?? "";
    try {
      await call("POST", `/admin/functions/${encodeURIComponent(name)}`, { json: { input: text } });
      toast(`${name}: started`, "ok");
      setTimeout(load, 300);
    } catch (e) {
      toast(`${name} — ${e.message}`, "error");
    }
  };

  const runCell = (name, placeholder) => {
    if (!inputs.has(name)) inputs.set(name, h("input", { type: "text", class: "run-input", "data-function": name, placeholder, "aria-label": `input for ${name}` }));
    return h("td", { class: "run" }, inputs.get(name),
      h("button", { type: "button", class: "run-now", "data-function": name, onclick: () => runNow(name) }, "Run now"));
  };

  const load = async () => {
    const t = await getJson(TRIGGERS);
    box.replaceChildren(
      h("h2", {}, `Timers (${t.timers.length})`),
      table("timers", ["Function", "Schedule", "Next occurrences", "Last run", "Monitor", "Run"], t.timers.map((x) => h("tr", { "data-function": x.function },
        h("td", {}, x.function), h("td", { class: "mono" }, x.schedule),
        h("td", { class: "next" }, x.next.slice(0, 3).map(fmtDate).join(" · ")),
        h("td", {}, x.status && !x.status.Last.startsWith("0001") ? fmtDate(x.status.Last) : "never"),
        h("td", {}, x.useMonitor ? "yes" : "no"), runCell(x.function, "(ignored)"))), "no timer-triggered functions"),
      h("h2", {}, `Queues (${t.queues.length})`),
      table("queues", ["Function", "Queue", "Depth", "Poison", "Processed", "Failed", "Poisoned", "In flight", "Run with a message"], t.queues.map((q) => h("tr", { "data-function": q.function },
        h("td", {}, q.function), h("td", { class: "mono" }, q.queue), h("td", { class: "depth" }, count(q.depth)),
        h("td", { class: "poison-depth" }, q.poisonQueue ? count(q.poisonDepth) : "none"),
        h("td", { class: "processed" }, fmtCount(q.processed)), h("td", {}, fmtCount(q.failed)), h("td", {}, fmtCount(q.poisoned)), h("td", {}, fmtCount(q.inFlight)),
        runCell(q.function, "message text"))), "no queue-triggered functions"),
      h("h2", {}, `Blobs (${t.blobs.length})`),
      table("blobs", ["Function", "Container", "Pattern", "Processed", "Failed", "Poisoned", "Run with a blob"], t.blobs.map((b) => h("tr", { "data-function": b.function },
        h("td", {}, b.function), h("td", { class: "mono" }, b.container), h("td", { class: "mono" }, b.pattern),
        h("td", {}, fmtCount(b.processed)), h("td", {}, fmtCount(b.failed)), h("td", {}, fmtCount(b.poisoned)),
        runCell(b.function, "container/blob"))), "no blob-triggered functions"),
      h("h2", {}, `Other triggers (${t.other.length})`),
      table("other-triggers", ["Function", "Trigger", "Note", "Run with an input"], t.other.map((o) => h("tr", { "data-function": o.function },
        h("td", {}, o.function), h("td", {}, o.trigger), h("td", { class: "small" }, o.line), runCell(o.function, "payload"))), "none"),
      ...(t.off.length ? [h("h2", {}, `Off (${t.off.length})`), table("off", ["Function", "Why"], t.off.map((o) => h("tr", { "data-function": o.function }, h("td", {}, o.function), h("td", { class: "error-text" }, o.error))), "")] : []),
      h("h2", {}, `Recent invocations (${t.recent.length})`),
      table("recent", ["Started", "Function", "Trigger", "Reason", "Duration", "Outcome"], t.recent.map((r) => h("tr", { "data-function": r.function },
        h("td", {}, fmtDate(r.started)), h("td", {}, r.function), h("td", {}, r.trigger), h("td", { class: "small" }, r.reason),
        h("td", {}, fmtMs(r.durationMs)), h("td", { class: r.succeeded ? "ok" : "error-text" }, r.succeeded ? "Succeeded" : `Failed: ${r.error}`))), "none yet"));
  };

  main.replaceChildren(h("h1", {}, "Triggers"), h("p", { class: "muted small" }, "Timer, queue and blob triggers run against the storage of each function's connection (Azurite locally). Run now calls POST /admin/functions/{name} with the input."), box);
  await load();
  return { dispose: every(REFRESH_MS, load) };
}
