"""LOCAL://: a runtime process started for the connection, reached over eRPC on 127.0.0.1."""
import os

import pytest

from erpc_harness import Blocking, demo_files, transfer
from ide_component import reactor_thread
from ide_component.connectors import connector_for
from ide_component.local_connector import LocalConnector
from plc_protocol.errors import PLCUnreachable
from plc_protocol.status import PLCStatus


def _alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is gone for our purpose
        return handle.read().split()[2] != "Z"


@pytest.mark.slow
def test_local_runtime_start_call_close_leaves_no_process(tmp_path):
    workdir = tmp_path / "local"
    connector = connector_for("LOCAL://")
    assert isinstance(connector, LocalConnector)
    connector = LocalConnector("LOCAL://", workdir=str(workdir))
    client = Blocking(connector).connect()
    pid = connector.pid
    try:
        assert _alive(pid)
        assert client.GetPLCstatus()[0] == PLCStatus.EMPTY
        program, extras = demo_files()
        md5 = transfer(client, program, extras)
        client.StartPLC()
        assert client.GetPLCstatus()[0] == PLCStatus.STARTED
        assert client.StopPLC() is True
    finally:
        client.close()
    assert not _alive(pid)
    with pytest.raises(PLCUnreachable, match="not started"):
        client.GetPLCstatus()

    # The working directory persists: a new LOCAL:// connection finds the program installed.
    again = Blocking(LocalConnector("LOCAL://", workdir=str(workdir))).connect()
    second_pid = again.connector.pid
    try:
        assert again.MatchMD5(md5) is True
        assert again.GetPLCstatus()[0] == PLCStatus.STOPPED
    finally:
        again.close()
    assert not _alive(second_pid)


@pytest.mark.slow
def test_local_runtime_that_cannot_start_says_why(tmp_path):
    connector = LocalConnector("LOCAL://", workdir=str(tmp_path / "local"),
                               runtime_args=("--period-ms", "-1"))
    with pytest.raises(PLCUnreachable, match="exited with code 2: .*--period-ms .* positive"):
        reactor_thread.blocking(connector.connect)
    assert connector.process is None
