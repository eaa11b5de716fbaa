// The alarm list (plclink.registry.alarms), kept current by plclink.registry.on_alarm; roles
// that may control (ide) acknowledge here. The registry records who from the router's own
// authentication, and refuses the call to any other role whatever the page shows.

import { button, cell, timeElement } from "./dom.js";
import { registryError } from "./registry.js";
import { formatAgo, formatDuration, fromEpoch } from "./status.js";

const KINDS = { broken: "Broken", disconnected: "Disconnected", critical_log: "CRITICAL log", rule: "Rule",
  force_age: "Force held long (notice)" };
const LOADED = 500;

export class AlarmsView {
  constructor(registry, { tbody, activeOnly, summary, message, badge }, canControl) {
    this.registry = registry;
    this.tbody = tbody;
    this.activeOnly = activeOnly;
    this.summary = summary;
    this.message = message;
    this.badge = badge;
    this.canControl = canControl;
    this.alarms = new Map();  // alarm number -> Alarm
    activeOnly.onchange = () => this.render();
    this.onAlarm = (event) => {
      this.alarms.set(event.detail.alarm, event.detail);
      this.render();
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
  }

  async acknowledge(alarm) {
    try {
      this.alarms.set(alarm.alarm, await this.registry.call("ack", { alarm: alarm.alarm }));
      this.message.textContent = `Alarm ${alarm.alarm} acknowledged.`;
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
    tr.classList.toggle("alarm-active", alarm.active);
    tr.classList.toggle("alarm-unacked", !alarm.acked_at);
    const link = document.createElement("a");
    link.href = `#/plc/${encodeURIComponent(alarm.id)}`;
    link.textContent = alarm.id;
    const what = document.createElement("span");
    what.className = "alarm-kind";
    what.textContent = KINDS[alarm.kind] || alarm.kind;
    const detail = document.createElement("div");
    detail.className = "note";
    detail.textContent = alarm.detail || "";
    const cleared = alarm.cleared_at
      ? [timeElement(alarm.cleared_at), ` after ${formatDuration(alarm.cleared_at - alarm.raised_at)}`]
      : [Object.assign(document.createElement("strong"), { textContent: "active" })];
    const ack = document.createElement("span");
    ack.className = "ack";
    if (alarm.acked_at) {
      ack.textContent = `${alarm.acked_by || "?"}, ${formatAgo(fromEpoch(alarm.acked_at))}`;
    } else if (this.canControl) {
      ack.append(button("Acknowledge", `Acknowledge alarm ${alarm.alarm}`, (event) => {
        event.currentTarget.disabled = true;
        this.acknowledge(alarm);
      }));
    } else {
      ack.textContent = "not acknowledged";
    }
    tr.append(cell("Raised", timeElement(alarm.raised_at)), cell("Runtime", link), cell("Alarm", what, detail),
      cell("Cleared", ...cleared), cell("Acknowledged", ack));
    return tr;
  }

  render() {
    const all = [...this.alarms.values()].sort((a, b) => b.raised_at - a.raised_at || b.alarm - a.alarm);
    const active = all.filter((alarm) => alarm.active);
    const unacked = active.filter((alarm) => !alarm.acked_at).length;
    const shown = this.activeOnly.checked ? active : all;
    this.tbody.replaceChildren(...shown.map((alarm) => this.row(alarm)));
    this.summary.textContent = `${active.length} active (${unacked} not acknowledged), ${all.length} in all`;
    this.badge.textContent = active.length ? String(active.length) : "";
    this.badge.hidden = !active.length;
  }
}
