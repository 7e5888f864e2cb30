// The playground's entry point: tabs, the API key, what the server offers, the three views.

import { apiKey, getJson, setApiKey } from "./api.js";
import { RealtimeView } from "./realtime.js";
import { ResponsesView } from "./responses.js";
import { StoredView } from "./stored.js";

const $ = (id) => document.getElementById(id);
const views = {};

function selectTab(name) {
  for (const tab of document.querySelectorAll(".tab")) tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `tab-${name}`;
  if (name === "stored") views.stored.refresh().catch((error) => { $("server-status").textContent = error.message; });
}

async function loadServer() {
  const status = $("server-status");
  status.textContent = "connecting…";
  try {
    const [models, capabilities] = await Promise.all([getJson("/v1/models"), getJson("/playground/capabilities")]);
    for (const id of ["model", "rt-model"]) {
      const select = $(id);
      select.replaceChildren(...models.data.map((m) => new Option(m.id, m.id)));
    }
    views.responses.showServers(capabilities);
    views.realtime.showSpeech(capabilities);
    status.textContent = `antiphon ${capabilities.version} · ${models.data.length} models`;
    document.body.dataset.ready = "true";
  } catch (error) {
    status.textContent = error.status === 401 ? "this server needs its API key" : error.message;
  }
}

function start() {
  views.responses = new ResponsesView();
  views.stored = new StoredView();
  views.realtime = new RealtimeView();
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => selectTab(tab.dataset.tab));
  $("api-key").value = apiKey();
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey($("api-key").value.trim());
    loadServer();
  });
  loadServer();
}

start();
