// The page's only way to the server: same-origin fetches carrying the key the user typed.
// The key lives in sessionStorage (gone with the tab), never in localStorage or a cookie.

const KEY = "antiphon.apiKey";

export function apiKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function setApiKey(value) {
  if (value) sessionStorage.setItem(KEY, value);
  else sessionStorage.removeItem(KEY);
}

function headers(extra = {}) {
  const result = { ...extra };
  const key = apiKey();
  if (key) result.Authorization = `Bearer ${key}`;
  return result;
}

export class ApiError extends Error {
  constructor(status, body) {
    const message = body?.error?.message || `HTTP ${status}`;
    super(message);
    this.status = status;
    this.body = body;
  }
}

async function check(response) {
  if (response.ok) return response;
  let body = null;
  try { body = await response.json(); } catch { /* not JSON */ }
  throw new ApiError(response.status, body);
}

export async function getJson(path) {
  const response = await check(await fetch(path, { headers: headers() }));
  return response.json();
}

export async function postJson(path, body, signal) {
  return check(await fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(body),
    signal,
  }));
}

// Server-sent events of a fetch body: calls onEvent(type, data) for each event, in order.
// Keep-alive comments are skipped; the body ends after the terminal event.
export async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = "message";
      const data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = text;
        else if (field === "data") data.push(text);
      }
      if (data.length) await onEvent(type, JSON.parse(data.join("\n")));
    }
  }
}

// GET a stream (a stored response's replay): the same events as a POST stream.
export async function getEvents(path, onEvent, signal) {
  const response = await check(await fetch(path, { headers: headers(), signal }));
  await readEvents(response, onEvent);
}
