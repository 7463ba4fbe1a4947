"""Build-log output: plain lines, one change per line, a summary block at the end.

Color only on a terminal, and never when NO_COLOR is set. Passwords never reach this
module: URLs arrive already redacted.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

from .plan import BY_HAND

if TYPE_CHECKING:
    from .apply import StepResult
    from .plan import Step
    from .run import RunResult

_STYLES = {"ok": "32", "warn": "33", "error": "31", "bold": "1", "dim": "2"}
# Control characters as escapes: a name from the database may hold a newline (it would
# start a line of its own in a log, or end a `-- comment` in a SQL script and turn the
# rest into SQL) or a terminal escape sequence.
_CONTROL_ESCAPES = {i: f"\\x{i:02x}" for i in (*range(32), 127) if i != 9} | {10: "\\n", 13: "\\r"}


def one_line(text: str) -> str:
    """`text` on one line, every control character (but tab) shown as an escape."""
    return text.translate(_CONTROL_ESCAPES)


def use_color(stream: TextIO) -> bool:
    """no-color.org: a non-empty NO_COLOR turns color off; FORCE_COLOR (non-empty, not 0)
    turns it on where there is no terminal (a CI log that renders it)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


class Reporter:
    def __init__(self, stream: TextIO | None = None, color: bool | None = None, verbose: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.color = use_color(self.stream) if color is None else color
        self.verbose = verbose

    def line(self, text: str = "", style: str | None = None) -> None:
        text = one_line(text)
        if style and self.color:
            text = f"\033[{_STYLES[style]}m{text}\033[0m"
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except BrokenPipeError:  # `| head -1`: the reader is gone, the run goes on
            self.stream = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the run

    def info(self, text: str) -> None:
        self.line(f"sync-schema: {text}")

    def debug(self, text: str) -> None:
        if self.verbose:
            self.line(f"sync-schema: {text}", "dim")

    def warning(self, text: str) -> None:
        self.line(f"sync-schema: WARNING: {text}", "warn")

    def error(self, text: str) -> None:
        self.line(f"sync-schema: ERROR: {text}", "error")

    def step(self, result: StepResult) -> None:
        style = {"applied": "ok", "failed": "error", "deferred": "warn"}.get(result.status, "warn")
        label = result.status.upper()
        sql = step_sql(result.step)
        took = f" ({result.seconds:.2f} s)" if result.status in ("applied", "failed", "deferred") and result.seconds else ""
        self.line(f"  {label:<8} {result.step.description}: {sql}{took}", style)
        if result.error:
            self.line(f"           {result.error}", style)
        if result.status == "review" and result.step.hazards:
            self.line(f"           hazards: {'; '.join(result.step.hazards)}", "dim")

    def planned(self, step: Step, will_apply: bool) -> None:
        label = "WOULD" if will_apply else "REVIEW"
        self.line(f"  {label:<8} {step.description}: {step_sql(step)}", "ok" if will_apply else "warn")

    def summary(self, result: RunResult) -> None:
        rows = summary_rows(result)
        width = max(len(k) for k, _ in rows)
        self.line("----- sync-schema summary " + "-" * 30, "bold")
        for key, value in rows:
            style = None
            if key == "verification":
                style = "ok" if value.startswith("PASSED") else "error"
            self.line(f"{key:<{width}}  {value}", style)
        self.line("-" * 56, "bold")


def step_sql(step: Step) -> str:
    """A step's SQL on one line, as the log shows it. An object to create by hand is only
    named: its SQL (a function's whole body, say) is in the --sql script and the JSON."""
    if step.requires == BY_HAND:
        return "its SQL is in the --sql script and the JSON document" if step.sql else "no SQL: the server does not spell it"
    return "; ".join(" ".join(s.split()) for s in step.sql) or "(no SQL: fix by hand)"


def summary_rows(result: RunResult) -> list[tuple[str, str]]:
    counts = result.counts()
    rows = [("mode", result.mode + (" (strict)" if result.strict else ""))]
    if result.database:
        rows.append(("database", result.database))
    if result.error:
        rows.append(("error", result.error))
    if result.alembic is not None:
        state = result.alembic
        where = "at head" if state.at_head else f"{len(state.pending)} revision{'s' if len(state.pending) != 1 else ''} pending" if state.heads is not None else "scripts not read"
        rows.append(("alembic", f"{', '.join(state.current) or '(empty)'}: {where}"
                                + (f", {len(state.recorded_but_missing)} recorded but missing" if state.recorded_but_missing else "")
                                + (f"; stamped at head {', '.join(state.stamped)}" if state.stamped else "")))
    rows += [
        ("tables analyzed", str(counts["tables_analyzed"])),
        ("tables created", str(counts["tables_created"])),
        ("tables modified", str(counts["tables_modified"])),
        ("columns added", str(counts["columns_added"])),
        ("indexes created", str(counts["indexes_created"])),
        ("other changes applied", str(counts["other_applied"])),
        ("failed", str(counts["failed"])),
        ("deferred (locked)", str(counts["deferred"])),
        ("refused (data)", str(counts["refused"])),
        ("left for review", str(counts["review"])),
    ]
    if result.mode != "apply":
        rows.insert(-1, ("would apply", str(counts["planned"])))
    if result.verification is None:
        rows.append(("verification", "SKIPPED" + (" (nothing was synced)" if result.error else "")))
    elif result.verification.passed:
        detail = f" ({result.verification.checked_critical} critical columns present)" if result.verification.checked_critical else ""
        rows.append(("verification", "PASSED" + detail))
    else:
        rows.append(("verification", "FAILED"))
        rows += [("  missing", m) for m in result.verification.missing]
    if result.verification is not None and result.verification.reference_tables:
        differ = result.verification.column_counts
        rows.append(("column counts", f"{result.verification.reference_tables - len(differ)} of {result.verification.reference_tables} "
                                      "tables as in the reference"))
        rows += [("  differs", f"{table}: {here} columns, {there} in the reference") for table, here, there in differ]
    review = [r.step for r in result.results if r.status == "review"]
    for step in review:
        rows.append(("  review", f"{step.description}: {step_sql(step)}" if step.requires != BY_HAND else step.description))
    rows.append(("elapsed", f"{result.elapsed:.2f} s"))
    rows.append(("exit code", str(result.exit_code)))
    return rows
