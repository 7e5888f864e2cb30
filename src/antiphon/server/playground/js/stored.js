// The Stored view: recent responses (GET /v1/responses, a page at a time), one response's input
// items and output, and a replay of its stored event stream, paced or as fast as it comes.
// The store keeps no timing of the events, so "paced" replays at a steady 20 events a second.

import { getEvents, getJson } from "./api.js";
import { Board, itemCard } from "./cards.js";
import { EventLog } from "./log.js";

const $ = (id) => document.getElementById(id);
const PACE_MS = 50;

export class StoredView {
  constructor() {
    this.board = new Board($("stored-cards"), $("stored-status"));
    this.log = new EventLog($("stored-log"), $("stored-event-count"));
    this.after = null;
    this.selected = null;
    this.replaying = null;
    $("refresh-stored").addEventListener("click", () => this.refresh());
    $("more-stored").addEventListener("click", () => this.load());
    $("replay").addEventListener("click", () => this.replay());
  }

  async refresh() {
    this.after = null;
    $("stored-list").tBodies[0].replaceChildren();
    await this.load();
  }

  async load() {
    const query = new URLSearchParams({ limit: "20" });
    if (this.after) query.set("after", this.after);
    const page = await getJson(`/v1/responses?${query}`);
    const body = $("stored-list").tBodies[0];
    for (const summary of page.data) {
      const row = document.createElement("tr");
      row.dataset.id = summary.id;
      const created = new Date(summary.created_at * 1000).toLocaleTimeString();
      for (const text of [summary.id, summary.status, summary.model, created]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        cell.title = text;
        row.append(cell);
      }
      row.addEventListener("click", () => this.open(summary.id, row));
      body.append(row);
    }
    this.after = page.last_id;
    $("more-stored").hidden = !page.has_more;
  }

  async open(id, row) {
    this.replaying?.abort();
    for (const other of document.querySelectorAll("#stored-list tr.selected")) other.classList.remove("selected");
    row?.classList.add("selected");
    this.selected = id;
    this.log.clear();
    this.board.clear();
    const [response, inputs] = await Promise.all([
      getJson(`/v1/responses/${id}`),
      getJson(`/v1/responses/${id}/input_items?order=asc&limit=100`),
    ]);
    $("stored-title").textContent = id;
    this.board.setStatus(response.status);
    $("stored-input").replaceChildren(...inputs.data.map(itemCard));
    $("stored-cards").replaceChildren(...(response.output || []).map(itemCard));
    $("replay").disabled = false;
  }

  async replay() {
    if (!this.selected) return;
    this.replaying?.abort();
    const controller = new AbortController();
    this.replaying = controller;
    const paced = $("replay-speed").value === "paced";
    this.board.clear();
    this.log.clear();
    try {
      await getEvents(`/v1/responses/${this.selected}?stream=true`, async (type, data) => {
        if (paced) await new Promise((resolve) => setTimeout(resolve, PACE_MS));
        this.log.add(type, data);
        this.board.handle(type, data);
      }, controller.signal);
    } catch (error) {
      if (error.name !== "AbortError") this.board.error(error.message);
    }
  }
}
