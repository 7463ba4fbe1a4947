-- Server facts and every non-system schema.
SELECT current_schema() AS current_schema,
       current_setting('server_version_num')::int AS server_version,
       ARRAY(
           SELECT nspname::text FROM pg_namespace
           WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
           ORDER BY nspname
       ) AS schemas
