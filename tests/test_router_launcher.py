"""The launcher refuses what would make it report a router ready that is not ours."""
import socket

import pytest

from harness import free_port
from router.launcher import RouterStartError, check_ports_free, write_node_config
from router.node_config import RouterSettings
from router.principals import write_principals


def settings_with_free_ports(tmp_path, **changes):
    path = str(tmp_path / "principals.yaml")
    write_principals(path, {"ide": {"role": "ide", "secret": "s"}})
    return RouterSettings(principals=path, websocket_port=free_port(), rawsocket_port=free_port(),
                          web_port=free_port(), **changes)


def test_a_taken_port_is_refused_with_the_option_to_change(tmp_path):
    settings = settings_with_free_ports(tmp_path)
    check_ports_free(settings)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", settings.web_port))
        taken.listen()
        with pytest.raises(RouterStartError, match="--web-port"):
            check_ports_free(settings)


def test_bad_principals_and_missing_tls_files_are_startup_errors(tmp_path):
    (tmp_path / "principals.yaml").write_text("principals: {x: {role: king}}\n")
    with pytest.raises(RouterStartError, match="role 'king'"):
        write_node_config(RouterSettings(principals=str(tmp_path / "principals.yaml")),
                          str(tmp_path / "node"))
    settings = settings_with_free_ports(tmp_path, tls_cert=str(tmp_path / "no.pem"),
                                        tls_key=str(tmp_path / "no.key"))
    with pytest.raises(RouterStartError, match="plclink certs"):
        write_node_config(settings, str(tmp_path / "node"))


def test_crossbar_output_relayed_without_noise_or_signatures(capsys):
    """A failed WAMP-CRA login's line (with the signature expected) is not relayed: the login
    guard logs one line per burst of failures instead."""
    import io

    from router.launcher import _relay_output
    _relay_output(io.StringIO(
        "t [Controller 1] \n"
        "t [Router 2] WAMP-CRA client signature is invalid (expected c2lnbmF0dXJl but got eA==)\n"
        "t [Router 2] cannot detach session \"5\": session not currently attached\n"
        "t [Router 2] login: 5 failed logins in a row for ide from 127.0.0.2\n"))
    assert capsys.readouterr().out == \
        "t [Router 2] login: 5 failed logins in a row for ide from 127.0.0.2\n"
