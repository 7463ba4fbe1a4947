-- Server facts and every non-system schema, and two settings for the rest of the read
-- transaction. JIT off: catalog queries are short, and a mis-estimated plan can cost more
-- in JIT compilation than in execution (seen: 0.5 s of 0.6 s). A lock timeout: spelling
-- out a CHECK constraint or an index predicate or expression opens its table, and behind
-- another session's ACCESS EXCLUSIVE lock (a migration, VACUUM FULL) that would wait
-- for as long as the lock is held.
SELECT set_config('jit', 'off', true) AS jit,
       set_config('lock_timeout', :lock_timeout, true) AS lock_timeout,
       current_schema() AS current_schema,
       current_setting('server_version_num')::int AS server_version,
       ARRAY(
           SELECT nspname::text FROM pg_namespace
           WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
           ORDER BY nspname
       ) AS schemas
