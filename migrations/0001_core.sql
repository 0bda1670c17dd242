-- 0001_core: the event log that makes live delivery and catch-up possible.
-- Owned by server/bus/. Each event is stored in the same transaction as the
-- change it describes, with the next per-circle seq.

CREATE TABLE circle_seq (
	circle INTEGER PRIMARY KEY,
	seq INTEGER NOT NULL
);

CREATE TABLE events (
	circle INTEGER NOT NULL,
	seq INTEGER NOT NULL,
	type TEXT NOT NULL,
	data TEXT NOT NULL,          -- full JSON of the object
	redacted TEXT,               -- JSON for those who see the placeholder
	author INTEGER,              -- visibility facts (see visibility.h)
	chapter INTEGER,
	chapter_order INTEGER,
	only_account INTEGER,
	private INTEGER NOT NULL DEFAULT 0,
	hidden INTEGER NOT NULL DEFAULT 0,
	thread INTEGER NOT NULL DEFAULT 0,
	item_kind TEXT,
	item_id INTEGER,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (circle, seq)
) WITHOUT ROWID;

CREATE INDEX events_item ON events(item_kind, item_id);
