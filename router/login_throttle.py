"""Failed logins slow down, then lock out, per source address and per account at an address.

Each failed login is answered later than the one before (``base_delay`` doubling up to
``max_delay``), and the answers for one key are spaced out one after another, so parallel
connections do not buy an attacker more tries. After ``max_failures`` failures in a row for one
account at one address (``address_max_failures`` for all accounts at the address, where a
success of anyone ends the row) the key is locked for ``lockout`` seconds: logins are refused
without looking at the password. Keys are the source address and the account *at that address*,
never the account alone: a lock on an account everywhere would let anyone lock a person out, so
the person logging in from another address is never slowed by someone else's failures; and the
higher address threshold keeps one service with a stale secret from locking out the other
services of its host.

Pure (a clock is given), so the rules are tested without a router; router/auth.py applies it
to every login method.
"""
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5       # failures in a row of one account at one address: lockout
    address_max_failures: int = 20   # failures in a row at one address, all accounts
    lockout: float = 300.0      # seconds a locked key stays locked
    base_delay: float = 0.25    # the first refusal is answered this late, doubling each time
    max_delay: float = 8.0
    max_queue: float = 60.0     # answers queued further ahead are refused at once


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0
    next_answer: float = 0.0    # when the next refusal for this key may be answered
    refused_locked: int = 0     # attempts refused while locked (for the summary)
    last: float = 0.0


@dataclass(frozen=True)
class Refusal:
    delay: float            # answer the refusal after this many seconds
    failures: int           # failures in a row at this address for this account
    locked_for: float       # > 0: the key is (now) locked for this long
    newly_locked: bool      # this failure started the lockout (log and audit it once)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class LoginThrottle:
    def __init__(self, policy: ThrottlePolicy = ThrottlePolicy(), clock=time.monotonic):
        self.policy = policy
        self._clock = clock
        self._records = {}

    def _keys(self, account, address):
        return (("address", address), ("account", account, address))

    def _record(self, key) -> _Record:
        record = self._records.get(key)
        if record is None:
            if len(self._records) > 10000:
                self._forget_idle()
            record = self._records[key] = _Record()
        now = self._clock()
        if record.locked_until and record.locked_until <= now:
            record.failures, record.locked_until = 0, 0.0   # the window is over
        return record

    def _forget_idle(self):
        horizon = self._clock() - self.policy.lockout
        for key in [k for k, r in self._records.items()
                    if r.locked_until <= self._clock() and r.last < horizon]:
            del self._records[key]

    def _slot(self, records, spacing) -> float:
        """Seconds until this refusal may be answered; queues it after the key's last one."""
        now = self._clock()
        at = max([now, *(record.next_answer for record in records)])
        for record in records:
            record.next_answer = at + spacing
        return at + spacing - now

    def locked(self, account, address) -> Refusal | None:
        """A refusal when the account is locked at this address (checked before any password)."""
        records = [self._record(key) for key in self._keys(account, address)]
        now = self._clock()
        until = max(record.locked_until for record in records)
        if until <= now:
            return None
        for record in records:
            if record.locked_until > now:
                record.refused_locked += 1
        delay = self._slot(records, self.policy.max_delay)
        if delay > self.policy.max_queue:
            delay = 0.0
        return Refusal(delay, records[1].failures, until - now, False)

    def failed(self, account, address) -> Refusal:
        records = [self._record(key) for key in self._keys(account, address)]
        now = self._clock()
        newly = False
        for record, limit in zip(records, (self.policy.address_max_failures,
                                           self.policy.max_failures)):
            record.failures += 1
            record.last = now
            if record.failures >= limit and record.locked_until <= now:
                record.locked_until = now + self.policy.lockout
                record.refused_locked = 0
                newly = True
        worst = max(record.failures for record in records)
        spacing = min(self.policy.max_delay, self.policy.base_delay * 2 ** (worst - 1))
        delay = min(self._slot(records, spacing), self.policy.max_queue)
        until = max(record.locked_until for record in records)
        return Refusal(delay, records[1].failures, max(0.0, until - now), newly)

    def succeeded(self, account, address) -> int:
        """End the rows of failures of this account and of this address; how many failures
        the account had there."""
        address_record = self._records.get(("address", address))
        record = self._records.pop(("account", account, address), None)
        if address_record is not None:
            address_record.failures = 0
        return record.failures if record is not None else 0

    def take_locked_count(self, account, address) -> int:
        """Attempts refused while locked since the last call (for one summary line)."""
        count = 0
        for key in self._keys(account, address):
            record = self._records.get(key)
            if record is not None:
                count = max(count, record.refused_locked)
                record.refused_locked = 0
        return count
