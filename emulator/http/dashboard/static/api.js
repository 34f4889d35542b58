// Calls to the host: the public management API, the clock, and the dashboard's read-only JSON.
export const MGMT = "/runtime/webhooks/durabletask";
export const DASH = "/admin/emulator/dashboard";
export const CLOCK = "/admin/emulator/clock";
// The task hub this page shows: its URL's ?taskHub= (none: the host's default hub), sent along
// with every call so the host answers for that hub.
export const TASK_HUB = new URLSearchParams(location.search).get("taskHub");

export function withHub(path) {
  if (!TASK_HUB) return path;
  return `${path}${path.includes("?") ? "&" : "?"}taskHub=${encodeURIComponent(TASK_HUB)}`;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function errorText(response, data) {
  if (data && typeof data === "object") {
    const parts = [data.Message, data.ExceptionMessage, data.error].filter(Boolean);
    if (parts.length) return `HTTP ${response.status}: ${[...new Set(parts)].join(" - ")}`;
  }
  const detail = typeof data === "string" && data ? `: ${data.slice(0, 300)}` : "";
  return `HTTP ${response.status} ${response.statusText}${detail}`;
}

// One request; resolves to {status, data, headers}, rejects with the API's own message.
export async function call(method, path, { json, raw } = {}) {
  const init = { method, headers: {} };
  if (raw !== undefined) {
    init.body = raw;
    init.headers["Content-Type"] = "application/json";
  } else if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(withHub(path), init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!response.ok) throw new ApiError(response.status, errorText(response, data));
  return { status: response.status, data, headers: response.headers };
}

export const instancePath = (id) => `${MGMT}/instances/${encodeURIComponent(id)}`;

export const getJson = async (path) => (await call("GET", path)).data;
