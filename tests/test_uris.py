import pytest

from plc_protocol.uris import (DEFAULT_PORTS, ConnectionURI, URIError, parse_uri,
                               validate_plc_id)


@pytest.mark.parametrize("text, expected", [
    ("ERPC://plc.local", ConnectionURI("ERPC", "plc.local", 3000)),
    ("ERPC://10.0.0.7:3001", ConnectionURI("ERPC", "10.0.0.7", 3001)),
    ("ERPCS://plc.local#plc-01", ConnectionURI("ERPCS", "plc.local", 4000, plc_id="plc-01")),
    ("ERPCS://plc.local:4443#PLC_7", ConnectionURI("ERPCS", "plc.local", 4443, plc_id="PLC_7")),
    ("LOCAL://", ConnectionURI("LOCAL", "", None)),
    ("WAMP://router#Automation#plc-01",
     ConnectionURI("WAMP", "router", 8888, "", "Automation", "plc-01")),
    ("WAMP://127.0.0.1:8080/ws#Automation#plc-01",
     ConnectionURI("WAMP", "127.0.0.1", 8080, "/ws", "Automation", "plc-01")),
    ("WAMPS://router.example.com#site.a#plc-01",
     ConnectionURI("WAMPS", "router.example.com", 443, "", "site.a", "plc-01")),
    ("WAMPS://router:8443/a/b_c#_realm-1#x",
     ConnectionURI("WAMPS", "router", 8443, "/a/b_c", "_realm-1", "x")),
])
def test_parses_every_scheme_with_and_without_port(text, expected):
    assert parse_uri(text) == expected


def test_default_ports():
    assert dict(DEFAULT_PORTS) == {"ERPC": 3000, "ERPCS": 4000, "WAMP": 8888, "WAMPS": 443}
    assert parse_uri("ERPC://h").port == 3000
    assert parse_uri("ERPCS://h#id").port == 4000
    assert parse_uri("WAMP://h#r#id").port == 8888
    assert parse_uri("WAMPS://h#r#id").port == 443


def test_local_has_no_address():
    uri = parse_uri("LOCAL://")
    assert (uri.host, uri.port, uri.path, uri.realm, uri.plc_id) == ("", None, "", None, None)
    assert not uri.is_wamp and not uri.is_erpc


@pytest.mark.parametrize("text, scheme", [
    ("erpc://h", "ERPC"), ("Erpcs://h#id", "ERPCS"), ("local://", "LOCAL"),
    ("wamp://h#r#id", "WAMP"), ("wAmPs://h#r#id", "WAMPS"),
])
def test_scheme_is_case_insensitive(text, scheme):
    assert parse_uri(text).scheme == scheme


def test_ids_realms_and_hosts_keep_their_case():
    uri = parse_uri("wamp://Router#Automation#PLC-01")
    assert (uri.host, uri.realm, uri.plc_id) == ("Router", "Automation", "PLC-01")


def test_non_ascii_letter_that_upper_cases_to_ascii_is_not_a_scheme():
    with pytest.raises(URIError, match="unknown scheme 'erpcſ'"):
        parse_uri("erpcſ://h#id")


def test_surrounding_whitespace_is_stripped():
    assert parse_uri("  \tERPC://h:3001\n") == ConnectionURI("ERPC", "h", 3001)


@pytest.mark.parametrize("text, host, port", [
    ("ERPC://[::1]", "::1", 3000),
    ("ERPC://[::1]:3000", "::1", 3000),
    ("ERPCS://[fe80::1:2]:4001#id", "fe80::1:2", 4001),
    ("WAMP://[2001:db8::7]:9000/ws#Automation#plc", "2001:db8::7", 9000),
])
def test_ipv6_hosts_in_brackets(text, host, port):
    uri = parse_uri(text)
    assert (uri.host, uri.port) == (host, port)


def test_wamp_path_and_websocket_url():
    assert parse_uri("WAMP://127.0.0.1:8888/ws#Automation#plc").websocket_url == \
        "ws://127.0.0.1:8888/ws"
    assert parse_uri("WAMP://router#Automation#plc").websocket_url == "ws://router:8888"
    assert parse_uri("WAMPS://r.example/ws#Automation#plc").websocket_url == \
        "wss://r.example:443/ws"
    assert parse_uri("WAMP://[::1]/%7Eme#Automation#plc").websocket_url == \
        "ws://[::1]:8888/%7Eme"


@pytest.mark.parametrize("text", ["ERPC://h", "ERPCS://h#id", "LOCAL://"])
def test_websocket_url_refuses_non_wamp_schemes(text):
    with pytest.raises(URIError, match="is not a WAMP URI"):
        parse_uri(text).websocket_url


def test_scheme_kind_properties():
    assert parse_uri("ERPC://h").is_erpc and parse_uri("ERPCS://h#i").is_erpc
    assert parse_uri("WAMP://h#r#i").is_wamp and parse_uri("WAMPS://h#r#i").is_wamp
    assert not parse_uri("ERPC://h").is_wamp and not parse_uri("WAMP://h#r#i").is_erpc


@pytest.mark.parametrize("text, canonical", [
    ("erpc://h:3000", "ERPC://h"),
    ("ERPC://h:3001", "ERPC://h:3001"),
    ("erpcs://h:4000#plc-01", "ERPCS://h#plc-01"),
    ("ERPCS://h:1#plc-01", "ERPCS://h:1#plc-01"),
    ("local://", "LOCAL://"),
    ("wamp://h:8888#Automation#plc", "WAMP://h#Automation#plc"),
    ("wamp://h:80/ws#Automation#plc", "WAMP://h:80/ws#Automation#plc"),
    ("wamps://h:443/#r.x#plc", "WAMPS://h/#r.x#plc"),
    ("ERPC://[::1]:3000", "ERPC://[::1]"),
    ("WAMPS://[2001:db8::7]:8443/ws#r#plc", "WAMPS://[2001:db8::7]:8443/ws#r#plc"),
    (" ERPC://h:03001 ", "ERPC://h:3001"),
])
def test_canonical_text_round_trips(text, canonical):
    uri = parse_uri(text)
    assert str(uri) == canonical
    assert parse_uri(str(uri)) == uri


# One test per kind of error: the message names the wrong part and shows the expected form.

def test_empty_or_schemeless_uri():
    for text in ("", "   ", "plc.local:3000"):
        with pytest.raises(URIError, match=r"no scheme in .*: expected SCHEME://\.\.\., "
                                           r"with SCHEME one of ERPC, ERPCS, LOCAL, WAMP, WAMPS"):
            parse_uri(text)


def test_unknown_scheme():
    with pytest.raises(URIError) as error:
        parse_uri("FOO://x")
    assert str(error.value) == \
        "unknown scheme 'FOO' in 'FOO://x': use one of ERPC, ERPCS, LOCAL, WAMP, WAMPS"


def test_local_with_an_address():
    with pytest.raises(URIError) as error:
        parse_uri("LOCAL://127.0.0.1:3000")
    assert str(error.value) == ("unexpected '127.0.0.1:3000' after 'LOCAL://' in "
                                "'LOCAL://127.0.0.1:3000': a local runtime takes no address "
                                "(expected LOCAL://)")


@pytest.mark.parametrize("text", ["ERPC://host:abc", "ERPC://host:", "ERPC://host:0",
                                  "ERPC://host:65536", "ERPC://host:-1", "ERPC://host:+1",
                                  "ERPC://host:٣٠٠٠", "ERPC://[::1]:x"])
def test_bad_port(text):
    port = text.rpartition(":")[2]
    with pytest.raises(URIError) as error:
        parse_uri(text)
    assert str(error.value) == (f"bad port {port!r} in {text!r}: the port must be a number "
                                f"from 1 to 65535 (expected ERPC://host[:port])")


def test_port_limits_are_accepted():
    assert parse_uri("ERPC://h:1").port == 1
    assert parse_uri("ERPC://h:65535").port == 65535


@pytest.mark.parametrize("text", ["ERPC://", "ERPC://:3000", "WAMP://#r#id", "ERPCS:///#id"])
def test_missing_host(text):
    with pytest.raises(URIError, match=r"^missing host in .*: expected \w+://host\[:port\]"):
        parse_uri(text)


@pytest.mark.parametrize("text, host", [
    ("ERPC://ho st", "ho st"),
    ("ERPC://user@host", "user@host"),
    ("ERPC://hôte", "hôte"),
    ("ERPC://[::1", "[::1"),
    ("ERPC://[]", "[]"),
    ("ERPC://[not-ipv6]:3000", "[not-ipv6]:3000"),
    ("ERPC://[::1]x", "[::1]x"),
])
def test_bad_host(text, host):
    with pytest.raises(URIError) as error:
        parse_uri(text)
    assert str(error.value) == (
        f"bad host {host!r} in {text!r}: a host is letters, digits, '-', '.' and '_', "
        f"or an IPv6 address in brackets (expected ERPC://host[:port])")


def test_ipv6_host_without_brackets():
    with pytest.raises(URIError, match=r"^bad host '::1:3000' in 'ERPC://::1:3000': "
                                       r"an IPv6 address must be in brackets, e\.g\. \[::1\]"):
        parse_uri("ERPC://::1:3000")


def test_query_string():
    with pytest.raises(URIError) as error:
        parse_uri("WAMP://h/ws?x=1#Automation#plc")
    assert str(error.value) == ("query string '?x=1' in 'WAMP://h/ws?x=1#Automation#plc': "
                                "a connection URI takes no query "
                                "(expected WAMP://host[:port][/path]#realm#ID)")


@pytest.mark.parametrize("text, path", [("ERPC://h/x", "/x"), ("ERPCS://h:4000/#id", "/")])
def test_path_outside_wamp(text, path):
    with pytest.raises(URIError, match=rf"^unexpected path '{path}' in '.*': expected ERPCS?://"):
        parse_uri(text)


def test_bad_wamp_path():
    with pytest.raises(URIError, match=r"^bad path '/a b' in .*: a path is '/'-separated "
                                       r"segments.*\(expected WAMP://host\[:port\]\[/path\]"):
        parse_uri("WAMP://h/a b#r#id")
    with pytest.raises(URIError, match=r"^bad path '/%zz'"):
        parse_uri("WAMP://h/%zz#r#id")


def test_id_on_plain_erpc():
    with pytest.raises(URIError, match=r"^unexpected '#plc' in 'ERPC://h#plc': plain eRPC takes "
                                       r"no ID; use ERPCS://host#ID for TLS-PSK"):
        parse_uri("ERPC://h#plc")


@pytest.mark.parametrize("text", ["ERPCS://h", "ERPCS://h:4000#"])
def test_missing_psk_identity(text):
    with pytest.raises(URIError) as error:
        parse_uri(text)
    assert str(error.value) == f"missing PSK identity in {text!r}: expected ERPCS://host[:port]#ID"


def test_bad_psk_identity():
    with pytest.raises(URIError, match=r"^bad PSK identity 'plc\.01' in 'ERPCS://h#plc\.01': "
                                       r"an ID is 1 to 64 letters"):
        parse_uri("ERPCS://h#plc.01")


def test_text_after_psk_identity():
    with pytest.raises(URIError, match=r"^unexpected '#x' after the PSK identity in "
                                       r"'ERPCS://h#id#x': expected ERPCS://host\[:port\]#ID"):
        parse_uri("ERPCS://h#id#x")


def test_missing_realm_and_runtime_id():
    with pytest.raises(URIError) as error:
        parse_uri("WAMP://h/ws")
    assert str(error.value) == ("missing realm and runtime ID in 'WAMP://h/ws': "
                                "expected WAMP://host[:port][/path]#realm#ID")


def test_missing_realm():
    with pytest.raises(URIError) as error:
        parse_uri("WAMPS://h##plc")
    assert str(error.value) == ("missing realm in 'WAMPS://h##plc': "
                                "expected WAMPS://host[:port][/path]#realm#ID")


@pytest.mark.parametrize("realm", [".Automation", "Auto mation", "a/b", "x" * 129])
def test_bad_realm(realm):
    text = f"WAMP://h#{realm}#plc"
    with pytest.raises(URIError) as error:
        parse_uri(text)
    assert str(error.value).startswith(f"bad realm {realm!r} in {text!r}: a realm is ")


@pytest.mark.parametrize("text", ["WAMP://h#Automation", "WAMP://h#Automation#"])
def test_missing_runtime_id(text):
    with pytest.raises(URIError) as error:
        parse_uri(text)
    assert str(error.value) == \
        f"missing runtime ID in {text!r}: expected WAMP://host[:port][/path]#realm#ID"


def test_bad_runtime_id():
    with pytest.raises(URIError, match=r"^bad runtime ID 'plc\.01' in 'WAMP://h#r#plc\.01': "
                                       r"an ID is .*no dots.*\(expected WAMP://"):
        parse_uri("WAMP://h#r#plc.01")


def test_text_after_runtime_id():
    with pytest.raises(URIError, match=r"^unexpected '#x#y' after the runtime ID in "
                                       r"'WAMP://h#r#id#x#y': expected WAMP://"):
        parse_uri("WAMP://h#r#id#x#y")


def test_uri_error_is_a_value_error():
    assert issubclass(URIError, ValueError)


@pytest.mark.parametrize("plc_id", ["a", "plc-01", "PLC_7", "0" + "x" * 63])
def test_validate_plc_id_accepts(plc_id):
    assert validate_plc_id(plc_id) == plc_id


@pytest.mark.parametrize("plc_id", ["", "-plc", "_plc", "plc.01", "plc 01", "plc\n",
                                    "0" + "x" * 64, "plcé", None, 7])
def test_validate_plc_id_rejects(plc_id):
    with pytest.raises(URIError) as error:
        validate_plc_id(plc_id)
    assert str(error.value).startswith(f"bad runtime ID {plc_id!r}: an ID is 1 to 64 letters")


def test_realm_length_limit():
    assert parse_uri(f"WAMP://h#{'r' * 128}#id").realm == "r" * 128
