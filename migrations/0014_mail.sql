-- 0014_mail: outbound mail (a durable outbox), members' addresses and their
-- verification, per-circle notification preferences, what waits to be mailed
-- (instant batches and daily digests). Owned by server/mail/.
-- Verification tokens are stored as the hex of a keyed hash, like auth's.

-- One row per mail. The whole RFC 5322 message is composed when the row is
-- written (in the transaction that causes it), so a resend after a crash
-- sends the same bytes with the same Message-ID.
CREATE TABLE mail_outbox (
	id INTEGER PRIMARY KEY,
	message_id TEXT NOT NULL UNIQUE,  -- without <>
	account INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	rcpt TEXT NOT NULL,               -- envelope recipient
	kind TEXT NOT NULL,               -- verify, reset, invite, notify,
					  -- digest, refusal
	message TEXT NOT NULL,            -- CRLF line ends, 7-bit
	state TEXT NOT NULL DEFAULT 'pending'
		CHECK (state IN ('pending', 'sent', 'failed')),
	attempts INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	next_at INTEGER NOT NULL,         -- not to be tried before
	claim_until INTEGER NOT NULL DEFAULT 0, -- a sender holds it till then
	last_error TEXT,
	done_at INTEGER
);
CREATE INDEX mail_outbox_due ON mail_outbox(state, next_at);

-- An account's address; used only once verified.
CREATE TABLE mail_addresses (
	account INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	email TEXT NOT NULL,
	verified INTEGER NOT NULL DEFAULT 0,
	token_hash TEXT,                  -- pending verification link
	token_expires INTEGER,
	updated_at INTEGER NOT NULL
);
CREATE INDEX mail_addresses_token ON mail_addresses(token_hash);

-- circle.notify: absent row means 'daily'.
CREATE TABLE mail_prefs (
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	mode TEXT NOT NULL CHECK (mode IN ('off', 'instant', 'daily')),
	PRIMARY KEY (account, circle)
) WITHOUT ROWID;

-- Notifications waiting for a mail: an instant batch (due_at set) or the
-- next daily digest (due_at NULL). Ids only, like notifications.
CREATE TABLE mail_waiting (
	id INTEGER PRIMARY KEY,
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	thread INTEGER NOT NULL DEFAULT 0, -- annotation id, 0 for none
	kind TEXT NOT NULL,
	data TEXT NOT NULL,
	due_at INTEGER,
	created_at INTEGER NOT NULL
);
CREATE INDEX mail_waiting_due ON mail_waiting(due_at);
CREATE INDEX mail_waiting_account ON mail_waiting(account, circle);

-- When a member last had an instant mail about a thread (batching window).
CREATE TABLE mail_threads (
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	thread INTEGER NOT NULL,
	last_sent_at INTEGER NOT NULL,
	PRIMARY KEY (account, thread)
) WITHOUT ROWID;

-- When a member last had the daily digest of a circle.
CREATE TABLE mail_digests (
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	last_sent_at INTEGER NOT NULL,
	PRIMARY KEY (account, circle)
) WITHOUT ROWID;

-- Plan reminders already sent (one per member, circle and due chapter).
CREATE TABLE mail_reminders (
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	circle INTEGER NOT NULL REFERENCES circles(id) ON DELETE CASCADE,
	chapter INTEGER NOT NULL,
	due TEXT NOT NULL,
	PRIMARY KEY (account, circle, chapter, due)
) WITHOUT ROWID;
