"""The runtime's side of TLS-PSK (protocol.md §5): its secret file and the stunnel front.

TLS is stunnel's job, exactly as in Beremiz: stunnel accepts ERPCS:// connections, checks the
PSK and forwards the plain stream to our eRPC port on 127.0.0.1. So the same stunnel setup that
fronts a Beremiz runtime fronts ours, and the eRPC server stays one plain-TCP code path.

The secret file holds one line ``ID:secret`` (stunnel's PSKsecrets format too); the secret is
base64 of 192 random bytes, as Beremiz generates it, and is used as the PSK bytes as written.
"""
import base64
import os
import shutil

from twisted.internet import defer, protocol, reactor
from twisted.logger import Logger

from plc_protocol.uris import validate_plc_id

SECRET_RANDOM_BYTES = 192
DEFAULT_PSK_FILE = "psk.txt"
STUNNEL_CONFIG_FILE = "stunnel-erpc.conf"
STUNNEL_SECTION = "ERPCPSK"
STOP_TIMEOUT = 5.0
_STUNNEL_NAMES = ("stunnel", "stunnel4")
# Of the PSK suites the IDEs offer ("PSK": Beremiz's and ours), the AEAD ones whose key
# exchange is ephemeral (forward secrecy): a leaked PSK does not decrypt recorded sessions.
# TLS-PSK stays TLS 1.2 (protocol.md §5; docs/security.md).
STUNNEL_CIPHERS = ":".join([
    "ECDHE-PSK-CHACHA20-POLY1305", "DHE-PSK-AES256-GCM-SHA384", "DHE-PSK-AES128-GCM-SHA256",
    "DHE-PSK-CHACHA20-POLY1305"])
_READY_TEXT = "Configuration successful"
# stunnel lines that say nothing an operator can act on here: no CA is needed with PSK, and
# each TLS failure is already summed up by its own SSL_accept line.
_QUIET_TEXTS = ("No trusted certificates found", "error queue:")

log = Logger()


class PSKError(ValueError):
    """A PSK file or stunnel setup that cannot work; the message says how to fix it."""


def new_secret() -> str:
    return base64.b64encode(os.urandom(SECRET_RANDOM_BYTES)).decode("ascii")


def parse_secret_line(text: str, where: str) -> tuple[str, str]:
    """(ID, secret) from the one ``ID:secret`` line of a PSK file."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise PSKError(f"{where} must hold exactly one line 'ID:secret', found {len(lines)}")
    identity, colon, secret = lines[0].strip().partition(":")
    if not colon or not secret:
        raise PSKError(f"{where} must hold one line 'ID:secret' (no ':' or empty secret)")
    try:
        validate_plc_id(identity)
    except ValueError as error:
        raise PSKError(f"{where}: {error}") from None
    # stunnel refuses keys shorter than 16 bytes; catch it here with a clearer message.
    if len(secret.encode()) < 16:
        raise PSKError(f"{where}: the secret is shorter than 16 bytes; delete the file to get "
                       "a new one generated")
    return identity, secret


def read_secret_file(path: str) -> tuple[str, str]:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise PSKError(f"cannot read PSK file {path}: {error.strerror}") from None
    return parse_secret_line(text, f"PSK file {path}")


def ensure_secret_file(path: str, plc_id: str) -> tuple[str, str]:
    """The runtime's (ID, secret), generating the file (mode 600) on first use."""
    validate_plc_id(plc_id)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        identity, secret = read_secret_file(path)
        if identity != plc_id:
            raise PSKError(f"PSK file {path} is for {identity!r}, but this runtime is {plc_id!r}: "
                           f"give --id {identity} or another --psk-file") from None
        return identity, secret
    except OSError as error:
        raise PSKError(f"cannot create PSK file {path}: {error.strerror}") from None
    secret = new_secret()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"{plc_id}:{secret}\n")
    log.info("generated PSK secret for {id} in {path} (pair IDEs with GetPLCID over a "
             "trusted ERPC:// link)", id=plc_id, path=path)
    return plc_id, secret


def stunnel_config(accept_port: int, connect_port: int, psk_path: str,
                   accept_host: str = "127.0.0.1", connect_host: str = "127.0.0.1",
                 resolve_each_time: bool = False) -> str:
    """A stunnel configuration with the §5 section, run in the foreground. With
    ``resolve_each_time`` stunnel looks ``connect_host`` up at every connection (``delay``), so a
    runtime that comes back at a new address (a recreated container) is found."""
    return "\n".join([
        "; written by plclink runtime: TLS-PSK (ERPCS://) front of the eRPC port",
        "foreground = yes",
        "pid =",
        "syslog = no",
        "debug = 5",
        "",
        f"[{STUNNEL_SECTION}]",
        f"accept = {accept_host}:{accept_port}",
        f"connect = {connect_host}:{connect_port}",
        *(["delay = yes"] if resolve_each_time else []),
        f"ciphers = {STUNNEL_CIPHERS}",
        "sslVersion = TLSv1.2",
        f"PSKsecrets = {psk_path}",
        "",
    ])


def find_stunnel() -> str:
    for name in _STUNNEL_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise PSKError("--psk-stunnel-port needs stunnel, which is not on PATH: install it "
                   "(Debian: apt-get install stunnel4, or run scripts/setup-system.sh)")


def prepare_psk_file(args, plc_id: str) -> str | None:
    """The PSK file the runtime uses: ``--psk-file``, or WORKDIR/psk.txt when stunnel fronts
    the runtime; generated when stunnel needs it and it does not exist yet."""
    if args.psk_stunnel_port is None:
        return args.psk_file
    if not args.erpc:
        raise PSKError("--psk-stunnel-port fronts the eRPC server: add --erpc")
    find_stunnel()
    path = os.path.abspath(args.psk_file or os.path.join(args.workdir, DEFAULT_PSK_FILE))
    ensure_secret_file(path, plc_id)
    return path


class _StunnelOutput(protocol.ProcessProtocol):
    """Turns stunnel's stderr into our log: errors and warnings, and one line when ready."""

    def __init__(self, front):
        self.front = front
        self.pending = b""
        self.ended = defer.Deferred()

    def errReceived(self, data):
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            self.front.output_line(line.decode("utf-8", "replace").rstrip())

    outReceived = errReceived

    def processEnded(self, reason):
        self.ended.callback(reason.value.exitCode)
        self.front.ended(reason.value.exitCode)


class StunnelFront:
    """stunnel as a child of the runtime, stopped with it.

    ``setpriv --pdeathsig`` (util-linux) makes stunnel follow the runtime even when the runtime
    is killed outright, so a restarted runtime finds its TLS port free.
    """

    def __init__(self, workdir: str, accept_port: int, erpc_port: int, psk_path: str,
                 plc_id: str, erpc_host: str = "127.0.0.1"):
        self.config_path = os.path.join(os.path.abspath(workdir), STUNNEL_CONFIG_FILE)
        self.accept_port = accept_port
        self.erpc_port = erpc_port
        self.erpc_host = erpc_host
        self.psk_path = psk_path
        self.plc_id = plc_id
        self.executable = find_stunnel()
        self.process = None
        self.output = None
        self.stopping = False
        self.last_problem = ""

    def start(self) -> None:
        with open(self.config_path, "w", encoding="utf-8") as handle:
            handle.write(stunnel_config(self.accept_port, self.erpc_port, self.psk_path,
                                          connect_host=self.erpc_host))
        command = [self.executable, self.config_path]
        setpriv = shutil.which("setpriv")
        if setpriv:
            command = [setpriv, "--pdeathsig", "TERM", "--", *command]
        self.output = _StunnelOutput(self)
        self.process = reactor.spawnProcess(self.output, command[0], command, env=os.environ)
        reactor.addSystemEventTrigger("before", "shutdown", self.stop)

    def output_line(self, line: str) -> None:
        if not line or any(text in line for text in _QUIET_TEXTS):
            return
        if _READY_TEXT in line:
            log.info("TLS-PSK front ready: ERPCS://127.0.0.1:{port}#{id} -> eRPC port {erpc} "
                     "(stunnel pid {pid}, config {config})", port=self.accept_port, id=self.plc_id,
                     erpc=self.erpc_port, pid=self.process.pid, config=self.config_path)
        elif any(f"LOG{level}[" in line for level in range(5)) or line.startswith("[!]"):
            self.last_problem = line
            log.warn("stunnel: {line}", line=line)

    def ended(self, code) -> None:
        if not self.stopping:
            log.error("stunnel exited with code {code} ({problem}): ERPCS:// is unavailable "
                      "until the runtime restarts", code=code,
                      problem=self.last_problem or "no message")

    def stop(self):
        if self.process is None or self.process.pid is None:
            return None
        self.stopping = True
        self.process.signalProcess("TERM")
        timer = reactor.callLater(STOP_TIMEOUT, self._kill)
        self.output.ended.addBoth(lambda result: timer.active() and timer.cancel())
        return self.output.ended

    def _kill(self):
        if self.process.pid is not None:
            self.process.signalProcess("KILL")
