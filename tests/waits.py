"""Readiness waits for the tests: poll a condition, bounded in time, instead of sleeping.

A test that sleeps "long enough" for something to happen is slow when the machine is idle and
flaky when it is loaded; ``wait_for`` returns as soon as the condition holds and, when it never
does, fails with an AssertionError that names what did not happen. Sleeps that remain in the
tests are the thing under test (a time window that must pass, a publishing pace), each with a
comment saying so.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

__all__ = ["wait_for"]


def wait_for(
    condition: Callable[[], object],
    timeout_s: float,
    what: str,
    *,
    every_s: float = 0.2,
    diagnostics: Callable[[], str] | None = None,
    process: subprocess.Popen | None = None,
) -> float:
    """Poll ``condition`` until it is true; return the seconds that took.

    Parameters
    ----------
    condition : callable
        Called every ``every_s`` seconds; truthy when what is waited for has happened. It may
        raise AssertionError itself to stop the wait early with its own message.
    timeout_s : float
        Give up after this long. [s]
    what : str
        What is waited for, for the failure message ("the bridge to subscribe").
    every_s : float, default 0.2
        Polling interval (most conditions here are HTTP queries or log reads). [s]
    diagnostics : callable, optional
        Text appended to the failure message (a log tail, the state seen last).
    process : subprocess.Popen, optional
        A process the condition depends on: the wait fails at once if it exits.

    Raises
    ------
    AssertionError
        ``timed out after … s waiting for <what>``, or ``process … exited … while waiting for
        <what>``.
    """
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    while True:
        if condition():
            return time.monotonic() - t0
        if process is not None and process.poll() is not None:
            why = f"process {process.pid} exited with {process.returncode} while waiting for"
        elif time.monotonic() > deadline:
            why = f"timed out after {timeout_s:g} s waiting for"
        else:
            time.sleep(every_s)
            continue
        extra = f"\n{diagnostics()}" if diagnostics is not None else ""
        raise AssertionError(f"{why} {what}{extra}")
