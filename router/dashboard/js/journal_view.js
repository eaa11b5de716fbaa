// The router's audit journal (plclink.audit.query): who did what, from which address, to which
// runtime, and what it meant; logins and refusals too. Newest first, filtered by runtime,
// person and time, paged backwards (each page asks for the records older than the last shown).

import { cell, timeElement } from "./dom.js";

const PAGE = 50;
const SINCE = { "": null, "1h": 3600, "24h": 86400, "7d": 604800, "30d": 2592000 };

export class JournalView {
  constructor({ form, tbody, message, older, newer }) {
    this.form = form;
    this.tbody = tbody;
    this.message = message;
    this.older = older;
    this.newer = newer;
    this.pages = [];   // the "before" of each page shown so far (null: the newest)
    this.session = null;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.pages = [];
      this.load(null);
    });
    older.onclick = () => this.load(this.last);
    newer.onclick = () => {
      this.pages.pop();
      this.load(this.pages.pop() ?? null);
    };
  }

  attach(session) {
    this.session = session;
  }

  filters() {
    const data = new FormData(this.form);
    const seconds = SINCE[data.get("since") || ""];
    return {
      id: data.get("id") || null, user: data.get("user") || null,
      since: seconds ? Date.now() / 1000 - seconds : null,
    };
  }

  async load(before) {
    if (!this.session) return;
    let records;
    try {
      records = await this.session.call("plclink.audit.query", [], { ...this.filters(), before, limit: PAGE });
    } catch (error) {
      this.message.textContent = `Audit journal unavailable: ${error.error || error}`;
      return;
    }
    this.pages.push(before);
    this.last = records.length ? records[records.length - 1].seq : before;
    this.older.disabled = records.length < PAGE;
    this.newer.disabled = this.pages.length < 2;
    this.message.textContent = records.length ? `Page ${this.pages.length}` : "No record matches.";
    this.tbody.replaceChildren(...records.map((record) => {
      const tr = document.createElement("tr");
      tr.dataset.seq = record.seq;
      tr.dataset.outcome = record.outcome;
      const outcome = document.createElement("span");
      outcome.className = `result result-${record.outcome === "refused" ? "failed" : "ok"}`;
      outcome.textContent = record.outcome;
      tr.append(cell("Time", timeElement(record.time)),
        cell("Who", record.role ? `${record.who} (${record.role})` : record.who),
        cell("Address", record.address || ""), cell("Runtime", record.id || ""),
        cell("What", record.what), cell("Outcome", outcome));
      return tr;
    }));
  }
}
