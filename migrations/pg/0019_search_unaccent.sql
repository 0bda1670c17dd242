-- PostgreSQL version of migrations/0019_search_unaccent.sql (same version number: migrations/pg/
-- mirrors migrations/ file for file; tests/unit checks it, docs/scaling.md).
-- 0019_search_unaccent: search folds diacritics, as SQLite's FTS5 does.
-- Owned by server/search/. FTS5's unicode61 tokenizer with
-- remove_diacritics 2 indexes and queries "Zürich" as "zurich", so "cafe"
-- finds "café". Here the `unaccent` extension's dictionary goes before the
-- stemmer in the 'scholia' configuration: every word is folded, then
-- stemmed, in the stored tsvectors (to_tsvector), in the queries
-- (scholia_match: phraseto_tsquery / to_tsquery, prefixes too) and in the
-- snippets (ts_headline marks "café" for a query "cafe").
--
-- unaccent ships with Debian's postgresql-15 (contrib is part of the
-- server package) and is a trusted extension since PostgreSQL 13: the
-- database's owner (anyone with CREATE on the database) may create it,
-- no superuser needed. IF NOT EXISTS: an administrator may have created
-- it already.
CREATE EXTENSION IF NOT EXISTS unaccent;

ALTER TEXT SEARCH CONFIGURATION scholia ALTER MAPPING FOR asciiword,
	asciihword, hword_asciipart, word, hword, hword_part
	WITH unaccent, scholia_stem;

-- The stored tsvectors were computed without folding: an UPDATE computes
-- a generated column again.
UPDATE search_posts SET body = body;
UPDATE search_text SET text = text;
