// The alarm list (plclink.registry.alarms), kept current by plclink.registry.on_alarm: most
// urgent first, each priority said by a word and a shape as well as a colour (ISA-101: never
// colour alone); shelved alarms listed apart; the flood indicator above. Roles that may control
// acknowledge (with a comment), acknowledge all shown, shelve and unshelve here; the router
// refuses those calls to any other role whatever the page shows, and the registry records who.

import { confirmAction } from "./confirm.js";
import { button, cell, timeElement } from "./dom.js";
import { registryError } from "./registry.js";
import { formatAgo, formatDuration, fromEpoch } from "./status.js";

const KINDS = { broken: "Broken", disconnected: "Disconnected", critical_log: "CRITICAL log", rule: "Rule",
  force_age: "Force held long (notice)", link: "Plant link lost", notify_failed: "Notification failed" };
export const PRIORITIES = ["critical", "high", "medium", "low"];
const SHAPES = { critical: "◆", high: "▲", medium: "■", low: "●" };
const LOADED = 500;

export function priorityBadge(priority) {
  const badge = document.createElement("span");
  badge.className = `priority priority-${priority}`;
  badge.dataset.priority = priority;
  const shape = document.createElement("span");
  shape.setAttribute("aria-hidden", "true");
  shape.textContent = SHAPES[priority] || "?";
  badge.append(shape, ` ${priority[0].toUpperCase()}${priority.slice(1)}`);
  return badge;
}

export const alarmKind = (kind) => KINDS[kind] || kind;

const rank = (priority) => (PRIORITIES.includes(priority) ? PRIORITIES.indexOf(priority) : PRIORITIES.length);
// Active first, then the most urgent, then the newest (the registry's order too).
export const byUrgency = (a, b) => (b.active - a.active) || (rank(a.priority) - rank(b.priority)) || (b.raised_at - a.raised_at) || (b.alarm - a.alarm);

// Tells "change" after each render, for the runtime page's own alarms (plc_alarms.js).
export class AlarmsView extends EventTarget {
  constructor(registry, { tbody, shelvedBody, activeOnly, priority, shelveFor, ackAll, flood, summary, message, badge }, canControl) {
    super();
    Object.assign(this, { registry, tbody, shelvedBody, activeOnly, priority, shelveFor, ackAll, flood, summary, message, badge, canControl });
    this.alarms = new Map();  // alarm number -> Alarm
    shelvedBody.closest("table").prepend(tbody.closest("table").tHead.cloneNode(true));   // the same columns
    activeOnly.onchange = () => this.render();
    priority.onchange = () => this.render();
    ackAll.hidden = !canControl;
    ackAll.onclick = () => this.acknowledgeAll();
    this.onAlarm = (event) => {
      this.alarms.set(event.detail.alarm, event.detail);
      this.render();
      this.loadState();
    };
    registry.addEventListener("alarm", this.onAlarm);
  }

  destroy() {
    this.registry.removeEventListener("alarm", this.onAlarm);
  }

  async load() {
    try {
      const alarms = await this.registry.call("alarms", { limit: LOADED });
      this.alarms = new Map(alarms.map((alarm) => [alarm.alarm, alarm]));
      this.message.textContent = "";
    } catch (error) {
      this.message.textContent = `Alarms unavailable: ${registryError(error)}`;
    }
    this.render();
    this.loadState();
  }

  async loadState() {
    try {
      const state = await this.registry.call("alarm_state");
      this.flood.hidden = !state.flood;
      this.flood.textContent = state.flood
        ? `Alarm flood: ${state.raised_recently} alarms raised in the last ${state.flood_window / 60} minutes. Work from the top: the most urgent come first.`
        : "";
    } catch (error) {
      this.flood.hidden = true;   // an older registry: no indicator
    }
  }

  async act(alarm, short, args, done) {
    try {
      const answer = await this.registry.call(short, { alarm: alarm.alarm, ...args });
      this.alarms.set(alarm.alarm, answer);
      this.message.textContent = done(answer);
    } catch (error) {
      this.message.textContent = `Alarm ${alarm.alarm}: ${registryError(error)}`;
    }
    this.render();
  }

  async acknowledge(alarm) {
    const comment = await confirmAction({ title: `Acknowledge alarm ${alarm.alarm}`, okLabel: "Acknowledge",
      text: `${alarm.id}: ${KINDS[alarm.kind] || alarm.kind}, ${alarm.priority}. ${alarm.detail || ""}`,
      value: "", valueLabel: "Comment (optional)", check: (text) => text });
    if (comment === null) return this.render();
    return this.act(alarm, "ack", comment ? { comment } : {}, (answer) => (answer.already
      ? `Alarm ${alarm.alarm} was already acknowledged by ${answer.acked_by}, ${formatAgo(fromEpoch(answer.acked_at))}.`
      : `Alarm ${alarm.alarm} acknowledged.`));
  }

  async shelve(alarm) {
    const seconds = Number(this.shelveFor.value);
    const reason = await confirmAction({ title: `Shelve alarm ${alarm.alarm} for ${formatDuration(seconds)}`, okLabel: "Shelve",
      text: `${alarm.id}: ${KINDS[alarm.kind] || alarm.kind}. It leaves the list and sends no notification until then.`,
      value: "", valueLabel: "Reason",
      check: (text) => { if (!text.trim()) throw new Error("Say why it is shelved."); return text.trim(); } });
    if (reason === null) return this.render();
    return this.act(alarm, "shelve", { seconds, reason }, () => `Alarm ${alarm.alarm} shelved.`);
  }

  async acknowledgeAll() {
    const chosen = this.shown().filter((alarm) => alarm.active && !alarm.acked_at);
    if (!chosen.length) {
      this.message.textContent = "No alarm shown needs acknowledging.";
      return;
    }
    const comment = await confirmAction({ title: `Acknowledge ${chosen.length} alarm(s)`, okLabel: "Acknowledge all",
      text: chosen.map((alarm) => `${alarm.alarm} ${alarm.id} ${alarm.kind} (${alarm.priority})`).join("; "),
      value: "", valueLabel: "Comment (optional)", check: (text) => text });
    if (comment === null) return;
    const priority = this.priority.value || null;
    try {
      const done = await this.registry.call("ack_all", { comment: comment || null, priority });
      for (const alarm of done) this.alarms.set(alarm.alarm, alarm);
      this.message.textContent = `${done.length} alarm(s) acknowledged.`;
    } catch (error) {
      this.message.textContent = `Not acknowledged: ${registryError(error)}`;
    }
    this.render();
  }

  row(alarm) {
    const tr = document.createElement("tr");
    tr.dataset.alarm = alarm.alarm;
    tr.dataset.plc = alarm.id;
    tr.dataset.kind = alarm.kind;
    tr.dataset.priority = alarm.priority;
    tr.classList.toggle("alarm-active", alarm.active);
    tr.classList.toggle("alarm-unacked", !alarm.acked_at);
    const link = document.createElement("a");
    link.href = `#/plc/${encodeURIComponent(alarm.id)}`;
    link.textContent = alarm.id;
    const what = document.createElement("span");
    what.className = "alarm-kind";
    what.textContent = alarmKind(alarm.kind);
    const detail = document.createElement("div");
    detail.className = "note";
    detail.textContent = alarm.detail || "";
    const cleared = alarm.cleared_at
      ? [timeElement(alarm.cleared_at), ` after ${formatDuration(alarm.cleared_at - alarm.raised_at)}`]
      : [Object.assign(document.createElement("strong"), { textContent: "active" })];
    const ack = document.createElement("span");
    ack.className = "ack";
    if (alarm.acked_at) {
      ack.textContent = `${alarm.acked_by || "?"}, ${formatAgo(fromEpoch(alarm.acked_at))}${alarm.ack_comment ? `: ${alarm.ack_comment}` : ""}`;
    } else if (this.canControl) {
      ack.append(button("Acknowledge", `Acknowledge alarm ${alarm.alarm}`, (event) => {
        event.currentTarget.disabled = true;
        this.acknowledge(alarm);
      }));
    } else {
      ack.textContent = "not acknowledged";
    }
    const actions = document.createElement("span");
    actions.className = "shelf";
    if (alarm.shelved) {
      actions.append(`Shelved by ${alarm.shelved_by} until `, timeElement(alarm.shelved_until), `: ${alarm.shelve_reason}`);
      if (this.canControl) {
        actions.append(" ", button("Unshelve", `Unshelve alarm ${alarm.alarm}`, () =>
          this.act(alarm, "unshelve", {}, () => `Alarm ${alarm.alarm} is back on the list.`)));
      }
    } else if (alarm.active && this.canControl) {
      actions.append(button("Shelve…", `Shelve alarm ${alarm.alarm}`, () => this.shelve(alarm)));
    }
    tr.append(cell("Priority", priorityBadge(alarm.priority)), cell("Raised", timeElement(alarm.raised_at)),
      cell("Runtime", link), cell("Alarm", what, detail), cell("Cleared", ...cleared), cell("Acknowledged", ack),
      cell("Shelving", actions));
    return tr;
  }

  activeCount(plcId) {
    return [...this.alarms.values()].filter((alarm) => alarm.id === plcId && alarm.active && !alarm.shelved).length;
  }

  shown() {
    const wanted = this.priority.value;
    return [...this.alarms.values()]
      .filter((alarm) => !alarm.shelved && (!this.activeOnly.checked || alarm.active) && (!wanted || alarm.priority === wanted))
      .sort(byUrgency);
  }

  render() {
    const all = [...this.alarms.values()];
    const shelved = all.filter((alarm) => alarm.shelved).sort(byUrgency);
    const active = all.filter((alarm) => alarm.active && !alarm.shelved);
    const unacked = active.filter((alarm) => !alarm.acked_at).length;
    this.tbody.replaceChildren(...this.shown().map((alarm) => this.row(alarm)));
    this.shelvedBody.replaceChildren(...shelved.map((alarm) => this.row(alarm)));
    this.shelvedBody.closest("details").hidden = !shelved.length;
    const counts = PRIORITIES.map((p) => [p, active.filter((alarm) => alarm.priority === p).length]).filter(([, n]) => n);
    this.summary.textContent = `${active.length} active (${unacked} not acknowledged${counts.length ? "; " : ""}`
      + `${counts.map(([p, n]) => `${n} ${p}`).join(", ")}), ${shelved.length} shelved, ${all.length} in all`;
    this.badge.textContent = active.length ? String(active.length) : "";
    this.badge.hidden = !active.length;
    const top = active.map((alarm) => alarm.priority).sort((a, b) => rank(a) - rank(b))[0];
    this.badge.className = top ? `badge priority-${top}` : "badge";
    this.dispatchEvent(new Event("change"));
  }
}
