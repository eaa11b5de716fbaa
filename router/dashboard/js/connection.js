// Joining the realm through the router's own /ws endpoint, as the logged-in person.
//
// Ticket and WAMP-CRA are the router's authentication methods (router/principals.py); the
// router decides the role, and so what this session may do. msgpack, because PLC blobs, trace
// buffers and force values are binary and autobahn-js' JSON serializer cannot carry bytes.

// What the router answers when it refuses to let this user in: retrying would not help.
const AUTH_ERRORS = ["wamp.error.not_authorized", "wamp.error.authentication_failed",
  "wamp.error.no_auth_method", "wamp.error.no_such_realm", "wamp.error.no_such_role"];
const REJOIN_DELAY_MS = 3000;

export function defaultWebSocketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

function answerChallenge(secret) {
  return (session, method, extra) => {
    if (method === "ticket") return secret;
    if (method === "wampcra") {
      const key = extra.salt
        ? autobahn.auth_cra.derive_key(secret, extra.salt, extra.iterations, extra.keylen)
        : secret;
      return autobahn.auth_cra.sign(key, extra.challenge);
    }
    throw new Error(`unsupported authentication method ${method}`);
  };
}

// Keeps the session alive across router restarts and network drops; calls
// onJoin(session, details) at every (re)join, onLost(message) when it drops, and
// onRefused(message) when the router refuses the credentials (then it stops trying).
export function openSession({ url, realm, user, secret, method }, { onJoin, onLost, onRefused }) {
  let joinedOnce = false;
  let closing = false;
  const connection = new autobahn.Connection({
    url, realm,
    serializers: [new autobahn.serializer.MsgpackSerializer()],
    max_retries: -1, initial_retry_delay: 1, max_retry_delay: 5,
    retry_if_unreachable: true,
    authmethods: [method], authid: user, onchallenge: answerChallenge(secret),
  });
  connection.onopen = (session, details) => {
    joinedOnce = true;
    onJoin(session, details);
  };
  connection.onclose = (reason, details) => {
    if (closing) return true;
    if (AUTH_ERRORS.includes(details.reason)) {
      onRefused(`${details.reason}: ${details.message || "refused"}`);
      return true;
    }
    if (!joinedOnce && reason === "unreachable") {
      onRefused(`cannot reach the router at ${url}`);
      return true;
    }
    onLost(details.reason ? `${reason} (${details.reason})` : reason);
    // A router that says goodbye (restart, shutdown) disables autobahn's own retries.
    if (!details.will_retry) {
      setTimeout(() => { if (!closing) connection.open(); }, REJOIN_DELAY_MS);
    }
    return false;
  };
  connection.open();
  return {
    close() {
      closing = true;
      try {
        connection.close();
      } catch {
        // already closed: nothing to do
      }
    },
  };
}
