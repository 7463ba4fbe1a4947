-- MySQL / MariaDB indexes as mysql_indexes.sql reads them, one row per table instead of
-- one per key part, packed as mysql_columns_packed.sql packs columns: a key part's record
-- is its position in the index, then that query's fields (those that may be NULL: NULL or
-- 0x1c and the value).
SELECT s.TABLE_SCHEMA, s.TABLE_NAME, COUNT(*),
       GROUP_CONCAT(CONCAT_WS(0x1f, s.SEQ_IN_INDEX, s.INDEX_NAME, s.NON_UNIQUE, IFNULL(CONCAT(0x1c, s.COLUMN_NAME), ''),
                              IFNULL(CONCAT(0x1c, s.SUB_PART), ''), IFNULL(CONCAT(0x1c, s.COLLATION), ''), s.INDEX_TYPE,
                              IFNULL(CONCAT(0x1c, $expression), ''))
                    SEPARATOR 0x1d)
FROM information_schema.STATISTICS s
WHERE s.TABLE_SCHEMA IN :schemas
GROUP BY s.TABLE_SCHEMA, s.TABLE_NAME
