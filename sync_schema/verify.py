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
    # Against a reference database: how many of its tables were compared, and those whose
    # column count differs here, as (table, columns here, columns in the reference). What
    # differs is reported with its reason among the changes; it fails nothing by itself.
    reference_tables: int = 0
    column_counts: list[tuple[str, int, int]] = field(default_factory=list)


def verify(
    remaining_changes: Iterable[Change],
    results: Iterable[StepResult],
    after: Snapshot,
    critical_columns: Iterable[CriticalColumn],
    reference: Snapshot | None = None,
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
    verification = Verification(not missing, missing, len(critical))
    if reference is not None:
        verification.reference_tables = len(reference.tables)
        for key, table in sorted(reference.tables.items()):
            have = after.tables.get(key)
            count = len(have.columns) if have is not None else 0
            if count != len(table.columns):
                verification.column_counts.append((qualified(key[0], key[1], after.default_schema), count, len(table.columns)))
    return verification


def _relaxed(result: StepResult, after: Snapshot) -> bool:
    for change in result.step.changes:
        table = after.table(change.schema, change.table or "")
        column = table.column(change.name or "") if table else None
        if column is not None and not column.nullable:
            return False
    return True
