-- PostgreSQL version of migrations/0017_login_limits.sql (same version
-- number: migrations/pg/ mirrors migrations/ file for file; docs/scaling.md).
-- 0017_login_limits: login failure counters shared by the nodes of one
-- database (server/auth/limit.c). Written only when several nodes share
-- the database (PostgreSQL); a single SQLite server counts in memory and
-- leaves this table empty. Owned by server/auth/.

-- One row per key: "h:" a handle, "a:" an address, "r:" an address's
-- registrations. Times are unix milliseconds.
CREATE TABLE login_limits (
	key text PRIMARY KEY,
	window_start bigint NOT NULL, -- start of the current minute
	failures bigint NOT NULL,     -- in that window (registrations: started)
	strikes bigint NOT NULL,      -- back-offs so far
	blocked_until bigint NOT NULL,
	last bigint NOT NULL          -- last failure or success
);
CREATE INDEX login_limits_last ON login_limits(last);
