-- 0007_notify: the per-account inbox and chapter follows.
-- Owned by server/notify/. `data` is the JSON object pushed to the client
-- (ids and the actor, never a body: the post may be hidden or deleted later).

CREATE TABLE notifications (
	id INTEGER PRIMARY KEY,
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	circle INTEGER REFERENCES circles(id) ON DELETE CASCADE,
	kind TEXT NOT NULL CHECK (kind IN ('reply', 'mention', 'moderation',
					   'new_thread', 'flag_resolved')),
	data TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	read INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_account ON notifications(account, read, id);

-- chapter.follow: notify me of each new thread in this chapter of a circle.
CREATE TABLE follows (
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	chapter INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (account, circle, chapter)
) WITHOUT ROWID;
CREATE INDEX follows_chapter ON follows(circle, chapter);
