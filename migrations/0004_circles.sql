-- 0004_circles: circles, who belongs to them, invitations, the reading plan,
-- each member's progress and the chapters where post first is met.
-- Owned by server/circles/. Roles live in memberships (a circle may have
-- several owners); circles.owner only remembers who created it. Chapter ids
-- carry no foreign key on purpose: a re-import may drop a chapter, and the
-- plan or a progress row pointing at it must not block or vanish with it
-- (the code skips chapters books_chapter_info no longer knows).

CREATE TABLE circles (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	book INTEGER NOT NULL REFERENCES books(id),
	owner INTEGER REFERENCES accounts(id) ON DELETE SET NULL, -- creator
	spoiler_guard INTEGER NOT NULL DEFAULT 0,
	post_first INTEGER NOT NULL DEFAULT 0,
	members_can_invite INTEGER NOT NULL DEFAULT 0,
	cloned_from INTEGER REFERENCES circles(id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
	joined_at INTEGER NOT NULL,
	show_all INTEGER NOT NULL DEFAULT 0, -- asked to see past progress
	PRIMARY KEY (circle, account)
) WITHOUT ROWID;

CREATE INDEX memberships_account ON memberships(account, circle);

CREATE TABLE invites (
	id INTEGER PRIMARY KEY,
	code TEXT NOT NULL UNIQUE,        -- random, 26 characters
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('owner', 'moderator', 'member')),
	max_uses INTEGER,                 -- NULL: unlimited
	uses INTEGER NOT NULL DEFAULT 0,
	expires_at INTEGER NOT NULL,
	created_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL
);

CREATE INDEX invites_circle ON invites(circle);

CREATE TABLE plan_entries (
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	chapter INTEGER NOT NULL,
	due TEXT NOT NULL,                -- "YYYY-MM-DD"
	prompt TEXT,                      -- Markdown source, or NULL
	PRIMARY KEY (circle, chapter)
) WITHOUT ROWID;

CREATE TABLE progress (
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	chapter INTEGER NOT NULL,
	block TEXT,                       -- JSON: block id string or index; NULL
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (circle, account)
) WITHOUT ROWID;

-- Post first is met in a chapter once the member posted there ('posted') or
-- marked the chapter read ('read').
CREATE TABLE chapter_marks (
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	chapter INTEGER NOT NULL,
	how TEXT NOT NULL CHECK (how IN ('posted', 'read')),
	at INTEGER NOT NULL,              -- orders marks: unix time, kept
	                                  -- strictly increasing per member
	PRIMARY KEY (circle, account, chapter)
) WITHOUT ROWID;
