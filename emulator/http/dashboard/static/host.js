// The host: functions and routes, durable limits, running work, pending messages and timers,
// and the time-skipping clock (hold, release, advance).
import { CLOCK, call } from "./api.js";
import { every, fmtCount, fmtDate, h, toast } from "./dom.js";

const REFRESH_MS = 2000;

const table = (id, headers, rows, empty) => h("table", { class: "grid", id },
  h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
  h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: headers.length, class: "empty" }, empty))));

const link = (id) => h("a", { class: "mono", href: `#/instance/${encodeURIComponent(id)}` }, id);
const more = (list) => (list.total > list.items.length ? h("p", { class: "muted small" }, `showing ${list.items.length} of ${fmtCount(list.total)}`) : null);

export async function hostPage(main, { host }) {
  const clockBox = h("section", { class: "card", id: "clock" });
  const limitsBox = h("section", { class: "card", id: "limits" });
  const workBox = h("section", { class: "work" });
  const functionsBox = h("section", {});
  const seconds = h("input", { id: "advance-seconds", type: "number", min: "0", step: "any", value: "60" });

  const clockCall = async (action, query = "") => {
    try {
      await call("POST", `${CLOCK}/${action}${query}`);
      toast(`Clock: ${action}`, "ok");
      await load();
    } catch (e) {
      toast(`Clock ${action} failed — ${e.message}`, "error");
    }
  };

  const load = async () => {
    const info = await host(true);
    const c = info.clock;
    clockBox.replaceChildren(h("h2", {}, "Clock"),
      h("p", {}, h("strong", { id: "clock-now" }, fmtDate(c.now)), " ",
        c.timeSkipping ? h("span", { class: `badge ${c.held ? "st-Suspended" : "st-Running"}`, id: "clock-state" }, c.held ? "held" : `skipping${c.mode ? ` (${c.mode})` : ""}`) : h("span", { class: "badge", id: "clock-state" }, "real time")),
      c.timeSkipping
        ? h("p", { class: "muted small" }, `skipped ahead ${(c.offsetSeconds / 3600).toFixed(2)} h in all. While held, timers wait for real time or for Advance.`)
        : h("p", { class: "muted small" }, "Start the host with --time-skipping to hold, release and advance the clock."),
      h("div", { class: "buttons" },
        h("button", { type: "button", id: "clock-hold", disabled: !c.timeSkipping || c.held, onclick: () => clockCall("hold") }, "Hold"),
        h("button", { type: "button", id: "clock-release", disabled: !c.timeSkipping || !c.held, onclick: () => clockCall("release") }, "Release"),
        h("label", { class: "inline" }, seconds, " s"),
        h("button", { type: "button", id: "clock-advance", disabled: !c.timeSkipping, onclick: () => clockCall("advance", `?seconds=${encodeURIComponent(seconds.value)}`) }, "Advance")));
    const l = info.limits;
    const lim = (v) => (v ? fmtCount(v) : "unlimited");
    limitsBox.replaceChildren(h("h2", {}, "Durable limits in force"), h("dl", { class: "summary" },
      h("dt", {}, "maxConcurrentActivityFunctions"), h("dd", {}, lim(l.maxConcurrentActivityFunctions)),
      h("dt", {}, "maxConcurrentOrchestratorFunctions"), h("dd", {}, lim(l.maxConcurrentOrchestratorFunctions)),
      h("dt", {}, "thread pool (sync functions)"), h("dd", {}, fmtCount(l.threadPoolSize)),
      l.versioning ? [h("dt", {}, "versioning"), h("dd", { id: "versioning" }, `defaultVersion ${l.versioning.defaultVersion ?? "none"} · ${l.versioning.versionMatchStrategy} · ${l.versioning.versionFailureStrategy}`)] : null,
      h("dt", {}, "task hub"), h("dd", {}, l.hubName),
      h("dt", {}, "state"), h("dd", {}, l.store),
      h("dt", {}, "totals"), h("dd", {}, `${fmtCount(l.instances)} instances · ${fmtCount(l.entities)} entities · ${fmtCount(l.episodes)} episodes · ${fmtCount(l.activitiesRun)} activities run`)));
    const w = info.work;
    workBox.replaceChildren(
      h("div", {}, h("h2", {}, `Running activities (${fmtCount(w.activities.total)})`),
        table("running-activities", ["Instance", "Activity", "Task", "State"], w.activities.items.map((a) => h("tr", {}, h("td", {}, link(a.instanceId)), h("td", {}, a.name), h("td", {}, `#${a.taskId}`), h("td", {}, a.state))), "none"), more(w.activities)),
      h("div", {}, h("h2", {}, `Running episodes (${fmtCount(w.episodes.total)})`),
        table("running-episodes", ["Instance", "Orchestrator", "Episodes so far"], w.episodes.items.map((e) => h("tr", {}, h("td", {}, link(e.instanceId)), h("td", {}, e.name), h("td", {}, e.episodes))), "none"), more(w.episodes)),
      h("div", {}, h("h2", {}, `Pending messages (${fmtCount(w.messages.total)} instances)`),
        table("pending-messages", ["Instance", "Orchestrator", "Messages", "Kinds"], w.messages.items.map((m) => h("tr", {}, h("td", {}, link(m.instanceId)), h("td", {}, m.name), h("td", {}, m.count + (m.held ? " (batching)" : "")), h("td", {}, Object.entries(m.kinds).map(([k, v]) => `${k} ×${v}`).join(", ")))), "none"), more(w.messages)),
      h("div", {}, h("h2", {}, `Pending timers (${fmtCount(w.timers.total)})`),
        table("pending-timers", ["Instance", "Timer", "Fires at"], w.timers.items.map((t) => h("tr", {}, h("td", {}, link(t.instanceId)), h("td", {}, `#${t.timerId}`), h("td", {}, fmtDate(t.fireAt)))), "none"), more(w.timers)));
    if (info.functionsNote) {
      // Scheduler mode: no app; the names come from the workers' filters and what the hub saw.
      const any = Object.entries(info.anyName || {}).filter(([, n]) => n > 0).map(([k, n]) => `${n} worker(s) take any ${k} name (no filter)`);
      functionsBox.replaceChildren(h("h2", {}, `Functions (${info.functions.length})`),
        h("p", { class: "muted small", id: "functions-note" }, info.functionsNote, any.length ? ` Connected now: ${any.join("; ")}.` : ""),
        table("functions", ["Name", "Trigger", "Source", "Versions"], info.functions.map((f) => h("tr", {},
          h("td", {}, f.name), h("td", {}, f.trigger), h("td", {}, f.sources.join(", ")), h("td", {}, (f.versions || []).join(", ")))), "none known yet"));
      return;
    }
    functionsBox.replaceChildren(h("h2", {}, `Functions (${info.functions.length})`),
      table("functions", ["Name", "Trigger", "Methods", "URL"], info.functions.map((f) => h("tr", {},
        h("td", {}, f.name), h("td", {}, f.trigger), h("td", {}, (f.methods || []).length >= 8 ? "ALL" : (f.methods || []).join(", ")),
        h("td", { class: "mono" }, f.url || ""))), "none"));
  };

  main.replaceChildren(h("h1", {}, "Host"), h("div", { class: "two" }, clockBox, limitsBox), workBox, functionsBox);
  await load();
  return { dispose: every(REFRESH_MS, load) };
}
