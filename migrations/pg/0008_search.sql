-- PostgreSQL version of migrations/0008_search.sql (same version number: migrations/pg/
-- mirrors migrations/ file for file; tests/unit checks it, docs/scaling.md).
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

-- PostgreSQL: plain tables with a generated tsvector and a GIN index stand
-- for the FTS5 tables, with the same names and columns (rowid included), so
-- the modules' writes are the same SQL on both; the search statements
-- themselves differ and are chosen inside store/ (store_fts_sql). The
-- 'scholia' configuration stems English words like FTS5's porter tokenizer
-- and, like it, keeps stop words ("the" is a word like any other);
-- diacritics are not folded (that needs the unaccent extension).
CREATE TEXT SEARCH DICTIONARY scholia_stem
	(TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION scholia (COPY = english);
ALTER TEXT SEARCH CONFIGURATION scholia ALTER MAPPING FOR asciiword,
	asciihword, hword_asciipart, word, hword, hword_part WITH scholia_stem;

CREATE TABLE search_posts (
	rowid bigint PRIMARY KEY,   -- id * 2 + kind
	kind bigint,                -- 0 annotation, 1 reply
	id bigint,                  -- annotations(id) or replies(id)
	circle bigint,              -- circles(id): a search never leaves it
	body text,                  -- Markdown source
	tsv tsvector GENERATED ALWAYS AS
		(to_tsvector('scholia', coalesce(body, ''))) STORED
);
CREATE INDEX search_posts_tsv ON search_posts USING gin(tsv);
CREATE INDEX search_posts_circle ON search_posts(circle);

-- The book's text, one row per block of a chapter, filled lazily the first
-- time a circle on that book searches (and again when a new edition is
-- imported). `start` is the block's first code point in the chapter's text,
-- so a hit can jump to the passage; `block` is the block's id from
-- chapter.get (or its 0-based index when the chapter has no block list).
CREATE TABLE search_text (
	book bigint,
	chapter bigint,
	block text,
	start bigint,
	text text,
	tsv tsvector GENERATED ALWAYS AS
		(to_tsvector('scholia', coalesce(text, ''))) STORED
);
CREATE INDEX search_text_tsv ON search_text USING gin(tsv);
CREATE INDEX search_text_book ON search_text(book);

-- The store's match expression (store.h: double-quoted phrases, each
-- optionally followed by * for a prefix, "" for a quote inside) as a
-- tsquery: phrases are ANDed, the words of a phrase follow each other.
CREATE FUNCTION scholia_match(q text) RETURNS tsquery
	LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	m text[];
	term text;
	part tsquery;
	result tsquery;
BEGIN
	FOR m IN SELECT regexp_matches(q, '"((?:[^"]|"")*)"(\*?)', 'g') LOOP
		term := replace(m[1], '""', '"');
		IF m[2] = '*' THEN
			-- the words as lexemes, the last one a prefix
			term := querytree(phraseto_tsquery('scholia', term));
			IF term IS NULL OR term = '' OR term = 'T' THEN
				CONTINUE;
			END IF;
			part := to_tsquery('scholia', term || ':*');
		ELSE
			part := phraseto_tsquery('scholia', term);
		END IF;
		IF numnode(part) = 0 THEN
			CONTINUE;
		END IF;
		result := CASE WHEN result IS NULL THEN part
			ELSE result && part END;
	END LOOP;
	RETURN result; -- NULL (matches nothing) when no phrase has a word
END;
$$;

-- The same blocks' start offsets, indexed, so a post hit on a passage can
-- name the block it starts in. Filled and cleared with search_text.
CREATE TABLE search_blocks (
	book bigint NOT NULL,
	chapter bigint NOT NULL,
	start bigint NOT NULL,
	block text NOT NULL,            -- JSON: the block id (or index)
	PRIMARY KEY (chapter, start)
);
CREATE INDEX search_blocks_book ON search_blocks(book);

-- Which edition of each book search_text currently holds, and one of its
-- chapters (chapters keep their ids across editions, so asking the books
-- module for that chapter's current edition tells whether a re-import
-- happened since).
CREATE TABLE search_text_books (
	book bigint PRIMARY KEY REFERENCES books(id) ON DELETE CASCADE,
	edition bigint NOT NULL,
	probe_chapter bigint NOT NULL,
	indexed_at bigint NOT NULL
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
