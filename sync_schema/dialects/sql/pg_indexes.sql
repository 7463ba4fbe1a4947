-- Indexes that are not the backing index of a primary key, unique or exclusion constraint.
-- Key columns come as attribute numbers (named from the columns query); expressions as SQL.
-- Unsorted and uncast: rows are grouped and sorted by the reader, names come as str anyway.
SELECT n.nspname AS schema_name,
       t.relname AS table_name,
       i.relname AS name,
       ix.indisunique AS is_unique,
       ix.indisvalid AS is_valid,
       am.amname AS method,
       pg_get_expr(ix.indpred, ix.indrelid, true) AS predicate,
       (ix.indkey::int2[])[0:ix.indnkeyatts - 1] AS keys,
       -- INCLUDE columns, then per key: DESC / NULLS FIRST bits and the operator class
       -- (named from the overview's list of non-default ones). NULL where there are
       -- none, the usual case: three arrays more on every index row cost the reader 5 ms
       -- at 1,000 tables.
       CASE WHEN ix.indnatts > ix.indnkeyatts THEN (ix.indkey::int2[])[ix.indnkeyatts:ix.indnatts - 1] END AS include_keys,
       CASE WHEN 0 <> ANY(ix.indoption::int2[]) OR ix.indclass::oid[] && (SELECT array_agg(oc.oid) FROM pg_opclass oc WHERE NOT oc.opcdefault)
            THEN (ix.indoption::int2[])[0:ix.indnkeyatts - 1] END AS key_options,
       CASE WHEN 0 <> ANY(ix.indoption::int2[]) OR ix.indclass::oid[] && (SELECT array_agg(oc.oid) FROM pg_opclass oc WHERE NOT oc.opcdefault)
            THEN (ix.indclass::oid[])[0:ix.indnkeyatts - 1] END AS key_opclasses,
       -- Expressions (key 0) only where there are some: pg_get_indexdef is costly per call.
       CASE WHEN 0 = ANY(ix.indkey::int2[]) THEN ARRAY(
           SELECT pg_get_indexdef(ix.indexrelid, k, true) FROM generate_series(1, ix.indnkeyatts) AS k ORDER BY k
       ) END AS key_definitions
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE t.relkind IN ('r', 'p')
  AND n.nspname = ANY(:schemas)
  -- NOT IN over one subquery: hashed once, where a correlated NOT EXISTS would scan
  -- pg_constraint (no index on conindid) for every index.
  AND ix.indexrelid NOT IN (
      SELECT con.conindid FROM pg_constraint con WHERE con.contype IN ('p', 'u', 'x') AND con.conindid <> 0
  )
