// One instance: summary, actions, timeline (Gantt), history table, input and output.
import { ApiError, DASH, call, getJson, instancePath } from "./api.js";
import { badge, confirmDialog, every, fmtDate, fmtMs, h, jsonProblem, pretty, short, toast } from "./dom.js";
import { drawGantt } from "./gantt.js";

const ACTIVE = ["Running", "Pending", "Suspended", "ContinuedAsNew"];
const TERMINAL = ["Completed", "Failed", "Terminated", "Canceled"];
const HISTORY_ROWS = 500;
const REFRESH_MS = 1500;

export async function instancePage(main, { arg: id, params }) {
  let status = null;
  let tab = params.get("tab") || "timeline";
  const header = h("div", { class: "instance-header" });
  const summary = h("dl", { class: "summary" });
  const actions = h("div", { class: "actions", role: "toolbar" });
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const panel = h("div", { class: "panel" });
  const detail = h("div", { class: "detail", id: "detail" });
  const timelineBox = h("div", { class: "timeline", id: "timeline" });

  const loadStatus = async () => {
    try {
      status = (await call("GET", `${instancePath(id)}?showInput=true`)).data;
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        status = null;
        main.replaceChildren(h("p", {}, h("a", { href: "#/instances" }, "← Instances")), h("h1", {}, "Instance not found"),
          h("p", { class: "error-box", id: "not-found" }, `No instance with id '${id}' (it may have been purged).`));
        return false;
      }
      throw e;
    }
    return true;
  };

  let timeline = null;
  const loadTimeline = async () => {
    timeline = await getJson(`${DASH}/instances/${encodeURIComponent(id)}/timeline`);
  };

  function renderHeader() {
    header.replaceChildren(
      h("p", {}, h("a", { href: "#/instances" }, "← Instances")),
      h("div", { class: "title-row" }, h("h1", {}, status.name, " ", badge(status.runtimeStatus)), h("span", { class: "mono id", id: "instance-id" }, id)));
    const parent = timeline?.instance?.parent;
    const children = timeline?.children || [];
    const row = (label, value) => [h("dt", {}, label), h("dd", {}, value)];
    summary.replaceChildren(
      ...row("Created", fmtDate(status.createdTime)),
      ...row("Last updated", fmtDate(status.lastUpdatedTime)),
      ...row("Custom status", h("span", { id: "custom-status" }, status.customStatus === null ? "—" : short(status.customStatus, 120))),
      ...row("Version", h("span", { id: "instance-version" }, status.version || timeline?.instance?.version || "—")),
      ...row("Parent", parent ? h("a", { href: `#/instance/${encodeURIComponent(parent.instance_id)}` }, `${parent.name} ${parent.instance_id}`) : "—"),
      ...row("Children", children.length ? h("span", { class: "links" }, children.slice(0, 20).map((c) => h("a", { href: `#/instance/${encodeURIComponent(c.instanceId)}` }, c.name)), children.length > 20 ? ` … ${children.length} in all` : "") : "—"));
  }

  function renderActions() {
    const st = status.runtimeStatus;
    const active = ACTIVE.includes(st);
    const button = (label, name, enabled, handler, cls = "") => h("button", { type: "button", class: cls, dataset: { action: name }, disabled: !enabled, onclick: handler }, label);
    actions.replaceChildren(
      button("Raise event", "raise", active, raiseEvent, "primary"),
      button("Suspend", "suspend", active && st !== "Suspended", () => simple("suspend", "Suspend", "The instance stops processing messages until resumed.")),
      button("Resume", "resume", st === "Suspended", () => simple("resume", "Resume", "The instance continues where it stopped.")),
      button("Terminate", "terminate", active, () => simple("terminate", "Terminate", "The instance ends now, as Terminated. Running activities finish, but their results are ignored.", true)),
      button("Restart", "restart", true, restart),
      button("Rewind", "rewind", st === "Failed", () => simple("rewind", "Rewind", "Replays the failed instance from its last good state.")),
      button("Purge", "purge", TERMINAL.includes(st), purge, "danger"));
  }

  async function act(label, fn) {
    try {
      const result = await fn();
      toast(`${label}: done`, "ok");
      await refresh(true);
      return result;
    } catch (e) {
      toast(`${label} failed — ${e.message}`, "error");
      return null;
    }
  }

  async function raiseEvent() {
    const values = await confirmDialog({
      title: "Raise an event", message: `Send an external event to ${id}.`, confirmLabel: "Raise event",
      fields: [
        { name: "event", label: "Event name", placeholder: "approval", validate: (v) => (v.trim() ? null : "An event name is required") },
        { name: "data", label: "Data (JSON)", type: "textarea", placeholder: '{"approved": true}', validate: (v) => jsonProblem(v) },
      ],
    });
    if (!values) return;
    await act(`Raise '${values.event}'`, () => call("POST", `${instancePath(id)}/raiseEvent/${encodeURIComponent(values.event.trim())}`, { raw: values.data.trim() || "null" }));
  }

  async function simple(op, label, message, danger = false) {
    const values = await confirmDialog({ title: `${label} this instance?`, message, confirmLabel: label, danger,
      fields: [{ name: "reason", label: "Reason (optional)", placeholder: "why" }] });
    if (!values) return;
    const q = values.reason ? `?reason=${encodeURIComponent(values.reason)}` : "";
    await act(label, () => call("POST", `${instancePath(id)}/${op}${q}`));
  }

  async function restart() {
    const values = await confirmDialog({ title: "Restart this instance?", message: "Starts the same orchestrator again with the same input.", confirmLabel: "Restart",
      fields: [{ name: "newId", label: "with a new instance id", type: "checkbox", value: true }] });
    if (!values) return;
    const result = await act("Restart", () => call("POST", `${instancePath(id)}/restart?restartWithNewInstanceId=${values.newId}`));
    if (result?.data?.id && result.data.id !== id) location.hash = `#/instance/${encodeURIComponent(result.data.id)}`;
  }

  async function purge() {
    const values = await confirmDialog({ title: "Purge this instance?", message: `Deletes ${id} and its whole history. This cannot be undone.`, confirmLabel: "Purge", danger: true });
    if (!values) return;
    try {
      await call("DELETE", instancePath(id));
      toast(`Purged ${id}`, "ok");
      location.hash = "#/instances";
    } catch (e) {
      toast(`Purge failed — ${e.message}`, "error");
    }
  }

  function renderTabs() {
    const item = (name, label) => h("button", { type: "button", role: "tab", class: `tab${tab === name ? " on" : ""}`, "aria-selected": String(tab === name), dataset: { tab: name },
      onclick: () => { tab = name; history.replaceState(null, "", `#/instance/${encodeURIComponent(id)}${name === "timeline" ? "" : `?tab=${name}`}`); renderTabs(); renderPanel(); } }, label);
    tabs.replaceChildren(item("timeline", "Timeline"), item("history", "History"), item("io", "Input & output"));
  }

  let historyRows = HISTORY_ROWS;
  async function renderPanel() {
    if (tab === "timeline") {
      panel.replaceChildren(timelineBox, detail);
      if (timeline) drawGantt(timelineBox, timeline, showDetail);
      const note = timeline && timeline.barCount === 0 && !timeline.points.length ? h("p", { class: "muted" }, "No activities, timers or events yet.") : null;
      if (note) timelineBox.append(note);
    } else if (tab === "history") {
      panel.replaceChildren(h("p", { class: "muted" }, "Loading history…"));
      const full = (await call("GET", `${instancePath(id)}?showHistory=true&showHistoryOutput=true&showInput=true`)).data;
      panel.replaceChildren(historyTable(full.historyEvents || []));
    } else {
      panel.replaceChildren(h("div", { class: "io" },
        h("section", {}, h("h3", {}, "Input"), h("pre", { id: "input" }, pretty(status.input) || "null")),
        h("section", {}, h("h3", {}, "Output"), h("pre", { id: "output" }, pretty(status.output) || "null")),
        h("section", {}, h("h3", {}, "Custom status"), h("pre", {}, pretty(status.customStatus) || "null"))));
    }
  }

  function historyTable(events) {
    const t0 = events.length ? new Date(events[0].Timestamp).getTime() : 0;
    const rows = events.slice(0, historyRows).map((e, i) => {
      const name = e.FunctionName || e.Name || "";
      const info = e.Result ?? e.Reason ?? e.Input ?? (e.FireAt ? `fires at ${e.FireAt}` : "") ?? "";
      const full = pretty(info);
      const cell = h("td", { class: "detail-cell" }, short(info, 140));
      const tr = h("tr", { class: `ev ${e.EventType}`, title: "click to expand" }, h("td", { class: "num" }, i + 1),
        h("td", { class: "nowrap" }, `+${fmtMs(new Date(e.Timestamp).getTime() - t0)}`), h("td", {}, e.EventType), h("td", {}, name),
        h("td", { class: "nowrap" }, e.ScheduledTime ? fmtMs(new Date(e.Timestamp) - new Date(e.ScheduledTime)) : ""), cell);
      tr.addEventListener("click", () => cell.replaceChildren(cell.childElementCount ? short(info, 140) : h("pre", {}, full)));
      return tr;
    });
    const more = events.length > historyRows ? h("button", { type: "button", onclick: () => { historyRows = events.length; renderPanel(); } }, `Show all ${events.length} events`) : null;
    return h("div", {}, h("table", { class: "grid history", id: "history" },
      h("thead", {}, h("tr", {}, ["#", "When", "Event", "Function / name", "Took", "Input, result or reason"].map((x) => h("th", {}, x)))),
      h("tbody", {}, rows)), more);
  }

  function showDetail(item) {
    detail.replaceChildren(h("div", {}, detailOf(item)));
    detail.scrollIntoView({ block: "nearest" });
  }

  function detailOf(item) {
    const kv = (k, v) => (v === undefined || v === null || v === "" ? null : [h("dt", {}, k), h("dd", {}, v)]);
    const block = (label, text, cls = "") => (text ? h("section", {}, h("h4", {}, label), h("pre", { class: cls }, pretty(text))) : null);
    if (item.type === "bar") {
      return [h("h3", {}, `${item.kind === "timer" ? "Timer" : item.name} #${item.seq}`),
        h("dl", { class: "summary" }, kv("Kind", item.kind), kv("Outcome", item.outcome), kv("Attempt", item.attempt > 1 ? String(item.attempt) : null),
          kv("Started", `+${fmtMs(item.start)}`), kv("Ended", item.end === null ? "not yet" : `+${fmtMs(item.end)}`),
          kv("Took", item.end === null ? null : fmtMs(item.end - item.start)), kv("Fires at", item.fireAt),
          kv("Child instance", item.child ? h("a", { href: `#/instance/${encodeURIComponent(item.child)}` }, item.child) : null)),
        block("Input", item.input), block("Output", item.output), block("Error", item.error, "error-text"),
        item.details ? h("details", {}, h("summary", {}, "Failure details (exception, stack)"), h("pre", { class: "error-text" }, pretty(item.details))) : null];
    }
    if (item.type === "point") {
      return [h("h3", {}, `${item.kind} ${item.name}`), h("dl", { class: "summary" }, kv("At", `+${fmtMs(item.at)}`)), block("Data", item.data)];
    }
    const d = item.duration || {};
    return [h("h3", {}, `${item.name} ×${item.count}`),
        h("dl", { class: "summary" }, kv("Kind", item.kind), kv("Outcomes", Object.entries(item.outcomes).map(([k, v]) => `${k} ${v}`).join(", ")),
          kv("Retries", item.retries ? String(item.retries) : null), kv("Peak outstanding", `${item.peak} (scheduled, no result yet)`),
          kv("From", `+${fmtMs(item.start)} to +${fmtMs(item.end)}`),
          kv("Durations", d.p50 === undefined ? null : `min ${fmtMs(d.min)} · p50 ${fmtMs(d.p50)} · p95 ${fmtMs(d.p95)} · max ${fmtMs(d.max)}`)),
      block("First error", item.firstError, "error-text")];
  }

  let lastKey = "";
  async function refresh(force = false) {
    if (!(await loadStatus())) return false;
    const key = `${status.runtimeStatus}|${status.lastUpdatedTime}|${JSON.stringify(status.customStatus)}`;
    if (!force && key === lastKey && !ACTIVE.includes(status.runtimeStatus)) return true;
    const changed = key !== lastKey;
    lastKey = key;
    await loadTimeline();
    renderHeader();
    renderActions();
    if (tab === "timeline" || changed) await renderPanel();
    return true;
  }

  main.replaceChildren(header, summary, actions, tabs, panel);
  if (!(await refresh(true))) return {};
  renderTabs();
  await renderPanel();
  main.dataset.instance = id;
  const stop = every(REFRESH_MS, () => refresh(false));
  return { dispose: stop };
}

