"""The compose stack for real: build, up (host networking, all on 127.0.0.1), use, restart, down.

    .venv/bin/python docker/smoke_test.py            # needs a Docker daemon and docker-compose

Steps: build the image (base: python:3.11-slim if it can be pulled, else a Debian base made by
docker/make-debian-base.sh; extra CAs from /usr/local/share/ca-certificates when present, for
TLS-intercepting proxies), generate secrets into a temporary directory, bring the stack up,
wait for every healthcheck, then with the host's plclink CLI: list the fleet (both WAMP
runtimes and the bridged one), transfer and start a program on the bridged runtime over
WAMPS://, restart the runtime containers, check the program is still installed (the transfer
is skipped by MatchMD5), and tear everything down, checking no container is left.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = "plclink-smoke"
IMAGE = "plclink:smoke"
POSTGRES_IMAGE = "plclink-postgres:smoke"
SERVICES = 8   # router, plc-01, plc-02, erpc-07, its TLS front, bridge, postgres, registry
COMPOSE = ["docker-compose", "-p", PROJECT, "-f", "docker-compose.yml",
           "-f", "docker/compose.host-network.yml"]
PROGRAM = os.path.join(ROOT, "tests", "programs", "all_types.py")
PLCLINK = [sys.executable, "-m", "plclink.cli"]


def step(text):
    print(f"smoke: {text}", flush=True)


def run(command, env=None, check=True, capture=False, timeout=900):
    result = subprocess.run(command, cwd=ROOT, env=env, text=True, timeout=timeout,
                            stdout=subprocess.PIPE if capture else None,
                            stderr=subprocess.STDOUT if capture else None)
    if check and result.returncode != 0:
        raise SystemExit(f"smoke: FAILED: {' '.join(command)} exited {result.returncode}\n"
                         f"{result.stdout or ''}")
    return result


def base_image() -> str:
    if run(["docker", "pull", "python:3.11-slim"], check=False, capture=True).returncode == 0:
        return "python:3.11-slim"
    step("no registry reachable: building a Debian base image from Debian packages")
    run(["docker/make-debian-base.sh", "plclink/debian-base:bookworm"])
    return "plclink/debian-base:bookworm"


def build():
    copied = []
    for path in glob.glob("/usr/local/share/ca-certificates/*.crt"):
        target = os.path.join(ROOT, "docker", "extra-ca", os.path.basename(path))
        if not os.path.exists(target):
            shutil.copy(path, target)
            copied.append(target)
    try:
        step("building the image")
        base = base_image()
        run(["docker", "build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}",
             "-t", IMAGE, "."], capture=True)
        step("building the PostgreSQL image (Debian's package)")
        run(["docker", "build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}",
             "-f", "docker/postgres.Dockerfile", "-t", POSTGRES_IMAGE, "."], capture=True)
    finally:
        for path in copied:
            os.remove(path)


def wait_healthy(env, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ids = run(COMPOSE + ["ps", "-q"], env=env, capture=True).stdout.split()
        # a service without a healthcheck (the registry) only has to be running
        states = [run(["docker", "inspect", "-f",
                       "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
                       cid], capture=True, check=False).stdout.strip() for cid in ids]
        if len(ids) == SERVICES and all(state in ("healthy", "running") for state in states):
            return
        time.sleep(2)
    run(COMPOSE + ["ps"], env=env, check=False)
    raise SystemExit("smoke: FAILED: the stack did not become healthy")


def plclink(env, *args):
    result = run(PLCLINK + list(args), env=env, capture=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"smoke: FAILED: plclink {' '.join(args)}:\n{result.stdout}")
    return result.stdout


def main() -> int:
    if run(["docker", "info"], check=False, capture=True).returncode != 0:
        print("smoke: no Docker daemon answers; nothing to test")
        return 77
    build()
    secrets = tempfile.mkdtemp(prefix="plclink-smoke-")
    env = {**os.environ, "PLCLINK_IMAGE": IMAGE, "PLCLINK_POSTGRES_IMAGE": POSTGRES_IMAGE,
           "PLCLINK_SECRETS": os.path.join(secrets, "secrets")}
    try:
        step("generating secrets")
        run(["docker", "run", "--rm", "-v", f"{secrets}:/out", IMAGE, "secrets", "--out",
             "/out/secrets"], capture=True)
        env["PLCLINK_CREDENTIALS"] = os.path.join(secrets, "secrets", "credentials.yaml")
        env["PLCLINK_CA_FILE"] = os.path.join(secrets, "secrets", "tls", "ca.pem")
        step("bringing the stack up")
        run(COMPOSE + ["up", "-d"], env=env, capture=True)
        wait_healthy(env)
        step("fleet list")
        fleet = {entry["id"]: entry for entry in json.loads(plclink(env, "fleet", "list", "--json"))}
        assert {"plc-01", "plc-02", "erpc-07"} <= set(fleet), fleet
        assert fleet["erpc-07"]["bridged"] and not fleet["plc-01"]["bridged"], fleet
        wamps = "WAMPS://127.0.0.1:8443#Automation#erpc-07"
        step("transfer and start on the bridged runtime over WAMPS")
        first = json.loads(plclink(env, "transfer", "--uri", wamps, PROGRAM, "--start", "--json"))
        assert first["status"] == "Started" and not first["skipped"], first
        step("the registry (on PostgreSQL) recorded the install and who made it")
        time.sleep(2)
        history = json.loads(plclink(env, "fleet", "history", "erpc-07", "--json"))
        assert history[0]["md5"] == first["md5"] and history[0]["installed_by"] == "ide", history
        step("restarting the runtime containers")
        run(COMPOSE + ["restart", "plc-01", "plc-02", "erpc-07"], env=env, capture=True)
        wait_healthy(env)
        time.sleep(2)  # the bridge reconnects to erpc-07 with back-off
        again = json.loads(plclink(env, "transfer", "--uri", wamps, PROGRAM, "--json"))
        assert again["skipped"] and again["md5"] == first["md5"], again
        step("OK: program still installed after restart (MatchMD5)")
    finally:
        step("tearing down")
        run(COMPOSE + ["down", "-v"], env=env, check=False, capture=True)
        left = run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={PROJECT}"],
                   capture=True, check=False).stdout.split()
        shutil.rmtree(secrets, ignore_errors=True)
        if left:
            raise SystemExit(f"smoke: FAILED: containers left behind: {left}")
    step("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
