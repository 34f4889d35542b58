// Durable entities: list, state, signal an operation (the extension's entities/ HTTP API).
import { ApiError, MGMT, call } from "./api.js";
import { confirmDialog, every, fmtDate, h, jsonProblem, pretty, short, toast } from "./dom.js";

const REFRESH_MS = 3000;
const entityPath = (name, key) => `${MGMT}/entities/${encodeURIComponent(name)}/${encodeURIComponent(key === "" ? "$" : key)}`;

function unsupported(message) {
  return h("div", { class: "notice", id: "entities-unsupported" },
    h("h2", {}, "Entities are not available on this host"),
    h("p", {}, "The host answered 501 Not Implemented to GET entities/:"), h("pre", {}, message),
    h("p", { class: "muted" }, "This page lists entities, shows their state and signals operations as soon as the host supports durable entities."));
}

export async function entitiesPage(main, { arg, params }) {
  const nameFilter = params.get("name") || "";
  const tbody = h("tbody");
  const box = h("div", {}, h("table", { class: "grid", id: "entities" },
    h("thead", {}, h("tr", {}, ["Entity", "Key", "Last operation", "State"].map((x) => h("th", {}, x)))), tbody));
  main.replaceChildren(h("h1", {}, "Entities"), box);

  const loadList = async () => {
    const list = (await call("GET", `${MGMT}/entities/${nameFilter ? encodeURIComponent(nameFilter) : ""}?fetchState=true&top=200`)).data || [];
    tbody.replaceChildren(...(list.length ? list.map((e) => {
      const { name, key } = e.entityId || {};
      return h("tr", { dataset: { name, key } },
        h("td", {}, h("a", { href: `#/entities/${encodeURIComponent(name)}/${encodeURIComponent(key)}` }, name)),
        h("td", { class: "mono" }, key), h("td", { class: "nowrap" }, fmtDate(e.lastOperationTime)),
        h("td", { class: "custom" }, short(e.state, 80)));
    }) : [h("tr", {}, h("td", { colspan: 4, class: "empty" }, "No entities yet."))]));
  };
  try {
    await loadList();
  } catch (e) {
    if (e instanceof ApiError && e.status === 501) {
      main.replaceChildren(h("h1", {}, "Entities"), unsupported(e.message));
      return {};
    }
    throw e;
  }
  const selected = arg ? arg.split("/") : null;
  let loadState = async () => {};
  if (selected && selected.length >= 2) {
    const detail = entityDetail(selected[0], selected.slice(1).join("/"), async () => { await loadList(); await loadState(); });
    box.append(detail.element);
    loadState = detail.load;
    await loadState();
  }
  return { dispose: every(REFRESH_MS, async () => { await loadList(); await loadState(); }) };
}

function entityDetail(name, key, changed) {
  const state = h("pre", { id: "entity-state" });
  const load = async () => {
    try {
      const response = await call("GET", entityPath(name, key));
      state.textContent = pretty(response.data) || "null";
    } catch (e) {
      state.textContent = e.status === 404 ? "(no state: the entity does not exist yet)" : e.message;
    }
  };
  const signal = async () => {
    const values = await confirmDialog({ title: `Signal ${name}@${key}`, confirmLabel: "Signal",
      fields: [{ name: "op", label: "Operation", placeholder: "add", validate: (v) => (v.trim() ? null : "An operation name is required") },
        { name: "input", label: "Input (JSON, optional)", type: "textarea", validate: (v) => jsonProblem(v) }] });
    if (!values) return;
    try {
      const input = values.input.trim();
      // The input goes as the SDK's client sends it (a JSON string holding the JSON text):
      // a Python entity's get_input() decodes twice, so a raw JSON body would not reach it.
      await call("POST", `${entityPath(name, key)}?op=${encodeURIComponent(values.op.trim())}`, input ? { json: JSON.stringify(JSON.parse(input)) } : {});
      toast(`Signalled ${values.op} to ${name}@${key}`, "ok");
      setTimeout(changed, 300); // the operation runs asynchronously
    } catch (e) {
      toast(`Signal failed — ${e.message}`, "error");
    }
  };
  const element = h("section", { class: "card spaced", id: "entity-detail" }, h("h2", {}, `${name} @ ${key}`),
    h("div", { class: "buttons" }, h("button", { type: "button", class: "primary", id: "signal", onclick: signal }, "Signal operation"),
      h("button", { type: "button", onclick: changed }, "Refresh")), h("h3", {}, "State"), state);
  return { element, load };
}
