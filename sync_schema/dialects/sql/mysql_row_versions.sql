-- MySQL 8.0.29+: how many of a table's 64 row versions instant ADD / DROP COLUMN used up
-- (at 64 the server refuses INSTANT until the table is rebuilt). Needs the PROCESS
-- privilege: without it the reader goes on without the numbers.
SELECT SUBSTRING_INDEX(NAME, '/', 1), SUBSTRING_INDEX(NAME, '/', -1), TOTAL_ROW_VERSIONS
FROM information_schema.INNODB_TABLES
WHERE TOTAL_ROW_VERSIONS > 0 AND SUBSTRING_INDEX(NAME, '/', 1) IN :schemas
