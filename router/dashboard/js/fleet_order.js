// The fleet table for a shift: what needs someone first (Broken, Disconnected, with active
// alarms, forced, Stopped, Started), narrowed by status (fleet_view.js filters by labels and ID).

const SEVERITY = ["Broken", "Disconnected", "alarms", "forced", "Stopped", "Started"];

// 0 for the most severe; ``alarms(id)``: how many active alarms a runtime has.
export function severity(runtime, alarms) {
  if (runtime.status === "Broken" || runtime.status === "Disconnected") return SEVERITY.indexOf(runtime.status);
  if (alarms(runtime.id)) return SEVERITY.indexOf("alarms");
  if (runtime.forced) return SEVERITY.indexOf("forced");
  const rank = SEVERITY.indexOf(runtime.status);
  return rank < 0 ? SEVERITY.length : rank;
}

export function ordered(runtimes, how, alarms) {
  const byId = (a, b) => a.id.localeCompare(b.id);
  if (how === "id") return [...runtimes].sort(byId);
  return [...runtimes].sort((a, b) => severity(a, alarms) - severity(b, alarms) || byId(a, b));
}

export function matching(runtimes, status) {
  return status ? runtimes.filter((runtime) => runtime.status === status) : runtimes;
}
