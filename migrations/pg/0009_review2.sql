-- PostgreSQL version of migrations/0009_review2.sql (same version number: migrations/pg/
-- mirrors migrations/ file for file; tests/unit checks it, docs/scaling.md).
-- 0009_review2: figures copied into the database at import (issue 14 R2-F1).
-- Owned by server/books/. A book's figures are replaced by every import of
-- it; they are served from here only (GET /books/SLUG/PATH, signed-in
-- accounts), never from the import folder. The type was sniffed from the
-- content (PNG, JPEG, GIF, WebP); nothing else is stored.

CREATE TABLE figures (
	book bigint NOT NULL REFERENCES books(id),
	path text NOT NULL,             -- as referenced: "figures/map.png"
	type text NOT NULL,             -- image/png, image/jpeg, ...
	data bytea NOT NULL,
	PRIMARY KEY (book, path)
);

-- search finds the caller's own private annotations (issue 14): the threads
-- module now indexes them too (search re-checks visibility for every hit),
-- so index those written before.
INSERT INTO search_posts(rowid, kind, id, circle, body)
	SELECT id * 2, 0, id, circle, body FROM annotations
	WHERE body IS NOT NULL AND deleted = 0 AND gone = 0
	AND visibility = 'private';
INSERT INTO search_posts(rowid, kind, id, circle, body)
	SELECT r.id * 2 + 1, 1, r.id, a.circle, r.body
	FROM replies r JOIN annotations a ON a.id = r.annotation
	WHERE r.body IS NOT NULL AND r.deleted = 0 AND r.gone = 0
	AND a.visibility = 'private';
