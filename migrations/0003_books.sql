-- 0003_books: books, their editions, the table of contents, chapter text and
-- blocks, and the anchors that pin annotations to passages. Owned by
-- server/books/. A chapter row keeps its id across editions (re-import
-- matches chapters by title, number, then position) and holds the content
-- of the latest edition it appears in; blocks are kept per edition.

CREATE TABLE books (
	id INTEGER PRIMARY KEY,
	slug TEXT NOT NULL UNIQUE,
	title TEXT NOT NULL,
	author TEXT NOT NULL DEFAULT '',
	language TEXT NOT NULL DEFAULT 'en',
	licence TEXT NOT NULL DEFAULT '',
	current_edition INTEGER,        -- editions(id); NULL only mid-import
	created_at INTEGER NOT NULL
);

CREATE TABLE editions (
	id INTEGER PRIMARY KEY,
	book INTEGER NOT NULL REFERENCES books(id),
	number INTEGER NOT NULL,        -- 1, 2, ... per book
	label TEXT NOT NULL DEFAULT '', -- the book's own edition string
	source TEXT NOT NULL DEFAULT '',-- path it was imported from
	format TEXT NOT NULL DEFAULT '',-- markdown, markdown-file, epub, text
	stamp INTEGER NOT NULL,         -- random: lets caches tell editions apart
	imported_at INTEGER NOT NULL,
	UNIQUE (book, number)
);

CREATE TABLE parts (
	id INTEGER PRIMARY KEY,
	edition INTEGER NOT NULL REFERENCES editions(id),
	position INTEGER NOT NULL,      -- 0-based in reading order
	title TEXT                      -- NULL: front or back matter
);
CREATE INDEX parts_edition ON parts(edition, position);

CREATE TABLE chapters (
	id INTEGER PRIMARY KEY,
	book INTEGER NOT NULL REFERENCES books(id),
	edition INTEGER NOT NULL REFERENCES editions(id), -- latest it is in
	part INTEGER REFERENCES parts(id),
	position INTEGER NOT NULL,      -- 0-based reading position
	number INTEGER,                 -- NULL: unnumbered
	title TEXT NOT NULL,
	words INTEGER NOT NULL DEFAULT 0,
	notes INTEGER NOT NULL DEFAULT 0,
	text TEXT NOT NULL,             -- plain text (SPEC §3)
	html TEXT NOT NULL,             -- safe HTML with data-block ids
	blocks TEXT NOT NULL            -- JSON [{id,type,start,end}]
);
CREATE INDEX chapters_book ON chapters(book, edition, position);

CREATE TABLE blocks (
	chapter INTEGER NOT NULL REFERENCES chapters(id),
	edition INTEGER NOT NULL REFERENCES editions(id),
	position INTEGER NOT NULL,
	block TEXT NOT NULL,            -- stable id ("b" + hash [+ "-n"])
	type TEXT NOT NULL,
	start INTEGER NOT NULL,         -- code points into chapters.text
	end INTEGER NOT NULL,
	PRIMARY KEY (chapter, edition, position)
) WITHOUT ROWID;
CREATE INDEX blocks_id ON blocks(chapter, block);

-- One row per annotation with a passage. No foreign key to annotations:
-- that table belongs to the threads module (0005) and a clone or deletion
-- there is mirrored through books_anchor_copy / left behind harmlessly.
CREATE TABLE anchors (
	annotation INTEGER PRIMARY KEY,
	chapter INTEGER NOT NULL REFERENCES chapters(id),
	edition INTEGER NOT NULL,       -- edition the selectors refer to
	exact TEXT NOT NULL,
	prefix TEXT NOT NULL DEFAULT '',
	suffix TEXT NOT NULL DEFAULT '',
	start INTEGER NOT NULL,
	end INTEGER NOT NULL,
	block TEXT,                     -- block holding start, if known
	state TEXT NOT NULL DEFAULT 'exact'
		CHECK (state IN ('exact','moved','fuzzy','needs_review','orphaned')),
	score REAL,                     -- last match score (0..1)
	-- the passage proposed for review (needs_review)
	proposed_exact TEXT,
	proposed_prefix TEXT,
	proposed_suffix TEXT,
	proposed_start INTEGER,
	proposed_end INTEGER,
	proposed_edition INTEGER,
	-- the quote as first made, kept through fuzzy moves
	old_exact TEXT,
	old_prefix TEXT,
	old_suffix TEXT,
	old_start INTEGER,
	old_end INTEGER,
	updated_at INTEGER NOT NULL
);
CREATE INDEX anchors_chapter ON anchors(chapter);
