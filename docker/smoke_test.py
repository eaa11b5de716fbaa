"""The compose stack for real, as a plant runs it: build, secrets, up, use, break, heal, down.

    .venv/bin/python docker/smoke_test.py [--host-network]   # needs a Docker daemon, docker-compose

Default network mode (docker-compose.yml with docker-compose.override.yml), or with
--host-network every service on the host's loopback (docker/compose.host-network.yml). The stack
runs under a compose project of its own, from a temporary copy of the deployment files, with
free ports published on 127.0.0.1 only and an image tag of its own (removed at the end; the
build cache stays). The base image is reused when present: python:3.11-slim, else
plclink/debian-base:bookworm, else pulled, else made by docker/make-debian-base.sh. CAs of a
TLS-intercepting proxy (/usr/local/share/ca-certificates) are given to the build stages only.

It checks, with the host's plclink CLI over wss:// and the generated credentials: every service
healthy; the fleet (plc-01, plc-02 Started, erpc-07 bridged and Started); the dashboard over
https://; what is published; the services' users, their mounted secrets (each its own only) and
the image's trust store; a transfer and start on erpc-07 over WAMPS://; erpc-07 killed, then
restarted, then recreated, back Started within 15 s each time; the router stopped (within 5 s)
and started, every runtime back within 15 s of the router answering again; down and up with
every runtime Started again and the transferred program kept; then the docs' "Add a runtime"
and "Rotate a secret" procedures, run as written (their marked code blocks), in the default
mode. Exit 0 passed, 1 failed, 77 no Docker daemon.
"""
import argparse
import datetime
import glob
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = os.path.join(ROOT, "tests", "programs", "all_types.py")
PLCLINK = [sys.executable, "-m", "plclink.cli"]
DEBIAN_BASE = "plclink/debian-base:bookworm"
# The pages whose marked blocks (<!-- smoke: NAME -->) and privilege tables this test runs and
# checks.
DOC_PAGES = ("docs/administrator/compose.md", "docs/administrator/sites.md")
SERVICES = ["router", "plc-01", "plc-02", "erpc-07", "erpc-07-tls", "bridge", "postgres",
            "registry", "opcua"]
RUNTIMES = ["plc-01", "plc-02", "erpc-07"]
OWN_SECRETS = {"router": {"principals", "people", "router-cert", "router-key"},
               "plc-01": {"plc-01"},
               "plc-02": {"plc-02"}, "erpc-07": {"erpc-07-psk"}, "erpc-07-tls": {"erpc-07-psk"},
               "bridge": {"bridge", "erpc-07-psk"}, "postgres": {"registry-pgpass"},
               "registry": {"registry", "registry-pgpass"},
               "opcua": {"opcua", "people", "opcua-users", "opcua-cert", "opcua-key"}}
SITES_SERVICES = ["hq-router", "hq-registry", "plant-a-router", "a-01", "a-02",
                  "plant-b-router", "b-01", "b-02"]
SITES_RUNTIMES = ["a-01", "a-02", "b-01", "b-02"]
SITES_OWN_SECRETS = {"hq-router": {"hq-principals", "hq-people", "hq-router-cert",
                                   "hq-router-key"},
                     "hq-registry": {"hq-registry"},
                     "plant-a-router": {"plant-a-principals", "plant-a-people", "plant-a-node-key"},
                     "plant-b-router": {"plant-b-principals", "plant-b-people", "plant-b-node-key"},
                     **{plc_id: {plc_id} for plc_id in SITES_RUNTIMES}}
BACK_WITHIN = 15.0
ROUTER_STOPS_WITHIN = 5.0


class Failed(Exception):
    pass


def step(text):
    print(f"smoke: {text}", flush=True)


def run(command, env=None, cwd=ROOT, check=True, timeout=1200, shell=False):
    """The command's output (stdout and stderr together); Failed when it exits non-zero."""
    result = subprocess.run(command, cwd=cwd, env=env, text=True, timeout=timeout, shell=shell,
                            executable="/bin/bash" if shell else None,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and result.returncode != 0:
        shown = command if shell else " ".join(command)
        raise Failed(f"{shown} exited {result.returncode}:\n{result.stdout[-3000:]}")
    return result


def image_present(tag) -> bool:
    return run(["docker", "image", "inspect", tag], check=False).returncode == 0


def base_image() -> str:
    """The project's own Debian base, as the docs build it (made once, then reused)."""
    if image_present(DEBIAN_BASE):
        step(f"base image {DEBIAN_BASE} (present)")
    else:
        step(f"building the base image {DEBIAN_BASE} from Debian packages (docs: compose)")
        run(["docker/make-debian-base.sh", DEBIAN_BASE])
    return DEBIAN_BASE


def build(tag, postgres=True):
    copied = []
    for path in glob.glob("/usr/local/share/ca-certificates/*.crt"):
        target = os.path.join(ROOT, "docker", "extra-ca", os.path.basename(path))
        if not os.path.exists(target):
            shutil.copy(path, target)
            copied.append(target)
    try:
        base = base_image()
        step(f"building {tag}")
        started = time.monotonic()
        run(["docker", "build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}",
             "-t", tag, "."], env={**os.environ, "DOCKER_BUILDKIT": "0"})
        size = int(run(["docker", "image", "inspect", "-f", "{{.Size}}", tag]).stdout)
        step(f"built in {time.monotonic() - started:.0f} s; image size {size / 1e6:.0f} MB")
        if not postgres:
            return
        step(f"building {tag}-postgres (Debian's PostgreSQL, for the registry)")
        run(["docker", "build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}",
             "-f", "docker/postgres.Dockerfile", "-t", f"{tag}-postgres", "."],
            env={**os.environ, "DOCKER_BUILDKIT": "0"})
    finally:
        for path in copied:
            os.remove(path)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


class Stack:
    def __init__(self, project_dir, env, host_network):
        self.dir = project_dir
        self.env = env
        self.host_network = host_network
        self.secrets = os.path.join(project_dir, "deploy", "secrets")

    def compose(self, *args, check=True):
        return run(["docker-compose", *args], env=self.env, cwd=self.dir, check=check)

    def shell(self, script):
        """A docs code block, run as written in the project directory."""
        return run(f"set -euo pipefail\n{script}", env=self.env, cwd=self.dir, shell=True)

    def container(self, service):
        ids = self.compose("ps", "-q", service).stdout.split()
        if not ids:
            raise Failed(f"no container for {service}")
        return ids[0]

    def exec(self, service, *command, check=True):
        return self.compose("exec", "-T", service, *command, check=check)

    def wait_healthy(self, services, timeout=420):
        deadline = time.monotonic() + timeout
        states = {}
        while time.monotonic() < deadline:
            for service in services:
                ids = self.compose("ps", "-q", service, check=False).stdout.split()
                states[service] = run(["docker", "inspect", "-f", "{{.State.Health.Status}}",
                                       ids[0]], check=False).stdout.strip() if ids else "missing"
            if all(state == "healthy" for state in states.values()):
                return
            time.sleep(2)
        for service, state in states.items():
            if state != "healthy":
                ids = self.compose("ps", "-q", service, check=False).stdout.split()
                if ids:
                    health = run(["docker", "inspect", "-f", "{{json .State.Health}}", ids[0]],
                                 check=False).stdout
                    step(f"{service} {state}: {health[-800:]}")
                    step(self.compose("logs", "--tail", "30", service, check=False).stdout)
        raise Failed(f"not healthy within {timeout} s: {states}")

    def plclink(self, *args, check=True):
        result = run(PLCLINK + list(args), env=self.env, check=False)
        if check and result.returncode != 0:
            raise Failed(f"plclink {' '.join(args)} exited {result.returncode}:\n{result.stdout}")
        return result.stdout

    def fleet(self) -> dict:
        result = run(PLCLINK + ["fleet", "list", "--json"], env=self.env, check=False)
        if result.returncode != 0:
            return {}
        return {entry["id"]: entry for entry in json.loads(result.stdout)}

    def wait_started(self, ids, since, within=BACK_WITHIN, what="back"):
        """Wait until every runtime of ``ids`` is Started on the router; fail past ``within``
        seconds after ``since`` (a monotonic time)."""
        while True:
            fleet = self.fleet()
            if all(fleet.get(plc_id, {}).get("status") == "Started" for plc_id in ids):
                took = time.monotonic() - since
                step(f"{', '.join(ids)} {what} Started after {took:.1f} s")
                if took > within:
                    raise Failed(f"{', '.join(ids)} took {took:.1f} s, more than {within:g} s")
                return took
            if time.monotonic() - since > within + 30:
                raise Failed(f"not Started within {within:g} s: "
                             f"{ {i: fleet.get(i, {}).get('status') for i in ids} }")
            time.sleep(0.5)


def written_pages() -> str:
    """The docs pages holding the procedures and privilege tables this test checks."""
    text = []
    for page in DOC_PAGES:
        with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
            text.append(handle.read())
    return "\n".join(text)


def doc_blocks(name):
    """The code blocks the docs mark ``<!-- smoke: NAME [file=PATH] -->``, in order:
    (language, file or None, text)."""
    written = written_pages()
    pattern = re.compile(r"<!-- smoke: " + re.escape(name) + r"(?: file=(\S+))? -->\s*\n"
                         r"```(\w+)\n(.*?)```", re.S)
    blocks = [(language, file, text) for file, language, text in pattern.findall(written)]
    if not blocks:
        raise Failed(f"{' and '.join(DOC_PAGES)} have no block marked 'smoke: {name}'")
    return blocks


def run_procedure(stack, name):
    for language, file, text in doc_blocks(name):
        if file:
            with open(os.path.join(stack.dir, file), "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            stack.shell(text)


def check_published(stack, ports):
    published = {}
    for service in SERVICES:
        mapping = json.loads(run(["docker", "inspect", "-f", "{{json .NetworkSettings.Ports}}",
                                  stack.container(service)]).stdout) or {}
        for inside, bindings in mapping.items():
            for binding in bindings or []:
                published[(service, inside)] = (binding["HostIp"], int(binding["HostPort"]))
    expected = {("router", "8443/tcp"): ("127.0.0.1", ports["PLCLINK_WSS_PORT"]),
                ("router", "8080/tcp"): ("127.0.0.1", ports["PLCLINK_HTTPS_PORT"]),
                ("router", "8888/tcp"): ("127.0.0.1", ports["PLCLINK_WS_PORT"]),
                ("erpc-07-tls", "4000/tcp"): ("127.0.0.1", ports["PLCLINK_ERPCS_PORT"]),
                ("opcua", "4840/tcp"): ("127.0.0.1", ports["PLCLINK_OPCUA_PORT"])}
    if published != expected:
        raise Failed(f"published ports {published}, expected {expected}")
    step("published: wss, https, ERPCS, OPC UA and the loopback ws port, nothing else")


def check_https_dashboard(stack, port):
    context = ssl.create_default_context(cafile=os.path.join(stack.secrets, "tls", "ca.pem"))
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=context, timeout=10) as page:
        if b"<html" not in page.read(4096).lower():
            raise Failed("the dashboard over https:// did not answer a page")
    step("dashboard answers over https://, verified against the generated CA")


def check_least_privilege(stack, tag, own_secrets, readable_by_none):
    """Every service non-root, mounting exactly its own secrets; ``readable_by_none``:
    (service, path) pairs that service must not be able to read."""
    for service, expected in own_secrets.items():
        uid = stack.exec(service, "id", "-u").stdout.strip()
        if uid in ("", "0"):
            raise Failed(f"{service} runs as uid {uid!r}")
        mounted = set(stack.exec(service, "ls", "/run/secrets").stdout.split())
        if mounted != expected:
            raise Failed(f"{service} mounts secrets {sorted(mounted)}, expected {sorted(expected)}")
        if stack.exec(service, "test", "-e", "/secrets", check=False).returncode == 0:
            raise Failed(f"{service} sees a secrets directory")
    for service, path in readable_by_none:
        if stack.exec(service, "cat", path, check=False).returncode == 0:
            raise Failed(f"{service} can read {path}")
    bundle = run(["docker", "run", "--rm", "--entrypoint", "cat", tag,
                  "/etc/ssl/certs/ca-certificates.crt"]).stdout
    for path in glob.glob("/usr/local/share/ca-certificates/*.crt"):
        with open(path, encoding="utf-8", errors="replace") as handle:
            body = "".join(line.strip() for line in handle if "-----" not in line)
        if body and body[:200] in "".join(bundle.split()):
            raise Failed(f"the image trusts the build machine's CA {path}")
    step("every service non-root; each mounts only its own secrets; "
         f"{len(readable_by_none)} other services' secrets unreadable; no build-time CA in "
         "the image's trust store")


PRIVILEGE_COLUMNS = ("service", "user (uid)", "secrets mounted", "read-only root",
                     "capabilities", "no-new-privileges", "memory", "networks")


def privilege_table(stack, services) -> dict:
    """What docker inspect says of each service, as the docs' privilege table writes it."""
    project = stack.env["COMPOSE_PROJECT_NAME"]
    rows = {}
    for service in services:
        info = json.loads(run(["docker", "inspect", stack.container(service)]).stdout)[0]
        host = info["HostConfig"]
        user = stack.exec(service, "sh", "-c", 'echo "$(id -un) ($(id -u))"').stdout.strip()
        secrets = sorted(os.path.basename(m["Destination"]) for m in info["Mounts"]
                         if m["Destination"].startswith("/run/secrets/"))
        caps = "none" if host.get("CapDrop") == ["ALL"] and not host.get("CapAdd") else (
            f"drop {host.get('CapDrop')}, add {host.get('CapAdd')}")
        networks = sorted(name.removeprefix(f"{project}_")
                          for name in info["NetworkSettings"]["Networks"])
        rows[service] = (service, user, ", ".join(secrets) or "-",
                         "yes" if host.get("ReadonlyRootfs") else "no", caps,
                         "yes" if "no-new-privileges:true" in (host.get("SecurityOpt") or [])
                         else "no",
                         f"{host['Memory'] // 2**20} MiB" if host.get("Memory") else "none",
                         ", ".join(networks))
    return rows


def written_privilege_table(name) -> dict:
    """The docs' table marked ``<!-- privileges: NAME -->``, by service."""
    written = written_pages()
    marker = f"<!-- privileges: {name} -->"
    if marker not in written:
        raise Failed(f"{' and '.join(DOC_PAGES)} have no table marked '{marker}'")
    rows = {}
    for line in written.split(marker, 1)[1].lstrip().splitlines():
        if not line.startswith("|"):
            break
        cells = tuple(cell.strip().strip("`") for cell in line.strip().strip("|").split("|"))
        if cells[0] not in ("service", "") and not set(cells[0]) <= set("-: "):
            rows[cells[0]] = cells
    return rows


def check_privilege_table(stack, services, name):
    seen, written = privilege_table(stack, services), written_privilege_table(name)
    if seen != written:
        shown = "\n".join("| " + " | ".join(row) + " |" for row in seen.values())
        raise Failed(f"the docs' privilege table ({name}) does not match docker inspect; "
                     f"docker inspect says:\n| {' | '.join(PRIVILEGE_COLUMNS)} |\n{shown}")
    step(f"the docs' privilege table ({name}) matches docker inspect, "
         f"{len(services)} services")


def check_postgres_isolated(stack):
    probe = "import socket; socket.create_connection(('postgres', 5432), 3)"
    if stack.exec("registry", "python3", "-c", probe, check=False).returncode != 0:
        raise Failed("the registry cannot reach postgres:5432")
    for service in ("plc-01", "router", "bridge"):
        if stack.exec(service, "python3", "-c", probe, check=False).returncode == 0:
            raise Failed(f"{service} can open postgres:5432")
    step("postgres:5432 reachable from the registry alone")


def registry_row(stack, plc_id) -> dict:
    """The registry's row of a runtime (fleet list reads the registry's table: last_seen is
    known only there)."""
    row = stack.fleet().get(plc_id, {})
    return row if row.get("last_seen") is not None else {}


def wait_registry_status(stack, plc_id, status, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if registry_row(stack, plc_id).get("status") == status:
            return
        time.sleep(1)
    raise Failed(f"the registry did not record {plc_id} {status} within {timeout} s: "
                 f"{registry_row(stack, plc_id)}")


def check_registry(stack, installed_md5):
    def recorded(verb, status, missing):
        stack.plclink(verb, "--id", "plc-02")
        wait_registry_status(stack, "plc-02", status)
        history = json.loads(stack.plclink("fleet", "history", "erpc-07", "--json"))
        if installed_md5 not in {entry.get("md5") for entry in history}:
            raise Failed(f"{missing}: {history}")

    step("registry: a status change recorded and read back")
    recorded("stop", "Stopped", f"the registry has no record of the install of {installed_md5}")
    step("registry: plc-02 Stopped and erpc-07's install on record; restarting PostgreSQL")
    stack.compose("restart", "postgres")
    stack.wait_healthy(["postgres", "registry"])
    recorded("start", "Started", f"the install of {installed_md5} was lost across a PostgreSQL "
             "restart")
    step("registry: nothing committed lost across the PostgreSQL restart, and it records again")


def check_opcua(stack, port):
    """OPC UA from outside the stack, as a SCADA would: Basic256Sha256 SignAndEncrypt against
    the certificate the CA issued, the operator of opcua-users.yaml; plc-01's level is Good."""
    import asyncio

    import yaml
    from asyncua import Client, ua
    from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
    sys.path.insert(0, ROOT)
    from router import certificates
    with open(os.path.join(stack.secrets, "opcua-users.yaml"), encoding="utf-8") as handle:
        password = yaml.safe_load(handle)["users"]["operator"]["password"]
    cert, key = certificates.ensure_opcua(tempfile.mkdtemp(prefix="plclink-smoke-opcua-"),
                                          "urn:example.org:FreeOpcUa:opcua-asyncio",
                                          ("localhost",))

    async def check():
        client = Client(f"opc.tcp://127.0.0.1:{port}/plclink", timeout=15)
        await client.set_security(
            SecurityPolicyBasic256Sha256, certificate=cert, private_key=key,
            server_certificate=os.path.join(stack.secrets, "tls", certificates.OPCUA_CERT),
            mode=ua.MessageSecurityMode.SignAndEncrypt)
        client.set_user("operator")
        client.set_password(password)
        await client.connect()
        try:
            idx = await client.get_namespace_index("urn:plclink:runtimes")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    level = await client.nodes.objects.get_child([f"{idx}:plc-01",
                                                                  f"{idx}:level"])
                    value = await level.read_data_value(raise_on_bad_status=False)
                    if value.StatusCode_.is_good():
                        return value.Value.Value
                except ua.UaStatusCodeError:
                    pass
                await asyncio.sleep(1)
            raise Failed("OPC UA: plc-01's level never showed a Good value")
        finally:
            await client.disconnect()
    level = asyncio.run(asyncio.wait_for(check(), 180))
    step(f"OPC UA on port {port}: Basic256Sha256 SignAndEncrypt as operator; plc-01 level "
         f"{level:.1f} (Good)")


def finished_at(text) -> float:
    """Docker's RFC 3339 time with nanoseconds, as a Unix time."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    stamp = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S")
    return stamp.replace(tzinfo=datetime.timezone.utc).timestamp() + float(f"0.{fraction or 0}")


def wait_answering(port, timeout=120):
    """When the router's published WAMPS port answers a TLS handshake again (monotonic)."""
    deadline = time.monotonic() + timeout
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                with context.wrap_socket(sock):
                    return time.monotonic()
        except OSError:
            time.sleep(0.2)
    raise Failed(f"the router did not answer on {port} within {timeout} s")


def kill_container_process(stack, service):
    """A crash, not a stop: SIGKILL to the container's main process from the host, so that the
    restart policy applies (docker kill would count as a manual stop)."""
    pid = int(run(["docker", "inspect", "-f", "{{.State.Pid}}", stack.container(service)]).stdout)
    os.kill(pid, signal.SIGKILL)


def scenario(stack, tag, ports):
    step("generating secrets (docs: docker-compose run ... secrets)")
    os.makedirs(stack.secrets, exist_ok=True)
    wss = f"wss://127.0.0.1:{ports['PLCLINK_WSS_PORT']}"
    stack.shell(f'docker-compose run --rm -u "$(id -u):$(id -g)" secrets --router-url {wss}')
    stack.env["PLCLINK_CREDENTIALS"] = os.path.join(stack.secrets, "credentials.yaml")
    stack.env["PLCLINK_CA_FILE"] = os.path.join(stack.secrets, "tls", "ca.pem")
    step("bringing the stack up")
    started = time.monotonic()
    stack.compose("up", "-d")
    stack.wait_healthy(SERVICES)
    step(f"{len(SERVICES)} of {len(SERVICES)} healthy after {time.monotonic() - started:.0f} s")

    fleet = stack.fleet()
    if not {"plc-01", "plc-02", "erpc-07"} <= set(fleet) or not fleet["erpc-07"]["bridged"]:
        raise Failed(f"fleet over {wss}: {fleet}")
    stack.wait_started(RUNTIMES, time.monotonic(), what="listed over wss:// and")
    if not stack.host_network:
        check_published(stack, ports)
    check_https_dashboard(stack, ports["PLCLINK_HTTPS_PORT"])
    check_opcua(stack, ports["PLCLINK_OPCUA_PORT"])
    check_least_privilege(stack, tag, OWN_SECRETS, [("plc-01", "/run/secrets/plc-02")])
    if not stack.host_network:
        check_postgres_isolated(stack)
        check_privilege_table(stack, SERVICES, "default")

    wamps = f"WAMPS://127.0.0.1:{ports['PLCLINK_WSS_PORT']}#Automation#erpc-07"
    step("transfer and start on the bridged runtime over WAMPS")
    first = json.loads(stack.plclink("transfer", "--uri", wamps, PROGRAM, "--start", "--json"))
    if first["status"] != "Started" or first["skipped"]:
        raise Failed(f"transfer: {first}")
    check_registry(stack, first["md5"])

    step("erpc-07 crashes (SIGKILL of its process)")
    kill_container_process(stack, "erpc-07")
    stack.wait_started(["erpc-07"], time.monotonic(), what="back after the crash:")
    step("erpc-07 restarted (docker-compose restart erpc-07)")
    since = time.monotonic()
    stack.compose("restart", "erpc-07")
    stack.wait_started(["erpc-07"], since, what="back after the restart:")
    step("erpc-07 recreated (a new container, its TLS front left running)")
    since = time.monotonic()
    stack.compose("up", "-d", "--no-deps", "--force-recreate", "erpc-07")
    stack.wait_started(["erpc-07"], since, what="back after being recreated:")

    step("router restart")
    router = stack.container("router")
    since, sent = time.monotonic(), time.time()
    run(["docker", "stop", "-t", "10", router])
    total = time.monotonic() - since
    code, finished = run(["docker", "inspect", "-f", "{{.State.ExitCode}} {{.State.FinishedAt}}",
                          router]).stdout.split()
    stopped = finished_at(finished) - sent
    step(f"router exited {stopped:.1f} s after docker stop was asked (exit code {code}; "
         f"docker stop returned after {total:.1f} s)")
    if stopped > ROUTER_STOPS_WITHIN or code == "137":
        raise Failed(f"the router took {stopped:.1f} s to stop, exit code {code}")
    since = time.monotonic()
    stack.compose("start", "router")
    answering = wait_answering(ports["PLCLINK_WSS_PORT"])
    step(f"router answering again {answering - since:.1f} s after its start (crossbar's start-up)")
    stack.wait_started(RUNTIMES, answering, what="back after the router restart:")

    step("down and up")
    stack.compose("down")
    since = time.monotonic()
    stack.compose("up", "-d")
    stack.wait_healthy(SERVICES)
    stack.wait_started(RUNTIMES, since, within=420, what="up again:")
    again = json.loads(stack.plclink("transfer", "--uri", wamps, PROGRAM, "--json"))
    if not again["skipped"] or again["md5"] != first["md5"]:
        raise Failed(f"erpc-07 lost its program across down/up: {again}")
    step("erpc-07 kept its program (MatchMD5) and started it again")

    if stack.host_network:
        step("the docs' procedures are written for the default network mode: skipped here")
        return
    step("docs: Add a runtime, as written")
    since = time.monotonic()
    run_procedure(stack, "add-runtime")
    stack.wait_started(["plc-03"], since, within=120, what="added:")
    if stack.exec("plc-03", "ls", "/run/secrets").stdout.split() != ["plc-03"]:
        raise Failed("plc-03 mounts more than its own secret")
    step("docs: Rotate a secret, as written")
    with open(os.path.join(stack.secrets, "plc-01.secret"), encoding="utf-8") as handle:
        old_secret = handle.read()
    with open(os.path.join(stack.secrets, "erpc-07.psk"), encoding="utf-8") as handle:
        old_psk = handle.read()
    since = time.monotonic()
    run_procedure(stack, "rotate-secret")
    with open(os.path.join(stack.secrets, "plc-01.secret"), encoding="utf-8") as handle:
        if handle.read() == old_secret:
            raise Failed("plc-01.secret did not change")
    with open(os.path.join(stack.secrets, "erpc-07.psk"), encoding="utf-8") as handle:
        if handle.read() == old_psk:
            raise Failed("erpc-07.psk did not change")
    stack.wait_started(["plc-01", "erpc-07"], since, within=120, what="rotated and")
    stack.wait_healthy(SERVICES + ["plc-03"])


def sites_scenario(stack, tag, ports):
    step("docs: the sites' secrets, as written")
    run_procedure(stack, "sites-secrets")
    credentials = os.path.join(stack.dir, "deploy", "sites", "hq", "credentials.yaml")
    with open(credentials, encoding="utf-8") as handle:   # the docs' port is 8443
        text = handle.read().replace(":8443", f":{ports['PLCLINK_HQ_WSS_PORT']}")
    with open(credentials, "w", encoding="utf-8") as handle:
        handle.write(text)
    stack.env["PLCLINK_CREDENTIALS"] = credentials
    step("bringing HQ and both plants up")
    started = time.monotonic()
    stack.compose("up", "-d")
    stack.wait_healthy(SITES_SERVICES)
    step(f"{len(SITES_SERVICES)} of {len(SITES_SERVICES)} healthy after "
         f"{time.monotonic() - started:.0f} s")
    stack.wait_started(SITES_RUNTIMES, time.monotonic(), within=120,
                       what="listed at HQ over wss:// and")
    sites = {plc_id: row.get("site") for plc_id, row in stack.fleet().items()}
    expected = {plc_id: f"plant-{plc_id[0]}" for plc_id in SITES_RUNTIMES}
    if {plc_id: sites.get(plc_id) for plc_id in SITES_RUNTIMES} != expected:
        raise Failed(f"HQ's sites: {sites}, expected {expected}")
    step("HQ lists both plants' runtimes under their sites")
    check_least_privilege(stack, tag, SITES_OWN_SECRETS, [])
    check_privilege_table(stack, SITES_SERVICES, "sites")

    wan = f"{stack.env['COMPOSE_PROJECT_NAME']}_wan"
    router = stack.container("plant-a-router")
    step("plant A's link cut (its router off the wan network)")
    run(["docker", "network", "disconnect", wan, router])
    deadline = time.monotonic() + 90
    while True:
        fleet = stack.fleet()
        if all(fleet.get(plc_id, {}).get("status") == "Disconnected" for plc_id in ("a-01", "a-02")):
            break
        if time.monotonic() > deadline:
            raise Failed(f"HQ still shows plant A's runtimes as {fleet}")
        time.sleep(1)
    if any(fleet.get(plc_id, {}).get("status") != "Started" for plc_id in ("b-01", "b-02")):
        raise Failed(f"plant B suffered from plant A's cut link: {fleet}")
    step("HQ shows a-01, a-02 Disconnected, plant B Started")
    since = time.monotonic()
    run(["docker", "network", "connect", wan, router])
    stack.wait_started(["a-01", "a-02"], since, within=60, what="relinked:")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--host-network", action="store_true",
                      help="every service on the host's network "
                           "(docker/compose.host-network.yml)")
    mode.add_argument("--sites", action="store_true",
                      help="HQ and two plants (docker-compose.sites.yml): HQ lists both "
                           "plants' runtimes, a link is cut and restored")
    args = parser.parse_args(argv)
    if shutil.which("docker-compose") is None or run(["docker", "info"], check=False).returncode:
        print("smoke: no Docker daemon answers (or docker-compose is missing); nothing tested")
        return 77
    started = time.monotonic()
    project = f"plclink-smoke-{os.getpid()}"
    tag = f"plclink-smoke:{os.getpid()}"
    project_dir = tempfile.mkdtemp(prefix="plclink-smoke-")
    names = ["PLCLINK_WS_PORT", "PLCLINK_WSS_PORT", "PLCLINK_HTTPS_PORT", "PLCLINK_ERPCS_PORT",
             "PLCLINK_RAWSOCKET_PORT", "PLCLINK_ERPC_PORT", "PLCLINK_OPCUA_PORT",
             "PLCLINK_HQ_WSS_PORT", "PLCLINK_HQ_HTTPS_PORT", "PLCLINK_HQ_WS_PORT",
             "PLCLINK_PLANT_A_HTTP_PORT", "PLCLINK_PLANT_A_WS_PORT", "PLCLINK_PLANT_B_HTTP_PORT",
             "PLCLINK_PLANT_B_WS_PORT"]
    ports = dict(zip(names, free_ports(len(names))))
    env = {**os.environ, "COMPOSE_PROJECT_NAME": project, "PLCLINK_IMAGE": tag,
           "PLCLINK_POSTGRES_IMAGE": f"{tag}-postgres",
           "PLCLINK_PUBLISH_ADDRESS": "127.0.0.1", **{k: str(v) for k, v in ports.items()}}
    env.pop("PLCLINK_SECRETS", None)
    env.pop("COMPOSE_FILE", None)
    shutil.copytree(os.path.join(ROOT, "deploy"), os.path.join(project_dir, "deploy"),
                    ignore=shutil.ignore_patterns("secrets"))
    for name in ("docker-compose.yml", "docker-compose.override.yml",
                 "docker/compose.host-network.yml", "docker-compose.sites.yml"):
        os.makedirs(os.path.dirname(os.path.join(project_dir, name)), exist_ok=True)
        shutil.copy(os.path.join(ROOT, name), os.path.join(project_dir, name))
    with open(os.path.join(ROOT, "deploy", "bridge.host-network.yaml"), encoding="utf-8") as src:
        text = src.read().replace("127.0.0.1:4000", f"127.0.0.1:{ports['PLCLINK_ERPCS_PORT']}")
    with open(os.path.join(project_dir, "deploy", "bridge.host-network.yaml"), "w",
              encoding="utf-8") as dst:
        dst.write(text)
    if args.host_network:
        env["COMPOSE_FILE"] = "docker-compose.yml:docker/compose.host-network.yml"
    if args.sites:
        env["COMPOSE_FILE"] = "docker-compose.sites.yml"
    stack = Stack(project_dir, env, args.host_network)
    failure = None
    try:
        build(tag, postgres=not args.sites)
        if args.sites:
            sites_scenario(stack, tag, ports)
        else:
            scenario(stack, tag, ports)
    except (Failed, subprocess.TimeoutExpired) as error:
        failure = error
        step(f"FAILED: {error}")
        step(stack.compose("ps", check=False).stdout)
    finally:
        step("tearing down")
        stack.compose("--profile", "tools", "down", "-v", "--remove-orphans", check=False)
        left = run(["docker", "ps", "-aq", "--filter",
                    f"label=com.docker.compose.project={project}"], check=False).stdout.split()
        for image in [tag] + ([] if args.sites else [f"{tag}-postgres"]):
            removed = run(["docker", "rmi", "--no-prune", image], check=False)
            if removed.returncode:
                step(f"could not remove the image {image}: {removed.stdout.strip()}")
        shutil.rmtree(project_dir, ignore_errors=True)
        if left:
            failure = failure or Failed(f"containers left behind: {left}")
            step(f"FAILED: containers left behind: {left}")
    if failure:
        return 1
    mode = "sites" if args.sites else "host network" if args.host_network else "default"
    step(f"passed in {time.monotonic() - started:.0f} s ({mode} mode)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
