-- Server facts, every non-system schema and its enum types, and two settings for the rest
-- of the read transaction. JIT off: catalog queries are short, and a mis-estimated plan
-- can cost more in JIT compilation than in execution (seen: 0.5 s of 0.6 s). A lock
-- timeout: spelling out a CHECK constraint or an index predicate or expression opens its
-- table, and behind another session's ACCESS EXCLUSIVE lock (a migration, VACUUM FULL)
-- that would wait for as long as the lock is held.
SELECT set_config('jit', 'off', true) AS jit,
       set_config('lock_timeout', :lock_timeout, true) AS lock_timeout,
       current_schema() AS current_schema,
       current_setting('server_version_num')::int AS server_version,
       ARRAY(
           SELECT nspname::text FROM pg_namespace
           WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
           ORDER BY nspname
       ) AS schemas,
       -- Enum types as [schema, name, [labels in sort order]]: JSON, because an array of
       -- arrays must be rectangular; in this row, because a query more is a round trip more.
       (SELECT json_agg(json_build_array(n.nspname, t.typname, ARRAY(
                   SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder
               )) ORDER BY n.nspname, t.typname)
        FROM pg_type t
        JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype = 'e' AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
       ) AS enums,
       -- Operator classes that are not their type's default: an index key using one names it.
       (SELECT json_object_agg(oc.oid::text, oc.opcname) FROM pg_opclass oc WHERE NOT oc.opcdefault) AS opclasses,
       -- Comments on tables and columns as [schema, table, column or null, comment]: few
       -- have one, so they come here rather than as a join on every column's row (a join
       -- there cost 30% of the columns query at 1,000 tables).
       (SELECT json_agg(json_build_array(n.nspname, c.relname, a.attname, ds.description))
        FROM pg_description ds
        JOIN pg_class c ON c.oid = ds.objoid AND c.relkind IN ('r', 'p')
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ds.objsubid AND ds.objsubid > 0
        WHERE ds.classoid = 'pg_class'::regclass AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
       ) AS comments,
       -- Identity columns whose sequence has an option other than the default, as
       -- [schema, table, column, start, increment, min, max, cache, cycle]: few have one.
       (SELECT json_agg(json_build_array(n.nspname, c.relname, a.attname, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle))
        FROM pg_sequence s
        JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.seqrelid AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'i'
        JOIN pg_class c ON c.oid = d.refobjid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
        WHERE a.attidentity <> '' AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
          AND (s.seqstart <> 1 OR s.seqincrement <> 1 OR s.seqmin <> 1 OR s.seqcache <> 1 OR s.seqcycle
               OR s.seqmax <> CASE s.seqtypid WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN 2147483647 ELSE 9223372036854775807 END)
       ) AS identity_options
