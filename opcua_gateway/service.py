"""``plclink opcua``: one process, one event loop.

asyncua is asyncio; autobahn's components, the fleet helpers and the metrics resource of the
other services are Twisted. Twisted's asyncio reactor runs Twisted *on* the asyncio loop, so
both live in one thread and one loop: no thread hand-off between a WAMP event and an OPC UA
notification, no locks around the address space. The reactor must be installed before anything
imports ``twisted.internet.reactor``, hence the late imports below.
"""
import asyncio
import logging
import os
import sys

from opcua_gateway.options import APPLICATION_URI
from opcua_gateway.users import UsersError, UsersFile

SERVER_NAME = "plclink OPC UA gateway"


def _fail(message: str) -> int:
    print(f"plclink opcua: {message}", file=sys.stderr)
    return 2


def _certificate(args) -> tuple[str, str]:
    from router import certificates
    if args.certificate or args.private_key:
        if not (args.certificate and args.private_key):
            raise ValueError("give both --certificate and --private-key, or neither")
        for path in (args.certificate, args.private_key):
            if not os.path.isfile(path):
                raise ValueError(f"{path} does not exist")
        return args.certificate, args.private_key
    hosts = tuple(dict.fromkeys(args.hostnames or
                                [h for h in (args.host, "localhost") if h != "0.0.0.0"]))
    try:
        return certificates.ensure_opcua(args.tls_dir, APPLICATION_URI, hosts)
    except (certificates.CertificateError, OSError) as error:
        raise ValueError(f"cannot issue the server certificate in {args.tls_dir}: {error}") from None


def _report_lockout(name: str, failures: int, seconds: float) -> None:
    from twisted.logger import Logger
    Logger().warn("OPC UA user {name}: {failures} failed logins in a row; refused for {seconds} s "
                  "whatever the password", name=name, failures=failures, seconds=f"{seconds:.0f}")


def run(args) -> int:
    from plc_protocol.wamp_conventions import SERIALIZERS
    from plc_protocol.wamp_transport import TransportError, reconnect_options, transport_config
    from runtime_component.wampconf import ConfigError, read_secret
    try:
        secret = read_secret(os.path.dirname(args.secret_file), args.authid, args.secret_file)
        transport = transport_config(args.url, SERIALIZERS, args.ca_file, **reconnect_options(),
                                     options={"autoPingInterval": 10, "autoPingTimeout": 5})
        users = UsersFile(args.users, args.anonymous_read, args.people,
                          on_lockout=_report_lockout)
        if not (args.users or args.people or args.anonymous_read):
            raise ValueError("nobody could log in: give --people FILE (the router's accounts), "
                             "--users FILE, or --anonymous-read")
        certificate, private_key = _certificate(args)
    except (ConfigError, TransportError, UsersError, ValueError, OSError) as error:
        return _fail(str(error))

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    from twisted.internet import asyncioreactor
    asyncioreactor.install(loop)
    return _serve(args, users, secret, transport, certificate, private_key)


def _serve(args, users, secret, transport, certificate, private_key) -> int:
    import txaio
    from asyncua import Server, ua
    from asyncua.crypto.permission_rules import User, UserRole
    from autobahn.twisted.component import Component
    from twisted.internet import defer, reactor
    from twisted.logger import Logger

    from opcua_gateway import metrics
    from opcua_gateway.address_space import NAMESPACE, AddressSpace
    from opcua_gateway.gateway import Gateway
    from opcua_gateway.person_sessions import PersonSessions
    from opcua_gateway.writes import WritingAttributeService
    from plc_protocol import metrics_endpoint, service_log
    from plc_protocol.wamp_transport import left_reporter

    txaio.use_twisted()
    service_log.start_logging()
    logging.getLogger("asyncua").setLevel(logging.ERROR)   # its own lines are not for operators
    log = Logger()
    people_sessions = PersonSessions(args.url, args.realm, args.ca_file) if args.people else None
    gateway = Gateway(users, args.url, args.realm, people_sessions)

    class SuiteUsers:
        def get_user(self, iserver, username=None, password=None, certificate=None):
            user = users.login(username, password)
            if user is None:
                log.warn("OPC UA login refused for {who}", who=username or "anonymous")
                return None
            if user.person is not None:
                people_sessions.logged_in(user.name, password)
            return User(role=UserRole.User, name=user.name)

    server = Server(user_manager=SuiteUsers())
    endpoint = f"opc.tcp://{args.host}:{args.port}/plclink"

    async def start_server():
        await server.init()
        server.set_endpoint(endpoint)
        server.set_server_name(SERVER_NAME)
        await server.set_application_uri(APPLICATION_URI)
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        server.set_identity_tokens([ua.UserNameIdentityToken] +
                                   ([ua.AnonymousIdentityToken] if args.anonymous_read else []))
        await server.load_certificate(certificate, format="PEM")
        await server.load_private_key(private_key, format="PEM")
        server.iserver.attribute_service = WritingAttributeService(server.iserver.aspace, gateway)
        idx = await server.register_namespace(NAMESPACE)
        try:
            await server.start()
        except OSError as error:
            log.error("cannot listen on {endpoint}: {error}", endpoint=endpoint,
                      error=error.strerror)
            reactor.stop()
            return
        loop = asyncio.get_event_loop()
        loop.create_task(gateway.run(AddressSpace(server, idx)))
        if args.metrics_port:
            metrics.install(gateway)
            metrics_endpoint.serve(args)
        sources = " and ".join(path for path in (args.people, args.users) if path)
        log.info("OPC UA gateway ready at {endpoint} (Basic256Sha256; users from {users}"
                 "{anonymous})", endpoint=endpoint, users=sources or "nowhere",
                 anonymous=", anonymous read-only" if args.anonymous_read else "")
        component.start(reactor)

    component = Component(transports=[transport], realm=args.realm,
                          authentication={"wampcra": {"authid": args.authid, "secret": secret}})

    @component.on_join
    async def joined(session, details):
        await gateway.joined(session)
        log.info("OPC UA gateway joined realm {realm} at {url}", realm=args.realm, url=args.url)

    report_left = left_reporter(reactor)

    @component.on_leave
    def left(session, details):
        gateway.left()
        report_left(lambda: log.info("OPC UA gateway left the router: the gateway is stopping"),
                    lambda: log.warn("OPC UA gateway left the router ({reason}); reconnecting",
                                     reason=details.reason))

    def stop():
        return defer.Deferred.fromFuture(asyncio.ensure_future(server.stop()))

    async def start():
        try:
            await start_server()
        except Exception as error:   # a certificate or key asyncua cannot use, ...
            log.error("OPC UA server not started: {error}", error=error)
            reactor.stop()

    reactor.callWhenRunning(lambda: asyncio.ensure_future(start()))
    reactor.addSystemEventTrigger("before", "shutdown", stop)
    reactor.run()
    log.info("OPC UA gateway stopped")
    return 0
