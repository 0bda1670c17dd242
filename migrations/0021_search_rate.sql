-- 0021_search_rate: the per-member search limit (SPEC §5: 30 a minute)
-- shared by the nodes of one database (server/search/search.c). Written
-- only when several nodes share the database (PostgreSQL); a single
-- SQLite server counts in memory and leaves this table empty. Owned by
-- server/search/.

-- One row per account: the start of its current minute (unix
-- milliseconds) and the searches counted in it.
CREATE TABLE search_rate (
	account INTEGER PRIMARY KEY,
	window_start INTEGER NOT NULL,
	count INTEGER NOT NULL
);
