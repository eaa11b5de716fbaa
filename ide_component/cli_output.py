"""How the command line shows results to people: pure text formatting, no I/O (unit-tested)."""
import datetime
import json

from plc_protocol.log_levels import LogLevel
from plc_protocol.status import PLCStatus


def format_table(headers, rows) -> str:
    """Columns as wide as their widest cell, separated by two spaces; no trailing blanks."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in cells)


def format_value(value) -> str:
    """An IEC value as a person reads it: TRUE/FALSE, short floats, quoted strings."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:.7g}"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def csv_value(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def format_log_counts(counts) -> str:
    return ", ".join(f"{n} {level.name.lower()}" for level, n in zip(LogLevel, counts))


def format_bytes(size: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def progress_line(label: str, stage: str, done: int, total: int, width: int = 24) -> str:
    """``plc-01  sending     [#########...............]  38%  1.0/2.6 MiB``"""
    fraction = done / total if total else 1.0
    filled = int(round(fraction * width))
    return (f"{label}  {stage:<10} [{'#' * filled}{'.' * (width - filled)}] "
            f"{int(fraction * 100):3d}%  {format_bytes(done)} of {format_bytes(total)}")


def trace_columns(names) -> list:
    return [max(len(name), 12) for name in ["tick", *names]]


def trace_row(cells, widths) -> str:
    return "  ".join(str(cell).rjust(width) for cell, width in zip(cells, widths)).rstrip()


def as_json(document) -> str:
    return json.dumps(document, sort_keys=False)


def format_time(seconds) -> str:
    """Wall-clock seconds as local time to the second in ISO 8601 with its offset from UTC
    (``2026-12-06T04:38:59+00:00``: a 24-hour clock, the date, the zone), "-" when unknown: the
    one time format of the command line and of notifications."""
    if seconds is None:
        return "-"
    return datetime.datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


def format_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


LOCAL_SITE = "(here)"   # the SITE of runtimes on the router the command talks to


def by_site(items, site_of) -> list:
    """``items`` grouped by site, this router's own first, then sites by name; the order
    within a site is kept. Used only when some runtime comes from a site."""
    order = {id(item): number for number, item in enumerate(items)}
    return sorted(items, key=lambda item: (site_of(item) is not None, site_of(item) or "",
                                           order[id(item)]))


def with_sites(headers, rows, sites) -> tuple:
    """A SITE column in front when any runtime comes from a site (``sites``: one per row,
    None for this router's own), rows grouped by it; else the table unchanged."""
    if not any(sites):
        return headers, rows
    grouped = by_site(list(zip(sites, rows)), lambda pair: pair[0])
    return (["SITE", *headers], [[site or LOCAL_SITE, *row] for site, row in grouped])


def scan_text(scan: dict | None) -> str:
    """A Started runtime's scan health (its <ID>.scan event): "!" when its cycles start later
    than a period (p99) or it overran since the event before (docs/force-model.md)."""
    if not scan or scan.get("lateness_ms_p99") is None:
        return "-"
    late = scan["lateness_ms_p99"] > scan["period_ms"] or scan.get("overruns_added", 0) > 0
    return (f"{'! ' if late else ''}p99 {scan['lateness_ms_p99']:.2f}/{scan['period_ms']:g} ms, "
            f"{scan['overruns']} overruns")


def fleet_list_table(infos, now=None) -> str:
    """A registry's table also says since when an offline runtime is gone, and how each
    Started runtime's scan cycle keeps time."""
    headers = ["ID", "STATUS", "PROGRAM MD5", "LINK", "FORCED", "PROBLEM"]
    rows = [[i.plc_id, i.status.value, i.md5 or "-",
             "no events" if i.bridged is None else ("bridged" if i.bridged else "native"),
             "?" if i.forced is None else i.forced, i.problem or ""]
            for i in infos]
    if any(i.labels for i in infos):
        headers.append("LABELS")
        for row, info in zip(rows, infos):
            row.append(",".join(f"{k}={v}" for k, v in sorted((info.labels or {}).items()))
                       or "-")
    if any(i.scan for i in infos):
        headers.append("SCAN")
        for row, info in zip(rows, infos):
            row.append(scan_text(info.scan))
    if any(i.offline_since is not None for i in infos):
        headers.append("OFFLINE")
        for row, info in zip(rows, infos):
            row.append("-" if info.offline_since is None else
                       f"{format_duration((now or 0) - info.offline_since)} (since "
                       f"{format_time(info.offline_since)})")
    return format_table(*with_sites(headers, rows, [i.site for i in infos]))


def history_table(lineage) -> str:
    return format_table(
        ["INSTALLED", "NAME", "MD5", "BY", "SIGNED BY", "FILES", "DEPLOY", "KEPT"],
        [(format_time(i["installed_at"]), i.get("name") or "-", i["md5"],
          i["installed_by"] or "(runtime)",
          i.get("signed_by") or "-", ", ".join(i["files"]) or "-", i["deployment"] or "-",
          "yes" if i["stored"] else "no")
         for i in lineage])


def diff_table(diff) -> str:
    def size(value):
        return "-" if value is None else format_bytes(value)
    return format_table(["FILE", diff["a"][:12], diff["b"][:12], "CHANGE"],
                        [(f["name"] or "(program)", size(f["size_a"]), size(f["size_b"]),
                          f["change"]) for f in diff["files"]])


PRIORITY_MARKS = {"critical": "!!! CRITICAL", "high": "!! HIGH", "medium": "! MEDIUM",
                  "low": "LOW"}

def unified_diffs(diff, files_a: dict, files_b: dict) -> str:
    """``diff -u`` of every text file that changed between two program sets ({name: bytes},
    "" the program); a binary file (a library, data with NUL bytes) is named, not shown."""
    import difflib
    parts = []
    for entry in diff["files"]:
        if entry["change"] == "same":
            continue
        name = entry["name"] or "(program)"
        old, new = files_a.get(entry["name"], b""), files_b.get(entry["name"], b"")
        texts = [_text(data) for data in (old, new)]
        if None in texts:
            parts.append(f"Binary file {name} {entry['change']}")
            continue
        parts.append("\n".join(difflib.unified_diff(
            texts[0].splitlines(), texts[1].splitlines(), f"{diff['a'][:12]}/{name}",
            f"{diff['b'][:12]}/{name}", lineterm="")))
    return "\n".join(parts)


def _text(data: bytes) -> str | None:
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def alarms_table(alarms) -> str:
    """In the registry's order (active first, most urgent first); shelved ones say until when."""
    return format_table(
        ["N", "PRIORITY", "ID", "KIND", "RAISED", "CLEARED", "ACKED BY", "DETAIL"],
        [(a["alarm"], PRIORITY_MARKS.get(a.get("priority"), a.get("priority") or "-"), a["id"],
          a["kind"], format_time(a["raised_at"]),
          format_time(a["cleared_at"]) if a["cleared_at"] else "active",
          (a["acked_by"] or "-") + (f" ({a['ack_comment']})" if a.get("ack_comment") else ""),
          (a["detail"] or "") + (f" [shelved by {a['shelved_by']} until "
                                 f"{format_time(a['shelved_until'])}: {a['shelve_reason']}]"
                                 if a.get("shelved") else ""))
         for a in alarms])


def fleet_status_table(outcomes, sites=None) -> str:
    """``sites``: {runtime ID: site} of the runtimes linked from sites."""
    rows = []
    for outcome in outcomes:
        if outcome.ok:
            state = outcome.value
            rows.append((outcome.plc_id, state.status.value, "/".join(map(str, state.log_counts)),
                         (state.cause or "Broken (cause not reported)")
                         if state.status == PLCStatus.BROKEN else ""))
        else:
            status = "Disconnected" if outcome.kind == "unreachable" else "?"
            rows.append((outcome.plc_id, status, "-", outcome.error))
    return format_table(*with_sites(["ID", "STATUS", "LOGS C/W/I/D", "PROBLEM"], rows,
                                     [(sites or {}).get(o.plc_id) for o in outcomes]))


def outcome_word(outcome, ok_word: str) -> str:
    return ok_word if outcome.ok else outcome.kind


def summary_line(outcomes, verb: str) -> str:
    """``deployed 3 of 4; failed: plc-07`` (the runtimes that failed, by ID)."""
    failed = [o.plc_id for o in outcomes if not o.ok]
    line = f"{verb} {len(outcomes) - len(failed)} of {len(outcomes)}"
    return line + (f"; failed: {', '.join(failed)}" if failed else "")


def forces_table(found, now=None) -> str:
    """``found``: [(runtime ID, force entries, or None: cannot be reported, or the error text
    of a runtime that could not be asked)]."""
    rows, unknown, failed = [], [], []
    for plc_id, entries in found:
        if entries is None or isinstance(entries, str):
            (unknown if entries is None else failed).append((plc_id, entries))
            continue
        for entry in entries:
            name = entry.get("name") or f"#{entry['index']}"
            value = entry.get("value")
            rows.append([plc_id, name, format_value(value) if value is not None
                         else f"0x{entry['raw']}", entry.get("by") or "?",
                         format_time(entry["since"]) if entry.get("since") else "?"])
    lines = []
    if rows:
        if len(found) == 1:
            lines.append(format_table(["VARIABLE", "VALUE", "BY", "SINCE"],
                                      [row[1:] for row in rows]))
        else:
            lines.append(format_table(["ID", "VARIABLE", "VALUE", "BY", "SINCE"], rows))
    else:
        known = [plc_id for plc_id, entries in found if isinstance(entries, list)]
        if known:
            lines.append(f"nothing forced on {', '.join(map(str, known))}")
    for plc_id, _ in unknown:
        lines.append(f"{plc_id}: forces unknown: it serves no force table (an upstream Beremiz "
                     "runtime, or a bridged one whose bridge entry has no 'variables' file: "
                     "docs/bridge.md)")
    for plc_id, error in failed:
        lines.append(f"{plc_id}: not asked: {error}")
    return "\n".join(lines)
