// The variable table with live values, the chart's choice of variables, and forcing.
//
// Every user sees live values from the runtime's `<ID>.values` events: every variable, sampled
// a few times a second. An operator may also trace: a runtime keeps ONE traced-and-forced set,
// replaced whole by SetTraceVariablesList, which it cannot report; its `<ID>.trace` events carry
// only the set's token. Those per-cycle samples are used only for a set this page chose itself
// (its token), and choosing one is an explicit operator action: merely opening the page must
// never lift forces that someone else set. Read-only roles may not call SetTraceVariablesList.

import { confirmAction } from "./confirm.js";
import { chartable, decodeSample, encodeForce, formatValue, plotValue } from "./iec.js";

const TRACE_ERRORS = {
  "-1": "too many variables to trace at once (the runtime takes 1024, 4096 bytes per cycle)",
  "-2": "too many forced variables (the runtime takes 256)",
  "-3": "a force value has the wrong size",
  "-4": "invalid variable or force value",
  "-5": "tracing is suspended: no program is loaded",
};

export class VariablesPanel {
  constructor(plcId, { table, note, traceButton, chart, canControl, say, onValues = () => {} }) {
    this.plcId = plcId;
    this.tbody = table.querySelector("tbody");
    this.note = note;
    this.traceButton = traceButton;
    this.chart = chart;
    this.canControl = canControl;
    this.say = say;
    this.onValues = onValues;  // every decoded `<ID>.values` event: (variables, values)
    this.variables = [];
    this.forced = new Map();   // index -> {text, raw}
    this.charted = new Set();  // indexes
    this.token = null;         // of the set this page traces
    this.tracing = false;      // a SetTraceVariablesList call is on its way
    this.values = new Map();   // index -> last value
    table.classList.toggle("no-force", !canControl);
    traceButton.hidden = !canControl;
    traceButton.onclick = () => this.trace();
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
  }

  // The program's variable table; a new program invalidates the trace and the forces.
  async load() {
    const answer = await this.session.call(`${this.plcId}.ExtendedCall`, ["GetVariables", new Uint8Array(0)]);
    this.variables = JSON.parse(new TextDecoder().decode(answer));
    this.token = null;
    this.forced.clear();
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
      this.note.textContent = "Live values, sampled a few times a second. Tracing gives every cycle's values "
        + "but replaces the runtime's traced and forced set (one set per runtime, shared with the IDE).";
    } else {
      this.note.textContent = "Live values, sampled a few times a second.";
    }
  }

  // Trace every variable, with this page's forces.
  async trace() {
    const orders = this.variables.map(({ index }) => [index, this.forced.get(index)?.raw || new Uint8Array(0)]);
    let token;
    this.tracing = true;
    try {
      token = await this.session.call(`${this.plcId}.SetTraceVariablesList`, [orders]);
    } catch (error) {
      this.explain(`Not traced: ${error.args?.[0] || error.error || error}.`);
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
    if (token !== this.token) {
      this.token = null;
      this.explain("Another client changed the runtime's traced set: back to values sampled a few times "
        + "a second. Trace again for every cycle's values.");
      this.render();
      return;
    }
    const types = this.variables.map((variable) => variable.type);
    samples.forEach(([tick, buffer]) => this.record(tick, decodeSample(types, buffer)));
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
    this.onValues(this.variables, values);
    if (this.token !== null || this.tracing) return;
    this.record(tick, values);
    this.showValues();
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

  async force(variable) {
    const current = this.forced.get(variable.index)?.text ?? formatValue(variable.type, this.values.get(variable.index));
    const text = await confirmAction({
      title: `Force ${variable.name}`,
      text: `The PLC will use this ${variable.type} value every cycle until it is released.`,
      okLabel: "Force", value: current === "—" ? "" : current,
      check: (value) => { encodeForce(variable.type, value); return value; },
    });
    if (text === null) return;
    await this.changeForces(() => this.forced.set(variable.index, { text: text.trim(), raw: encodeForce(variable.type, text) }),
      `${variable.name} forced to ${text.trim()}.`);
  }

  release(variable) {
    return this.changeForces(() => this.forced.delete(variable.index), `${variable.name} released.`);
  }

  // Forces travel with the whole traced set; when the runtime refuses, nothing changed.
  async changeForces(change, done) {
    const before = new Map(this.forced);
    change();
    if (await this.trace()) {
      this.say(done);
    } else {
      this.forced = before;
      this.render();
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
      row.dataset.index = n;
      row.dataset.name = variable.name;
      row.classList.toggle("forced", this.forced.has(variable.index));
      const cells = [variable.index, variable.name, variable.type, ""].map((text) => {
        const td = document.createElement("td");
        td.textContent = text;
        return td;
      });
      cells[3].className = "value";
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
      if (this.canControl) row.append(this.forceCell(variable));
      return row;
    }));
    this.showValues();
  }

  forceCell(variable) {
    const td = document.createElement("td");
    const force = document.createElement("button");
    force.type = "button";
    force.textContent = this.forced.has(variable.index) ? `Forced ${this.forced.get(variable.index).text}…` : "Force…";
    force.setAttribute("aria-label", `Force ${variable.name}`);
    force.onclick = () => this.force(variable);
    td.append(force);
    if (this.forced.has(variable.index)) {
      const release = document.createElement("button");
      release.type = "button";
      release.textContent = "Release";
      release.setAttribute("aria-label", `Release ${variable.name}`);
      release.onclick = () => this.release(variable);
      td.append(" ", release);
    }
    return td;
  }
}
