"""Errors that reach the user as one line: what happened, then what to do."""

from __future__ import annotations

import os


class SyncError(Exception):
    """An expected failure (bad input, unreachable database...) reported without a traceback."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}" if self.hint else self.message


class ConfigError(SyncError):
    """The settings are incomplete or malformed."""


class ModelsError(SyncError):
    """The models module could not be imported or holds no metadata."""


class DatabaseError(SyncError):
    """The database could not be reached or refused us."""


def describe_unexpected(exc: BaseException) -> str:
    """One line for an error nobody planned for: its type, the first line of its text and
    where it was raised (the innermost frame's file, line and function: enough for a bug
    report, without a traceback in the build log)."""
    text = str(exc).strip()
    where = ""
    frame = exc.__traceback__
    if frame is not None:
        while frame.tb_next is not None:
            frame = frame.tb_next
        code = frame.tb_frame.f_code
        where = f" (at {os.path.basename(code.co_filename)}:{frame.tb_lineno} in {code.co_name})"
    return f"unexpected {type(exc).__name__}: {text.splitlines()[0] if text else ''}{where}"
