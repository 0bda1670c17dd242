-- 0006_moderation: flags, the audit log, mutes, slow mode and post pacing.
-- Owned by server/moderation/. Moderation never deletes content: it hides it
-- (threads owns the hidden flag on annotations and replies), and every
-- moderator or admin action is appended to mod_log, which the schema itself
-- refuses to change or shrink.

-- A member's report about one annotation or reply. A member has at most one
-- OPEN flag per target (the partial unique index); resolved flags stay as the
-- history of the target.
CREATE TABLE flags (
	id INTEGER PRIMARY KEY,
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	target_kind TEXT NOT NULL CHECK (target_kind IN ('annotation', 'reply')),
	target_id INTEGER NOT NULL,
	flagger INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	reason TEXT NOT NULL
		CHECK (reason IN ('off_topic', 'uncivil', 'spam', 'other')),
	note TEXT,
	created_at INTEGER NOT NULL,
	status TEXT NOT NULL DEFAULT 'open'
		CHECK (status IN ('open', 'dismissed', 'hidden')),
	resolved_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	resolved_at INTEGER
);

CREATE UNIQUE INDEX flags_one_open ON flags(flagger, target_kind, target_id)
	WHERE status = 'open';
CREATE INDEX flags_queue ON flags(circle, status, id);
CREATE INDEX flags_target ON flags(target_kind, target_id, status);

-- The audit log. circle is NULL for site-wide actions (bans). actor is NULL
-- for the system's own actions (auto-hide). No foreign keys on purpose: the
-- log must outlive deleted accounts and circles, and a cascading UPDATE or
-- DELETE would be refused by the triggers below anyway.
CREATE TABLE mod_log (
	id INTEGER PRIMARY KEY,
	circle INTEGER,
	actor INTEGER,
	action TEXT NOT NULL,
	target TEXT,
	reason TEXT,
	at INTEGER NOT NULL
);

CREATE INDEX mod_log_circle ON mod_log(circle, id);

CREATE TRIGGER mod_log_no_update BEFORE UPDATE ON mod_log
BEGIN
	SELECT RAISE(ABORT, 'mod_log is append-only');
END;

CREATE TRIGGER mod_log_no_delete BEFORE DELETE ON mod_log
BEGIN
	SELECT RAISE(ABORT, 'mod_log is append-only');
END;

-- A member muted in a circle: can read, cannot post, react or flag.
-- until NULL means until a moderator lifts it.
CREATE TABLE mutes (
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	until INTEGER,
	reason TEXT,
	by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (circle, account)
) WITHOUT ROWID;

-- A circle's slow mode: a member may post once every slow_mode_s seconds.
CREATE TABLE circle_pace (
	circle INTEGER PRIMARY KEY REFERENCES circles(id) ON DELETE CASCADE,
	slow_mode_s INTEGER NOT NULL CHECK (slow_mode_s >= 0)
);

-- When each member posted in each circle, for the per-minute limit and slow
-- mode. Written in the post's own transaction, so a post that rolls back is
-- not counted; pruned to the last minute plus the latest post.
CREATE TABLE post_times (
	circle INTEGER NOT NULL,
	account INTEGER NOT NULL,
	at INTEGER NOT NULL
);

CREATE INDEX post_times_member ON post_times(circle, account, at);

-- What moderation has hidden, and whether it was the automatic hide after
-- enough flags (a dismissal unhides those) or a moderator's decision.
CREATE TABLE mod_hidden (
	target_kind TEXT NOT NULL CHECK (target_kind IN ('annotation', 'reply')),
	target_id INTEGER NOT NULL,
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	auto INTEGER NOT NULL DEFAULT 0,
	reason TEXT,
	by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	at INTEGER NOT NULL,
	PRIMARY KEY (target_kind, target_id)
) WITHOUT ROWID;
