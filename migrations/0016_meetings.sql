-- 0016_meetings: the organiser's tools (issue 20): meetings with their
-- agenda, raised hands, attendance and outcomes, and the reading plan's
-- facilitator notes. Owned by server/meetings/, except plan_entries.notes,
-- which circles/plan.c reads and writes with the rest of the plan entry.
-- Annotation ids carry no foreign key, as elsewhere: threads are never
-- physically deleted (threads marks them gone), and a meeting's record must
-- not vanish with a thread.

ALTER TABLE plan_entries ADD COLUMN notes TEXT; -- facilitator notes (Markdown)

CREATE TABLE meetings (
	id INTEGER PRIMARY KEY,
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	at INTEGER NOT NULL,              -- unix time the meeting starts
	chapter INTEGER,                  -- the plan entry it discusses; NULL
	title TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL DEFAULT 'scheduled'
		CHECK (status IN ('scheduled', 'live', 'ended')),
	current INTEGER,                  -- agenda annotation now discussed
	created_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX meetings_circle ON meetings(circle, at);

-- A thread on the agenda (position set) or only proposed by a member
-- (position NULL, proposed_by set); one row per meeting and thread.
CREATE TABLE meeting_items (
	meeting INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
	annotation INTEGER NOT NULL,
	position INTEGER,                 -- 0-based agenda order; NULL: proposal
	proposed_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	proposed_at INTEGER,
	PRIMARY KEY (meeting, annotation)
) WITHOUT ROWID;

-- Raised hands: at most one per member and meeting, for the item that was
-- current when it went up.
CREATE TABLE meeting_hands (
	meeting INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	annotation INTEGER,               -- the item; NULL before the first
	at INTEGER NOT NULL,
	PRIMARY KEY (meeting, account)
) WITHOUT ROWID;

-- Members who marked themselves present.
CREATE TABLE meeting_attendance (
	meeting INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	at INTEGER NOT NULL,
	PRIMARY KEY (meeting, account)
) WITHOUT ROWID;

-- Outcomes: each is also a reply in the thread (threads' replies row), which
-- carries meeting_outcome. reply is NULL only for the instant between this
-- row and the reply it names, inside one transaction (so that the
-- reply.created event already carries the marker).
CREATE TABLE meeting_outcomes (
	id INTEGER PRIMARY KEY,
	meeting INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
	annotation INTEGER NOT NULL,
	reply INTEGER,
	author INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	body TEXT NOT NULL,
	at INTEGER NOT NULL
);
CREATE INDEX meeting_outcomes_item ON meeting_outcomes(meeting, annotation);
CREATE INDEX meeting_outcomes_reply ON meeting_outcomes(reply);
