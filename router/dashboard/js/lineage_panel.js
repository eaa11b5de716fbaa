// A runtime's program lineage (plclink.registry.lineage): every installed program set, newest
// first, with its name, who installed it and when, who signed it, its files (not the suite's
// own); "installed" on the current one only; roles that may control roll back to a stored one.
//
// A rollback fetches the set from the registry's store (plclink.registry.program) and transfers
// it from this page exactly as the IDE would (transfer.js): the registry already keeps it, and
// the router's audit trail records the NewPLC under the person logged in here.

import { confirmAction } from "./confirm.js";
import { button, cell, timeElement } from "./dom.js";
import { Pager } from "./pager.js";
import { isoDateTime } from "./timefmt.js";
import { registryError } from "./registry.js";
import { installProgram } from "./transfer.js";

const SHOWN = 100;
const PAGE = 8;
const INTERNAL_PREFIX = ".plclink-";   // the file the suite adds (the program's name)

export class LineagePanel {
  constructor(plcId, registry, fleet, { table, note }, canControl, say) {
    this.plcId = plcId;
    this.registry = registry;
    this.fleet = fleet;
    this.pager = new Pager(table, PAGE, "installs");
    this.note = note;
    this.canControl = canControl;
    this.say = say;
    this.installs = [];
    this.busy = false;  // a rollback is on its way
  }

  async load() {
    try {
      this.installs = await this.registry.call("lineage", { id: this.plcId, limit: SHOWN });
      this.note.textContent = this.installs.length ? "" : "No install of this runtime recorded yet.";
    } catch (error) {
      this.note.textContent = `Lineage unavailable: ${registryError(error)}`;
    }
    this.render();
  }

  render() {
    const runtime = this.fleet.runtimes.get(this.plcId) || {};
    const online = runtime.status && runtime.status !== "Disconnected";
    // "installed" only on the newest install of the running md5, not on every earlier one
    const currentIndex = this.installs.findIndex((install) => install.md5 === runtime.md5);
    this.pager.show(this.installs.map((install, n) => {
      const tr = document.createElement("tr");
      tr.dataset.md5 = install.md5;
      const current = n === currentIndex;
      tr.classList.toggle("current", current);
      const md5 = document.createElement("code");
      md5.textContent = install.md5.slice(0, 12);
      md5.title = install.md5;
      const files = document.createElement("span");
      files.className = "note";
      const shown = install.files.filter((name) => !name.startsWith(INTERNAL_PREFIX));
      files.textContent = shown.length ? shown.join(", ") : "—";
      const action = document.createElement("span");
      if (current) {
        action.textContent = "installed";
        action.className = "note";
      } else if (this.canControl && install.stored) {
        const rollback = button("Roll back", `Roll back to ${install.md5}`, () => this.rollback(install));
        rollback.className = "danger";
        rollback.disabled = !online || this.busy;
        action.append(rollback);
      } else if (!install.stored) {
        action.textContent = "not in the store";
        action.className = "note";
      }
      const before = this.installs.slice(n + 1).find((older) => older.md5 !== install.md5 && older.stored);
      if (before && install.stored) {
        action.append(" ", button("Diff", `Compare ${install.md5} with the install before`, () => this.diff(before, install)));
      }
      const by = install.installed_by || "unknown";
      const name = document.createElement("span");
      name.className = "program-name";
      name.textContent = install.name || "—";
      tr.append(cell("Program", name, document.createElement("br"), md5), cell("Installed", timeElement(install.installed_at)), cell("By", by),
        cell("Signed by", install.signed_by || "—"), cell("Files", files), cell("", action));
      return tr;
    }));
  }

  // What changed between two stored sets: each file, its sizes, added/removed/changed/same.
  async diff(older, newer) {
    try {
      const diff = await this.registry.call("diff", { a: older.md5, b: newer.md5 });
      const changes = diff.files.filter((file) => file.change !== "same")
        .map((file) => `${file.name || "(program)"} ${file.change}`);
      this.say(`${older.md5.slice(0, 12)} → ${newer.md5.slice(0, 12)}: ${changes.join(", ") || "no file changed"}.`);
    } catch (error) {
      this.say(`Diff unavailable: ${registryError(error)}`);
    }
  }

  async rollback(install) {
    const ok = await confirmAction({
      title: `Roll back ${this.plcId}?`,
      text: `This stops the PLC if it runs and installs program ${install.md5.slice(0, 12)}… `
        + `(installed ${isoDateTime(new Date(install.installed_at * 1000))} by ${install.installed_by || "unknown"}). `
        + "The PLC is left Stopped: start it when ready.",
      okLabel: "Roll back",
    });
    if (!ok) return;
    this.busy = true;
    this.render();
    try {
      const set = await this.registry.call("program", { md5: install.md5 });
      await installProgram(this.registry.session, this.plcId, set, (stage) => this.say(`Rollback: ${stage}…`));
      this.say(`Rolled back to ${install.md5.slice(0, 12)}; the PLC is Stopped.`);
    } catch (error) {
      this.say(`Rollback failed: ${registryError(error)}`);
    } finally {
      this.busy = false;
    }
    this.fleet.refresh(this.plcId);
    await this.load();
  }
}
