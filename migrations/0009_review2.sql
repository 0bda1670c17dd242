-- 0009_review2: figures copied into the database at import (issue 14 R2-F1).
-- Owned by server/books/. A book's figures are replaced by every import of
-- it; they are served from here only (GET /books/SLUG/PATH, signed-in
-- accounts), never from the import folder. The type was sniffed from the
-- content (PNG, JPEG, GIF, WebP); nothing else is stored.

CREATE TABLE figures (
	book INTEGER NOT NULL REFERENCES books(id),
	path TEXT NOT NULL,             -- as referenced: "figures/map.png"
	type TEXT NOT NULL,             -- image/png, image/jpeg, ...
	data BLOB NOT NULL,
	PRIMARY KEY (book, path)
) WITHOUT ROWID;
