// Small DOM builders shared by the tables (fleet, alarms, lineage, audit).

import { formatTime, fromEpoch } from "./status.js";
import { isoDateTime } from "./timefmt.js";

// A table cell; data-label names it where a phone shows each row as a card.
export function cell(label, ...content) {
  const td = document.createElement("td");
  td.dataset.label = label;
  td.append(...content);
  return td;
}

// A registry time (seconds since the epoch) as a <time> element.
export function timeElement(seconds) {
  const date = fromEpoch(seconds);
  const time = document.createElement("time");
  if (date) {
    time.dateTime = date.toISOString();
    time.title = isoDateTime(date);
  }
  time.textContent = formatTime(date);
  return time;
}

export function button(text, label, onclick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.setAttribute("aria-label", label);
  element.onclick = onclick;
  return element;
}
