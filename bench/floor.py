"""The catalog floor: the least it can cost to fetch the facts a schema diff needs.

Written here independently of sync_schema's own queries (none of its code is imported):
one set-based query per kind of catalog object, raw psycopg2 with autocommit (no
BEGIN/COMMIT round trips), rows fetched as plain tuples and nothing built from them.
The facts are those sync_schema reads: for every ordinary or partitioned table of the
schemas, its row estimate and its columns (name, type as format_type() spells it,
NOT NULL, default expression, identity, generated and its expression, a collation other
than the default); its primary key, unique, foreign key (with the referenced table,
columns, actions and deferral) and check constraints; the indexes that do not back a
constraint (key columns or expressions, INCLUDE columns, each key's DESC / NULLS and
operator class, unique, valid, method, predicate); the comments on tables and columns;
the operator classes that are not a type's default; and the enum types with their labels,
plus which schemas exist.

Where the catalog already holds a fact in a cheap form, the floor takes that form:
a column default is decompiled without a relation (pg_get_expr(adbin, 0): defaults hold
no column references, and given a relation the function opens it, which cost 40% of the
columns query on a fresh session); constraint and index columns come as attribute
numbers (a consumer maps them to names with the attnum column of the first query, a dict
lookup), and nothing is sorted (the attnum column gives the column order).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg2

COLUMNS = """
SELECT n.nspname, c.relname, c.oid, c.reltuples,
       a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, 0) END, a.attidentity, a.attgenerated,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END,
       CASE WHEN a.attcollation NOT IN (0, 100) THEN a.attcollation END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""

CONSTRAINTS = """
SELECT con.conrelid, con.conname, con.contype, con.conkey,
       con.confrelid, rn.nspname, rc.relname, con.confkey, con.confdeltype, con.confupdtype,
       CASE WHEN con.contype = 'c' THEN pg_get_constraintdef(con.oid, true) END,
       con.convalidated, con.condeferrable, con.condeferred
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE n.nspname = ANY(%(schemas)s) AND con.contype IN ('p', 'u', 'f', 'c') AND c.relkind IN ('r', 'p')
"""

# Expression indexes need pg_get_indexdef(); plain column indexes (the common case) only
# need indkey, so the expensive call is made for expression indexes only.
INDEXES = """
SELECT ix.indrelid, i.relname, ix.indisunique, ix.indisvalid, am.amname, ix.indnkeyatts,
       ix.indkey::int2[], ix.indoption::int2[], ix.indclass::oid[],
       CASE WHEN ix.indexprs IS NOT NULL THEN pg_get_indexdef(ix.indexrelid) END,
       pg_get_expr(ix.indpred, ix.indrelid, true)
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE n.nspname = ANY(%(schemas)s) AND t.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype IN ('p', 'u', 'x'))
"""

# Every user schema, with its enum types (if any) and their labels in order.
SCHEMAS_AND_ENUMS = """
SELECT n.nspname, t.typname,
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
FROM pg_namespace n
LEFT JOIN pg_type t ON t.typnamespace = n.oid AND t.typtype = 'e'
WHERE n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'
"""

# Comments on tables and columns (few rows: most objects have none), and the operator
# classes that are not their type's default (an index key naming one shows it).
COMMENTS = """
SELECT ds.objoid, ds.objsubid, ds.description
FROM pg_description ds
JOIN pg_class c ON c.oid = ds.objoid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ds.classoid = 'pg_class'::regclass AND n.nspname = ANY(%(schemas)s)
"""
OPCLASSES = "SELECT oid, opcname FROM pg_opclass WHERE NOT opcdefault"

QUERIES = {
    "columns": COLUMNS, "constraints": CONSTRAINTS, "indexes": INDEXES, "schemas_enums": SCHEMAS_AND_ENUMS,
    "comments": COMMENTS, "opclasses": OPCLASSES,
}


@dataclass
class FloorResult:
    seconds: float
    queries: int
    rows: dict[str, int]
    per_query: dict[str, float]


def fetch(conn: psycopg2.extensions.connection, schemas: list[str]) -> FloorResult:
    """Run the floor's queries on an autocommit connection and fetch every row."""
    per_query: dict[str, float] = {}
    rows: dict[str, int] = {}
    started = time.perf_counter()
    with conn.cursor() as cur:
        for name, sql in QUERIES.items():
            began = time.perf_counter()
            cur.execute(sql, {"schemas": schemas})
            rows[name] = len(cur.fetchall())
            per_query[name] = time.perf_counter() - began
    return FloorResult(time.perf_counter() - started, len(QUERIES), rows, per_query)


def connect(dsn: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    return conn
