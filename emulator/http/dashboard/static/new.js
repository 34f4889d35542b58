// Start a new orchestration: name from the app's orchestrators, optional id and version, JSON
// input checked in the browser before anything is sent.
import { MGMT, call } from "./api.js";
import { h, jsonProblem, toast } from "./dom.js";

const ID_PROBLEM = /[/\\?#\u0000-\u001f\u007f]/;

export async function newPage(main, { params, host }) {
  const info = await host();
  // A scheduler host loads no app: any name may be started, the known ones are suggested.
  const name = info.functionsNote
    ? h("input", { id: "new-name", name: "name", type: "text", required: true, list: "new-names", autocomplete: "off" })
    : h("select", { id: "new-name", name: "name", required: true }, info.orchestrators.map((n) => h("option", { value: n }, n)));
  const suggestions = info.functionsNote ? h("datalist", { id: "new-names" }, info.orchestrators.map((n) => h("option", { value: n }))) : null;
  if (params.get("name")) name.value = params.get("name");
  const instanceId = h("input", { id: "new-id", name: "instanceId", type: "text", placeholder: "leave empty for a new GUID" });
  const version = h("input", { id: "new-version", name: "version", type: "text", placeholder: "optional, e.g. 1.0" });
  const input = h("textarea", { id: "new-input", name: "input", rows: 12, spellcheck: "false", placeholder: '{"key": "value"}' });
  const inputError = h("p", { class: "field-error", id: "input-error", role: "alert" });
  const idError = h("p", { class: "field-error", id: "id-error", role: "alert" });
  const result = h("div", { id: "start-result" });
  const submit = h("button", { type: "submit", class: "primary", id: "start" }, "Start orchestration");

  const check = () => {
    const jsonIssue = jsonProblem(input.value);
    const id = instanceId.value.trim();
    const idIssue = id && (id.startsWith("@") || id.length > 256 || ID_PROBLEM.test(id))
      ? "An instance id has 1 to 256 characters, does not start with '@' and has no / \\ ? # or control characters." : null;
    input.classList.toggle("invalid", !!jsonIssue);
    instanceId.classList.toggle("invalid", !!idIssue);
    inputError.textContent = jsonIssue || "";
    idError.textContent = idIssue || "";
    submit.disabled = !!(jsonIssue || idIssue) || !name.value;
    return !submit.disabled;
  };

  const form = h("form", { class: "card form", id: "new-form" },
    h("label", { for: "new-name" }, "Orchestrator", name, suggestions),
    h("label", { for: "new-id" }, "Instance id", instanceId), idError,
    h("label", { for: "new-version" }, "Version", version),
    h("label", { for: "new-input" }, "Input (JSON)", input), inputError,
    h("div", { class: "buttons" }, submit), result);
  form.addEventListener("input", check);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!check()) return;
    const id = instanceId.value.trim();
    let path = `${MGMT}/orchestrators/${encodeURIComponent(name.value)}${id ? `/${encodeURIComponent(id)}` : ""}`;
    if (version.value.trim()) path += `?version=${encodeURIComponent(version.value.trim())}`;
    // The input goes as the SDK's client sends it: a JSON string holding the JSON text.
    const text = input.value.trim();
    submit.disabled = true;
    try {
      const response = await call("POST", path, text ? { json: JSON.stringify(JSON.parse(text)) } : {});
      toast(`Started ${name.value} ${response.data.id}`, "ok");
      location.hash = `#/instance/${encodeURIComponent(response.data.id)}`;
    } catch (e) {
      result.replaceChildren(h("p", { class: "error-box", role: "alert" }, e.message));
      submit.disabled = false;
    }
  });
  main.replaceChildren(h("h1", {}, "New orchestration"),
    h("p", { class: "muted" }, "Starts an instance through the management API (POST orchestrators/{name}[/{id}])."), form);
  check();
  return {};
}
