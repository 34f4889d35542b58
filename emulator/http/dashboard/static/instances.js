// The instance list: filters in the URL (shareable), status counts, paging, live refresh.
import { DASH, getJson } from "./api.js";
import { badge, every, fmtCount, fmtDate, h, short } from "./dom.js";

const STATUSES = ["Running", "Pending", "Suspended", "Completed", "Failed", "Terminated", "ContinuedAsNew", "Canceled"];
const PAGE_SIZE = 50;
const REFRESH_MS = 2000;

const toLocalInput = (iso) => {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};
const fromLocalInput = (value) => (value ? new Date(value).toISOString() : "");

export async function instancesPage(main, { params, host }) {
  const state = {
    name: params.get("name") || "",
    status: (params.get("status") || "").split(",").filter(Boolean),
    prefix: params.get("prefix") || "",
    from: params.get("from") || "",
    to: params.get("to") || "",
    page: Math.max(0, Number(params.get("page") || 0)),
    live: params.get("live") !== "off",
  };
  const info = await host();

  const nameSelect = h("select", { id: "filter-name", "aria-label": "Orchestrator name" },
    h("option", { value: "" }, "any orchestrator"),
    info.orchestrators.map((n) => h("option", { value: n }, n)));
  nameSelect.value = state.name;
  const prefixInput = h("input", { id: "filter-prefix", type: "search", placeholder: "instance id prefix", value: state.prefix });
  const fromInput = h("input", { id: "filter-from", type: "datetime-local", value: toLocalInput(state.from) });
  const toInput = h("input", { id: "filter-to", type: "datetime-local", value: toLocalInput(state.to) });
  const liveBox = h("input", { id: "live", type: "checkbox" });
  liveBox.checked = state.live;
  const chips = h("div", { class: "chips", role: "group", "aria-label": "Status" });
  const tbody = h("tbody");
  const pager = h("div", { class: "pager" });
  const updated = h("span", { class: "muted small" });

  const query = () => {
    const q = new URLSearchParams({ top: PAGE_SIZE, offset: state.page * PAGE_SIZE });
    if (state.name) q.set("name", state.name);
    if (state.status.length) q.set("runtimeStatus", state.status.join(","));
    if (state.prefix) q.set("instanceIdPrefix", state.prefix);
    if (state.from) q.set("createdTimeFrom", state.from);
    if (state.to) q.set("createdTimeTo", state.to);
    return q;
  };
  const shareHash = () => {
    const q = new URLSearchParams();
    for (const key of ["name", "prefix", "from", "to"]) if (state[key]) q.set(key, state[key]);
    if (state.status.length) q.set("status", state.status.join(","));
    if (state.page) q.set("page", state.page);
    if (!state.live) q.set("live", "off");
    const text = q.toString();
    return `#/instances${text ? `?${text}` : ""}`;
  };

  let lastText = "";
  const load = async () => {
    const data = await getJson(`${DASH}/instances?${query()}`);
    const text = JSON.stringify(data);
    if (text === lastText) {
      updated.textContent = `live · checked ${new Date().toLocaleTimeString()}`;
      return;
    }
    lastText = text;
    renderChips(data.counts);
    renderRows(data.instances);
    renderPager(data.total);
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  };
  const apply = async () => {
    history.replaceState(null, "", shareHash());
    lastText = "";
    await load();
  };

  function renderChips(counts) {
    const all = Object.values(counts).reduce((a, b) => a + b, 0);
    const chip = (label, value, count) => {
      const on = value === null ? state.status.length === 0 : state.status.includes(value);
      return h("button", {
        type: "button", class: `chip${on ? " on" : ""}`, "aria-pressed": String(on), dataset: { status: value || "all" },
        onclick: () => {
          if (value === null) state.status = [];
          else state.status = on ? state.status.filter((x) => x !== value) : [...state.status, value];
          state.page = 0;
          apply();
        },
      }, value ? h("span", { class: `dot st-${value}` }) : null, label, h("span", { class: "count" }, fmtCount(count)));
    };
    chips.replaceChildren(chip("All", null, all),
      ...STATUSES.map((st) => chip(st, st, counts[st] || 0)));
  }

  function renderRows(instances) {
    if (!instances.length) {
      tbody.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "empty" }, "No instances match these filters.")));
      return;
    }
    tbody.replaceChildren(...instances.map((inst) => h("tr", { dataset: { id: inst.instanceId } },
      h("td", { class: "mono" }, h("a", { href: `#/instance/${encodeURIComponent(inst.instanceId)}` }, inst.instanceId)),
      h("td", {}, inst.name),
      h("td", {}, badge(inst.runtimeStatus)),
      h("td", { class: "nowrap" }, fmtDate(inst.createdTime)),
      h("td", { class: "nowrap" }, fmtDate(inst.lastUpdatedTime)),
      h("td", { class: "custom", title: inst.customStatus === null ? "" : JSON.stringify(inst.customStatus) }, short(inst.customStatus, 60)),
      h("td", {}, inst.version || "")),
    ));
  }

  function renderPager(total) {
    const first = total ? state.page * PAGE_SIZE + 1 : 0;
    const last = Math.min(total, (state.page + 1) * PAGE_SIZE);
    const go = (delta) => () => { state.page += delta; apply(); };
    pager.replaceChildren(
      h("button", { type: "button", disabled: state.page === 0, onclick: go(-1) }, "‹ Newer"),
      h("span", { class: "range", id: "range" }, `${fmtCount(first)}–${fmtCount(last)} of ${fmtCount(total)}`),
      h("button", { type: "button", disabled: last >= total, onclick: go(1) }, "Older ›"));
  }

  let debounce = null;
  const onFilter = () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      state.name = nameSelect.value;
      state.prefix = prefixInput.value.trim();
      state.from = fromLocalInput(fromInput.value);
      state.to = fromLocalInput(toInput.value);
      state.page = 0;
      apply();
    }, 250);
  };
  for (const el of [nameSelect, prefixInput, fromInput, toInput]) el.addEventListener("input", onFilter);
  liveBox.addEventListener("change", () => { state.live = liveBox.checked; history.replaceState(null, "", shareHash()); });
  const clear = () => { location.hash = "#/instances"; };

  main.replaceChildren(
    h("div", { class: "title-row" }, h("h1", {}, "Orchestration instances"),
      h("a", { class: "button primary", href: "#/new", id: "new-orchestration" }, "+ New orchestration")),
    h("div", { class: "filters" },
      h("label", {}, "Name", nameSelect),
      h("label", {}, "Id prefix", prefixInput),
      h("label", {}, "Created from", fromInput),
      h("label", {}, "to", toInput),
      h("button", { type: "button", onclick: clear }, "Clear filters"),
      h("label", { class: "check live" }, liveBox, " live refresh"), updated),
    chips,
    h("table", { class: "grid", id: "instances" },
      h("thead", {}, h("tr", {}, ["Instance id", "Name", "Status", "Created", "Last updated", "Custom status", "Version"].map((t) => h("th", {}, t)))),
      tbody),
    pager);
  history.replaceState(null, "", shareHash());
  await load();
  const stop = every(REFRESH_MS, () => (state.live ? load() : null));
  return { dispose: stop };
}
