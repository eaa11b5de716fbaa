// The live chart of chosen variables, drawn by uPlot from trace samples or the runtime's periodic
// values. x is wall-clock time (when the page received the sample), like the trend's, so the two
// read alike; BOOL variables get an axis of their own (chart_axes.js).
//
// Samples of every numeric variable are kept, so a variable ticked for the chart shows its recent
// history at once.

import { formatTime } from "./timefmt.js";
import { boolPaths, boolScale, isBool, timeAxis, timeSeries, valueAxes } from "./chart_axes.js";

const KEEP = 3000;  // samples kept: 30 s at a 10 ms cycle
const HEIGHT = 240;
const COLOURS = ["#1f5fbf", "#c5221f", "#1e8e3e", "#b26a00", "#8430ce", "#007b83", "#5f6368"];

export class TraceChart {
  constructor(container, caption) {
    this.container = container;
    this.caption = caption;
    this.plot = null;
    this.selected = [];   // variables shown
    this.reset([]);
    this.pending = false;
    this.resizing = new ResizeObserver(() => this.plot && this.plot.setSize({ width: this.width(), height: HEIGHT }));
    this.resizing.observe(container);
  }

  destroy() {
    this.resizing.disconnect();
    this.select([]);
  }

  width() {
    return Math.max(200, this.container.clientWidth);
  }

  // A new traced set: the samples so far belong to another set.
  reset(variables) {
    this.ticks = [];
    this.times = [];   // seconds since the epoch, when each sample came
    this.values = new Map(variables.map((variable) => [variable.index, []]));
    this.draw();
  }

  push(tick, variables, values) {
    const last = this.ticks[this.ticks.length - 1];
    if (tick === last) return;  // a stopped PLC's periodic values repeat its tick
    if (last !== undefined && tick < last) this.reset([...this.values.keys()].map((index) => ({ index })));  // restarted
    this.ticks.push(tick);
    this.times.push(Date.now() / 1000);
    variables.forEach((variable, n) => this.values.get(variable.index)?.push(values[n]));
    if (this.ticks.length > KEEP) {
      const extra = this.ticks.length - KEEP;
      this.ticks.splice(0, extra);
      this.times.splice(0, extra);
      this.values.forEach((series) => series.splice(0, extra));
    }
    this.schedule();
  }

  select(variables) {
    this.selected = variables;
    if (this.plot) this.plot.destroy();
    this.plot = null;
    if (variables.length) {
      this.plot = new uPlot({
        width: this.width(), height: HEIGHT,
        scales: { x: { time: true }, bool: boolScale },
        axes: [timeAxis(), ...valueAxes(variables.map((variable) => variable.type))],
        series: [timeSeries(), ...variables.map((variable, n) => ({
          label: variable.name, stroke: COLOURS[n % COLOURS.length], width: 1.5,
          scale: isBool(variable.type) ? "bool" : "num", paths: isBool(variable.type) ? boolPaths() : undefined,
        }))],
      }, this.data(), this.container);
      this.container.dataset.scales = Object.keys(this.plot.scales).join(" ");
    }
    this.draw();
  }

  data() {
    return [this.times, ...this.selected.map((variable) => this.values.get(variable.index) || this.ticks.map(() => null))];
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    if (this.plot) this.plot.setData(this.data());
    const count = this.ticks.length;
    this.container.dataset.samples = count;
    if (count) this.container.dataset.lastTime = this.times[count - 1];
    if (!this.selected.length) {
      this.caption.textContent = "Tick variables in the Chart column to draw them.";
    } else {
      this.caption.textContent = count
        ? `${count} samples, last at ${formatTime(new Date(this.times[count - 1] * 1000))} (tick ${this.ticks[count - 1]})`
        : "Waiting for values…";
    }
  }
}
