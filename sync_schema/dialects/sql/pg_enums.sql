-- Enum types with their labels in sort order, in every non-system schema.
SELECT n.nspname::text AS schema_name,
       t.typname::text AS name,
       ARRAY(
           SELECT e.enumlabel::text FROM pg_enum e
           WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder
       ) AS labels
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e'
  AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
ORDER BY n.nspname, t.typname
