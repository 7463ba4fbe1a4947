-- MySQL / MariaDB overview: each schema (database) asked for that exists, and its base
-- tables with what the planner needs to know of them: the default collation (a column's
-- collation is reported only where it differs), the comment, the row estimate and the
-- size on disk (a rebuild above the size limit is left for review). A schema without
-- tables still has its row (table_name NULL), so that it is known to exist. Then each
-- character set's default collation (for a column of another charset than its table's).
SELECT 't', s.SCHEMA_NAME, t.TABLE_NAME, t.TABLE_COLLATION, t.TABLE_COMMENT, t.TABLE_ROWS,
       t.DATA_LENGTH + t.INDEX_LENGTH
FROM information_schema.SCHEMATA s
LEFT JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME AND t.TABLE_TYPE = 'BASE TABLE'
WHERE s.SCHEMA_NAME IN :schemas
UNION ALL
SELECT 'c', NULL, CHARACTER_SET_NAME, DEFAULT_COLLATE_NAME, NULL, NULL, NULL
FROM information_schema.CHARACTER_SETS
