"""The registry (``plclink registry``) under a fleet's load, on SQLite and on PostgreSQL:

- ``fleet status`` of N runtimes read from the registry's live table (one call) against one
  GetPLCstatus call per runtime, one after another (the baseline sweep of bench_ide.py);
- ingest: N runtimes x 8 numeric variables published at 2 Hz (``<ID>.values``) plus their
  status and logs, for ``--duration`` seconds: the registry's CPU (% of one core) and its
  backlog (records received, not committed) sampled every 10 s;
- storage: database growth during the ingest, as bytes per runtime per day;
- queries (a seeded variable: 24 h of 2 Hz samples, 7 days of 1-minute aggregates): a 24 h
  trend (raw samples, bucketed to 1000 points by the database) and a 7-day trend
  (aggregates), p50 and p99 over ``--queries`` calls through the router.

The fleet's router traffic comes from bench/simulated_fleet.py (every event and reading
procedure of a running runtime, without the PLCs: 100 real runtimes plus the router and the
registry do not fit on a 2-core machine shared with other work; bench_ide.py drives real ones).
PostgreSQL is a throw-away cluster of Debian's package with fsync on.

    .venv/bin/python bench/bench_registry.py [--runtimes 100] [--duration 300]
                                             [--engines sqlite,postgresql] [--queries 50]
"""
import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from sqlalchemy import insert, text  # noqa: E402

from bench_ide import median_seconds, print_table, sequential  # noqa: E402
from harness import Router, wait_until  # noqa: E402
from ide_component.blocking import open_fleet  # noqa: E402
from plclink import local_setup  # noqa: E402
from plclink.processes import Child  # noqa: E402
from postgres_cluster import PostgresCluster  # noqa: E402
from registry import database, schema, writes  # noqa: E402
from registry_fixtures import RegistryProcess  # noqa: E402

SEED_ID = "seed-01"
SEED_VAR = 10_000_000   # far above the numbers the registry gives live variables
DAY_MS = 86_400_000
SAMPLE_INTERVAL = 10.0


def seed(engine) -> None:
    """24 h of one variable at 2 Hz (raw) and 7 days of its 1-minute aggregates."""
    now = int(time.time() * 1000) // 60_000 * 60_000
    with engine.begin() as connection:
        connection.execute(insert(schema.variable).values(
            var_id=SEED_VAR, runtime_id=SEED_ID, name="level", type="REAL"))
        rows = [{"var_id": SEED_VAR, "ts": now - DAY_MS + i * 500, "value": float(i % 1000)}
                for i in range(2 * 86_400)]
        for first in range(0, len(rows), 20_000):
            connection.execute(insert(schema.value_raw), rows[first:first + 20_000])
        connection.execute(insert(schema.value_minute), [
            {"var_id": SEED_VAR, "minute": now - 7 * DAY_MS + m * 60_000, "vmin": 0.0,
             "vmax": 999.0, "vmean": 499.5, "count": 120} for m in range(7 * 1440)])
        connection.execute(insert(schema.runtime).values(
            id=SEED_ID, kind="native", status="Disconnected", online=False, first_seen=0,
            last_seen=0, log_counts="[0, 0, 0, 0]", offline_since=0))
        writes.set_setting(connection, "aggregated_until", now)


def storage_bytes(engine, url) -> int:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            return connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    path = url.split("///", 1)[1]
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(timings) -> tuple:
    ordered = sorted(timings)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def run_engine(engine_name, url, router, ids, scratch, args) -> list:
    engine = database.open_engine(url)
    database.migrate(engine)
    seed(engine)
    registry = RegistryProcess(router, url, os.path.join(scratch, engine_name))
    registry.start()
    rows = []
    try:
        with open_fleet(router.url, router.realm, router.credentials("ide")) as fleet:
            wait_until(lambda: len([r for r in fleet.ask_registry("runtimes") if r["online"]])
                       >= len(ids), 60, message="registry table")
            baseline = median_seconds(3, lambda: sequential(
                fleet, ids, lambda one: fleet.fleet.status(one, ask_each=True)))
            ours = median_seconds(5, lambda: fleet.status(ids))
            rows.append(("status", f"fleet status, {len(ids)} runtimes, from the registry vs "
                         "one call per runtime", ours, baseline, baseline / ours, 10))
            rows += ingest(engine, url, registry, fleet, len(ids), args)
            rows += queries(fleet, args)
    finally:
        registry.stop()
        engine.dispose()
    return rows


def ingest(engine, url, registry, fleet, runtimes, args) -> list:
    pid = registry.child.process.pid
    start_bytes, start_cpu, start = storage_bytes(engine, url), cpu_seconds(pid), time.monotonic()
    written0 = fleet.ask_registry("stats")["written"]
    print(f"#   {'t':>5}  {'cpu %':>6}  {'backlog':>8}  {'written/s':>9}")
    backlogs, last_cpu, last_t, last_written = [], start_cpu, start, written0
    while time.monotonic() - start < args.duration:
        time.sleep(SAMPLE_INTERVAL)
        now, cpu, stats = time.monotonic(), cpu_seconds(pid), fleet.ask_registry("stats")
        backlogs.append(stats["backlog"])
        print(f"#   {now - start:5.0f}  {100 * (cpu - last_cpu) / (now - last_t):6.1f}  "
              f"{stats['backlog']:8d}  {(stats['written'] - last_written) / (now - last_t):9.0f}",
              flush=True)
        last_cpu, last_t, last_written = cpu, now, stats["written"]
    elapsed = time.monotonic() - start
    cpu_percent = 100 * (cpu_seconds(pid) - start_cpu) / elapsed
    grown = storage_bytes(engine, url) - start_bytes
    per_day = grown / elapsed * 86400 / runtimes
    # growing: at the end more than twice what it was in the first third (and not tiny)
    early = statistics.median(backlogs[:max(1, len(backlogs) // 3)]) if backlogs else 0
    growing = bool(backlogs) and backlogs[-1] > 2 * max(1000, early)
    return [("ingest", f"ingest {runtimes} x 8 vars @ 2 Hz, {elapsed:.0f} s: registry CPU",
             cpu_percent, None, None, None),
            ("ingest", f"backlog max / at end (records); growing: {'yes' if growing else 'no'}",
             max(backlogs or [0]), backlogs[-1] if backlogs else 0, None, None),
            ("storage", "storage per runtime per day", per_day / 1e6, None, None, None)]


def queries(fleet, args) -> list:
    now = time.time()
    rows = []
    for label, start in (("trend 24 h raw (1000 buckets)", now - 86_400 + 60),
                         ("trend 7 d (1-minute aggregates)", now - 7 * 86_400)):
        timings = []
        for _ in range(args.queries):
            begun = time.perf_counter()
            answer = fleet.ask_registry("trend", SEED_ID, ["level"], start, now)
            timings.append(time.perf_counter() - begun)
            assert answer["series"]["level"]["points"], answer
        p50, p99 = percentiles(timings)
        rows.append(("query", f"{label}, source {answer['source']}", p50, p99, None, 0.2))
    return rows


def report(engine_name, rows) -> None:
    print(f"\n## {engine_name}")
    ratios = [(name, ours, baseline, ratio, target)
              for kind, name, ours, baseline, ratio, target in rows if kind == "status"]
    print_table(ratios)
    for kind, name, first, second, _, target in rows:
        if kind == "ingest" and second is None:
            print(f"{name}: {first:.1f} % of one core")
        elif kind == "ingest":
            print(f"{name}: {first} / {second}")
        elif kind == "storage":
            print(f"{name}: {first:.1f} MB")
        elif kind == "query":
            verdict = "pass" if second <= target else "FAIL"
            print(f"{name}: p50 {first * 1000:.0f} ms, p99 {second * 1000:.0f} ms "
                  f"(target <= {target * 1000:.0f} ms: {verdict})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtimes", type=int, default=100,
                        help="simulated runtimes on the realm")
    parser.add_argument("--duration", type=float, default=60,
                        help="ingest seconds per engine (docs/benchmarks.md's figures: 300)")
    parser.add_argument("--engines", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql (default %(default)s)")
    parser.add_argument("--queries", type=int, default=50, help="trend queries per kind")
    args = parser.parse_args(argv)
    print("$ " + shlex.join([os.path.relpath(sys.executable), *sys.argv]))
    started = time.monotonic()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-registry-") as scratch:
        ids = [f"erpc-{n:03d}" for n in range(args.runtimes)]   # carried by the bridge
        router = Router(os.path.join(scratch, "router"))
        router.start()
        simulated, cluster = None, None
        try:
            simulated = Child("fleet", [
                sys.executable, os.path.join(ROOT, "bench", "simulated_fleet.py"),
                "--url", router.url, "--secret-file",
                local_setup.write_secret_file(router.state_dir, local_setup.BRIDGE_AUTHID),
                *ids], quiet=True)
            if not simulated.wait_for_line("fleet ready", 120):
                raise RuntimeError("simulated fleet did not start:\n"
                                   + "".join(simulated.lines[-20:]))
            print(f"# {args.runtimes} simulated runtimes on the router after "
                  f"{time.monotonic() - started:.1f} s")
            for engine_name in args.engines.split(","):
                print(f"# engine {engine_name}", flush=True)
                if engine_name == "sqlite":
                    url = f"sqlite:///{os.path.join(scratch, 'registry.sqlite')}"
                else:
                    cluster = cluster or PostgresCluster().start(durable=True)
                    url = cluster.create_database()
                results[engine_name] = run_engine(engine_name, url, router, ids, scratch, args)
        finally:
            if simulated is not None:
                simulated.stop()
            router.stop()
            if cluster is not None:
                cluster.stop()
    for engine_name, rows in results.items():
        report(engine_name, rows)
    print(f"# total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
