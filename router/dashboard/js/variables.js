// The variable table with live values, the chart's choice of variables, and forcing.
//
// Every user sees live values from the runtime's `<ID>.values` events: every variable, sampled
// a few times a second. An operator may also trace: the trace is this page's session's own set
// (docs/force-model.md), so it carries no force and ends nobody else's trace. Its `<ID>.trace`
// events carry the set's token; only samples of this page's token are used.
//
// Forces are the runtime's (forces.js): every forced variable is marked with its value, who
// forced it and since when, whoever did. Values are never shown as live when they are not: a PLC
// that is not Started, or whose last sample is older than STALE_INTERVALS publish intervals, has
// its values greyed and marked stale, and forcing is offered only where it can work.

import { confirmAction } from "./confirm.js";
import { callError, forcedBy, forcedText } from "./forces.js";
import { chartable, decodeSample, forceOrder, formatValue, plotValue } from "./iec.js";
import { formatTime } from "./status.js";

const STALE_INTERVALS = 3;
const MIN_INTERVAL_MS = 500;  // the runtime's publish interval (runtime_component/wamp_component.py)
const STALE_CHECK_MS = 500;
const GAPS_KEPT = 9;

const TRACE_ERRORS = {
  "-1": "too many variables to trace at once (the runtime takes 1024, 4096 bytes per cycle)",
  "-4": "invalid variable",
  "-5": "tracing is suspended: no program is loaded",
};

export class VariablesPanel {
  constructor(plcId, { table, note, stale, traceButton, chart, forces, canControl, say,
    onValues = () => {}, onStale = () => {} }) {
    this.plcId = plcId;
    this.tbody = table.querySelector("tbody");
    this.table = table;
    this.note = note;
    this.staleNote = stale;
    this.traceButton = traceButton;
    this.chart = chart;
    this.forces = forces;
    this.canControl = canControl;
    this.say = say;
    this.onValues = onValues;  // every decoded `<ID>.values` event: (variables, values)
    this.onStale = onStale;    // (Date or null): since when the values are stale
    this.variables = [];
    this.charted = new Set();  // indexes
    this.token = null;         // of the set this page traces
    this.tracing = false;      // a SetTraceVariablesList call is on its way
    this.values = new Map();   // index -> last value
    this.status = null;        // the runtime's, from the fleet
    this.lastSample = null;    // Date of the last sample heard
    this.gaps = [];            // ms between the last samples: the publish interval as heard
    this.staleSince = null;
    table.classList.toggle("no-force", !canControl);
    traceButton.hidden = !canControl;
    traceButton.onclick = () => this.trace();
    this.onForces = () => this.render();
    forces.addEventListener("change", this.onForces);
    this.clock = setInterval(() => this.checkStale(), STALE_CHECK_MS);
  }

  async attach(session) {
    this.session = session;
    this.subscriptions = [
      await session.subscribe(`${this.plcId}.trace`, ([token, samples]) => this.samples(token, samples)),
      await session.subscribe(`${this.plcId}.values`, ([tick, buffer]) => this.sampled(tick, buffer)),
    ];
    await this.load();
  }

  detach() {
    (this.subscriptions || []).forEach((subscription) => subscription.active && subscription.unsubscribe());
    this.subscriptions = [];
    this.forces.removeEventListener("change", this.onForces);
    clearInterval(this.clock);
  }

  // The program's variable table; a new program ends this page's trace.
  async load() {
    const answer = await this.session.call(`${this.plcId}.ExtendedCall`, ["GetVariables", new Uint8Array(0)]);
    this.variables = JSON.parse(new TextDecoder().decode(answer));
    this.token = null;
    this.charted.clear();
    this.values.clear();
    this.chart.reset(this.numeric());
    this.chart.select([]);
    this.explain();
    this.render();
  }

  explain(text) {
    if (text) {
      this.note.textContent = text;
    } else if (this.token !== null) {
      this.note.textContent = "Live values of every cycle, from this page's trace.";
    } else if (this.canControl) {
      this.note.textContent = "Live values, sampled a few times a second. Trace for every cycle's values "
        + "(this page's own trace: it changes no one else's trace and no force).";
    } else {
      this.note.textContent = "Live values, sampled a few times a second.";
    }
  }

  // Trace every variable, for this page alone: no force travels with it (null: not forced).
  async trace() {
    const orders = this.variables.map(({ index }) => [index, null]);
    let token;
    this.tracing = true;
    try {
      token = await this.session.call(`${this.plcId}.SetTraceVariablesList`, [orders]);
    } catch (error) {
      this.explain(`Not traced: ${callError(error)}.`);
      return false;
    } finally {
      this.tracing = false;
    }
    if (token < 0) {
      this.token = null;
      this.explain(`Not traced: ${TRACE_ERRORS[token] || `error ${token}`}.`);
      return false;
    }
    this.token = token;
    this.values.clear();
    this.chart.reset(this.numeric());
    this.explain();
    this.render();
    return true;
  }

  // Tokens grow with every new set: an older one is a late event of a set this page replaced.
  samples(token, samples) {
    if (this.token === null || this.tracing || token < this.token) return;
    if (token !== this.token) return;  // another session's trace
    const types = this.variables.map((variable) => variable.type);
    samples.forEach(([tick, buffer]) => this.record(tick, decodeSample(types, buffer)));
    this.heard();
    this.showValues();
  }

  // A `<ID>.values` event: every variable of the table, in table order. Ignored while the table
  // is not (yet) the program's; only the history's live tail takes it while this page's own
  // trace gives every cycle.
  sampled(tick, buffer) {
    let values;
    try {
      values = decodeSample(this.variables.map((variable) => variable.type), buffer, true);
    } catch {
      return;
    }
    this.heard();
    this.onValues(this.variables, values);
    if (this.token !== null || this.tracing) return;
    this.record(tick, values);
    this.showValues();
  }

  heard() {
    const now = new Date();
    if (this.lastSample) {
      this.gaps.push(now - this.lastSample);
      if (this.gaps.length > GAPS_KEPT) this.gaps.shift();
    }
    this.lastSample = now;
    this.checkStale();
  }

  // The publish interval as heard (the median gap), never below the runtime's own.
  interval() {
    const sorted = [...this.gaps].sort((a, b) => a - b);
    return Math.max(MIN_INTERVAL_MS, sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0);
  }

  statusChanged(status) {
    if (status === this.status) return;
    this.status = status;
    this.checkStale();
    this.render();
  }

  // Stale: the PLC is not Started, or no sample for STALE_INTERVALS publish intervals.
  checkStale() {
    const now = Date.now();
    const old = !this.lastSample || now - this.lastSample > STALE_INTERVALS * this.interval();
    const stale = this.status !== "Started" || old;
    if (stale === (this.staleSince !== null)) return;
    this.staleSince = stale ? (this.lastSample && old ? this.lastSample : new Date(now)) : null;
    this.showStale();
    this.onStale(this.staleSince);
  }

  showStale() {
    const since = this.staleSince;
    this.table.classList.toggle("stale", since !== null);
    this.staleNote.hidden = since === null || !this.variables.length;
    if (since === null) return;
    const why = this.status !== "Started" ? `the PLC is ${this.status || "not connected"}` : "no new sample";
    this.staleNote.textContent = this.lastSample
      ? `Stale since ${formatTime(since)} (${why}): the values shown are the last received, not live.`
      : `No live values (${why}).`;
  }

  record(tick, values) {
    this.variables.forEach((variable, n) => this.values.set(variable.index, values[n]));
    const numeric = this.numeric();
    this.chart.push(tick, numeric, numeric.map((variable) => plotValue(variable.type, this.values.get(variable.index))));
  }

  numeric() {
    return this.variables.filter((variable) => chartable(variable.type));
  }

  showValues() {
    this.tbody.querySelectorAll("tr").forEach((row) => {
      const variable = this.variables[Number(row.dataset.index)];
      row.querySelector(".value").textContent = formatValue(variable.type, this.values.get(variable.index));
    });
  }

  // Forcing and writing can work: a control role, a runtime with a force table, Started.
  get forceable() {
    return this.canControl && this.forces.supported === true && this.status === "Started";
  }

  // Why the force controls are disabled, for their tooltip.
  get notForceable() {
    if (this.forces.supported === false) return "this runtime has no force table";
    if (this.status !== "Started") return `forcing needs a Started PLC (it is ${this.status || "not connected"})`;
    return "";
  }

  current(variable) {
    const text = formatValue(variable.type, this.values.get(variable.index));
    return text === "—" ? "" : text;
  }

  async ask(variable, action, text, okLabel) {
    return confirmAction({
      title: `${action} ${variable.name}`, text, okLabel,
      value: this.forces.get(variable.index) ? forcedText(this.forces.get(variable.index)) : this.current(variable),
      check: (value) => forceOrder(variable, value),
    });
  }

  async force(variable) {
    const order = await this.ask(variable, "Force",
      `The PLC will use this ${variable.type} value every cycle until someone releases it.`, "Force");
    if (order === null) return;
    await this.act(() => this.forces.force([order]), `${variable.name} forced.`, "Force");
  }

  async write(variable) {
    const order = await this.ask(variable, "Write",
      `The PLC gets this ${variable.type} value once, before its next cycle; the program may change it again.`,
      "Write");
    if (order === null) return;
    await this.act(() => this.forces.write([order]), `${variable.name} written once.`, "Write");
  }

  // A BOOL's toggle: one write of the opposite of the value shown.
  toggle(variable) {
    const value = !this.values.get(variable.index);
    return this.act(() => this.forces.write([{ index: variable.index, value }]),
      `${variable.name} set to ${value ? "TRUE" : "FALSE"} once.`, "Write");
  }

  release(variable) {
    return this.act(() => this.forces.release([variable.index]), `${variable.name} released.`, "Release");
  }

  async act(call, done, label) {
    try {
      await call();
      this.say(done);
    } catch (error) {
      this.say(`${label} refused: ${callError(error)}`);
    }
  }

  toggleChart(variable, on) {
    if (on) this.charted.add(variable.index); else this.charted.delete(variable.index);
    this.chart.select(this.variables.filter((v) => this.charted.has(v.index)));
  }

  render() {
    this.traceButton.textContent = this.token === null ? "Trace live values" : "Trace again";
    this.tbody.replaceChildren(...this.variables.map((variable, n) => {
      const row = document.createElement("tr");
      const forced = this.forces.get(variable.index);
      row.dataset.index = n;
      row.dataset.name = variable.name;
      row.classList.toggle("forced", Boolean(forced));
      const cells = [variable.index, variable.name, variable.type, ""].map((text) => {
        const td = document.createElement("td");
        td.textContent = text;
        return td;
      });
      cells[3].className = "value";
      if (forced) cells[1].append(this.forcedMark(forced));
      const chartCell = document.createElement("td");
      if (chartable(variable.type)) {
        const box = document.createElement("input");
        box.type = "checkbox";
        box.checked = this.charted.has(variable.index);
        box.setAttribute("aria-label", `Chart ${variable.name}`);
        box.addEventListener("change", () => this.toggleChart(variable, box.checked));
        chartCell.append(box);
      }
      row.append(...cells, chartCell);
      if (this.canControl) row.append(this.controlCell(variable, forced));
      return row;
    }));
    this.showValues();
    this.showStale();
  }

  forcedMark(entry) {
    const mark = document.createElement("div");
    mark.className = "forced-mark";
    mark.textContent = `FORCED ${forcedText(entry)} by ${forcedBy(entry)}`;
    return mark;
  }

  controlCell(variable, forced) {
    const td = document.createElement("td");
    td.className = "force-col";
    const disabled = !this.forceable;
    const control = (text, label, onclick) => {
      const element = document.createElement("button");
      element.type = "button";
      element.textContent = text;
      element.setAttribute("aria-label", label);
      element.disabled = disabled;
      element.title = disabled ? this.notForceable : "";
      element.onclick = onclick;
      return element;
    };
    td.append(control("Force…", `Force ${variable.name}`, () => this.force(variable)));
    if (variable.type === "BOOL") {
      td.append(" ", control("Toggle", `Toggle ${variable.name}`, () => this.toggle(variable)));
    } else {
      td.append(" ", control("Write…", `Write ${variable.name}`, () => this.write(variable)));
    }
    if (forced) {
      // releasing stays possible while forcing is not (a Stopped PLC keeps its forces)
      const release = control("Release", `Release ${variable.name}`, () => this.release(variable));
      release.disabled = this.forces.supported !== true;
      td.append(" ", release);
    }
    return td;
  }
}
