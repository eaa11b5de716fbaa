"""Container healthchecks that exercise each service's data path (docker-compose.yml):

    python3 -m plclink.healthcheck runtime WORKDIR/health.json   # joined, cycling, not stuck
    python3 -m plclink.healthcheck bridge HEALTH_FILE            # every carried runtime linked
    python3 -m plclink.healthcheck registry HEALTH_FILE          # on the router, database writable
    python3 -m plclink.healthcheck erpcs ERPCS://HOST:PORT#ID PSK_FILE   # TLS-PSK handshake and
                                                                 # GetPLCstatus through the front
    python3 -m plclink.healthcheck http URL                      # the server answers HTTP(S)

Exit 0 healthy, 1 not (the reason on stdout, where `docker inspect` shows it), 2 bad usage.
Light imports for the file checks: they run every few seconds in every container.
"""
import sys
import time

USAGE = __doc__.split("\n\n")[1]


def check_file(kind: str, path: str) -> str | None:
    from plc_protocol import health_file
    judge = {"runtime": health_file.runtime_problem, "bridge": health_file.bridge_problem,
             "registry": health_file.registry_problem}[kind]
    try:
        return judge(health_file.read(path), time.time())
    except ValueError as error:
        return str(error)


def check_erpcs(uri: str, psk_file: str, timeout: float = 5.0) -> str | None:
    from twisted.internet import defer, task
    from ide_component.erpc_connector import ErpcConnector
    from ide_component.psk_store import SecretFile
    from plc_protocol.errors import PLCObjectError, PLCUnreachable
    problems = []

    async def probe(reactor):
        connector = ErpcConnector(uri, psk_store=SecretFile(psk_file), timeout=timeout)
        try:
            await connector.connect()
            await connector.call("GetPLCstatus")
        except (PLCUnreachable, PLCObjectError) as error:
            problems.append(str(error))
        finally:
            await connector.close()
    try:
        task.react(lambda reactor: defer.ensureDeferred(probe(reactor)))
    except SystemExit as exit_:
        if exit_.code:
            problems.append(f"probe failed with code {exit_.code}")
    return "; ".join(problems) or None


def check_http(url: str, timeout: float = 5.0) -> str | None:
    """Does the server answer? For https:// its certificate is not checked: the probe runs
    beside the server, which may be named otherwise in its certificate."""
    import ssl
    import urllib.error
    import urllib.request
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context):
            return None
    except urllib.error.HTTPError:
        return None  # an HTTP answer, even an error status, is a server that serves
    except OSError as error:
        return f"{url}: {getattr(error, 'reason', error)}"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    checks = {"runtime": (1, check_file), "bridge": (1, check_file),
              "registry": (1, check_file),
              "erpcs": (2, lambda kind, *args: check_erpcs(*args)),
              "http": (1, lambda kind, *args: check_http(*args))}
    if not argv or argv[0] not in checks or len(argv) - 1 != checks[argv[0]][0]:
        print(f"usage:\n{USAGE}", file=sys.stderr)
        return 2
    problem = checks[argv[0]][1](*argv)
    print(f"unhealthy: {problem}" if problem else "healthy")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main())
