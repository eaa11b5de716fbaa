// History of a runtime's variables on a wall-clock axis, from the registry
// (plclink.registry.trend), with a live tail from the `<ID>.values` events the variables panel
// already decodes.
//
// A range is a preset (the last 15 min … 7 d, moving with the clock, live tail on) or a zoom:
// dragging across the chart asks the registry for exactly that stretch, at the finer resolution
// it now fits in (raw samples once it lies in the raw window). BOOL variables get their own 0/1
// axis on the right, numbers the left one. Aggregated ranges draw the mean as the line and
// min..max as a band. While the runtime's values are stale (variables.js) the live tail stops
// and the caption says since when: a frozen value is never drawn as live.

import { boolPaths, boolScale, isBool, timeAxis, timeSeries, valueAxes } from "./chart_axes.js";
import { registryError } from "./registry.js";
import { download, trendCsv } from "./trend_csv.js";
import { loadMarkers, markerPlugin } from "./trend_markers.js";
import { isoDateTime } from "./timefmt.js";
import { formatDuration, formatTime, fromEpoch } from "./status.js";

export const PRESETS = [[900, "15 min"], [3600, "1 h"], [86400, "24 h"], [604800, "7 d"]];
const HEIGHT = 280;
const MAX_POINTS = 1000;
const COLOURS = ["#1f5fbf", "#c5221f", "#1e8e3e", "#b26a00", "#8430ce", "#007b83", "#5f6368"];
const MIN_DRAG_PX = 5;
const RETRY_MS = 3000;

const trended = (type) => type !== "STRING";

export class TrendPanel {
  constructor(plcId, registry, { presets, variables, chart, caption, compare = null }) {
    this.plcId = plcId;
    this.registry = registry;
    this.presetsBox = presets;
    this.variablesBox = variables;
    this.container = chart;
    this.caption = caption;
    this.compareInput = compare;
    if (compare) compare.onchange = () => this.load();
    this.missing = [];
    this.variables = [];        // {name, type} the registry records
    this.selected = new Set();  // names
    this.span = PRESETS[0][0];  // seconds, while no zoom
    this.zoom = null;           // {start, end} seconds
    this.columns = [];          // per data column after x: {name, type, role: value|mean|min|max}
    this.data = [[]];
    this.markers = [];          // installs, alarms, forces on the time axis (trend_markers.js)
    this.bucket = 0;
    this.request = 0;           // answers to older requests are dropped
    this.plot = null;
    this.pending = false;
    this.staleSince = null;
    this.resizing = new ResizeObserver(() => this.plot && this.plot.setSize({ width: this.width(), height: HEIGHT }));
    this.resizing.observe(chart);
    this.renderPresets();
  }

  // programOrder: resolves with the variables' names in the program's table order ([] unknown).
  async attach(programOrder) {
    try {
      const [recorded, names] = await Promise.all([this.registry.call("variables", { id: this.plcId }), programOrder]);
      // the program's order (the registry sorts by name), recorded variables it no longer has last
      const order = new Map(names.map((name, n) => [name, n]));
      const rank = (v) => order.get(v.name) ?? order.size;
      this.variables = recorded.filter((v) => trended(v.type)).sort((a, b) => rank(a) - rank(b));
    } catch (error) {
      this.caption.textContent = `History unavailable: ${registryError(error)}`;
      this.later(programOrder);
      return;
    }
    if (!this.variables.length) {
      // a registry that just started, or a runtime it has not asked for its variables yet
      this.caption.textContent = "No variables recorded for this runtime yet.";
      this.later(programOrder);
      return;
    }
    if (!this.selected.size) {
      // a number and a BOOL to begin with: both axes on show
      [this.variables.find((v) => !isBool(v.type)), this.variables.find((v) => isBool(v.type))]
        .filter(Boolean).forEach((v) => this.selected.add(v.name));
    }
    this.renderVariables();
    await this.load();
  }

  later(programOrder) {
    if (!this.detached) this.retry = setTimeout(() => this.attach(programOrder), RETRY_MS);
  }

  detach() {
    this.detached = true;
    clearTimeout(this.retry);
    this.resizing.disconnect();
    this.request += 1;
    if (this.plot) this.plot.destroy();
    this.plot = null;
  }

  width() {
    return Math.max(200, this.container.clientWidth);
  }

  range() {
    if (this.zoom) return this.zoom;
    const end = Date.now() / 1000;
    return { start: end - this.span, end };
  }

  renderPresets() {
    this.presetsBox.replaceChildren(...PRESETS.map(([span, label]) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.dataset.span = span;
      button.setAttribute("aria-pressed", String(!this.zoom && span === this.span));
      button.onclick = () => {
        this.span = span;
        this.zoom = null;
        this.renderPresets();
        this.load();
      };
      return button;
    }));
  }

  renderVariables() {
    this.variablesBox.querySelectorAll("label").forEach((label) => label.remove());
    this.variables.forEach((variable) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = variable.name;
      box.checked = this.selected.has(variable.name);
      box.addEventListener("change", () => {
        if (box.checked) this.selected.add(variable.name); else this.selected.delete(variable.name);
        this.load();
      });
      label.append(box, ` ${variable.name}`);
      label.title = variable.type;
      this.variablesBox.append(label);
    });
  }

  async load() {
    const request = ++this.request;
    const names = this.variables.filter((v) => this.selected.has(v.name)).map((v) => v.name);
    const { start, end } = this.range();
    if (!names.length) {
      this.show({ start, end, bucket: 0, source: "raw", series: {} });
      return;
    }
    this.container.dataset.loading = "true";
    loadMarkers(this.registry, this.plcId).then((markers) => { this.markers = markers; if (this.plot) this.plot.redraw(false); });
    let trend;
    try {
      trend = await this.registry.call("trend", { id: this.plcId, names, start, end, max_points: MAX_POINTS });
      trend = await this.withOthers(trend, names, start, end);
    } catch (error) {
      if (request === this.request) this.caption.textContent = `History unavailable: ${registryError(error)}`;
      return;
    } finally {
      if (request === this.request) delete this.container.dataset.loading;
    }
    if (request === this.request) this.show(trend);
  }

  // A Trend answer (API.md) into uPlot's aligned columns.
  show(trend) {
    this.bucket = trend.bucket || 0;
    this.source = trend.source;
    this.columns = [];
    const tables = [];
    Object.entries(trend.series).forEach(([name, { type, points }]) => {
      const times = points.map((point) => point[0]);
      if (this.bucket) {
        // points: [t, min, max, mean]
        tables.push([times, ...[3, 1, 2].map((n) => points.map((point) => point[n]))]);
        ["mean", "min", "max"].forEach((role) => this.columns.push({ name, type, role }));
      } else {
        tables.push([times, points.map((point) => point[1])]);
        this.columns.push({ name, type, role: "value" });
      }
    });
    this.data = tables.length ? uPlot.join(tables) : [[]];
    this.build();
  }

  build() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
    const series = [timeSeries()];
    const bands = [];
    let colour = -1;
    this.columns.forEach((column, n) => {
      if (column.role === "value" || column.role === "mean") colour += 1;
      const stroke = COLOURS[colour % COLOURS.length];
      const main = column.role === "value" || column.role === "mean";
      series.push({
        label: `${main ? column.name : `${column.name} ${column.role}`}${this.unit(column.name)}`,
        scale: isBool(column.type) ? "bool" : "num",
        stroke: main ? stroke : `${stroke}55`, width: main ? 1.5 : 0.5,
        paths: isBool(column.type) && column.role === "value" ? boolPaths() : undefined,
        points: { show: false }, spanGaps: false,
      });
      if (column.role === "max") bands.push({ series: [n + 1, n], fill: `${stroke}22` });
    });
    const axes = [timeAxis(), ...valueAxes(this.columns.map((column) => column.type))];
    this.plot = new uPlot({
      width: this.width(), height: HEIGHT, series, axes, bands,
      scales: {
        x: { time: true, range: () => { const { start, end } = this.range(); return [start, end]; } },
        bool: boolScale,
      },
      cursor: { drag: { x: true, y: false, setScale: false } },
      plugins: [markerPlugin(() => this.markers)],
      hooks: { setSelect: [(u) => this.zoomTo(u)] },
    }, this.data, this.container);
    this.describe();
  }

  // The same variables of the runtimes named in "Compare with", as "<ID>:<name>" curves; a
  // runtime that does not record one is left out (said in the caption).
  async withOthers(trend, names, start, end) {
    const others = (this.compareInput?.value || "").split(/[\s,]+/).filter((id) => id && id !== this.plcId);
    this.missing = [];
    const answers = await Promise.all(others.map((id) => this.registry.call("trend", { id, names, start, end, max_points: MAX_POINTS })
      .catch(() => { this.missing.push(id); return null; })));
    const series = { ...trend.series };
    answers.filter((answer) => answer && answer.bucket === trend.bucket).forEach((answer) => {
      Object.entries(answer.series).forEach(([name, value]) => { series[`${answer.id}:${name}`] = value; });
    });
    return { ...trend, series };
  }

  // " [%]" when the program's units.csv names the variable's unit (registry/units.py).
  unit(name) {
    const unit = this.variables.find((variable) => variable.name === name)?.unit;
    return unit ? ` [${unit}]` : "";
  }

  // The range shown, as drawn, to a file (trend_csv.js); data-csv keeps it for tests.
  exportCsv() {
    const text = trendCsv(this.columns, this.data);
    const { start } = this.range();
    this.container.dataset.csvRows = String(text.split("\r\n").length - 2);
    download(`${this.plcId} ${isoDateTime(new Date(start * 1000)).replaceAll(":", "-")}.csv`, text);
  }

  zoomTo(u) {
    const { left, width } = u.select;
    if (width < MIN_DRAG_PX) return;
    this.zoom = { start: u.posToVal(left, "x"), end: u.posToVal(left + width, "x") };
    u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
    this.renderPresets();
    this.load();
  }

  describe() {
    const points = this.data[0].length;
    const { start, end } = this.range();
    Object.assign(this.container.dataset, { points, source: this.source || "", bucket: this.bucket, start, end });
    if (!this.columns.length) {
      this.caption.textContent = "Tick variables above to draw their history.";
      return;
    }
    const what = this.bucket
      ? `${points} points, each the min, mean and max of ${formatDuration(this.bucket)}`
      : `${points} samples`;
    const when = this.zoom
      ? `zoomed to ${formatTime(fromEpoch(start))} – ${formatTime(fromEpoch(end))} (choose a range to go back)`
      : this.staleSince
        ? `the last ${formatDuration(end - start)}; live tail stale since ${formatTime(this.staleSince)}`
        : `the last ${formatDuration(end - start)}, live`;
    const missing = this.missing.length ? ` No recorded history of these variables on ${this.missing.join(", ")}.` : "";
    this.caption.textContent = `${what}; ${when}. Drag across the chart to zoom.${missing}`;
  }

  // since: a Date while the values are stale, else null.
  stale(since) {
    this.staleSince = since;
    this.container.classList.toggle("stale", since !== null);
    if (this.plot) this.describe();
  }

  // Values of a `<ID>.values` event: the variables' table and their decoded values, stamped now.
  live(variables, values) {
    if (this.zoom || !this.plot || !this.columns.length || this.staleSince) return;
    const now = Date.now() / 1000;
    const xs = this.data[0];
    if (xs.length && now - xs[xs.length - 1] < this.bucket) return;
    const byName = new Map(variables.map((variable, n) => [variable.name, values[n]]));
    xs.push(now);
    this.columns.forEach((column, n) => {
      const value = byName.get(column.name);
      this.data[n + 1].push(value === undefined ? null : Number(value));
    });
    const { start } = this.range();
    let old = 0;
    while (old < xs.length && xs[old] < start) old += 1;
    if (old) this.data.forEach((column) => column.splice(0, old));
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (!this.plot) return;
      this.plot.setData(this.data);
      this.describe();
    });
  }
}
