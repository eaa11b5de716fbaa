"""The front door: how long ``plclink`` commands take as a user runs them, whole process, wall
clock (interpreter start, imports, the work, exit), against baselines measured in the same run:

- ``python -c pass``: the interpreter alone, the floor of any command;
- ``python -c 'import twisted.internet.reactor'``: what any command that talks to a router
  must load anyway;

and the commands: ``plclink --help``, ``plclink fleet --help``, ``import ide_component.blocking``
(the IDE library) and ``plclink status --id ID`` against a router with one runtime (started
here). Each is the median of ``--rounds`` runs; targets from issue 18 (quiet machine): --help
<= 0.2 s, status <= 0.4 s. The table also gives each figure minus ``python -c pass`` and as a
ratio to the Twisted import, which hold better on a loaded machine than wall times do.

    .venv/bin/python bench/bench_cli.py [--rounds 9] [--no-router]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
PYTHON = sys.executable
PLCLINK = [PYTHON, "-m", "plclink.cli"]
TARGETS = {"plclink --help": 0.2, "plclink status --id plc-01": 0.4}


def median_wall(command, rounds: int, env=None) -> float:
    """One warm-up run first: it writes the bytecode caches, as installing a package does (this
    machine's environment sets PYTHONDONTWRITEBYTECODE, which the runs here leave out)."""
    env = {key: value for key, value in (env or os.environ).items()
           if key != "PYTHONDONTWRITEBYTECODE"}
    timings = []
    for _ in range(rounds + 1):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT)
        timings.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr}")
    return statistics.median(timings[1:])


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-router", action="store_true",
                        help="leave out plclink status (no router and runtime started)")
    args = parser.parse_args()
    cases = [
        ("python -c pass", [PYTHON, "-c", "pass"], None),
        ("python -c 'import twisted.internet.reactor'",
         [PYTHON, "-c", "import twisted.internet.reactor"], None),
        ("plclink --help", PLCLINK + ["--help"], None),
        ("plclink fleet --help", PLCLINK + ["fleet", "--help"], None),
        ("import ide_component.blocking", [PYTHON, "-c", "import ide_component.blocking"], None),
    ]
    router = runtime = None
    if not args.no_router:
        from harness import Router
        from tempfile import mkdtemp
        router = Router(mkdtemp(prefix="bench-cli-")).start()
        runtime = router.start_runtime("plc-01", mkdtemp(prefix="bench-cli-plc-"),
                                       autostart=True)
        from plclink import local_setup
        credentials = local_setup.write_ide_credentials(router.state_dir, router.url,
                                                        router.realm)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("PLCLINK_")},
               "PLCLINK_CREDENTIALS": credentials}
        cases.append(("plclink status --id plc-01", PLCLINK + ["status", "--id", "plc-01"], env))
    print(f"{args.rounds} runs each, median wall time; {load_note()} at start")
    try:
        results = [(name, median_wall(command, args.rounds, env)) for name, command, env in cases]
    finally:
        if runtime is not None:
            runtime.stop()
        if router is not None:
            router.stop()
    floor, twisted = results[0][1], results[1][1]
    rows = [("command", "wall", "minus python", "/ twisted import", "target", "result")]
    for name, seconds in results:
        target = TARGETS.get(name)
        rows.append((name, f"{seconds * 1000:.0f} ms", f"{(seconds - floor) * 1000:.0f} ms",
                     f"{seconds / twisted:.2f}x",
                     f"<= {target * 1000:.0f} ms" if target else "",
                     ("pass" if seconds <= target else "over") if target else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(f"{load_note()} at the end: a loaded machine shifts every line, the baselines too")
    return 0


if __name__ == "__main__":
    sys.exit(main())
