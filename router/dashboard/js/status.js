// PLC status values and log levels (protocol.md §1, §3), and what each status lets a user do.

export const LEVELS = ["CRITICAL", "WARNING", "INFO", "DEBUG"];

// Commands as the Beremiz IDE enables them per status (protocol.md §1); transfer is the IDE's.
const COMMANDS = {
  Started: ["stop"],
  Stopped: ["start", "repair"],
  Broken: ["repair"],
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

export function formatTime(date) {
  if (!date) return "—";
  const today = new Date().toDateString() === date.toDateString();
  return today ? date.toLocaleTimeString() : date.toLocaleString();
}
