// A runtime's force table (docs/force-model.md): forces belong to the runtime, whoever made them
// (this page, the CLI, the IDE library, another page), so the page shows the retained
// `<ID>.forces` event, which carries the whole table on every change, and never a table of its
// own. Force, Write and Release are the runtime's procedures; the router refuses them to
// read-only roles whatever the page shows.

import { formatAgo, fromEpoch } from "./status.js";
import { formatValue } from "./iec.js";

export const callError = (error) => error?.args?.[0] || error?.error || String(error);

// "TRUE", "75.5", or the raw IEC bytes where the runtime has no table for the index.
export function forcedText(entry) {
  if (entry.type && entry.value !== null && entry.value !== undefined) return formatValue(entry.type, entry.value);
  return entry.raw ? `raw ${entry.raw}` : "?";
}

// "alice, since 11:02:03 (2 h 5 min ago)"
export function forcedBy(entry) {
  return `${entry.by || "unknown"}, since ${formatAgo(fromEpoch(entry.since))}`;
}

export class ForceTable extends EventTarget {
  constructor(plcId) {
    super();
    this.plcId = plcId;
    this.entries = new Map();  // index -> force entry
    this.supported = null;     // whether the runtime serves the force procedures; null: not known yet
  }

  // `<ID>.forces` is retained: a page opened after the force sees it at once. A runtime
  // without GetForces (Beremiz's own runtimes) has no force table to show or change.
  async attach(session) {
    this.session = session;
    this.subscription = await session.subscribe(`${this.plcId}.forces`, ([entries]) => this.update(entries),
      { get_retained: true });
    try {
      this.update(await session.call(`${this.plcId}.GetForces`));
      this.supported = true;
    } catch (error) {
      this.supported = error.error === "wamp.error.no_such_procedure" ? false : this.supported;
      this.changed();
    }
  }

  detach() {
    if (this.subscription && this.subscription.active) this.subscription.unsubscribe();
    this.subscription = null;
  }

  update(entries) {
    if (!Array.isArray(entries)) return;
    this.supported = true;
    this.entries = new Map(entries.map((entry) => [entry.index, entry]));
    this.changed();
  }

  changed() {
    this.dispatchEvent(new CustomEvent("change"));
  }

  get(index) {
    return this.entries.get(index);
  }

  get count() {
    return this.entries.size;
  }

  // The answers of Force and Release are the table after the change; the event follows.
  async force(orders) {
    this.update(await this.session.call(`${this.plcId}.Force`, [orders]));
  }

  async release(indexes, restore = false) {
    this.update(await this.session.call(`${this.plcId}.Release`, [indexes, restore]));
  }

  // Set once, before the next cycle; the program may overwrite it, nothing stays forced.
  write(orders) {
    return this.session.call(`${this.plcId}.Write`, [orders]);
  }
}
