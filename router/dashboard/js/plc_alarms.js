// A runtime's active alarms on its own page, beside its status (ISA-101: what needs someone is
// above the fold): most urgent first, each with its priority's word and shape, when it was
// raised and whether it is acknowledged. Acknowledging and shelving stay on the alarm list.

import { alarmKind, byUrgency, priorityBadge } from "./alarms_view.js";
import { timeElement } from "./dom.js";

const SHOWN = 4;

export class PlcAlarms {
  constructor(plcId, alarmsView, { list, note }) {
    Object.assign(this, { plcId, alarmsView, list, note });
    this.onChange = () => this.render();
    alarmsView.addEventListener("change", this.onChange);
    this.render();
  }

  detach() {
    this.alarmsView.removeEventListener("change", this.onChange);
  }

  render() {
    const active = [...this.alarmsView.alarms.values()]
      .filter((alarm) => alarm.id === this.plcId && alarm.active && !alarm.shelved).sort(byUrgency);
    this.list.replaceChildren(...active.slice(0, SHOWN).map((alarm) => {
      const item = document.createElement("li");
      item.dataset.alarm = alarm.alarm;
      const what = document.createElement("span");
      what.className = "alarm-kind";
      what.textContent = ` ${alarmKind(alarm.kind)} `;
      const ack = document.createElement("span");
      ack.className = "note";
      ack.textContent = alarm.acked_at ? ` acknowledged by ${alarm.acked_by || "?"}` : " not acknowledged";
      item.append(priorityBadge(alarm.priority), what, timeElement(alarm.raised_at), ack);
      item.title = alarm.detail || "";
      return item;
    }));
    const more = active.length - SHOWN;
    this.note.replaceChildren(active.length ? "" : "No active alarm.",
      ...(more > 0 ? [`${more} more. `] : []));
    const link = document.createElement("a");
    link.href = "#/alarms";
    link.textContent = "Alarm list";
    this.note.append(" ", link);
  }
}
