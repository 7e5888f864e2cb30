// The raw event log beside each view: one line per event, its JSON one click away.

export class EventLog {
  constructor(list, counter) {
    this.list = list;
    this.counter = counter;
    this.count = 0;
  }

  clear() {
    this.list.replaceChildren();
    this.count = 0;
    this.counter.textContent = "";
  }

  add(type, data, direction = "") {
    const item = document.createElement("li");
    item.className = "event";
    item.dataset.type = type;
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    const seq = data?.sequence_number;
    summary.textContent = `${direction}${seq === undefined ? "" : `#${seq} `}${type}`;
    const body = document.createElement("pre");
    details.append(summary, body);
    // The JSON is rendered only when opened: a long stream stays cheap to show.
    details.addEventListener("toggle", () => {
      if (details.open && !body.textContent) body.textContent = JSON.stringify(data, null, 2);
    });
    item.append(details);
    this.list.append(item);
    this.count += 1;
    this.counter.textContent = `${this.count} events`;
    this.list.scrollTop = this.list.scrollHeight;
  }
}
