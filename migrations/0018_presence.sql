-- 0018_presence: who is present in which circle, on which node, for the
-- nodes sharing one database (server/circles/presence.c). Written only
-- when several nodes share the database (PostgreSQL); a single SQLite
-- server keeps presence in memory and leaves this table empty. Owned by
-- server/circles/.

-- One row per (node, connection, circle): node is the node's random id
-- (new at every start), last_seen unix seconds of the last presence.set
-- (what presence.changed shows as "at").
-- A row not refreshed within the idle limit is ignored.
CREATE TABLE presence (
	node INTEGER NOT NULL,
	conn INTEGER NOT NULL,
	circle INTEGER NOT NULL,
	account INTEGER NOT NULL,
	chapter INTEGER NOT NULL,
	block TEXT NOT NULL,  -- JSON encoding of the block; '': none
	last_seen INTEGER NOT NULL,
	stamp INTEGER NOT NULL,      -- unix ms of the write: orders one second's
				-- entries, the last written first
	PRIMARY KEY (node, conn, circle)
);
CREATE INDEX presence_circle ON presence(circle, account, last_seen);
CREATE INDEX presence_last_seen ON presence(last_seen);
