-- 0019_search_unaccent: search folds diacritics on both engines.
-- Owned by server/search/. Nothing to do on SQLite: FTS5's unicode61
-- tokenizer with remove_diacritics 2 (migrations/0008_search.sql) already
-- folds them in the index and in the queries ("cafe" finds "café").
-- migrations/pg/0019_search_unaccent.sql makes PostgreSQL do the same.
SELECT 1;
