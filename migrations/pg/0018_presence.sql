-- PostgreSQL version of migrations/0018_presence.sql (same version number:
-- migrations/pg/ mirrors migrations/ file for file; docs/scaling.md).
-- 0018_presence: who is present in which circle, on which node, for the
-- nodes sharing one database (server/circles/presence.c). Owned by
-- server/circles/.

-- One row per (node, connection, circle): node is the node's random id
-- (new at every start), last_seen unix seconds of the last presence.set
-- (what presence.changed shows as "at").
-- A row not refreshed within the idle limit is ignored. UNLOGGED:
-- presence is ephemeral, so its writes skip the WAL (a crash of the
-- database server empties the table, which the clients' next
-- presence.set fills again).
CREATE UNLOGGED TABLE presence (
	node bigint NOT NULL,
	conn bigint NOT NULL,
	circle bigint NOT NULL,
	account bigint NOT NULL,
	chapter bigint NOT NULL,
	block text NOT NULL,  -- JSON encoding of the block; '': none
	last_seen bigint NOT NULL,
	stamp bigint NOT NULL,      -- unix ms of the write: orders one second's
				-- entries, the last written first
	PRIMARY KEY (node, conn, circle)
);
CREATE INDEX presence_circle ON presence(circle, account, last_seen);
CREATE INDEX presence_last_seen ON presence(last_seen);
