// The one time format of the page: ISO 8601 dates, a 24-hour clock, the zone said (the same
// format as the command line's), and "3 min ago" where a glance is what matters.

const pad = (number, width = 2) => String(number).padStart(width, "0");

// "+01:00": the browser's offset from UTC at that date.
export function zoneOffset(date = new Date()) {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? "-" : "+";
  return `${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

// "UTC+01:00 (Europe/Berlin)": said once on the page, beside the times.
export function zoneLabel(date = new Date()) {
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return `UTC${zoneOffset(date)}${name ? ` (${name})` : ""}`;
}

export const isoDate = (date) => `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;

export const clock = (date, withMs = false) =>
  `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${withMs ? `.${pad(date.getMilliseconds(), 3)}` : ""}`;

// "2026-12-06T04:38:59+00:00": complete, for titles and exports.
export const isoDateTime = (date) => `${isoDate(date)}T${clock(date)}${zoneOffset(date)}`;

// "14:02:03" today, "2026-12-05 14:02:03" before: short where the zone is said on the page.
export function formatTime(date) {
  if (!date) return "—";
  const today = isoDate(new Date()) === isoDate(date);
  return today ? clock(date) : `${isoDate(date)} ${clock(date)}`;
}

// uPlot's time axis and legend in the same format (x values in seconds).
export function timeAxisValues(plot, splits, axisIndex, space, increment) {
  return splits.map((seconds) => {
    const date = new Date(seconds * 1000);
    if (increment >= 86400) return isoDate(date);
    const hm = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
    const text = increment < 60 ? clock(date) : hm;
    return date.getHours() === 0 && date.getMinutes() === 0 && increment >= 3600 ? `${isoDate(date)}\n${hm}` : text;
  });
}

export const legendTime = (plot, seconds) => (seconds === null || seconds === undefined ? "—" : formatTime(new Date(seconds * 1000)));
