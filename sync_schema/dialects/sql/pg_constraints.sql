-- Primary keys, unique, foreign key and check constraints. Columns come as attribute
-- numbers in declared order, named from the columns query (cheaper than a subquery per row).
-- Unsorted and uncast: rows are grouped and sorted by the reader, names come as str anyway.
SELECT n.nspname AS schema_name,
       c.relname AS table_name,
       con.conname AS name,
       con.contype::text AS kind,
       con.conkey AS keys,
       rn.nspname AS ref_schema,
       rc.relname AS ref_table,
       con.confkey AS ref_keys,
       -- Referenced columns are named from the columns query when their table was
       -- inspected too; only a reference into another schema is named here.
       CASE WHEN con.contype = 'f' AND NOT (rn.nspname = ANY(:schemas)) THEN ARRAY(
           SELECT a.attname::text
           FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
           ORDER BY k.ord
       ) END AS ref_names,
       con.confdeltype::text AS on_delete,
       con.confupdtype::text AS on_update,
       CASE WHEN con.contype = 'c' THEN pg_get_constraintdef(con.oid, true) END AS definition,
       con.convalidated AS validated,
       con.condeferrable AS deferrable,
       con.condeferred AS deferred
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c')
  AND c.relkind IN ('r', 'p')
  AND n.nspname = ANY(:schemas)
