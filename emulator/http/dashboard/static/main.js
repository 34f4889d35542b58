// The router: #/instances?filters, #/instance/<id>, #/new, #/entities, #/triggers, #/host.
import { DASH, getJson } from "./api.js";
import { h } from "./dom.js";
import { entitiesPage } from "./entities.js";
import { hostPage } from "./host.js";
import { instancePage } from "./instance.js";
import { instancesPage } from "./instances.js";
import { newPage } from "./new.js";
import { triggersPage } from "./triggers.js";

const PAGES = { instances: instancesPage, instance: instancePage, new: newPage, entities: entitiesPage, triggers: triggersPage, host: hostPage };
let current = null; // {dispose}
let hostInfo = null;

export async function host(refresh = false) {
  if (!hostInfo || refresh) hostInfo = await getJson(`${DASH}/host`);
  return hostInfo;
}

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/instances";
  const [path, query = ""] = hash.split("?");
  const [page, ...rest] = path.split("/").filter(Boolean);
  return { page: page || "instances", arg: rest.map(decodeURIComponent).join("/"), params: new URLSearchParams(query) };
}

async function route() {
  const { page, arg, params } = parseHash();
  if (current?.dispose) current.dispose();
  current = null;
  const main = document.getElementById("main");
  document.body.dataset.ready = "";
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === (page === "instance" ? "instances" : page));
  }
  const render = PAGES[page];
  if (!render) {
    main.replaceChildren(h("h1", {}, "Not found"), h("p", {}, `No page '${page}'.`));
    return;
  }
  try {
    current = await render(main, { arg, params, host });
  } catch (e) {
    main.replaceChildren(h("h1", {}, "Error"), h("p", { class: "error-box", role: "alert" }, e.message));
  }
  document.body.dataset.ready = page;
}

window.addEventListener("hashchange", route);
// The hub selector: a scheduler host with several task hubs shows one per page (?taskHub=).
function showHub(info) {
  const box = document.getElementById("hub");
  const hubs = info.taskHubs;
  if (!hubs || !hubs.selectable) {
    box.textContent = `hub ${info.limits.hubName}`;
    return;
  }
  const select = h("select", { id: "hub-select", "aria-label": "task hub" },
    hubs.names.map((n) => h("option", { value: n }, n === hubs.default ? `${n} (default)` : n)));
  select.value = info.limits.hubName;
  select.addEventListener("change", () => {
    const query = select.value === hubs.default ? "" : `?taskHub=${encodeURIComponent(select.value)}`;
    location.assign(`${location.pathname}${query}${location.hash}`);
  });
  box.replaceChildren("task hub ", select);
}

host().then(showHub).catch(() => {});
route();
