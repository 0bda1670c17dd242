-- 0008_search: the full-text indexes behind the `search` method.
-- Owned by server/search/. Both are FTS5 tables with the porter stemmer over
-- unicode61 (diacritics folded), so "pioneer" finds "Pioneers".
--
-- search_posts holds one row per annotation or reply body. Its rowid is
-- id * 2 + kind (kind 0 annotation, 1 reply), so the threads module's
-- create / update / delete hooks (search_index_post, search_unindex_post)
-- touch one row by rowid. Nothing here decides who may see a hit: every hit
-- goes through vis_check() at query time, so hiding, privacy and spoiler
-- rules can change without re-indexing.

CREATE VIRTUAL TABLE search_posts USING fts5(
	kind UNINDEXED,   -- 0 annotation, 1 reply
	id UNINDEXED,     -- annotations(id) or replies(id)
	circle UNINDEXED, -- circles(id): a search never leaves its circle
	body,             -- Markdown source
	tokenize = 'porter unicode61 remove_diacritics 2'
);

-- The book's text, one row per block of a chapter, filled lazily the first
-- time a circle on that book searches (and again when a new edition is
-- imported). `start` is the block's first code point in the chapter's text,
-- so a hit can jump to the passage; `block` is the block's id from
-- chapter.get (or its 0-based index when the chapter has no block list).
CREATE VIRTUAL TABLE search_text USING fts5(
	book UNINDEXED,
	chapter UNINDEXED,
	block UNINDEXED,
	start UNINDEXED,
	text,
	tokenize = 'porter unicode61 remove_diacritics 2'
);

-- The same blocks' start offsets, indexed, so a post hit on a passage can
-- name the block it starts in. Filled and cleared with search_text.
CREATE TABLE search_blocks (
	book INTEGER NOT NULL,
	chapter INTEGER NOT NULL,
	start INTEGER NOT NULL,
	block TEXT NOT NULL,            -- JSON: the block id (or index)
	PRIMARY KEY (chapter, start)
) WITHOUT ROWID;
CREATE INDEX search_blocks_book ON search_blocks(book);

-- Which edition of each book search_text currently holds, and one of its
-- chapters (chapters keep their ids across editions, so asking the books
-- module for that chapter's current edition tells whether a re-import
-- happened since).
CREATE TABLE search_text_books (
	book INTEGER PRIMARY KEY REFERENCES books(id) ON DELETE CASCADE,
	edition INTEGER NOT NULL,
	probe_chapter INTEGER NOT NULL,
	indexed_at INTEGER NOT NULL
);

-- Posts written before this migration (upgrades of an existing database),
-- with the rule the threads module indexes by: circle-visible, not deleted.
INSERT INTO search_posts(rowid, kind, id, circle, body)
	SELECT id * 2, 0, id, circle, body FROM annotations
	WHERE body IS NOT NULL AND deleted = 0 AND gone = 0
	AND visibility = 'circle';
INSERT INTO search_posts(rowid, kind, id, circle, body)
	SELECT r.id * 2 + 1, 1, r.id, a.circle, r.body
	FROM replies r JOIN annotations a ON a.id = r.annotation
	WHERE r.body IS NOT NULL AND r.deleted = 0 AND r.gone = 0
	AND a.visibility = 'circle';
