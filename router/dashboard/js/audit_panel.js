// A runtime's audit trail (plclink.registry.audit): every control call the router allowed, with
// the caller it authenticated and the result the runtime showed. Reloaded when the runtime's
// status changes (results follow within seconds) and now and then for calls without one.

import { cell, timeElement } from "./dom.js";
import { Pager } from "./pager.js";
import { registryError } from "./registry.js";

const SHOWN = 100;
const PAGE = 10;
const RELOAD_MS = 15000;
const SETTLE_MS = 700;   // the registry matches a result to its call when the status event lands

const METHODS = { SetTraceVariablesList: "trace", NewPLC: "install program", RestartPLC: "restart program" };

export class AuditPanel {
  constructor(plcId, registry, { table, note }) {
    this.plcId = plcId;
    this.registry = registry;
    this.pager = new Pager(table, PAGE, "calls");
    this.note = note;
    this.timer = setInterval(() => this.load(), RELOAD_MS);
    this.soon = null;
  }

  detach() {
    clearInterval(this.timer);
    clearTimeout(this.soon);
  }

  // Something happened to the runtime: its call's result is about to be recorded.
  changed() {
    if (this.soon) return;  // one reload for a burst of changes
    this.soon = setTimeout(() => {
      this.soon = null;
      this.load();
    }, SETTLE_MS);
  }

  async load() {
    let entries;
    try {
      entries = await this.registry.call("audit", { id: this.plcId, limit: SHOWN });
    } catch (error) {
      this.note.textContent = `Audit trail unavailable: ${registryError(error)}`;
      return;
    }
    this.note.textContent = entries.length ? "" : "No control call recorded yet.";
    this.pager.show(entries.map((entry) => {
      const tr = document.createElement("tr");
      tr.dataset.audit = entry.audit;
      tr.dataset.method = entry.method;
      tr.dataset.result = entry.result;
      const method = document.createElement("code");
      method.textContent = entry.method;
      method.title = METHODS[entry.method] || "";
      const result = document.createElement("span");
      result.className = `result result-${entry.result}`;
      result.textContent = entry.result;
      const detail = document.createElement("span");
      detail.className = "note";
      detail.textContent = entry.detail ? ` ${entry.detail}` : "";
      tr.append(cell("Time", timeElement(entry.time)), cell("Call", method),
        cell("Who", entry.authrole ? `${entry.authid} (${entry.authrole})` : entry.authid), cell("Result", result, detail));
      return tr;
    }));
  }
}
