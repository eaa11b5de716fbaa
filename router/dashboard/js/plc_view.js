// One runtime: summary (with the cause of a Broken PLC), start/stop/restart/repair for roles
// that may, the runtime's forces (a banner, Release all), variables, chart and log; with a
// registry on the realm also its active alarms, history (trend), program lineage and audit trail.
// Status, forces, alarms and the variables' values come first: at 1920×1080 they are all
// above the fold (tests/test_dashboard_screens.py).

import { AuditPanel } from "./audit_panel.js";
import { confirmAction } from "./confirm.js";
import { callError, ForceTable, forcedBy, forcedText } from "./forces.js";
import { linkText, offlineFor } from "./fleet_view.js";
import { LineagePanel } from "./lineage_panel.js";
import { LogPanel } from "./log_panel.js";
import { PlcAlarms } from "./plc_alarms.js";
import { scanHealth } from "./scan_health.js";
import { commandAllowed, formatTime, logCounts, statusBadge } from "./status.js";
import { TraceChart } from "./trace_chart.js";
import { TrendPanel } from "./trend_panel.js";
import { VariablesPanel } from "./variables.js";

const $ = (id) => document.getElementById(id);
const ORDER_WAIT_MS = 3000;

const COMMANDS = {
  start: { procedure: "StartPLC", label: "Start", text: "The PLC program starts cycling." },
  stop: { procedure: "StopPLC", label: "Stop", text: "The PLC program stops cycling." },
  restart: { procedure: "RestartPLC", label: "Restart program",
    text: "The installed program is loaded again in a fresh program process, then started." },
  repair: { procedure: "RepairPLC", label: "Repair",
    text: "This removes the installed program and its files: the PLC becomes Empty." },
};

function field(label, ...content) {
  const item = document.createElement("span");
  const name = document.createElement("span");
  name.className = "note";
  name.textContent = `${label} `;
  item.append(name, ...content);
  return item;
}

export class PlcView {
  constructor(plcId, fleet, registry, canControl, alarmsView) {
    this.plcId = plcId;
    this.fleet = fleet;
    this.registry = registry;
    this.alarmsView = alarmsView;
    this.canControl = canControl;
    this.program = undefined;  // md5 while connected, null while not: a change reloads variables
    $("plc-title").textContent = plcId;
    $("plc-message").textContent = "";
    this.chart = new TraceChart($("chart"), $("chart-caption"));
    this.forces = new ForceTable(plcId);
    this.onForces = () => this.showForces();
    this.forces.addEventListener("change", this.onForces);
    $("release-all").hidden = !canControl;
    $("release-all").onclick = () => this.releaseAll();
    this.showForces();
    this.log = new LogPanel(plcId, $("log-list"), $("log-levels"), $("log-older"));
    this.variables = new VariablesPanel(plcId, {
      table: $("vars-table"), note: $("trace-note"), stale: $("stale-note"), traceButton: $("trace-button"),
      chart: this.chart, forces: this.forces, canControl, say: (text) => this.say(text),
      onValues: (variables, values) => this.trend && this.trend.live(variables, values),
      onStale: (since) => this.trend && this.trend.stale(since),
    });
    this.trend = null;
    this.lineage = null;
    this.audit = null;
    this.alarms = null;
    // the variables' names in the program's order once known (the trend's first choice)
    this.programOrder = new Promise((resolve) => { this.orderKnown = resolve; });
    setTimeout(() => this.orderKnown([]), ORDER_WAIT_MS);
    this.onRegistry = () => this.registryChanged();
    registry.addEventListener("availability", this.onRegistry);
    this.registryChanged();
    $("plc-controls").hidden = !canControl;
    $("plc-controls").querySelectorAll("button").forEach((button) => {
      button.onclick = () => this.command(button.dataset.command);
    });
    this.onFleetChange = (event) => {
      if (event.detail !== plcId) return;
      this.update();
      if (this.audit) this.audit.changed();
    };
    fleet.addEventListener("change", this.onFleetChange);
  }

  async attach(session) {
    this.session = session;
    await this.log.attach(session);
    this.update();
    this.forces.detach();
    await this.forces.attach(session).catch((error) => this.say(`Forces unavailable: ${callError(error)}`));
    try {
      await this.variables.attach(session);
    } catch (error) {
      this.say(`Variables unavailable: ${error.args?.[0] || error.error || error}`);
    }
    this.orderKnown(this.variables.variables.map((variable) => variable.name));
  }

  detach() {
    this.fleet.removeEventListener("change", this.onFleetChange);
    this.registry.removeEventListener("availability", this.onRegistry);
    this.dropHistory();
    this.log.detach();
    this.variables.detach();
    this.forces.detach();
    this.forces.removeEventListener("change", this.onForces);
    this.chart.destroy();
  }

  // The registry came or went: the history cards follow it.
  registryChanged() {
    this.dropHistory();
    document.querySelectorAll("#plc-view .registry-only").forEach((card) => { card.hidden = !this.registry.available; });
    if (!this.registry.available) return;
    const say = (text) => this.say(text);
    this.trend = new TrendPanel(this.plcId, this.registry, {
      presets: $("trend-presets"), variables: $("trend-variables"), chart: $("trend-chart"), caption: $("trend-caption"),
      compare: $("trend-compare"),
    });
    this.lineage = new LineagePanel(this.plcId, this.registry, this.fleet,
      { table: $("lineage-table"), note: $("lineage-note") }, this.canControl, say);
    this.audit = new AuditPanel(this.plcId, this.registry, { table: $("audit-table"), note: $("audit-note") });
    this.alarms = new PlcAlarms(this.plcId, this.alarmsView, { list: $("plc-alarm-list"), note: $("plc-alarms-note") });
    this.trend.attach(this.programOrder);
    $("trend-csv").onclick = () => this.trend.exportCsv();
    this.trend.stale(this.variables.staleSince);
    this.lineage.load();
    this.audit.load();
  }

  dropHistory() {
    if (this.trend) this.trend.detach();
    if (this.audit) this.audit.detach();
    if (this.alarms) this.alarms.detach();
    this.trend = null;
    this.lineage = null;
    this.audit = null;
    this.alarms = null;
  }

  say(text) {
    $("plc-message").textContent = text;
  }

  update() {
    const runtime = this.fleet.runtimes.get(this.plcId) || { status: null };
    const md5 = document.createElement("code");
    md5.textContent = runtime.md5 || (runtime.polled ? "unknown (not published)" : "none");
    const seen = runtime.status === "Disconnected"
      ? field("last seen", `${formatTime(runtime.lastSeen)}${offlineFor(runtime) ? `, offline for ${offlineFor(runtime)}` : ""}`)
      : field("connected since", formatTime(runtime.connectedSince));
    $("plc-summary").replaceChildren(
      field("Status", statusBadge(runtime.status)),
      field("Program", ...(runtime.program ? [runtime.program, " "] : []), md5), field("Scan", scanHealth(runtime)),
      field("Logs", logCounts(runtime.counts)), seen,
      field("Runtime", linkText(runtime)),
      field("Platform", runtime.platform || "—"), field("Tick at last status", String(runtime.tick ?? "—")));
    $("plc-controls").querySelectorAll("button").forEach((button) => {
      button.disabled = !commandAllowed(runtime.status, button.dataset.command);
    });
    $("plc-cause").hidden = runtime.status !== "Broken";
    $("plc-cause").textContent = `Broken: ${runtime.cause || "no cause given by the runtime (see the log)"}`;
    this.variables.statusChanged(runtime.status);
    this.log.countsChanged(runtime.counts);
    if (!runtime.status) return;
    const program = runtime.status === "Disconnected" ? null : String(runtime.md5);
    if (program !== null && this.program !== undefined && program !== this.program && this.session) {
      this.variables.load().catch(() => this.say("Variables unavailable."));
      if (this.lineage) this.lineage.load();
    } else if (this.lineage) {
      this.lineage.render();  // the current program and whether the runtime is online
    }
    this.program = program;
  }

  // The banner: how many variables are forced, each with its value, who and since when.
  showForces() {
    const entries = [...this.forces.entries.values()];
    $("force-banner").hidden = !entries.length;
    $("force-count").textContent = `${entries.length} variable${entries.length === 1 ? "" : "s"} forced`;
    $("force-list").replaceChildren(...entries.map((entry) => {
      const item = document.createElement("li");
      item.textContent = `${entry.name ?? `#${entry.index}`} = ${forcedText(entry)}: ${forcedBy(entry)}`;
      return item;
    }));
    $("release-all").disabled = this.forces.supported !== true;
  }

  async releaseAll() {
    const ok = await confirmAction({
      title: `Release every force on ${this.plcId}?`, okLabel: "Release all",
      text: `${this.forces.count} forced variable(s) go back to the program's control, whoever forced them.`,
    });
    if (!ok) return;
    try {
      await this.forces.release(null);
      this.say("Every force released.");
    } catch (error) {
      this.say(`Release refused: ${callError(error)}`);
    }
  }

  async command(name) {
    const { procedure, label, text } = COMMANDS[name];
    const ok = await confirmAction({ title: `${label} ${this.plcId}?`, text, okLabel: label });
    if (!ok) return;
    try {
      const result = await this.session.call(`${this.plcId}.${procedure}`);
      this.say(result === false ? `${label} did not take effect; see the log.` : `${label}: done.`);
    } catch (error) {
      this.say(`${label} refused: ${callError(error)}`);
    }
    this.fleet.refresh(this.plcId);  // a runtime without status events shows the change now
  }
}
