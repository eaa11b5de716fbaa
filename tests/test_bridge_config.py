"""The bridge file: parsing and every mistake an operator can make, named precisely."""
import pytest

from erpc_bridge.config import DEFAULT_POLL_INTERVAL, BridgeConfigError, parse_config


def test_a_full_file_parses_in_order_with_defaults():
    runtimes = parse_config("""
runtimes:
  - id: erpc-07
    uri: erpc://192.168.1.7
  - id: erpc-08
    uri: ERPCS://192.168.1.8:4001#erpc-08
    psk_file: psk/erpc-08.secret
    poll_interval: 2
""", base_dir="/etc/plclink")
    assert list(runtimes) == ["erpc-07", "erpc-08"]
    first, second = runtimes.values()
    assert (first.uri.scheme, first.uri.host, first.uri.port) == ("ERPC", "192.168.1.7", 3000)
    assert first.psk_file is None and first.poll_interval == DEFAULT_POLL_INTERVAL
    assert second.uri.plc_id == "erpc-08" and second.uri.port == 4001
    assert second.psk_file == "/etc/plclink/psk/erpc-08.secret"
    assert second.poll_interval == 2.0


@pytest.mark.parametrize("text", ["", "runtimes:", "runtimes: []"])
def test_an_empty_file_carries_nothing(text):
    assert parse_config(text) == {}


@pytest.mark.parametrize("text, message", [
    ("runtimes: [", "not valid YAML"),
    ("- id: erpc-01", "expected 'runtimes:'"),
    ("runtimes: {id: erpc-01}", "'runtimes' must be a list"),
    ("runtimes: [erpc-01]", "runtime #1: expected a mapping"),
    ("runtimes: [{uri: 'ERPC://h'}]", "runtime #1: missing 'id'"),
    ("runtimes: [{id: erpc-01}]", "runtime #1: missing 'uri'"),
    ("runtimes: [{id: 'bad.id', uri: 'ERPC://h'}]", "runtime #1: id: bad runtime ID 'bad.id'"),
    ("runtimes: [{id: erpc-01, uri: 'ERPC://h:99999'}]", "(erpc-01): uri: bad port '99999'"),
    ("runtimes: [{id: erpc-01, uri: 'WAMP://h#Automation#erpc-01'}]", "is not ERPC:// or ERPCS://"),
    ("runtimes: [{id: erpc-01, uri: 'ERPCS://h'}]", "missing PSK identity"),
    ("runtimes: [{id: erpc-01, uri: 'ERPC://h', psk_file: x}]", "only used with ERPCS://"),
    ("runtimes: [{id: erpc-01, uri: 'ERPCS://h#erpc-01', psk_file: 3}]", "must be a file path"),
    ("runtimes: [{id: erpc-01, uri: 'ERPC://h', poll_interval: 0}]", "poll_interval must be"),
    ("runtimes: [{id: erpc-01, uri: 'ERPC://h', poll_interval: true}]", "poll_interval must be"),
    ("runtimes: [{id: erpc-01, uri: 'ERPC://h', poll_interval: .nan}]", "poll_interval must be"),
    ("runtimes: [{id: erpc-01, uri: 'ERPC://h', pol_interval: 1}]", "unknown key(s) pol_interval"),
    ("runtimes: [{id: erpc-01, uri: 'ERPC://a'}, {id: erpc-01, uri: 'ERPC://b'}]",
     "runtime #2: id 'erpc-01' appears twice"),
    ("runtimes: []\nextra: 1", "expected 'runtimes:'"),
])
def test_mistakes_name_the_entry_and_the_key(text, message):
    with pytest.raises(BridgeConfigError) as error:
        parse_config(text, source="bridge.yaml")
    assert message in str(error.value)
    assert str(error.value).startswith("bridge.yaml: ")
