// The fleet table: one row per runtime, redrawn at most once per frame when events arrive.
// At headquarters (README, "Sites") the rows are grouped by site, this router's own first
// ("here"), each group under a header with its counts; with one router there are no headers.

import { cell } from "./dom.js";
import { matching, ordered } from "./fleet_order.js";
import { labelsOf } from "./fleet.js";
import { scanHealth } from "./scan_health.js";
import { formatDuration, formatTime, logCounts, statusBadge } from "./status.js";

const AGO_REFRESH_MS = 30000;

// How long a runtime has been offline: since the registry saw it go, else since last heard.
export function offlineFor(runtime) {
  const since = runtime.offlineSince || runtime.lastSeen;
  return since ? formatDuration((Date.now() - since.getTime()) / 1000) : null;
}

function since(runtime) {
  if (runtime.status === "Disconnected") {
    const gone = offlineFor(runtime);
    return `last seen ${formatTime(runtime.lastSeen)}${gone ? `, offline for ${gone}` : ""}`;
  }
  return runtime.connectedSince ? `since ${formatTime(runtime.connectedSince)}` : "—";
}

// How the dashboard hears of a runtime: its events (native or through the bridge), or asking
// it (a runtime without status events, such as Beremiz's own WAMP runtime).
export function linkText(runtime) {
  if (runtime.bridged) return `bridged ${runtime.uri || ""}`;
  if (runtime.polled || (runtime.kind === "beremiz" && !runtime.publishes)) return "no status events: polled";
  return "native";
}

// What a status badge alone does not say: forced variables, the cause of a Broken PLC.
function statusMarks(runtime) {
  const marks = [];
  if (runtime.forced) {
    const forced = document.createElement("span");
    forced.className = "forced-badge";
    forced.textContent = `${runtime.forced} forced`;
    forced.title = "variables forced on this runtime: see its page";
    marks.push(" ", forced);
  }
  if (runtime.status === "Broken" && runtime.cause) {
    const cause = document.createElement("div");
    cause.className = "cause";
    cause.textContent = runtime.cause;
    marks.push(cause);
  }
  return marks;
}

function row(runtime, select) {
  const tr = document.createElement("tr");
  tr.dataset.plc = runtime.id;
  if (runtime.site) tr.dataset.site = runtime.site;
  tr.classList.toggle("is-disconnected", runtime.status === "Disconnected");
  const link = document.createElement("a");
  link.href = `#/plc/${encodeURIComponent(runtime.id)}`;
  link.textContent = runtime.id;
  const kind = document.createElement("div");
  kind.className = "note";
  kind.textContent = linkText(runtime);
  kind.title = runtime.platform || "";
  const labels = Object.entries(labelsOf(runtime)).sort().map(([key, value]) => `${key}=${value}`);
  if (labels.length) {
    const tags = document.createElement("div");
    tags.className = "note labels";
    tags.textContent = labels.join(" ");
    kind.append(document.createElement("br"), tags);
  }
  const md5 = document.createElement("code");
  md5.className = "md5";
  md5.textContent = runtime.md5 ? runtime.md5.slice(0, 12) : (runtime.polled ? "unknown" : "none");
  md5.title = runtime.md5 || (runtime.polled ? "this runtime does not publish its md5" : "no program installed");
  const program = document.createElement("span");
  program.className = "program-name";
  program.textContent = runtime.program || "";
  tr.append(cell("Select", ...select(runtime)), cell("Runtime", link, kind), cell("Status", statusBadge(runtime.status), ...statusMarks(runtime)),
    cell("Program", ...(runtime.program ? [program, document.createElement("br")] : []), md5),
    cell("Scan", scanHealth(runtime)), cell("Logs", logCounts(runtime.counts)), cell("Connection", since(runtime)));
  return tr;
}

const HERE = "here";

// "3 runtimes: 2 Started, 1 Stopped"
function counted(runtimes) {
  const byStatus = {};
  runtimes.forEach(({ status }) => { byStatus[status || "Unknown"] = (byStatus[status || "Unknown"] || 0) + 1; });
  const parts = Object.entries(byStatus).map(([status, count]) => `${count} ${status}`);
  return `${runtimes.length} runtime${runtimes.length === 1 ? "" : "s"}` + (parts.length ? `: ${parts.join(", ")}` : "");
}

// Runtimes by site, this router's own (site null) first, then the sites by name.
function bySite(runtimes) {
  const groups = new Map([[HERE, []]]);
  runtimes.forEach((runtime) => {
    const site = runtime.site || HERE;
    if (!groups.has(site)) groups.set(site, []);
    groups.get(site).push(runtime);
  });
  if (!groups.get(HERE).length) groups.delete(HERE);
  const sites = [...groups.keys()].filter((site) => site !== HERE).sort();
  return (groups.has(HERE) ? [HERE, ...sites] : sites).map((site) => [site, groups.get(site)]);
}

function siteHeader(site, runtimes) {
  const tr = document.createElement("tr");
  tr.className = "site-header";
  tr.dataset.site = site;
  const th = document.createElement("th");
  th.scope = "rowgroup";
  th.colSpan = 7;
  const name = document.createElement("span");
  name.className = "site-name";
  name.textContent = site === HERE ? "Here (this router)" : `Site ${site}`;
  const counts = document.createElement("span");
  counts.className = "note";
  counts.textContent = counted(runtimes);
  th.append(name, " ", counts);
  tr.append(th);
  return tr;
}

// The filter box: "line=2,site=plant-a" (key!=value excludes; a word without "=" matches IDs
// and program names that contain it, whatever the case), as --selector on the command line
// (plc_protocol/labels.py).
export function parseFilter(text) {
  return text.split(",").map((item) => item.trim()).filter(Boolean).map((item) => {
    const negate = item.includes("!=");
    const [key, value] = item.split(negate ? "!=" : "=");
    if (value === undefined) {
      const word = key.toLowerCase();
      return (runtime) => runtime.id.toLowerCase().includes(word) || (runtime.program || "").toLowerCase().includes(word);
    }
    return (runtime) => (labelsOf(runtime)[key.trim()] === value.trim()) !== negate;
  });
}

export class FleetView {
  // ``filter``: labels, part of an ID or of a program name; ``controls``: the sort and status inputs; ``alarms(id)``:
  // its active alarms; ``bulk``: the selection for starting and stopping several (fleet_bulk.js).
  constructor(fleet, tbody, summary, filter, controls = null, alarms = () => 0, bulk = null) {
    this.fleet = fleet;
    this.bulk = bulk;
    this.tbody = tbody;
    this.summary = summary;
    this.filter = filter;
    this.controls = controls;
    this.alarms = alarms;
    this.pending = false;
    if (filter) filter.addEventListener("input", () => this.schedule());
    if (controls) Object.values(controls).forEach((input) => { input.oninput = () => this.schedule(); });
    fleet.addEventListener("change", () => this.schedule());
    this.clock = setInterval(() => this.schedule(), AGO_REFRESH_MS);  // "offline for" keeps counting
  }

  destroy() {
    clearInterval(this.clock);
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    const tests = parseFilter(this.filter ? this.filter.value : "");
    const everyone = [...this.fleet.runtimes.values()];
    const { sort, status } = this.controls || {};
    const runtimes = ordered(matching(everyone.filter((runtime) => tests.every((test) => test(runtime))), status?.value),
      sort?.value || "severity", this.alarms);
    const groups = bySite(runtimes);
    const headers = groups.some(([site]) => site !== HERE);
    this.tbody.replaceChildren(...groups.flatMap(([site, members]) =>
      [...(headers ? [siteHeader(site, members)] : []), ...members.map((runtime) => row(runtime, (r) => (this.bulk ? this.bulk.checkbox(r) : [])))]));
    this.summary.textContent = counted([...runtimes].sort((a, b) => a.id.localeCompare(b.id))) +
      (headers ? ` on ${groups.length} site${groups.length === 1 ? "" : "s"}` : "") +
      (runtimes.length < everyone.length ? ` (filtered from ${everyone.length})` : "");
  }
}
