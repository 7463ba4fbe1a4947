-- MySQL / MariaDB overview: each schema (database) asked for that exists, a row of its
-- own (table_name NULL: a schema without tables is known to exist too), and its base
-- tables with what the planner needs to know of them: the default collation (a column's
-- collation is reported only where it differs), the comment, the row estimate and the
-- size on disk (a rebuild above the size limit is left for review). Not a join of
-- SCHEMATA and TABLES: MariaDB then opens every table of every database on the server
-- ("Scanned all databases"); TABLES filtered by its own TABLE_SCHEMA scans the schemas
-- asked for only. Then each character set's default collation (for a column of another
-- charset than its table's).
SELECT 't', s.SCHEMA_NAME, NULL, NULL, NULL, NULL, NULL
FROM information_schema.SCHEMATA s
WHERE s.SCHEMA_NAME IN :schemas
UNION ALL
SELECT 't', t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_COLLATION, t.TABLE_COMMENT, t.TABLE_ROWS,
       t.DATA_LENGTH + t.INDEX_LENGTH
FROM information_schema.TABLES t
WHERE t.TABLE_SCHEMA IN :schemas AND t.TABLE_TYPE = 'BASE TABLE'
UNION ALL
SELECT 'c', NULL, CHARACTER_SET_NAME, DEFAULT_COLLATE_NAME, NULL, NULL, NULL
FROM information_schema.CHARACTER_SETS
