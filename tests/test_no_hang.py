"""No command or library call hangs: a trace with nothing to sample, a message the router
refuses, a router that goes away, a runtime that stops answering: each ends in a clear error."""
import os
import signal
import time

import pytest
import yaml

from harness import Router
from ide_component import blocking
from ide_component.failures import TimedOut
from ide_fixtures import CLI, cli, ide_credentials, module_runtimes  # noqa: F401
from plc_protocol.errors import PLCUnreachable

pytestmark = pytest.mark.slow
EXIT_FAILED, EXIT_UNREACHABLE = 1, 3


@pytest.fixture(scope="module")
def tank(module_runtimes):
    module_runtimes("plc-07", autostart=True)
    return "plc-07"


def test_trace_on_a_plc_that_is_not_started_says_so(cli, module_runtimes):
    module_runtimes("plc-08")  # program installed, Stopped
    started = time.monotonic()
    done = cli.run("trace", "--id", "plc-08", "level", "--count", "3", timeout=30)
    assert done.returncode == EXIT_FAILED, done.stdout + done.stderr
    assert "the PLC is Stopped" in done.stderr and "plclink start" in done.stderr
    assert time.monotonic() - started < 20


def test_a_trace_ends_when_the_plc_stops(cli, tank, router):
    running = cli.start("trace", "--id", tank, "level")
    ide = router.client("ide")
    try:
        running.wait_for(running.stdout, lambda line: line.strip()[:1].isdigit(), what="a sample")
        ide.call(f"{tank}.StopPLC")
        assert running.finish(20) == EXIT_FAILED
        assert "the PLC is now Stopped; the trace ended" in "".join(running.stderr)
        assert "Traceback" not in "".join(running.stderr)
    finally:
        running.stop()
        ide.call(f"{tank}.StartPLC")
        ide.close()


def test_a_message_over_the_routers_size_limit_is_an_error_not_a_hang(router, tank, ide_credentials):
    """crossbar closes a WebSocket whose message exceeds max_message_size (16 MiB by default)."""
    with open(ide_credentials) as handle:
        credentials = yaml.safe_load(handle)
    with blocking.connect(f"WAMP://127.0.0.1:{router.ws_port}#{router.realm}#{tank}",
                          credentials=credentials) as plc:
        started = time.monotonic()
        with pytest.raises(PLCUnreachable, match="1009"):
            plc._run(plc.client.connector.call, "AppendChunkToBlob", b"x" * (17 << 20),
                     b"\0" * 16)
        assert time.monotonic() - started < 10
        with pytest.raises(PLCUnreachable, match="lost the router"):
            plc.status()


def test_a_runtime_that_stops_answering_times_out_with_a_clear_message(router, tmp_path,
                                                                       ide_credentials):
    child = router.start_runtime("plc-09", tmp_path / "plc-09")
    with open(ide_credentials) as handle:
        credentials = yaml.safe_load(handle)
    try:
        plc = blocking.connect(f"WAMP://127.0.0.1:{router.ws_port}#{router.realm}#plc-09",
                               credentials=credentials, timeout=3)
        os.kill(child.process.pid, signal.SIGSTOP)
        try:
            with pytest.raises(TimedOut, match="status: no answer within 3 s"):
                plc.status()
        finally:
            os.kill(child.process.pid, signal.SIGCONT)
        plc.close()
    finally:
        child.stop()


def test_followers_end_when_the_router_goes_away(tmp_path):
    own = Router(tmp_path / "state").start()
    credentials = tmp_path / "credentials.yaml"
    credentials.write_text(yaml.safe_dump({"router": own.url, "realm": own.realm, "authid": "ide",
                                           "secret": own.secret("ide")}))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PLCLINK_")}
    cli_here = CLI({**env, "PLCLINK_CREDENTIALS": str(credentials)})
    runtime = own.start_runtime("plc-01", tmp_path / "plc-01", autostart=True)
    followers = []
    try:
        followers = [cli_here.start("logs", "--id", "plc-01", "--follow"),
                     cli_here.start("trace", "--id", "plc-01", "level")]
        followers[0].wait_for(followers[0].stderr, lambda line: "following" in line)
        followers[1].wait_for(followers[1].stdout, lambda line: line.strip()[:1].isdigit())
        own.stop()
        for follower in followers:
            assert follower.finish(20) == EXIT_UNREACHABLE, follower.stderr
            assert "lost the router" in "".join(follower.stderr)
            assert "Traceback" not in "".join(follower.stderr), "".join(follower.stderr)
    finally:
        for follower in followers:
            follower.stop()
        runtime.stop()
        own.stop()
