"""Wrong secrets in a loop against a real router, and the legitimate login beside them.

    .venv/bin/python bench/bench_logins.py [--seconds 20]

Starts a router (default throttle: 5 failures in a row, then 300 s lockout) with one person.
For each login method (WAMP-CRA against the ``ide`` service principal, the attack of issue 19;
ticket against a person) one client logs in with a wrong secret from 127.0.0.2, one attempt after
another, for ``--seconds``; meanwhile the right person logs in from 127.0.0.3. Prints the
attacker's sustained rate and the legitimate login's median time against a baseline measured
without the attack in the same run (a ratio near 1: unaffected). Figures on a loaded machine
are noisy.
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from harness import Router  # noqa: E402
from login_client import Refused, leave, login  # noqa: E402
from plclink.users_command import add_person  # noqa: E402

PASSWORD = "benchmark password"
ATTACKER, LEGITIMATE = "127.0.0.2", "127.0.0.3"


def timed_logins(router, credentials, count=5) -> list:
    times = []
    for _ in range(count):
        start = time.monotonic()
        leave(login(router.ws_port, router.realm, credentials, LEGITIMATE))
        times.append(time.monotonic() - start)
    return times


def attack(router, credentials, seconds, counts):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            leave(login(router.ws_port, router.realm, credentials, ATTACKER, timeout=60))
            counts["in"] += 1
        except Refused:
            counts["refused"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        router = Router(state)
        add_person(os.path.join(state, "people.yaml"), "alice", "operator", PASSWORD)
        router.start()
        rows = []
        try:
            cases = [("WAMP-CRA (ide)", {"authid": "ide", "secret": "wrong"},
                      router.credentials("ide")),
                     ("ticket (person)", {"authid": "alice", "ticket": "wrong password"},
                      {"authid": "alice", "ticket": PASSWORD})]
            for name, wrong, right in cases:
                baseline = statistics.median(timed_logins(router, right))
                counts = {"in": 0, "refused": 0}
                attacker = threading.Thread(target=attack, args=(router, wrong, args.seconds,
                                                                 counts))
                start = time.monotonic()
                attacker.start()
                time.sleep(1.0)
                during = statistics.median(timed_logins(router, right))
                attacker.join()
                elapsed = time.monotonic() - start
                rows.append((name, counts["refused"] + counts["in"], elapsed,
                             (counts["refused"] + counts["in"]) / elapsed, counts["in"],
                             baseline, during))
        finally:
            router.stop()
    print(f"{'method':18} {'tries':>6} {'s':>6} {'tries/s':>8} {'got in':>7} "
          f"{'legit login, baseline ms':>25} {'under attack ms':>16} {'ratio':>6}")
    for name, tries, elapsed, rate, got_in, baseline, during in rows:
        print(f"{name:18} {tries:6d} {elapsed:6.1f} {rate:8.2f} {got_in:7d} "
              f"{baseline * 1000:25.0f} {during * 1000:16.0f} {during / baseline:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
