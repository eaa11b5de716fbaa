// What the live chart and the trend share: wall-clock time on x in the page's one time format
// (timefmt.js), and BOOL on an axis of its own (FALSE/TRUE, stepped), never on a number's scale.

import { legendTime, timeAxisValues } from "./timefmt.js";

export const isBool = (type) => type === "BOOL";

export function boolTicks(u, values) {
  return values.map((value) => (value === 1 ? "TRUE" : value === 0 ? "FALSE" : ""));
}

// Steps of whole seconds and up: the labels show seconds at most, so a finer step (uPlot's
// choice for a few seconds of live data) would print each second several times.
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
  86400, 172800, 604800, 2592000];
export const timeAxis = () => ({ values: timeAxisValues, incrs: TIME_STEPS, space: 70 });
export const timeSeries = () => ({ label: "time", value: legendTime });
export const boolAxis = () => ({ scale: "bool", side: 1, splits: () => [0, 1], values: boolTicks, grid: { show: false } });
export const boolScale = { range: [-0.1, 1.1] };
export const boolPaths = () => uPlot.paths.stepped({ align: 1 });

// The y axes a set of variable types needs: numbers on the left, BOOL on the right.
export function valueAxes(types) {
  const axes = [];
  if (types.some((type) => !isBool(type))) axes.push({ scale: "num" });
  if (types.some(isBool)) axes.push(boolAxis());
  return axes;
}
