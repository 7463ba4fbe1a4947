"""After applying, inspect again: every applied change must be gone from the diff and
every critical column must exist."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .apply import StepResult
from .config import CriticalColumn
from .diff import Change
from .snapshot import Snapshot, qualified


@dataclass
class Verification:
    passed: bool
    missing: list[str] = field(default_factory=list)
    checked_critical: int = 0


def verify(
    remaining_changes: Iterable[Change],
    results: Iterable[StepResult],
    after: Snapshot,
    critical_columns: Iterable[CriticalColumn],
) -> Verification:
    remaining = {c.identity for c in remaining_changes}
    missing: list[str] = []
    for result in results:
        if result.status != "applied":
            continue
        if not result.step.resolves:
            # A helper step (relaxing a column the models do not have) leaves its change
            # in the diff on purpose; what it promised is that the column is nullable.
            if not _relaxed(result, after):
                missing.append(f"{result.step.description}: applied but the column is still NOT NULL")
            continue
        for change in result.step.changes:
            if change.identity in remaining:
                missing.append(f"{result.step.description}: applied but still differs")
                break
    critical = list(critical_columns)
    for spec in critical:
        schema = spec.schema or after.default_schema
        table = after.table(schema, spec.table)
        if table is None:
            missing.append(f"critical column {spec}: table {qualified(schema, spec.table, after.default_schema)} does not exist")
        elif table.column(spec.column) is None:
            missing.append(f"critical column {spec} does not exist")
    return Verification(not missing, missing, len(critical))


def _relaxed(result: StepResult, after: Snapshot) -> bool:
    for change in result.step.changes:
        table = after.table(change.schema, change.table or "")
        column = table.column(change.name or "") if table else None
        if column is not None and not column.nullable:
            return False
    return True
