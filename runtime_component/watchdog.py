"""Bounding the time program code may take, without ever blocking the runtime for good.

Program code is Python, so it cannot be killed like a task of a C runtime; a thread that overran
gets an asynchronous exception (which ends loops that execute bytecode) and is then abandoned.
Either way the runtime itself stays responsive and reports the PLC Broken.
"""
import ctypes
import threading


class WatchdogTimeout(BaseException):
    """Raised inside program code that overran its watchdog (BaseException: not caught by
    a program's ``except Exception``)."""


def interrupt_thread(thread: threading.Thread) -> None:
    if thread.ident is not None and thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                   ctypes.py_object(WatchdogTimeout))


def run_with_deadline(function, timeout: float, name: str):
    """Run ``function()`` in a helper thread; its result, its exception, or TimeoutError."""
    outcome = {}

    def target():
        try:
            outcome["result"] = function()
        except BaseException as error:  # handed to the caller, who decides
            outcome["error"] = error

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        interrupt_thread(thread)
        raise TimeoutError(f"{name} did not return within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")
