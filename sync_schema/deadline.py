"""Bounds on wall-clock time that hold whatever the code under them does.

A deploy step must end. The server-side time-outs bound every statement the server gets;
they cannot bound a server (or a proxy) that went silent mid-run, nor an app's models
module that blocks on import. A watchdog thread does: when its time is up it writes one
line saying what did not finish and ends the process with the run's exit code (open
transactions are rolled back by the server when the connection drops).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TextIO

_exit = os._exit  # kept: exits_raise() replaces os._exit while the models are imported


@contextmanager
def watchdog(seconds: float, message: Callable[[], str], exit_code: int, stream: TextIO | None = None) -> Iterator[None]:
    """Within the block, `seconds` of wall-clock time at most: then `message()` is
    written as an error and the process exits with `exit_code`."""
    def expire() -> None:
        out = stream or sys.stdout
        try:
            out.write(f"sync-schema: ERROR: {message()}\n")
            out.write(f"sync-schema: stopped; exiting {exit_code}\n")
            out.flush()
            sys.stderr.flush()
        finally:
            _exit(exit_code)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class ExitCalled(BaseException):
    """os._exit() called while the models were imported (reported, not obeyed)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"os._exit({code})")
        self.code = code


@contextmanager
def exits_raise() -> Iterator[None]:
    """os._exit() inside the block raises ExitCalled instead of ending the process with
    no line and no summary (sys.exit() raises SystemExit anyway)."""
    real = os._exit

    def refuse(code: int) -> NoReturn:
        raise ExitCalled(code)

    os._exit = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        os._exit = real


def exit_when_done(code: int) -> None:
    """End the process now if a thread the app started (a non-daemon one) would keep it
    alive after the run: Python waits for such threads at exit, forever if they never stop."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        _exit(code)
