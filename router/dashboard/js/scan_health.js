// A runtime's scan-cycle health in the fleet table, from its `<ID>.scan` event
// (docs/force-model.md, "Scan health"): how late its cycles start (99th percentile) against
// its period, and the cycles it missed. A warning, by a sign and a word as well as colour, when
// p99 exceeds the period or overruns grew since the event before; "—" saying why where a
// runtime gives none.

const fixed = (ms) => (ms >= 10 ? ms.toFixed(0) : ms.toFixed(2));

// Why there is no figure, or null when there is one.
export function noScanReason(runtime) {
  if (runtime.bridged) return "bridged: the upstream Beremiz runtime behind the bridge reports no scan timing";
  if (runtime.kind === "beremiz" || runtime.polled) return "Beremiz's own runtime reports no scan timing";
  if (runtime.status !== "Started") return `not cycling: the PLC is ${runtime.status || "of unknown status"}`;
  if (!runtime.scan) return "no scan report yet (a plclink runtime sends one every 5 s while Started)";
  if (runtime.scan.lateness_ms_p99 === null || runtime.scan.lateness_ms_p99 === undefined) return "no cycle measured yet";
  return null;
}

// What makes the figure a warning: [] when none.
export function scanWarnings(scan) {
  const warnings = [];
  if (scan.lateness_ms_p99 > scan.period_ms) warnings.push("cycles start later than one period (p99)");
  if (scan.overruns_added > 0) warnings.push(`${scan.overruns_added} overrun(s) in the last seconds`);
  return warnings;
}

export function scanHealth(runtime) {
  const box = document.createElement("span");
  box.className = "scan";
  const why = noScanReason(runtime);
  if (why) {
    box.textContent = "—";
    box.title = why;
    return box;
  }
  const { scan } = runtime;
  const warnings = scanWarnings(scan);
  box.classList.toggle("scan-warn", warnings.length > 0);
  box.textContent = `${warnings.length ? "⚠ late: " : ""}p99 ${fixed(scan.lateness_ms_p99)} ms / period ${fixed(scan.period_ms)} ms, `
    + `${scan.overruns} overrun${scan.overruns === 1 ? "" : "s"}`;
  box.title = [`how late a cycle started, over the last ${scan.cycles} cycles: 99th percentile `
    + `${scan.lateness_ms_p99} ms, worst ${scan.lateness_ms_max} ms; overruns since the program started`, ...warnings].join("; ");
  return box;
}
