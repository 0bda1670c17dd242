-- PostgreSQL version of migrations/0001_core.sql (same version number: migrations/pg/
-- mirrors migrations/ file for file; tests/unit checks it, docs/scaling.md).
-- 0001_core: the event log that makes live delivery and catch-up possible.
-- Owned by server/bus/. Each event is stored in the same transaction as the
-- change it describes, with the next per-circle seq.

CREATE TABLE circle_seq (
	circle bigint PRIMARY KEY,
	seq bigint NOT NULL
);

CREATE TABLE events (
	circle bigint NOT NULL,
	seq bigint NOT NULL,
	type text NOT NULL,
	data text NOT NULL,          -- full JSON of the object
	redacted text,               -- JSON for those who see the placeholder
	author bigint,              -- visibility facts (see visibility.h)
	chapter bigint,
	chapter_order bigint,
	only_account bigint,
	private bigint NOT NULL DEFAULT 0,
	hidden bigint NOT NULL DEFAULT 0,
	thread bigint NOT NULL DEFAULT 0,
	item_kind text,
	item_id bigint,
	created_at bigint NOT NULL,
	PRIMARY KEY (circle, seq)
);

CREATE INDEX events_item ON events(item_kind, item_id);

-- SQLite's two-argument max() and min() (the larger or smaller of two
-- values), which the modules' SQL uses; PostgreSQL has GREATEST/LEAST and
-- resolves these by their two arguments, apart from the aggregates.
CREATE FUNCTION max(a bigint, b bigint) RETURNS bigint
	LANGUAGE sql IMMUTABLE AS 'SELECT GREATEST(a, b)';
CREATE FUNCTION min(a bigint, b bigint) RETURNS bigint
	LANGUAGE sql IMMUTABLE AS 'SELECT LEAST(a, b)';
