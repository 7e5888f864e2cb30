// The Responses view: compose a request, watch its stream as item cards and raw events, answer
// function calls by hand, approve or deny MCP calls, cancel a background run.

import { postJson, readEvents } from "./api.js";
import { Board } from "./cards.js";
import { EventLog } from "./log.js";

const $ = (id) => document.getElementById(id);

function parseJson(text, what) {
  if (!text.trim()) return null;
  try { return JSON.parse(text); } catch (error) { throw new Error(`${what} is not valid JSON: ${error.message}`); }
}

export class ResponsesView {
  constructor() {
    this.board = new Board($("cards"), $("response-status"));
    this.log = new EventLog($("event-log"), $("event-count"));
    this.lastRequest = null;
    this.lastResponseId = null;
    this.runningId = null;
    $("compose").addEventListener("submit", (event) => { event.preventDefault(); this.compose(); });
    $("cancel").addEventListener("click", () => this.cancel());
    $("new-conversation").addEventListener("click", () => {
      this.lastResponseId = null;
      this.board.clear();
      this.log.clear();
    });
  }

  showServers(capabilities) {
    const box = $("mcp-servers");
    const servers = capabilities.mcp_servers || [];
    if (!servers.length) return;
    box.replaceChildren(Object.assign(document.createElement("legend"), { textContent: "MCP servers of this server" }));
    for (const server of servers) {
      const row = document.createElement("div");
      row.className = "server";
      row.innerHTML = `<label class="inline"><input type="checkbox" class="mcp-use"> <span></span></label>
        <select class="mcp-approval" aria-label="approval"><option value="never">no approval</option><option value="always">approve each call</option></select>`;
      row.dataset.label = server.server_label;
      row.querySelector("span").textContent = `${server.server_label} (${server.transport})`;
      box.append(row);
    }
    const code = $("code-interpreter");
    code.disabled = !capabilities.code_interpreter;
    if (code.disabled) code.parentElement.title = "the code interpreter is disabled on this server";
  }

  tools() {
    const tools = [];
    const functions = parseJson($("function-tools").value, "Function tools");
    if (functions !== null) {
      if (!Array.isArray(functions)) throw new Error("Function tools must be a JSON array.");
      tools.push(...functions);
    }
    for (const row of document.querySelectorAll("#mcp-servers .server")) {
      if (!row.querySelector(".mcp-use").checked) continue;
      tools.push({ type: "mcp", server_label: row.dataset.label, require_approval: row.querySelector(".mcp-approval").value });
    }
    if ($("code-interpreter").checked) tools.push({ type: "code_interpreter", container: { type: "auto" } });
    return tools;
  }

  compose() {
    $("compose-error").textContent = "";
    let body;
    try {
      body = { model: $("model").value, input: $("input").value };
      const instructions = $("instructions").value.trim();
      if (instructions) body.instructions = instructions;
      const tools = this.tools();
      if (tools.length) body.tools = tools;
      const schema = parseJson($("schema").value, "The schema");
      if (schema !== null) body.text = { format: { type: "json_schema", name: "output", schema, strict: true } };
      if ($("background").checked) body.background = true;
    } catch (error) {
      $("compose-error").textContent = error.message;
      return;
    }
    this.send(body, $("continue").checked);
  }

  // Sends body (previous_response_id added when continuing) and plays its stream.
  async send(body, continuing = true) {
    const request = { ...body, stream: true };
    if (continuing && this.lastResponseId) request.previous_response_id = this.lastResponseId;
    this.lastRequest = body;
    this.board.clear();
    this.log.clear();
    $("send").disabled = true;
    $("compose-error").textContent = "";
    try {
      const response = await postJson("/v1/responses", request);
      await readEvents(response, (type, data) => {
        this.log.add(type, data);
        this.board.handle(type, data);
        if (type === "response.created" || type === "response.queued") {
          this.runningId = data.response.id;
          $("cancel").hidden = !request.background;
        }
      });
    } catch (error) {
      $("compose-error").textContent = error.message;
    } finally {
      $("send").disabled = false;
      $("cancel").hidden = true;
      this.runningId = null;
    }
    if (this.board.response) this.lastResponseId = this.board.response.id;
    if (this.board.response?.status === "completed") this.offerAnswers();
  }

  async cancel() {
    if (!this.runningId) return;
    try {
      await postJson(`/v1/responses/${this.runningId}/cancel`, {});
    } catch (error) {
      $("compose-error").textContent = error.message;
    }
  }

  // What a finished response asks of the user: outputs for its function calls, approvals.
  offerAnswers() {
    const calls = this.board.cardsOf("function_call");
    for (const card of calls) {
      const actions = card.addActions();
      const label = document.createElement("label");
      label.textContent = "Output";
      const output = document.createElement("textarea");
      output.className = "function-output";
      output.rows = 2;
      output.dataset.callId = card.item.call_id;
      label.append(output);
      const button = document.createElement("button");
      button.type = "button";
      button.className = "send-output";
      button.textContent = calls.length > 1 ? "Send every output" : "Send output";
      button.addEventListener("click", () => this.answerCalls());
      actions.append(label, button);
    }
    for (const card of this.board.cardsOf("mcp_approval_request")) {
      const actions = card.addActions();
      const row = document.createElement("div");
      row.className = "row";
      for (const approve of [true, false]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = approve ? "approve" : "deny";
        button.textContent = approve ? "Approve" : "Deny";
        button.addEventListener("click", () => this.answerApproval(card.item.id, approve));
        row.append(button);
      }
      actions.append(row);
    }
  }

  answerCalls() {
    const input = [...document.querySelectorAll("#cards .function-output")].map((area) => ({
      type: "function_call_output",
      call_id: area.dataset.callId,
      output: area.value,
    }));
    this.send({ ...this.lastRequest, input });
  }

  answerApproval(requestId, approve) {
    this.send({ ...this.lastRequest, input: [{ type: "mcp_approval_response", approval_request_id: requestId, approve }] });
  }
}
