-- Indexes that are not the backing index of a primary key, unique or exclusion constraint.
-- Key columns come as names; expressions (attnum 0) as their SQL text.
SELECT n.nspname::text AS schema_name,
       t.relname::text AS table_name,
       i.relname::text AS name,
       ix.indisunique AS is_unique,
       ix.indisvalid AS is_valid,
       am.amname::text AS method,
       pg_get_expr(ix.indpred, ix.indrelid, true) AS predicate,
       ARRAY(
           SELECT CASE WHEN ix.indkey[k - 1] = 0
                       THEN '(' || pg_get_indexdef(ix.indexrelid, k, true) || ')'
                       ELSE (SELECT a.attname::text FROM pg_attribute a
                             WHERE a.attrelid = ix.indrelid AND a.attnum = ix.indkey[k - 1])
                  END
           FROM generate_series(1, ix.indnkeyatts) AS k
           ORDER BY k
       ) AS expressions
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = i.relam
WHERE t.relkind IN ('r', 'p')
  AND n.nspname = ANY(:schemas)
  AND NOT EXISTS (
      SELECT 1 FROM pg_constraint con
      WHERE con.conindid = ix.indexrelid AND con.contype IN ('p', 'u', 'x')
  )
ORDER BY n.nspname, t.relname, i.relname
