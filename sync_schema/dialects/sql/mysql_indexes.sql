-- MySQL / MariaDB indexes, one row per key part, the primary key and unique keys
-- included (a unique constraint is a unique index here). SUB_PART is a prefix length,
-- COLLATION 'D' a descending key; the last column is a functional key part's SQL (MySQL
-- 8.0.13+; NULL elsewhere).
SELECT s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME, s.NON_UNIQUE, s.COLUMN_NAME, s.SUB_PART, s.COLLATION, s.INDEX_TYPE,
       $expression AS expression
FROM information_schema.STATISTICS s
WHERE s.TABLE_SCHEMA IN :schemas
ORDER BY s.TABLE_SCHEMA, s.TABLE_NAME, s.INDEX_NAME, s.SEQ_IN_INDEX
