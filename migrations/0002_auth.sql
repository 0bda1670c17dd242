-- 0002_auth: member accounts, their sessions, one-time reset links, site
-- invitations and (when no key file is configured) the token-hash key.
-- Owned by server/auth/. Secrets never sit here in clear: passwords as
-- Argon2id strings, session and reset tokens and invite codes as the hex of
-- a keyed BLAKE2b hash (crypto_generichash with the server key), so a copy
-- of this file yields no usable token. Hashes are stored as lower-case hex
-- TEXT because the store API binds no blobs. Accounts are never deleted:
-- account.delete anonymises the row so that threads keep their authors.

CREATE TABLE accounts (
	id INTEGER PRIMARY KEY,
	handle TEXT NOT NULL UNIQUE,      -- 3-32 of a-z 0-9 _ ("deleted-ID")
	display_name TEXT NOT NULL,
	bio TEXT NOT NULL DEFAULT '',
	pwhash TEXT,                      -- crypto_pwhash_str; NULL: none set
	is_admin INTEGER NOT NULL DEFAULT 0,
	banned INTEGER NOT NULL DEFAULT 0,
	ban_reason TEXT,
	created_at INTEGER NOT NULL,
	deleted INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
	id INTEGER PRIMARY KEY,
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	token_hash TEXT NOT NULL UNIQUE,  -- hex of keyed hash of the token
	created_at INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,      -- sliding: last use + idle lifetime
	max_expires_at INTEGER NOT NULL,  -- absolute: creation + max lifetime
	user_agent TEXT NOT NULL DEFAULT '',
	revoked INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX sessions_account ON sessions(account, revoked);

CREATE TABLE reset_tokens (
	hash TEXT PRIMARY KEY,            -- hex of keyed hash of the token
	account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE INDEX reset_tokens_account ON reset_tokens(account);

-- Site-wide invitations for --registration invite (circle invitations live
-- in the circles module's invites table).
CREATE TABLE invites_site (
	hash TEXT PRIMARY KEY,            -- hex of keyed hash of the code
	created_by INTEGER REFERENCES accounts(id) ON DELETE SET NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	max_uses INTEGER,                 -- NULL: unlimited
	uses INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- The token-hash key when the server runs without a key file
-- (rpc_config.server_key_path NULL). Read by server/auth/ alone.
CREATE TABLE auth_key (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	key TEXT NOT NULL                 -- hex of 32 random bytes
);
