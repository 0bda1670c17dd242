-- PostgreSQL version of migrations/0013_search_quotes.sql (same version number: migrations/pg/
-- mirrors migrations/ file for file; tests/unit checks it, docs/scaling.md).
-- 0013_search_quotes: search finds a thread by the passage it quotes.
-- Owned by server/search/. search_index_post now indexes an annotation's
-- body followed by a blank line, "> " and its quote (the anchor's exact
-- text); this brings the rows indexed before it in step. Only rows already
-- in the index change (whatever rule put them there), so it adds no post
-- the threads module left out.
CREATE TEMP TABLE search_quotes_0013 AS
	SELECT sp.rowid AS r, sp.kind AS kind, sp.id AS id, sp.circle AS circle,
	       sp.body || chr(10) || chr(10) || '> ' || an.exact AS body
	FROM search_posts sp JOIN anchors an ON an.annotation = sp.id
	WHERE sp.kind = 0 AND an.exact != '';
DELETE FROM search_posts WHERE rowid IN (SELECT r FROM search_quotes_0013);
INSERT INTO search_posts(rowid, kind, id, circle, body)
	SELECT r, kind, id, circle, body FROM search_quotes_0013;
DROP TABLE search_quotes_0013;
