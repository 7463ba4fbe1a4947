-- Server facts and every non-system schema. JIT off for the rest of the transaction:
-- catalog queries are short, and a mis-estimated plan can cost more in JIT compilation
-- than in execution (seen: 0.5 s of 0.6 s).
SELECT set_config('jit', 'off', true) AS jit,
       current_schema() AS current_schema,
       current_setting('server_version_num')::int AS server_version,
       ARRAY(
           SELECT nspname::text FROM pg_namespace
           WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
           ORDER BY nspname
       ) AS schemas
