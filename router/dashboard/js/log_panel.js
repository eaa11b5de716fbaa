// A runtime's log: newest first, filtered by level, older messages fetched on demand.
//
// New messages arrive as `<ID>.log` events; the log counts of the status events tell when some
// were missed (page opened, reconnect) so exactly those are fetched with GetLogMessage.

import { LEVELS } from "./status.js";
import { clock, isoDateTime } from "./timefmt.js";

const PAGE = 20;       // messages fetched per level at a time
const SHOWN = 400;     // newest messages kept in the page

export class LogPanel {
  constructor(plcId, list, levels, olderButton) {
    this.plcId = plcId;
    this.list = list;
    this.olderButton = olderButton;
    this.messages = new Map();
    this.oldest = [];  // per level: lowest id fetched
    this.newest = [];  // per level: highest id known
    this.visible = new Set(LEVELS.map((_, level) => level));
    levels.querySelectorAll("label").forEach((label) => label.remove());
    LEVELS.forEach((name, level) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = true;
      box.value = level;
      box.addEventListener("change", () => {
        if (box.checked) this.visible.add(level); else this.visible.delete(level);
        this.render();
      });
      label.append(box, ` ${name}`);
      levels.append(label);
    });
    olderButton.onclick = () => this.older();
  }

  async attach(session) {
    this.session = session;
    this.subscription = await session.subscribe(`${this.plcId}.log`, ([level, id, text, tick, sec, nsec]) => {
      this.add(level, id, [text, tick, sec, nsec]);
      this.newest[level] = Math.max(this.newest[level] ?? -1, id);
      this.render();
    });
  }

  detach() {
    if (this.subscription && this.subscription.active) this.subscription.unsubscribe();
  }

  // Log counts from a status event: fetch what is missing, forget levels that were reset.
  countsChanged(counts) {
    if (!counts || !this.session) return;
    counts.forEach((count, level) => {
      const last = count - 1;
      if (this.newest[level] !== undefined && last < this.newest[level]) {
        [...this.messages.values()].filter((m) => m.level === level).forEach((m) => this.messages.delete(m.key));
        this.newest[level] = undefined;
      }
      const from = Math.max(0, count - PAGE, (this.newest[level] ?? -1) + 1);
      if (this.newest[level] === undefined) this.oldest[level] = from;
      this.newest[level] = Math.max(this.newest[level] ?? -1, last);
      if (from <= last) this.fetch(level, from, last);
    });
  }

  older() {
    LEVELS.forEach((_, level) => {
      const oldest = this.oldest[level] ?? 0;
      if (oldest > 0) {
        this.oldest[level] = Math.max(0, oldest - PAGE);
        this.fetch(level, this.oldest[level], oldest - 1);
      }
    });
  }

  async fetch(level, from, to) {
    const ids = [];
    for (let id = from; id <= to; id += 1) if (!this.messages.has(`${level}:${id}`)) ids.push(id);
    const answers = await Promise.all(ids.map((id) =>
      this.session.call(`${this.plcId}.GetLogMessage`, [level, id]).catch(() => null)));
    answers.forEach((answer, n) => { if (answer) this.add(level, ids[n], answer); });
    this.render();
  }

  add(level, id, [text, tick, sec, nsec]) {
    const key = `${level}:${id}`;
    this.messages.set(key, { key, level, id, text, tick, time: sec * 1000 + nsec / 1e6 });
  }

  render() {
    const shown = [...this.messages.values()]
      .filter((m) => this.visible.has(m.level))
      .sort((a, b) => b.time - a.time || b.id - a.id)
      .slice(0, SHOWN);
    this.list.replaceChildren(...shown.map((message) => {
      const item = document.createElement("li");
      item.className = `level-${message.level}`;
      const level = document.createElement("span");
      level.className = "level";
      level.textContent = LEVELS[message.level];
      const time = document.createElement("time");
      const date = new Date(message.time);
      time.dateTime = date.toISOString();
      time.textContent = clock(date, true);
      time.title = `${isoDateTime(date)}, tick ${message.tick}`;
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = message.text;
      item.append(level, time, text);
      return item;
    }));
    this.olderButton.disabled = !this.oldest.some((oldest) => oldest > 0);
  }
}
