// Start or stop several runtimes at once: tick them in the fleet table, then one confirmation
// that lists them all. Offered to roles that may control; the router checks every call anyway
// (a read-only user calling from the browser is refused).

import { confirmAction } from "./confirm.js";

const ACTIONS = { start: { procedure: "StartPLC", label: "Start" }, stop: { procedure: "StopPLC", label: "Stop" } };

export class BulkControl {
  constructor({ bar, start, stop, message }, session, canControl, rerender) {
    Object.assign(this, { bar, message, session, canControl, rerender });
    this.selected = new Set();
    bar.hidden = !canControl;
    start.onclick = () => this.act("start");
    stop.onclick = () => this.act("stop");
  }

  // The row's first cell: a checkbox for controlling roles, nothing for the others.
  checkbox(runtime) {
    if (!this.canControl) return [];
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "bulk-select";
    box.value = runtime.id;
    box.checked = this.selected.has(runtime.id);
    box.setAttribute("aria-label", `Select ${runtime.id}`);
    box.onchange = () => { if (box.checked) this.selected.add(runtime.id); else this.selected.delete(runtime.id); };
    return [box];
  }

  async act(name) {
    const ids = [...this.selected].sort();
    const { procedure, label } = ACTIONS[name];
    if (!ids.length) {
      this.message.textContent = "Tick the runtimes to act on first.";
      return;
    }
    const ok = await confirmAction({ title: `${label} ${ids.length} runtime(s)?`, text: ids.join(", "), okLabel: `${label} all` });
    if (!ok) return;
    const results = await Promise.allSettled(ids.map((id) => this.session().call(`${id}.${procedure}`)));
    const failed = ids.filter((id, n) => results[n].status === "rejected" || results[n].value === false);
    this.message.textContent = failed.length
      ? `${label}: ${ids.length - failed.length} done, not done on ${failed.join(", ")}.`
      : `${label}: done on ${ids.join(", ")}.`;
    this.selected.clear();
    this.rerender();
  }
}
