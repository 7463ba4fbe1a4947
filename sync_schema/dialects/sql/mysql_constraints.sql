-- MySQL / MariaDB foreign keys and CHECK constraints (primary and unique keys are indexes
-- here: the indexes query has them), each information_schema table read once and joined
-- by the reader: on MariaDB a join of two of them costs a scan of one per row of the other
-- (0.19 s against 0.03 s at 1,000 tables). 'k': a foreign key's column; 'r': its actions;
-- 'c': a CHECK (mysql_checks.sql, for the server at hand; none where the server has no
-- information_schema.CHECK_CONSTRAINTS).
SELECT 'k', k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.ORDINAL_POSITION,
       k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE k
WHERE k.TABLE_SCHEMA IN :schemas AND k.REFERENCED_TABLE_NAME IS NOT NULL
UNION ALL
SELECT 'r', r.CONSTRAINT_SCHEMA, r.TABLE_NAME, r.CONSTRAINT_NAME, r.DELETE_RULE, NULL, NULL, NULL, r.UPDATE_RULE
FROM information_schema.REFERENTIAL_CONSTRAINTS r
WHERE r.CONSTRAINT_SCHEMA IN :schemas
$checks
