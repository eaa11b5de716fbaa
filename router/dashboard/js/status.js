// PLC status values and log levels (protocol.md §1, §3), and what each status lets a user do.

import { formatTime } from "./timefmt.js";

export const LEVELS = ["CRITICAL", "WARNING", "INFO", "DEBUG"];

// Commands as the Beremiz IDE enables them per status (protocol.md §1), and restart
// (docs/force-model.md) where a program is installed but not running; transfer is the IDE's.
const COMMANDS = {
  Started: ["stop"],
  Stopped: ["start", "restart", "repair"],
  Broken: ["restart", "repair"],
  Empty: [],
  Disconnected: [],
};

export function commandAllowed(status, command) {
  return (COMMANDS[status] || []).includes(command);
}

export function statusBadge(status) {
  const badge = document.createElement("span");
  const known = Object.hasOwn(COMMANDS, status);
  badge.className = `status status-${known ? status : "Unknown"}`;
  badge.textContent = status || "Unknown";
  return badge;
}

export function logCounts(counts) {
  const box = document.createElement("span");
  box.className = "counts";
  LEVELS.forEach((name, level) => {
    const count = document.createElement("span");
    count.className = `count level-${level}`;
    count.dataset.level = name;
    count.title = `${name} messages logged`;
    count.textContent = `${name[0]} ${counts ? counts[level] : "–"}`;
    box.append(count);
  });
  return box;
}

export { formatTime };

// A registry time (seconds since the epoch) as a Date, or null.
export const fromEpoch = (seconds) => (seconds === null || seconds === undefined ? null : new Date(seconds * 1000));

// "45 s", "12 min", "3 h 5 min", "2 d 4 h": how long something has lasted.
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

// A registry time as text that also says how long ago: "11:02:03 (2 h 5 min ago)".
export function formatAgo(date) {
  if (!date) return "—";
  return `${formatTime(date)} (${formatDuration((Date.now() - date.getTime()) / 1000)} ago)`;
}
