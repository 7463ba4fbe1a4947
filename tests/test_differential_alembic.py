"""Differential test against Alembic's autogenerate comparison, on a generated corpus.

For every entry of a seeded corpus (tests/differential_corpus.py) of drifted schemas:

- every difference Alembic's `compare_metadata` (compare_type and compare_server_default
  on) reports is also reported by ours, directly or through a documented equivalence;
- ours reports exactly the drift the generator applied (the ground truth, which is
  stronger than agreeing with Alembic), and everything ours reports beyond Alembic is a
  documented Alembic blind spot;
- on the undrifted schema (create_all of the models) ours reports nothing, and so does
  Alembic.

Where the two disagree, the registries below say who is right and why; every entry of
them must actually be produced by the corpus (test_every_documented_disagreement_is_seen).

All entries share one database made for this module (dropped at the end); before each
comparison its public schema is dropped and made again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from differential_corpus import COLUMN_TYPES, MUTATIONS, TYPE_PAIRS, Entry, Finding, build_corpus
from sqlalchemy.dialects import postgresql

from sync_schema.dialects import dialect_for
from sync_schema.diff import Change, Kind, diff_snapshots
from sync_schema.from_models import snapshot_from_metadata
from sync_schema.read import read_and_diff

SEED = 20240611
CORPUS = build_corpus(SEED, 28)
BY_ID = {entry.id: entry for entry in CORPUS}


# -- running both differs ----------------------------------------------------------


@dataclass
class Outcome:
    ours: list[Change]
    alembic: list[tuple[Any, ...]]  # Alembic's diff tuples, nested lists flattened
    alembic_crash: str | None = None  # the error Alembic's own comparison raised, if any
    # (table, column) of our default mismatches whose two defaults the server says are
    # the same value (`SELECT CAST(a AS t) = CAST(b AS t)`): constants only, never functions.


def _crash_free_default_compare(context, inspected_column, metadata_column, inspected_default, metadata_default, rendered_metadata_default):  # type: ignore[no-untyped-def]
    """Alembic's own server-side default comparison, minus the two ways it raises.

    Used only after Alembic's unmodified comparison raised (ALEMBIC_CRASHES), so that the
    rest of the entry is still compared: on a json column (json has no `=`) compare as
    jsonb; for a string default with a quote, quote it properly. None hands every other
    column back to Alembic's comparison, unchanged.
    """
    if inspected_default is None or rendered_metadata_default is None or inspected_default == rendered_metadata_default:
        return None
    if any(isinstance(c.type, sa.JSON) and not isinstance(c.type, postgresql.JSONB) for c in (inspected_column, metadata_column)):
        sql = f"({inspected_default})::jsonb = ({rendered_metadata_default})::jsonb"
    elif isinstance(metadata_default.arg, str) and "'" in metadata_default.arg:
        quoted = "'" + metadata_default.arg.replace("'", "''") + "'"
        sql = f"{inspected_default} = {quoted}"
    else:
        return None
    return not context.connection.scalar(sa.select(sa.literal_column(sql)))


class Runner:
    """Both differs against one scratch database, outcomes cached per (entry, side)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = dialect_for(engine.dialect)
        self.cache: dict[tuple[str, str], Outcome] = {}

    def outcome(self, entry: Entry, side: str) -> Outcome:
        key = (entry.id, side)
        if key not in self.cache:
            # "undrifted": the database is create_all() of the models themselves.
            db_md = entry.models_metadata() if side == "undrifted" else entry.db_metadata()
            self.cache[key] = self._compare(db_md, entry.models_metadata())
        return self.cache[key]

    def create(self, db_md: sa.MetaData) -> None:
        """An empty public schema, then create_all()."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
            db_md.create_all(conn, checkfirst=False)

    def _compare(self, db_md: sa.MetaData, models: sa.MetaData) -> Outcome:
        self.create(db_md)
        with self.engine.connect() as conn:
            schemas = {t.schema or "public" for t in models.tables.values()} | {"public"}
            _, _, ours = read_and_diff(conn, self.dialect, [models], schemas, {"alembic_version"}, [])  # as run.py does
            conn.rollback()
            crash = None
            try:
                diffs = self._alembic(conn, models, True)
            except sa.exc.DBAPIError as exc:
                conn.rollback()
                crash = str(exc.orig).strip().splitlines()[0]
                diffs = self._alembic(conn, models, _crash_free_default_compare)
            conn.rollback()
        # Column modifications come as a list of tuples per column; flatten them.
        flat = [d for item in diffs for d in (item if isinstance(item, list) else [item])]
        return Outcome(ours, flat, crash)

    @staticmethod
    def _alembic(conn: sa.Connection, models: sa.MetaData, compare_server_default: object) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": compare_server_default})
        return list(compare_metadata(context, models))


@pytest.fixture(scope="module")
def runner(pg_admin: sa.Engine) -> Iterator[Runner]:
    name = f"sync_schema_diff_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(pg_admin.url.set(database=name))
    try:
        yield Runner(engine)
    finally:
        engine.dispose()
        with pg_admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- one vocabulary for both -------------------------------------------------------


def ours_finding(change: Change) -> Finding:
    """Our change as (kind, table, key); constraints keyed by columns, not by name."""
    kind = change.kind
    if kind in (Kind.MISSING_TABLE, Kind.EXTRA_TABLE):
        return (kind.value, change.table, None)
    if kind in (Kind.MISSING_UNIQUE, Kind.EXTRA_UNIQUE):
        side = change.desired if kind is Kind.MISSING_UNIQUE else change.actual
        return (kind.value, change.table, frozenset(side.columns))  # type: ignore[union-attr]
    if kind in (Kind.MISSING_FOREIGN_KEY, Kind.EXTRA_FOREIGN_KEY, Kind.FOREIGN_KEY_MISMATCH):
        side = change.actual if kind is Kind.EXTRA_FOREIGN_KEY else change.desired
        return (kind.value, change.table, tuple(side.columns))  # type: ignore[union-attr]
    return (kind.value, change.table, change.name)


_ALEMBIC_COLUMN_OPS = {"modify_type": "type_mismatch", "modify_nullable": "nullable_mismatch", "modify_default": "default_mismatch"}


def alembic_finding(item: tuple[Any, ...]) -> Finding:
    """Alembic's diff tuple in our vocabulary; an operation we have no name for stays 'alembic:<op>'
    (and so is covered by nothing of ours: the test fails and shows it)."""
    op = item[0]
    if op in ("add_table", "remove_table"):
        return ("missing_table" if op == "add_table" else "extra_table", item[1].name, None)
    if op in ("add_column", "remove_column"):  # (op, schema, table, Column)
        return ("missing_column" if op == "add_column" else "extra_column", item[2], item[3].name)
    if op in _ALEMBIC_COLUMN_OPS:  # (op, schema, table, column, existing info, old, new)
        return (_ALEMBIC_COLUMN_OPS[op], item[2], item[3])
    if op in ("add_index", "remove_index"):
        return ("missing_index" if op == "add_index" else "extra_index", item[1].table.name, item[1].name)
    if op in ("add_constraint", "remove_constraint") and isinstance(item[1], sa.UniqueConstraint):
        uq = item[1]
        return ("missing_unique" if op == "add_constraint" else "extra_unique", uq.table.name, frozenset(c.name for c in uq.columns))
    if op in ("add_fk", "remove_fk"):
        fk = item[1]
        return ("missing_foreign_key" if op == "add_fk" else "extra_foreign_key", fk.table.name, tuple(c.name for c in fk.columns))
    return (f"alembic:{op}", None, repr(item))


def cover(finding: Finding, ours: list[Change]) -> tuple[Change, str] | None:
    """The change of ours that reports `finding` (Alembic's or the generator's), and by
    which rule, if any.

    "same" is the plain case; every other rule is a place where ours reports one change
    for what Alembic reports as two or more, on purpose.
    """
    kind, table, key = finding
    for change in ours:
        if change.table != table:
            continue
        if ours_finding(change) == finding:
            return change, "same"
        ck = change.kind
        # One column missing and one extra of a compatible type in a table: ours says
        # "likely renamed" (the fix is a RENAME that keeps the data); Alembic says
        # add_column + remove_column (the fix loses the data).
        if ck is Kind.LIKELY_RENAME and kind == "missing_column" and change.name == key:
            return change, "likely_rename"
        if ck is Kind.LIKELY_RENAME and kind == "extra_column" and change.actual.name == key:  # type: ignore[union-attr]
            return change, "likely_rename"
        # The same index under another name: ours renames it; Alembic drops and rebuilds it.
        if ck is Kind.RENAME_INDEX and kind == "missing_index" and change.name == key:
            return change, "rename_index"
        if ck is Kind.RENAME_INDEX and kind == "extra_index" and change.actual.name == key:  # type: ignore[union-attr]
            return change, "rename_index"
        # A foreign key on the same columns and target with other ON DELETE / ON UPDATE
        # actions: ours says "mismatch"; Alembic says remove_fk + add_fk.
        if ck is Kind.FOREIGN_KEY_MISMATCH and kind in ("missing_foreign_key", "extra_foreign_key") and ours_finding(change)[2] == key:
            return change, "foreign_key_mismatch"
        # Alembic lists the indexes of a table it adds or drops as add_index / remove_index
        # items of their own; ours creates (or leaves) the table with its indexes as one change.
        if (ck, kind) in ((Kind.MISSING_TABLE, "missing_index"), (Kind.EXTRA_TABLE, "extra_index")):
            return change, "table with its indexes"
    return None


COVER_RULES = {"same", "likely_rename", "rename_index", "foreign_key_mismatch", "table with its indexes"}


def covered_by(finding: Finding, ours: list[Change]) -> Change | None:
    found = cover(finding, ours)
    return found[0] if found else None


# -- where the two disagree, and who is right ----------------------------------------

# Ours reports it, Alembic cannot: ours is right (each also matches the applied drift).
ALEMBIC_BLIND_SPOTS: dict[str, tuple[Callable[[Change], bool], str]] = {
    "enum labels": (
        lambda c: c.kind is Kind.MISSING_ENUM_VALUES,
        "compare_metadata does not compare the labels of a PostgreSQL enum type (compare_type sees "
        "ENUM = ENUM); the database would reject a value the models write",
    ),
    "enum type": (
        lambda c: c.kind is Kind.MISSING_ENUM,
        "Alembic does not report a missing enum type, only the table or column that uses it (it makes "
        "the type as a side effect); ours reports the type itself, which must exist before its columns",
    ),
}

# Alembic's comparison raises: Alembic is wrong (the schemas are fine). The entry is then
# compared again with _crash_free_default_compare.
ALEMBIC_CRASHES: dict[str, tuple[str, str]] = {
    "json default": (
        "operator does not exist: json = unknown",
        "alembic/ddl/postgresql.py PostgresqlImpl.compare_server_default runs `SELECT '{}'::json = '{}'` "
        "for any json column with a server default, and json has no = operator "
        "(sqlalchemy/alembic#1119, open); compare_metadata raises on the undrifted schema too",
    ),
    "quote in a string default": (
        "unterminated quoted string",
        "the same function wraps a string server default in quotes without doubling the quotes inside: "
        "server_default=\"it's\" becomes `SELECT 'it''s'::character varying = 'it's'`, a syntax error",
    ),
}

# Alembic reports it, and it is not a difference: (predicate over Alembic's tuple, why).
# None in this corpus: Alembic's server-side comparison (when it does not raise) is right
# about respelled constants, where ours is not (OURS_FALSE_POSITIVES).
ALEMBIC_FALSE_POSITIVES: dict[str, tuple[Callable[[tuple[Any, ...]], bool], str]] = {}

# Ours reports it, and it is not a difference: (predicate, why). Empty since
# PostgreSQLDialect.respell_defaults asks the server to spell literal defaults (time '08:30'
# is stored as '08:30:00', jsonb '{"a":[1]}' as '{"a": [1]}', boolean '0' as false):
# test_literal_defaults_the_server_respells_are_not_differences guards each spelling.
OURS_FALSE_POSITIVES: dict[str, tuple[Callable[[Change, Outcome], bool], str]] = {}


def blind_spot(change: Change) -> str | None:
    return next((name for name, (match, _why) in ALEMBIC_BLIND_SPOTS.items() if match(change)), None)


def alembic_crash(outcome: Outcome) -> str | None:
    crash = outcome.alembic_crash
    return next((name for name, (message, _why) in ALEMBIC_CRASHES.items() if crash and message in crash), None)


def alembic_false_positive(item: tuple[Any, ...]) -> str | None:
    return next((name for name, (match, _why) in ALEMBIC_FALSE_POSITIVES.items() if match(item)), None)


def ours_false_positive(change: Change, outcome: Outcome) -> str | None:
    return next((name for name, (match, _why) in OURS_FALSE_POSITIVES.items() if match(change, outcome)), None)


def _show(findings: Any) -> str:
    return "\n".join(f"    {f}" for f in findings) or "    (none)"


def _context(entry: Entry, outcome: Outcome) -> str:
    def note(change: Change) -> str:
        bug = ours_false_positive(change, outcome)
        return f"  [known sync_schema false positive: {bug}]" if bug else ""

    return (
        f"\n  seed {entry.seed}, {entry.describe()}\n  ours:\n{_show(f'{ours_finding(c)}{note(c)}' for c in outcome.ours)}"
        f"\n  alembic:\n{_show(alembic_finding(i) for i in outcome.alembic)}"
        f"\n  alembic raised: {outcome.alembic_crash}"
    )


def _assert_crash_documented(entry: Entry, outcome: Outcome) -> None:
    assert outcome.alembic_crash is None or alembic_crash(outcome), (
        "Alembic's comparison raised an error not in ALEMBIC_CRASHES:" + _context(entry, outcome)
    )


# -- the corpus tests ------------------------------------------------------------------


@pytest.mark.parametrize("entry_id", sorted(BY_ID))
def test_undrifted_schema_shows_no_difference(entry_id: str, runner: Runner) -> None:
    entry = BY_ID[entry_id]
    outcome = runner.outcome(entry, "undrifted")
    ours = [ours_finding(c) for c in outcome.ours if not ours_false_positive(c, outcome)]
    assert ours == [], "ours reports differences on create_all() of the models:" + _context(entry, outcome)
    _assert_crash_documented(entry, outcome)
    alembic = [alembic_finding(i) for i in outcome.alembic if not alembic_false_positive(i)]
    assert alembic == [], "Alembic reports differences on create_all() of the models:" + _context(entry, outcome)


@pytest.mark.parametrize("entry_id", sorted(BY_ID))
def test_ours_covers_everything_alembic_reports(entry_id: str, runner: Runner) -> None:
    entry = BY_ID[entry_id]
    outcome = runner.outcome(entry, "drifted")
    _assert_crash_documented(entry, outcome)
    uncovered = [
        alembic_finding(item) for item in outcome.alembic
        if covered_by(alembic_finding(item), outcome.ours) is None and not alembic_false_positive(item)
    ]
    assert uncovered == [], "Alembic reports these and ours does not:\n" + _show(uncovered) + _context(entry, outcome)


@pytest.mark.parametrize("entry_id", sorted(BY_ID))
def test_ours_reports_exactly_the_drift_applied(entry_id: str, runner: Runner) -> None:
    entry = BY_ID[entry_id]
    outcome = runner.outcome(entry, "drifted")
    missed = [f for f in entry.expected if covered_by(f, outcome.ours) is None]
    assert missed == [], "ours misses drift that was applied:\n" + _show(missed) + _context(entry, outcome)
    invented = [
        ours_finding(c) for c in outcome.ours
        if not any(covered_by(f, [c]) for f in entry.expected) and not ours_false_positive(c, outcome)
    ]
    assert invented == [], "ours reports drift that was not applied:\n" + _show(invented) + _context(entry, outcome)


@pytest.mark.parametrize("entry_id", sorted(BY_ID))
def test_ours_beyond_alembic_is_a_known_blind_spot(entry_id: str, runner: Runner) -> None:
    entry = BY_ID[entry_id]
    outcome = runner.outcome(entry, "drifted")
    alembic = [alembic_finding(i) for i in outcome.alembic]
    only_ours = [c for c in outcome.ours if not any(covered_by(f, [c]) for f in alembic)]
    unclassified = [ours_finding(c) for c in only_ours if not blind_spot(c) and not ours_false_positive(c, outcome)]
    assert unclassified == [], (
        "ours reports these and Alembic does not; decide who is right and document it above:\n"
        + _show(unclassified) + _context(entry, outcome)
    )


def test_corpus_covers_every_mutation_and_type() -> None:
    """The corpus is only worth something if it draws every kind of drift and column type."""
    applied = {m.split("(")[0] for entry in CORPUS for m in entry.mutations}
    assert applied == set(MUTATIONS), f"never applied: {sorted(set(MUTATIONS) - applied)}"
    types = {c.type.split(":")[0] for entry in CORPUS for t in entry.models.tables for c in t.columns}
    assert types == set(COLUMN_TYPES), f"never drawn: {sorted(set(COLUMN_TYPES) - types)}"
    pairs = {
        (models.type, db.type)
        for entry in CORPUS for table in entry.db.tables if table.name in {t.name for t in entry.models.tables}
        for db in table.columns for models in entry.models.table(table.name).columns
        if models.name == db.name and models.type != db.type
    }
    assert pairs == set(TYPE_PAIRS), f"type changes never drawn: {sorted(set(TYPE_PAIRS) - pairs)}"
    defaults = {(d.kind, d.arg) for entry in CORPUS for t in entry.models.tables for c in t.columns for d in [c.default] if d}
    assert {kind for kind, _arg in defaults} == {"text", "literal", "true", "false", "now", "current_timestamp", "func"}
    assert build_corpus(SEED, 3)[2].describe() == CORPUS[2].describe(), "the corpus must be deterministic"


def test_every_documented_disagreement_is_seen(runner: Runner) -> None:
    """A documented disagreement or equivalence that the corpus never produces is a stale or
    untested claim."""
    seen: dict[str, set[str]] = {"blind": set(), "crash": set(), "alembic": set(), "ours": set(), "rules": set()}
    for entry in CORPUS:
        for side in ("undrifted", "drifted"):
            outcome = runner.outcome(entry, side)
            seen["rules"] |= {found[1] for i in outcome.alembic if (found := cover(alembic_finding(i), outcome.ours))}
            seen["blind"] |= {b for c in outcome.ours if (b := blind_spot(c))}
            seen["crash"] |= {c for c in [alembic_crash(outcome)] if c}
            seen["alembic"] |= {f for i in outcome.alembic if (f := alembic_false_positive(i))}
            seen["ours"] |= {f for c in outcome.ours if (f := ours_false_positive(c, outcome))}
    assert seen["blind"] == set(ALEMBIC_BLIND_SPOTS), f"never seen: {sorted(set(ALEMBIC_BLIND_SPOTS) - seen['blind'])}"
    assert seen["crash"] == set(ALEMBIC_CRASHES), f"never seen: {sorted(set(ALEMBIC_CRASHES) - seen['crash'])}"
    assert seen["alembic"] == set(ALEMBIC_FALSE_POSITIVES), f"never seen: {sorted(set(ALEMBIC_FALSE_POSITIVES) - seen['alembic'])}"
    assert seen["ours"] == set(OURS_FALSE_POSITIVES), f"never seen: {sorted(set(OURS_FALSE_POSITIVES) - seen['ours'])}"
    assert seen["rules"] == COVER_RULES, f"equivalences never used: {sorted(COVER_RULES - seen['rules'])}"


# -- literal defaults the server respells ---------------------------------------------------

RESPELLED_DEFAULTS = [
    ("time", sa.Time, "08:30"),  # stored as '08:30:00'::time without time zone
    ("interval", sa.Interval, sa.text("'2 hours'")),  # '02:00:00'::interval
    ("jsonb", postgresql.JSONB, sa.text("""'{"a":[1]}'""")),  # '{"a": [1]}'::jsonb
    ("int_array", lambda: postgresql.ARRAY(sa.Integer), sa.text("'{ 3, 4 }'")),  # '{3,4}'::integer[]
    ("date", sa.Date, "2000-1-1"),  # '2000-01-01'::date
    ("boolean", sa.Boolean, "0"),  # false
]


@pytest.mark.parametrize(("name", "type_", "default"), RESPELLED_DEFAULTS, ids=[r[0] for r in RESPELLED_DEFAULTS])
def test_literal_defaults_the_server_respells_are_not_differences(name: str, type_: Any, default: Any, runner: Runner) -> None:
    md = sa.MetaData()
    sa.Table("t", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column(name, type_(), server_default=default))
    runner.create(md)
    dialect = runner.dialect
    with runner.engine.connect() as conn:
        desired, actual, changes = read_and_diff(conn, dialect, [md], {"public"}, set(), [])  # as run.py does
        want, have = desired.tables[("public", "t")].column(name), actual.tables[("public", "t")].column(name)
        assert want is not None and have is not None
        # The premise, checked as Alembic would: the models' default cast to the column's
        # type equals the stored one.
        if not conn.scalar(sa.text(f"SELECT CAST(({want.default}) AS {have.type}) = {have.default}")):
            pytest.fail(f"not the same value: {want.default} and {have.default}")
    assert [(c.kind.value, c.name, c.detail) for c in changes] == []
    # And without the server's spelling, the default would be reported: the case tests something.
    assert [c.kind.value for c in diff_snapshots(snapshot_from_metadata([md], dialect), actual, dialect)] == ["default_mismatch"]
