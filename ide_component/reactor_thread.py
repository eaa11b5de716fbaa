"""One Twisted reactor, run in a background thread, for callers that are not Twisted code:
scripts, notebooks, the test suite. Everything network-facing still runs in the reactor."""
import threading

from twisted.internet import defer, reactor, threads

from ide_component.failures import TimedOut

_lock = threading.Lock()
_thread = None


def ensure_running() -> None:
    global _thread
    with _lock:
        if _thread is not None:
            return
        _thread = threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False},
                                   name="twisted-reactor", daemon=True)
        _thread.start()


def blocking(async_function, *args, timeout: float | None = 60, **kwargs):
    """Run ``async_function(*args, **kwargs)`` (coroutine or Deferred) in the reactor, wait for
    it; after ``timeout`` seconds it is cancelled and TimedOut says what did not finish."""
    ensure_running()

    def start():
        result = defer.ensureDeferred(async_function(*args, **kwargs)) \
            if _is_coroutine_function(async_function) else defer.maybeDeferred(async_function, *args, **kwargs)
        if timeout is not None:
            result.addTimeout(timeout, reactor)
        return result
    try:
        return threads.blockingCallFromThread(reactor, start)
    except defer.TimeoutError:
        name = getattr(async_function, "__name__", "")
        what = f"{name}: " if name.isidentifier() else ""
        raise TimedOut(f"{what}no answer within {timeout:g} s; the runtime or the router is "
                       "unreachable or overloaded") from None


def _is_coroutine_function(function) -> bool:
    import inspect
    return inspect.iscoroutinefunction(function)
