-- 0005_threads: annotations, replies, their previous versions and reactions.
-- Owned by server/threads/. The passage an annotation points at lives in the
-- books module's anchors table (so re-imports can re-anchor); here we keep
-- only `position`, the start offset at creation, to order a chapter's threads.
-- Rows are never physically deleted: `gone` marks a post deleted without
-- replies (it answers -32004 from then on), so that rows other modules keep
-- about it (anchors, flags) stay valid.

CREATE TABLE annotations (
	id INTEGER PRIMARY KEY,
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	chapter INTEGER NOT NULL,
	author INTEGER NOT NULL REFERENCES accounts(id),
	body TEXT,                    -- Markdown source; NULL once deleted
	body_html TEXT,               -- rendered safe HTML; NULL once deleted
	visibility TEXT NOT NULL CHECK (visibility IN ('circle', 'private')),
	position INTEGER NOT NULL DEFAULT -1, -- start code point; -1 chapter-level
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	edited INTEGER NOT NULL DEFAULT 0,
	pinned INTEGER NOT NULL DEFAULT 0,
	locked INTEGER NOT NULL DEFAULT 0,
	hidden INTEGER NOT NULL DEFAULT 0,
	hidden_reason TEXT,
	deleted INTEGER NOT NULL DEFAULT 0,
	gone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX annotations_chapter ON annotations(circle, chapter, gone);
CREATE INDEX annotations_author ON annotations(author);

CREATE TABLE replies (
	id INTEGER PRIMARY KEY,
	annotation INTEGER NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,
	parent INTEGER REFERENCES replies(id), -- NULL: answers the annotation
	author INTEGER NOT NULL REFERENCES accounts(id),
	body TEXT,
	body_html TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	edited INTEGER NOT NULL DEFAULT 0,
	hidden INTEGER NOT NULL DEFAULT 0,
	hidden_reason TEXT,
	deleted INTEGER NOT NULL DEFAULT 0,
	gone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX replies_annotation ON replies(annotation, gone);
CREATE INDEX replies_parent ON replies(parent);
CREATE INDEX replies_author ON replies(author);

-- Previous bodies of edited posts (kind 0 annotation, 1 reply).
CREATE TABLE post_versions (
	kind INTEGER NOT NULL CHECK (kind IN (0, 1)),
	id INTEGER NOT NULL,
	body TEXT NOT NULL,
	replaced_at INTEGER NOT NULL
);
CREATE INDEX post_versions_post ON post_versions(kind, id);

-- One row per (thing, account, kind of reaction).
CREATE TABLE reactions (
	kind INTEGER NOT NULL CHECK (kind IN (0, 1)),
	target INTEGER NOT NULL,
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	reaction TEXT NOT NULL
		CHECK (reaction IN ('agree', 'insightful', 'question', 'disagree')),
	created_at INTEGER NOT NULL,
	UNIQUE (kind, target, account, reaction)
);
