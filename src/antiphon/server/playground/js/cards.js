// Item cards: one per output item, in output order, filled live from a Responses event stream.
// Deltas grow the card's text, arguments or code as they arrive; each item's final form
// (response.output_item.done) then redraws the card from the item itself.

const TERMINAL = new Set(["completed", "failed", "incomplete", "cancelled"]);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function pretty(text) {
  if (typeof text !== "string") return JSON.stringify(text, null, 2);
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

function contentText(parts) {
  return (parts || []).map((p) => p.text ?? p.refusal ?? p.transcript ?? "").join("");
}

// Which field of a card a delta event grows.
function deltaField(type) {
  if (type.endsWith("arguments.delta")) return "args";
  if (type.endsWith("code.delta")) return "code";
  return "text";
}

export class Card {
  constructor(item) {
    this.node = el("div", `card ${item.type || "message"}`);
    this.node.dataset.itemType = item.type || "message";
    this.render(item);
  }

  field(name) {
    let node = this.node.querySelector(`[data-field="${name}"]`);
    if (!node) {
      node = el(name === "text" ? "div" : "pre", name === "text" ? "text" : name);
      node.dataset.field = name;
      this.node.insertBefore(node, this.actions() || null);
    }
    return node;
  }

  actions() {
    return this.node.querySelector(".actions");
  }

  addActions() {
    const existing = this.actions();
    if (existing) return existing;
    const node = el("div", "actions");
    this.node.append(node);
    return node;
  }

  append(type, delta) {
    this.field(deltaField(type)).textContent += delta;
  }

  render(item) {
    this.item = item;
    const kept = this.actions();
    this.node.replaceChildren();
    const head = el("div", "head");
    const type = item.type || "message";
    head.append(el("span", "kind", type.replaceAll("_", " ")));
    const name = item.name ? `${item.server_label ? `${item.server_label}.` : ""}${item.name}` : item.server_label;
    if (name) head.append(el("span", "name", name));
    if (item.phase) head.append(el("span", "phase", item.phase));
    if (item.role && type === "message" && item.role !== "assistant") head.append(el("span", "role", item.role));
    if (item.status) head.append(el("span", `item-status ${item.status}`, item.status));
    this.node.append(head);
    this.fill(item, type);
    if (kept) this.node.append(kept);
  }

  fill(item, type) {
    const set = (field, value) => {
      if (value !== undefined && value !== null && value !== "") this.field(field).textContent = value;
    };
    switch (type) {
      case "message":
        set("text", typeof item.content === "string" ? item.content : contentText(item.content));
        break;
      case "reasoning":
        set("text", contentText(item.content) || contentText(item.summary));
        break;
      case "function_call":
        set("args", pretty(item.arguments));
        set("meta", `call_id ${item.call_id}`);
        break;
      case "function_call_output":
        set("meta", `call_id ${item.call_id}`);
        set("output", pretty(item.output));
        break;
      case "mcp_list_tools":
        set("tools", (item.tools || []).map((t) => `${t.name}${t.description ? ` — ${t.description}` : ""}`).join("\n"));
        set("error", item.error);
        break;
      case "mcp_call":
      case "mcp_approval_request":
        set("args", pretty(item.arguments));
        set("output", item.output);
        set("error", item.error ? pretty(item.error) : "");
        break;
      case "mcp_approval_response":
        set("meta", `${item.approve ? "approved" : "denied"} ${item.approval_request_id}`);
        break;
      case "code_interpreter_call":
        set("code", item.code);
        set("output", (item.outputs || []).map((o) => o.logs ?? o.url ?? "").join("\n"));
        set("meta", item.container_id ? `container ${item.container_id}` : "");
        break;
      default:
        set("output", JSON.stringify(item, null, 2));
    }
  }
}

export function itemCard(item) {
  return new Card(item).node;
}

export class Board {
  // container: where cards go; statusNode: shows the response's status.
  constructor(container, statusNode) {
    this.container = container;
    this.statusNode = statusNode;
    this.cards = new Map();
    this.response = null;
  }

  clear() {
    this.container.replaceChildren();
    this.cards.clear();
    this.response = null;
    this.setStatus("");
  }

  setStatus(status) {
    this.statusNode.textContent = status;
    this.statusNode.className = `status ${status}`;
  }

  get finished() {
    return this.response !== null && TERMINAL.has(this.response.status);
  }

  handle(type, data) {
    if (data.response && type.startsWith("response.") && !type.startsWith("response.output")) {
      this.response = data.response;
      this.setStatus(data.response.status || "");
      if (data.response.error) this.error(`${data.response.error.code}: ${data.response.error.message}`);
      if (data.response.incomplete_details) this.error(`incomplete: ${data.response.incomplete_details.reason}`);
      return;
    }
    if (type === "response.output_item.added") {
      const card = new Card(data.item);
      card.node.dataset.outputIndex = data.output_index;
      this.cards.set(data.output_index, card);
      this.container.append(card.node);
    } else if (type === "response.output_item.done") {
      this.cards.get(data.output_index)?.render(data.item);
    } else if (type.endsWith(".delta") && typeof data.delta === "string") {
      this.cards.get(data.output_index)?.append(type, data.delta);
    } else if (type === "error") {
      this.error(`${data.code || "error"}: ${data.message}`);
    }
  }

  error(message) {
    const card = el("div", "card error-card");
    card.append(el("div", "text", message));
    this.container.append(card);
  }

  // The cards of the finished response's items of one type.
  cardsOf(type) {
    return [...this.cards.values()].filter((card) => card.item.type === type);
  }
}
