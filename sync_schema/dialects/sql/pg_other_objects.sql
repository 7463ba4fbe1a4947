-- What the tool reads but does not create, in the schemas asked for: views, materialized
-- views, sequences no column owns, foreign tables, functions and procedures, triggers,
-- policies, rules, exclusion constraints, domains, composite types, and the database's
-- extensions. Objects an extension made are left out (its CREATE EXTENSION makes them).
-- One row each: kind, schema, name (with what identifies it: a function's argument
-- types, a trigger's table), and SQL that recreates it where the server spells it.
WITH extension_members AS (
    SELECT objid, classid FROM pg_depend WHERE deptype = 'e'
)
SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' ELSE 'foreign table' END,
       n.nspname::text, c.relname::text,
       CASE c.relkind
           WHEN 'v' THEN 'CREATE VIEW ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' AS ' || pg_get_viewdef(c.oid, true)
           WHEN 'm' THEN 'CREATE MATERIALIZED VIEW ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' AS ' || pg_get_viewdef(c.oid, true)
           WHEN 'S' THEN 'CREATE SEQUENCE ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
       END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm', 'S', 'f') AND n.nspname = ANY(:schemas)
  AND c.oid NOT IN (SELECT objid FROM extension_members WHERE classid = 'pg_class'::regclass)
  -- A sequence a column owns (SERIAL, an identity) comes with its column.
  AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
       n.nspname::text, p.proname::text || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       CASE WHEN p.prokind IN ('f', 'p') THEN pg_get_functiondef(p.oid) END
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY(:schemas)
  AND p.oid NOT IN (SELECT objid FROM extension_members WHERE classid = 'pg_proc'::regclass)
UNION ALL
SELECT 'trigger', n.nspname::text, t.tgname::text || ' on ' || c.relname::text, pg_get_triggerdef(t.oid, true)
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND n.nspname = ANY(:schemas)
UNION ALL
SELECT 'policy', n.nspname::text, pol.polname::text || ' on ' || c.relname::text, NULL
FROM pg_policy pol
JOIN pg_class c ON c.oid = pol.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(:schemas)
UNION ALL
SELECT 'rule', n.nspname::text, r.rulename::text || ' on ' || c.relname::text, pg_get_ruledef(r.oid, true)
FROM pg_rewrite r
JOIN pg_class c ON c.oid = r.ev_class
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE r.rulename <> '_RETURN' AND n.nspname = ANY(:schemas)
UNION ALL
SELECT 'exclusion constraint', n.nspname::text, con.conname::text || ' on ' || c.relname::text,
       'ALTER TABLE ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' ADD CONSTRAINT ' || quote_ident(con.conname)
       || ' ' || pg_get_constraintdef(con.oid, true)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype = 'x' AND n.nspname = ANY(:schemas)
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'composite type' END, n.nspname::text, t.typname::text,
       CASE WHEN t.typtype = 'd' THEN 'CREATE DOMAIN ' || quote_ident(n.nspname) || '.' || quote_ident(t.typname) || ' AS '
            || format_type(t.typbasetype, t.typtypmod) || coalesce(' DEFAULT ' || t.typdefault, '')
            || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
            || coalesce((SELECT string_agg(' CONSTRAINT ' || quote_ident(dc.conname) || ' ' || pg_get_constraintdef(dc.oid), '' ORDER BY dc.conname)
                         FROM pg_constraint dc WHERE dc.contypid = t.oid), '') END
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class tc ON tc.oid = t.typrelid
WHERE (t.typtype = 'd' OR (t.typtype = 'c' AND tc.relkind = 'c')) AND n.nspname = ANY(:schemas)
  AND t.oid NOT IN (SELECT objid FROM extension_members WHERE classid = 'pg_type'::regclass)
UNION ALL
SELECT 'extension', n.nspname::text, e.extname::text, 'CREATE EXTENSION IF NOT EXISTS ' || quote_ident(e.extname)
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql'
