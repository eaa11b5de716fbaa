// The trend's shown range as a CSV file: one row per time (ISO 8601 with the zone), one column
// per series as drawn (a BOOL as 0/1; min/mean/max columns for 1-minute aggregates).

import { isoDateTime } from "./timefmt.js";

export function trendCsv(columns, data) {
  const header = ["time", ...columns.map((column) => (column.role === "value" ? column.name : `${column.name} ${column.role}`))];
  const [times = [], ...series] = data;
  const lines = times.map((seconds, n) => [isoDateTime(new Date(seconds * 1000)),
    ...series.map((values) => (values[n] === null || values[n] === undefined ? "" : String(values[n])))].join(","));
  return [header.map((name) => (/[",]/.test(name) ? `"${name.replaceAll('"', '""')}"` : name)).join(","), ...lines].join("\r\n") + "\r\n";
}

// Offer the text as a download named like "plc-01 2026-12-06T04-38-59.csv".
export function download(name, text) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
