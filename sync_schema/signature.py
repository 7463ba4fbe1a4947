"""What compares equal, worked out once as a value: a table's signature.

The differ compares types and defaults through the dialect's normalization, which costs
microseconds per column. A signature holds everything the differ compares, normalized,
in one tuple that compares at C speed, so that most of a deployed app's tables (in sync)
and most columns of the rest are recognized as equal without being compared again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from .snapshot import Column, Table

if TYPE_CHECKING:
    from .dialects import Dialect

# A signature: (one entry per column, then the sets of indexes, uniques, foreign keys and
# checks, then the table's own attributes: primary key and comment).
Signature = tuple[tuple[tuple[object, ...], ...], frozenset, frozenset, frozenset, frozenset, tuple]  # type: ignore[type-arg]


def column_entry(column: Column, dialect: Dialect) -> tuple[object, ...]:
    """A column's signature entry: everything compare_columns compares, normalized.
    The models' compiler and PostgreSQL's catalog reader build the same tuple inline,
    in the same order (tests/test_signature.py checks them against this)."""
    numbered = column.autoincrement is not None or dialect.numbering_defaults[column.default]
    return (
        column.name, dialect.type_keys[column.type], column.nullable, numbered,
        None if numbered else dialect.default_keys[column.default_as_stored or column.default],
        dialect.expression_keys[column.generated], column.comment, column.collation,
    )


def table_signature(table: Table, dialect: Dialect, column_entries: tuple[tuple[object, ...], ...] | None = None) -> Signature:
    """Everything the differ compares in a table, normalized the way it compares it.
    Equal signatures mean no difference, and so does each equal part (a column's entry,
    a kind of index or constraint). Not the converse: column order, the spelling of index
    expressions and unnamed objects are kept, so what is unequal is compared in full.

    Worked out once per table and dialect, and kept on the table. Whoever builds a table
    may hand in the column entries it built along with the columns (the models' compiler
    and PostgreSQL's catalog reader do: a second pass over tens of thousands of columns
    cost as much again), spelled as column_entry() spells them."""
    kept = table.__dict__.get("_signature")
    if kept is not None and kept[0] is dialect:
        return kept[1]  # type: ignore[no-any-return]
    signature = (
        column_entries if column_entries is not None else tuple([column_entry(c, dialect) for c in table.columns]),
        frozenset([(ix.name, ix.expressions, ix.unique, ix.where is None, ix.method or None, ix.valid, ix.include, ix.options)
                   for ix in table.indexes]) if table.indexes else _NONE,
        frozenset([frozenset(u.columns) for u in table.uniques]) if table.uniques else _NONE,
        frozenset([fk[1:] for fk in table.foreign_keys]) if table.foreign_keys else _NONE,  # all but the name, as compared
        frozenset([(c.name, dialect.expression_keys[c.sqltext]) for c in table.checks]) if table.checks else _NONE,
        (table.primary_key, table.comment),
    )
    object.__setattr__(table, "_signature", (dialect, signature))
    return signature


_NONE: frozenset[object] = frozenset()


class ColumnMatch(NamedTuple):
    """How a table's desired columns match the actual table's."""

    unequal: tuple[Column, ...]  # the desired columns the actual table lacks as they are: missing, renamed or different
    appended: bool  # they are new columns after all of the actual table's, which match: nothing else to compare


def match_columns(desired: Table, actual: Table, dialect: Dialect, signatures: tuple[Signature, Signature] | None = None) -> ColumnMatch:
    """Which desired columns need comparing (and respelling of their defaults): only
    those whose signature entries the actual table lacks. `signatures`: both tables',
    where the caller has them at hand."""
    want, have = signatures or (table_signature(desired, dialect), table_signature(actual, dialect))
    want_columns, have_columns = want[0], have[0]
    if want_columns[: len(have_columns)] == have_columns:  # the usual drift: columns added at the end of a model
        return ColumnMatch(desired.columns[len(have_columns) :], True)
    have_entries = set(have_columns)
    return ColumnMatch(tuple([column for column, entry in zip(desired.columns, want_columns, strict=True) if entry not in have_entries]), False)
