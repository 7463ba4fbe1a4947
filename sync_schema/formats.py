"""Machine- and reviewer-facing renderings of a run: JSON, a Markdown drift table, and a
SQL script. The build-log text lives in report.py."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import __version__
from .diff import MODELS_SIDES, REFERENCE_SIDES, Change, Kind
from .plan import BY_HAND
from .report import one_line
from .snapshot import Column, EnumType, ForeignKey, Index, OtherObject, Table, UniqueConstraint

if TYPE_CHECKING:
    from .apply import StepResult
    from .run import RunResult

_STATUS_ORDER = ("applied", "failed", "refused", "deferred", "planned", "review")


def describe(obj: object, dialect_type_key=None) -> str | None:  # type: ignore[no-untyped-def]
    """One side of a change as a reviewer reads it."""
    if obj is None:
        return None
    if isinstance(obj, Column):
        text = dialect_type_key(obj.type) if dialect_type_key else obj.type
        text += "" if obj.nullable else " NOT NULL"
        if obj.default is not None:
            text += f" DEFAULT {obj.default}"
        if obj.autoincrement:
            text += f" ({obj.autoincrement})"
        return text
    if isinstance(obj, Table):
        return f"table ({len(obj.columns)} column{'s' if len(obj.columns) != 1 else ''})"
    if isinstance(obj, Index):
        text = ("unique " if obj.unique else "") + f"index ({', '.join(obj.expressions)})"
        return text + (f" WHERE {obj.where}" if obj.where else "") + ("" if obj.valid else " INVALID")
    if isinstance(obj, UniqueConstraint):
        return f"unique ({', '.join(obj.columns)})"
    if isinstance(obj, ForeignKey):
        text = f"({', '.join(obj.columns)}) -> {obj.ref_table} ({', '.join(obj.ref_columns)})"
        return text + (f" ON DELETE {obj.on_delete}" if obj.on_delete else "") + (f" ON UPDATE {obj.on_update}" if obj.on_update else "")
    if isinstance(obj, EnumType):
        return "enum (" + ", ".join(obj.values) + ")"
    if isinstance(obj, OtherObject):
        return f"{obj.kind} {obj.name}"
    return str(obj)


# The JSON document's layout version: bumped when a field changes meaning or goes away
# (3: with a reference database, a change's two sides are "target" and "reference").
SCHEMA_VERSION = 3


def sides(result: RunResult) -> tuple[str, str]:
    """The names of a change's two sides, the same in every rendering: the database and
    the models, or, against a reference database, the target and the reference."""
    return REFERENCE_SIDES if result.reference else MODELS_SIDES


def step_records(result: RunResult) -> list[dict[str, Any]]:
    """One record per step, each statement once (a step adding three columns is one ALTER)."""
    index = {id(change): i for i, change in enumerate(result.changes)}
    return [
        {
            "id": n, "description": r.step.description, "status": r.status, "requires": r.step.requires,
            "hazards": list(r.step.hazards), "sql": list(r.step.sql), "error": r.error,
            "seconds": round(r.seconds, 3) if r.seconds else None,
            "changes": [index[id(c)] for c in r.step.changes if id(c) in index],
        }
        for n, r in enumerate(result.results)
    ]


def change_records(result: RunResult, type_key=None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """One record per change, with the status of the steps that fix it folded in; the
    steps themselves (and their SQL) are listed once, apart (`step_records`)."""
    labels = sides(result)
    steps_of: dict[int, list[tuple[int, StepResult]]] = {}
    for n, step_result in enumerate(result.results):
        for change in step_result.step.changes:
            steps_of.setdefault(id(change), []).append((n, step_result))
    records = []
    for change in result.changes:
        numbered = steps_of.get(id(change), [])
        fixes = [r for _, r in numbered]
        statuses = [r.status for r in fixes if r.step.resolves] or [r.status for r in fixes]
        status = next((s for s in _STATUS_ORDER if s in statuses), "review")
        record: dict[str, Any] = {
            "kind": change.kind.value,
            "schema": change.schema,
            "table": change.table,
        }
        if _is_column_change(change):
            record["column"] = change.name
        else:
            record["name"] = change.name
        record[labels[0]] = describe(change.actual, type_key)
        record[labels[1]] = describe(change.desired, type_key)
        record.update(
            detail=change.detail or None,
            status=status,
            applied=status == "applied",
            requires=sorted({r.step.requires for r in fixes if r.step.requires}),
            hazards=sorted({h for r in fixes for h in r.step.hazards}),
            error=next((r.error for r in fixes if r.error), None),
            steps=[n for n, _ in numbered],  # ids in the document's "steps"
        )
        records.append(record)
    return records


def _is_column_change(change: Change) -> bool:
    return change.kind in (
        Kind.MISSING_COLUMN, Kind.EXTRA_COLUMN, Kind.TYPE_MISMATCH, Kind.NULLABLE_MISMATCH, Kind.DEFAULT_MISMATCH,
    ) or change.kind.value in ("rename_column", "likely_rename")


def to_json(result: RunResult, type_key=None) -> str:  # type: ignore[no-untyped-def]
    """The run as one JSON document (the two sides of each change named by `sides`)."""
    verification = result.verification
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": "sync-schema",
        "version": __version__,
        "mode": result.mode,
        "strict": result.strict,
        "database": result.database,
        **({"reference": result.reference} if result.reference else {}),
        "error": result.error,
        "changes": change_records(result, type_key),
        "steps": step_records(result),
        "alembic": None if result.alembic is None else result.alembic.as_json(),
        "warnings": result.warnings,
        "verification": None if verification is None else {
            "passed": verification.passed, "missing": verification.missing,
            **({"reference_tables": verification.reference_tables,
                "column_counts": [{"table": table, "target": here, "reference": there} for table, here, there in verification.column_counts]}
               if result.reference else {}),
        },
        "summary": result.counts(),
        "elapsed_seconds": round(result.elapsed, 3),
        "exit_code": result.exit_code,
    }
    # One line, by the C encoder (indent would take the pure-Python one: 0.1 s at 1,500
    # changes); `| jq .` prints it for a person.
    return json.dumps(document)


def to_github_annotations(result: RunResult, type_key=None) -> str:  # type: ignore[no-untyped-def]
    """GitHub Actions workflow commands: an ::error per problem (the run's error, a
    failed or refused step, a missing critical column), a ::warning per difference left."""
    lines = []
    here, there = sides(result)
    if result.error:
        lines.append(_annotation("error", "sync-schema", result.error))
    for record in change_records(result, type_key):
        where = _where(record, result.dialect.default_schema if result.dialect else None)
        subject = f"{where}.{record.get('column') or record.get('name') or ''}".rstrip(".")
        text = f"{record['kind'].replace('_', ' ')} {subject}: {record[here] or '-'} in the {here}, {record[there] or '-'} in the {there}"
        if record["status"] == "applied":
            continue  # fixed: the text log lists it
        level = "error" if record["status"] in ("failed", "refused") else "warning"
        lines.append(_annotation(level, f"sync-schema: {record['status']}", text + (f" ({record['error']})" if record["error"] else "")))
    for missing in result.verification.missing if result.verification else []:
        lines.append(_annotation("error", "sync-schema: verification", missing))
    return "".join(line + "\n" for line in lines)


def _annotation(level: str, title: str, message: str) -> str:
    def escape(text: str, extra: str = "") -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if extra else text

    return f"::{level} title={escape(title, 'property')}::{escape(message)}"


_MARK = {"applied": "added" , "failed": "FAILED", "refused": "refused", "deferred": "deferred (locked)", "planned": "to apply", "review": "review"}


def to_markdown(result: RunResult, type_key=None) -> str:  # type: ignore[no-untyped-def]
    labels = sides(result)
    verification = result.verification
    verdict = "SKIPPED" if verification is None else ("PASSED" if verification.passed else "FAILED")
    lines = ["## sync-schema drift report", "", f"Database `{result.database}`, mode {result.mode}, verification **{verdict}**.", ""]
    if result.reference:
        lines[2] = f"Target `{result.database}`, reference `{result.reference}`, mode {result.mode}, verification **{verdict}**."
    if result.error:
        lines += [f"> **Error:** {result.error}", ""]
    if result.alembic is not None:
        state = result.alembic
        lines += [f"**Alembic:** `alembic_version` {', '.join(f'`{r}`' for r in state.current) or '(empty)'}"
                  + (f", head {', '.join(f'`{h}`' for h in state.heads)}" if state.heads is not None else f" ({state.note})"), ""]
        lines += [f"- pending: `{r.revision}` {r.message}" for r in state.pending]
        lines += [f"- recorded as applied but missing: `{a['object']}` (created by `{a['revision']}` {a['message']})" for a in state.attributed]
        if state.stamped:
            lines.append(f"- stamped at head {', '.join(f'`{h}`' for h in state.stamped)}: the replayed head schema and the database agree")
        if state.not_stamped:
            lines.append(f"- not stamped: {state.not_stamped}")
        lines += [""] if state.pending or state.attributed or state.stamped or state.not_stamped else []
    records = change_records(result, type_key)
    if not records and not result.error:
        lines.append(f"No drift: the {labels[0]} matches the {labels[1]}.")
    by_table: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        where = _where(record, result.dialect.default_schema if result.dialect else None)
        by_table.setdefault(where, []).append(record)
    for where, items in by_table.items():
        lines += [f"### {where}", "", f"| column | {labels[0]} | {labels[1]} | status |", "|---|---|---|---|"]
        for record in items:
            subject = _subject(record)
            status = _status_word(record, labels)
            lines.append(
                f"| {_cell(subject)} | {_cell(record[labels[0]] or '—')} | {_cell(record[labels[1]] or '—')} | {status} |"
            )
        lines.append("")
    review = [r for r in result.results if r.status == "review" and r.step.sql]  # each step once: pasting it must work
    if review:
        lines += ["### SQL to review", "", "```sql"]
        for step_result in review:
            lines.append(one_line(f"-- {step_result.step.description}"))
            lines += [sql.rstrip(";") + ";" for sql in step_result.step.sql]
        lines += ["```", ""]
    if verification and verification.missing:
        lines += ["### Verification", ""] + [f"- {m}" for m in verification.missing] + [""]
    return "\n".join(lines)


def _subject(record: dict[str, Any]) -> str:
    """What a change is about, in a drift table's row: a column, "index ix_a" (an object of
    the table), "view daily" (an object the tool does not create), "(table)"."""
    if record.get("column"):
        return str(record["column"])
    if not record.get("name"):
        return "(table)"
    if record["kind"] == "not_synced":
        return str(record["name"])
    return f"{record['kind'].split('_', 1)[-1]} {record['name']}"


def _status_word(record: dict[str, Any], labels: tuple[str, str]) -> str:
    status: str = record["status"]
    kind: str = record["kind"]
    if status != "review":
        return _MARK.get(status, status)
    if kind.startswith("extra"):
        return f"not in {labels[1]}"
    if kind.startswith("missing"):
        return f"missing in {labels[0]}"
    return _DIFFERS.get(kind, kind.replace("_", " "))


_DIFFERS = {
    "type_mismatch": "type differs",
    "nullable_mismatch": "nullability differs",
    "default_mismatch": "default differs",
    "index_mismatch": "index differs",
    "foreign_key_mismatch": "ON DELETE/UPDATE differ",
    "likely_rename": "renamed?",
}


def _where(record: dict[str, Any], default_schema: str | None) -> str:
    if not record["table"]:
        return f"schema {record['schema']}"
    return record["table"] if record["schema"] == default_schema else f"{record['schema']}.{record['table']}"


def to_text_table(result: RunResult, type_key=None) -> str:  # type: ignore[no-untyped-def]
    """The drift as a plain table, one difference per line, for a terminal or a build log."""
    labels = sides(result)
    records = change_records(result, type_key)
    if not records:
        return "No drift: the two schemas match."
    header = ("table", "column / object", labels[0], labels[1], "status")
    rows = []
    for r in records:
        subject = _subject(r)
        table = _where(r, result.dialect.default_schema if result.dialect else None)
        rows.append((table, subject, _clip(r[labels[0]] or "-"), _clip(r[labels[1]] or "-"), _status_word(r, labels)))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _clip(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(text: str) -> str:
    return one_line(text.replace("|", "\\|"))


def to_sql_script(result: RunResult) -> str:
    """The whole script: what was (or would be) applied, then what is left for review,
    commented out with its reason, so that `psql -v ON_ERROR_STOP=1 -f` of a dry run's
    script applies exactly what the run would."""
    applied = [r for r in result.results if r.status in ("applied", "planned")]
    other = [r for r in result.results if r.status not in ("applied", "planned")]
    verb = "applied" if result.mode == "apply" else "would apply"
    lines = [one_line(f"-- sync-schema {__version__}: {result.database}"), f"-- mode {result.mode}", ""]
    lines += [f"-- ===== {verb} ====="]
    for r in applied:
        lines += _script_step(r)
    lines += ["", "-- ===== left for review (not applied) ====="]
    for r in other:
        lines += _script_step(r)
    return "\n".join(lines) + "\n"


def _script_step(result: StepResult) -> list[str]:
    step = result.step
    # Every comment line on one line: a name from the database may hold a newline.
    out = ["", one_line(f"-- {step.description}")]
    if step.requires == BY_HAND:
        out.append("--   the tool does not create it: review the reference's definition below and run it by hand")
    elif step.requires:
        out.append(f"--   needs: --allow {step.requires}" if step.requires != "relax-not-null" else "--   relaxing NOT NULL keeps every row")
    out += [one_line(f"--   hazard: {h}") for h in step.hazards]
    if result.status not in ("applied", "planned", "review"):
        out.append(one_line(f"--   {result.status}: {result.error or ''}".rstrip(": ")))
    if not step.transactional:
        out.append("--   runs outside a transaction block")
    statements = [sql.rstrip().rstrip(";") + ";" for sql in step.sql]
    if result.status not in ("applied", "planned"):
        # Not to be run as it is: each line commented (a statement may span lines).
        statements = ["-- " + line if line else "--" for sql in statements for line in sql.split("\n")]
    return out + (statements or ["-- (no SQL: this database cannot do it in place)"])
