-- MySQL / MariaDB columns, every table of the schemas at once (views are dropped by the
-- reader: they are not in the overview). COLUMN_TYPE is the server's own spelling
-- (varchar(255), int(11) unsigned, enum('a','b')). No join: on MariaDB each
-- information_schema table scans every table's definition, and a join multiplies that.
SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE, c.COLUMN_DEFAULT, c.EXTRA,
       c.GENERATION_EXPRESSION, c.COLUMN_COMMENT, c.CHARACTER_SET_NAME, c.COLLATION_NAME
FROM information_schema.COLUMNS c
WHERE c.TABLE_SCHEMA IN :schemas
ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION
