-- PostgreSQL version of migrations/0021_search_rate.sql (same version
-- number: migrations/pg/ mirrors migrations/ file for file; docs/scaling.md).
-- 0021_search_rate: the per-member search limit (SPEC §5: 30 a minute)
-- shared by the nodes of one database (server/search/search.c). Owned by
-- server/search/.

-- One row per account: the start of its current minute (unix
-- milliseconds) and the searches counted in it.
CREATE TABLE search_rate (
	account bigint PRIMARY KEY,
	window_start bigint NOT NULL,
	count bigint NOT NULL
);
