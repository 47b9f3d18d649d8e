-- 0002: employee search (directory.Searcher).
--
-- name_key is directory.FoldName(name): decomposed, combining marks
-- removed, lower-cased, white space collapsed. The projection writes it in
-- Go, so that both backends fold alike. Rows projected before this
-- migration get lower(name) here, which differs from FoldName only for
-- names with accents or runs of white space; the next event of that
-- employee, or a rebuild of the directory, writes the exact key.
--
-- Search orders by (name_key, nip), bytewise (COLLATE "C", as Go compares),
-- and the index serves that order, the keyset cursor and a name prefix (a
-- range on name_key). A substring search scans: pg_trgm would serve it,
-- but an extension is database-wide while the read models live in a
-- schema that a rebuild or a test may drop, so it is left out.
ALTER TABLE employees ADD COLUMN name_key text COLLATE "C" NOT NULL DEFAULT '';
UPDATE employees SET name_key = lower(name);
CREATE INDEX employees_name_key ON employees (name_key, nip);
