/*
 * methods.c - the auth.* methods: register, login, resume, logout,
 * sessions, revoke, reset; the shared pieces of the password jobs; and
 * auth_init(), which installs everything.
 *
 * Every password check or hash leaves the store thread: the handler
 * validates and copies what the job needs, rpc_defer() runs auth_job_work()
 * on the worker pool, and a continuation finishes on the store thread in a
 * new savepoint, re-reading whatever may have changed meanwhile. Copies of
 * passwords live only in the job and are wiped when it is freed.
 */
#include "auth/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "http/http.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/utf8.h"
#include "util/rfc3339.h"

auth_invite_check_fn auth_invite_check;
auth_invite_redeem_fn auth_invite_redeem;

static const char SQL_ACCOUNT_BY_HANDLE[] =
	"SELECT id, pwhash, banned, deleted FROM accounts WHERE handle = ?";
static const char SQL_ACCOUNT_PWHASH[] =
	"SELECT pwhash, banned, deleted, handle FROM accounts WHERE id = ?";
static const char SQL_HANDLE_TAKEN[] =
	"SELECT id FROM accounts WHERE handle = ?";
static const char SQL_ACCOUNT_NEW[] =
	"INSERT INTO accounts (handle, display_name, pwhash, is_admin, "
	"created_at) VALUES (?, ?, ?, 0, ?)";
static const char SQL_SET_PWHASH[] =
	"UPDATE accounts SET pwhash = ? WHERE id = ?";
static const char SQL_SESSIONS_LIST[] =
	"SELECT id, created_at, last_seen, user_agent, expires_at FROM "
	"sessions WHERE account = ? AND revoked = 0 AND expires_at > ? AND "
	"max_expires_at > ? ORDER BY last_seen DESC, id DESC LIMIT 500";
static const char SQL_SESSION_OWNER[] =
	"SELECT account FROM sessions WHERE id = ? AND revoked = 0";
static const char SQL_SESSIONS_OTHER[] =
	"SELECT id FROM sessions WHERE account = ? AND revoked = 0 AND id <> ?";
static const char SQL_SESSIONS_END[] =
	"UPDATE sessions SET revoked = 1 WHERE account = ? AND revoked = 0 "
	"AND id <> ?";
static const char SQL_RESET_GET[] =
	"SELECT account, expires_at, used FROM reset_tokens WHERE hash = ?";
static const char SQL_RESET_USE[] =
	"UPDATE reset_tokens SET used = 1 WHERE hash = ? AND used = 0 AND "
	"expires_at > ?";
static const char SQL_RESET_USE_ALL[] =
	"UPDATE reset_tokens SET used = 1 WHERE account = ?";
static const char SQL_SITE_INVITE_OK[] =
	"SELECT 1 FROM invites_site WHERE hash = ? AND expires_at > ? AND "
	"(max_uses IS NULL OR uses < max_uses)";
static const char SQL_SITE_INVITE_USE[] =
	"UPDATE invites_site SET uses = uses + 1 WHERE hash = ? AND "
	"expires_at > ? AND (max_uses IS NULL OR uses < max_uses)";
static const char SQL_SITE_INVITE_NEW[] =
	"INSERT INTO invites_site (hash, created_by, created_at, expires_at, "
	"max_uses) VALUES (?, ?, ?, ?, ?)";

struct auth_config auth_config = {
	.registration = 0,
	.pwhash_ops = 2,
	.pwhash_mem = 67108864,
	.session_idle_s = 30 * 86400,
	.session_max_s = 90 * 86400,
	.server_key_path = NULL,
};

/* ---- small shared helpers ---- */

void auth_time_str(int64_t t, char *buf, size_t len)
{
	rfc3339_format(t, buf, len);
}

json_t *auth_time_json(int64_t t)
{
	return rfc3339_json(t);
}

bool auth_handle_ok(const char *handle)
{
	size_t n = strlen(handle);

	if (n < 3 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = handle[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

/* Password-like parameter with a byte range (SPEC §5 counts bytes). */
static int param_secret(struct rpc_ctx *ctx, json_t *params, const char *name,
			size_t min, size_t max, const char **pw, size_t *len)
{
	json_t *v =
		json_is_object(params) ? json_object_get(params, name) : NULL;
	size_t n;

	if (!v)
		return rpc_fail_field(ctx, name, "missing parameter");
	if (!json_is_string(v))
		return rpc_fail_field(ctx, name, "must be a string");
	n = json_string_length(v);
	if (n < min || n > max) {
		char msg[80];

		snprintf(msg, sizeof(msg), "must be %zu to %zu bytes long", min,
			 max);
		return rpc_fail_field(ctx, name, msg);
	}
	if (memchr(json_string_value(v), '\0', n))
		return rpc_fail_field(ctx, name, "must not contain NUL");
	*pw = json_string_value(v);
	*len = n;
	return 0;
}

int auth_param_password(struct rpc_ctx *ctx, json_t *params, const char *name,
			const char **pw, size_t *len)
{
	return param_secret(ctx, params, name, AUTH_PW_MIN, AUTH_PW_MAX, pw,
			    len);
}

/* A password being checked (login, confirmation): any 1-1024 bytes; a
 * short one simply fails to match. */
static int param_password_any(struct rpc_ctx *ctx, json_t *params,
			      const char *name, const char **pw, size_t *len)
{
	return param_secret(ctx, params, name, 1, AUTH_PW_MAX, pw, len);
}

json_t *auth_login_json(struct store *db, int64_t account, const char *token,
			int64_t expires_at)
{
	json_t *acc = auth_account_json(db, account);

	if (!acc)
		return NULL;
	return json_pack("{s:s,s:o,s:o}", "token", token, "account", acc,
			 "expires_at", auth_time_json(expires_at));
}

int auth_end_sessions(struct rpc_ctx *ctx, int64_t account, int64_t keep)
{
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	int rc;

	st = store_query(db, SQL_SESSIONS_OTHER, "ii", account, keep);
	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0)
		rpc_effect_close(ctx, 0, store_int(st, 0), 4001,
				 "session ended");
	if (rc < 0)
		return rc;
	return store_run(db, SQL_SESSIONS_END, "ii", account, keep);
}

/*
 * Closing the caller's own session (logout, revoking the current session)
 * happens in two steps: this call drops the connection's
 * authentication (rpc_set_auth to 0), and only a continuation that runs in
 * a later batch closes the other connections. By then the transport has
 * applied the caller's new state, so the caller is not closed with the
 * others and gets its reply.
 */
struct close_later {
	int64_t account, session;
	int code;
	char reason[32];
};

static void close_later_work(void *arg)
{
	(void)arg; /* nothing slow: only the hop through the pool matters */
}

static int close_later_cont(struct rpc_ctx *ctx, void *arg, json_t **result)
{
	struct close_later *c = arg;

	rpc_effect_close(ctx, c->account, c->session, c->code, c->reason);
	*result = json_object();
	return 0;
}

int auth_close_later(struct rpc_ctx *ctx, int64_t account, int64_t session,
		     int code, const char *reason)
{
	struct close_later *c = xcalloc(1, sizeof(*c));

	c->account = account;
	c->session = session;
	c->code = code;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	rpc_set_auth(ctx, 0, 0, false);
	return rpc_defer(ctx, close_later_work, close_later_cont, c, free);
}

/* ---- the password job ---- */

enum job_kind {
	JOB_REGISTER, /* weak check + hash pw */
	JOB_LOGIN,    /* verify pw against hash (+ rehash) */
	JOB_RESET,    /* weak check + hash pw */
	JOB_CHANGE,   /* verify pw; weak check + hash newpw */
	JOB_CONFIRM   /* verify pw (account.delete) */
};

/* What a deferred password call carries to the pool and back. */
struct auth_job {
	enum job_kind kind;
	char *pw; /* wiped on free */
	size_t pwlen;
	char *newpw; /* JOB_CHANGE: wiped on free */
	size_t newlen;
	char *hash;	    /* stored hash verified against (NULL: dummy) */
	char *handle;	    /* for limits and the weak check */
	char *display_name; /* JOB_REGISTER */
	char *invite;	    /* JOB_REGISTER, or NULL */
	bool site_invite;   /* the invite is a site invite */
	char secret_hash[AUTH_HASH_HEX]; /* JOB_RESET: the reset token's */
	int64_t account;
	bool by_peer; /* counted against the address too */
	char *peer;
	bool device_ok; /* JOB_LOGIN: a known device (only the address
			   limit applies) */
	char *device;	/* its value */
	/* results, written by the worker */
	bool verified;
	bool rehash;
	bool weak;
	char why[160];
	int hash_rc;
	char newhash[AUTH_PWHASH_MAX];
};

static struct auth_job *job_new(enum job_kind kind)
{
	struct auth_job *j = xcalloc(1, sizeof(*j));

	j->kind = kind;
	return j;
}

static void job_free(void *arg)
{
	struct auth_job *j = arg;

	if (!j)
		return;
	auth_secret_free(j->pw, j->pwlen);
	auth_secret_free(j->newpw, j->newlen);
	free(j->hash);
	free(j->handle);
	free(j->display_name);
	free(j->invite);
	free(j->peer);
	free(j->device);
	sodium_memzero(j, sizeof(*j));
	free(j);
}

/*
 * Hashing saturates a core for a tenth of a second per password. A worker
 * thread that runs one lowers its own scheduling priority (Linux: nice is
 * per thread) once, so that the store thread and the network loop win the
 * CPU whenever they have work: a login storm then slows logins, not the
 * other members' traffic.
 */
static void worker_lower_priority(void)
{
	static _Thread_local bool done;

	if (done)
		return;
	done = true;
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
}

/* Runs on a worker thread: no database, no ctx. */
static void job_work(void *arg)
{
	struct auth_job *j = arg;
	const char *tohash = NULL;
	size_t tolen = 0;

	worker_lower_priority();

	switch (j->kind) {
	case JOB_REGISTER:
	case JOB_RESET:
		j->weak = auth_pw_weak(j->pw, j->pwlen, j->handle, j->why,
				       sizeof(j->why)) != 0;
		if (!j->weak) {
			tohash = j->pw;
			tolen = j->pwlen;
		}
		break;
	case JOB_LOGIN:
		j->verified = auth_pw_verify(j->hash, j->pw, j->pwlen,
					     &j->rehash) == 0;
		if (j->verified && j->rehash) {
			tohash = j->pw;
			tolen = j->pwlen;
		}
		break;
	case JOB_CHANGE:
		j->verified = auth_pw_verify(j->hash, j->pw, j->pwlen,
					     &j->rehash) == 0;
		if (!j->verified)
			break;
		j->weak = auth_pw_weak(j->newpw, j->newlen, j->handle, j->why,
				       sizeof(j->why)) != 0;
		if (!j->weak) {
			tohash = j->newpw;
			tolen = j->newlen;
		}
		break;
	case JOB_CONFIRM:
		j->verified = auth_pw_verify(j->hash, j->pw, j->pwlen,
					     &j->rehash) == 0;
		break;
	}
	if (tohash)
		j->hash_rc = auth_pw_hash(tohash, tolen, j->newhash);
}

static int fail_weak(struct rpc_ctx *ctx, const char *field,
		     const struct auth_job *j)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "too easy to guess: %s", j->why);
	return rpc_fail_field(ctx, field, msg);
}

/* Looks up the hash of an account and copies it into the job. 0, or
 * SCH_ENOTFOUND for a missing or deleted account. */
static int job_load_account(struct store *db, struct auth_job *j,
			    int64_t account)
{
	struct store_stmt *st;
	int rc;

	st = store_query(db, SQL_ACCOUNT_PWHASH, "i", account);
	if (!st)
		return SCH_EDB;
	rc = store_row(st);
	if (rc <= 0) {
		store_done(st);
		return rc < 0 ? rc : SCH_ENOTFOUND;
	}
	if (store_int(st, 2)) {
		store_done(st);
		return SCH_ENOTFOUND;
	}
	j->hash = store_text_dup(st, 0);
	j->handle = store_text_dup(st, 3);
	j->account = account;
	store_done(st);
	return 0;
}

/* True when the account still has the hash the job verified against. */
static bool job_hash_current(struct store *db, const struct auth_job *j,
			     bool *banned)
{
	struct store_stmt *st;
	bool same = false;

	*banned = false;
	st = store_query(db, SQL_ACCOUNT_PWHASH, "i", j->account);
	if (!st)
		return false;
	if (store_row(st) > 0) {
		const char *h = store_text(st, 0);

		same = h && j->hash && !strcmp(h, j->hash) && !store_int(st, 2);
		*banned = store_int(st, 1) != 0;
	}
	store_done(st);
	return same;
}

/* ---- invitations ---- */

/* 1 when code is a live site invite, 0 when not, negative on errors. */
static int site_invite_ok(struct store *db, const char *code, int64_t now,
			  char *hash)
{
	int64_t one;
	int rc = auth_token_hash(db, code, hash);

	if (rc == SCH_EINVAL)
		return 0;
	if (rc)
		return rc;
	rc = store_int_query(db, &one, SQL_SITE_INVITE_OK, "ti", hash, now);
	return rc;
}

int auth_site_invite_create(struct store *db, int64_t created_by, int max_uses,
			    int64_t ttl_s, char *code, size_t codelen)
{
	char b64[AUTH_TOKEN_B64], hash[AUTH_HASH_HEX];
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (codelen < AUTH_TOKEN_B64 || ttl_s <= 0 || max_uses < 0)
		return SCH_EINVAL;
	rc = auth_token_new(db, b64, hash);
	if (rc)
		return rc;
	rc = store_run(db, SQL_SITE_INVITE_NEW, "tIiiI", hash, created_by, now,
		       now + ttl_s, (int64_t)max_uses);
	if (rc)
		return rc;
	snprintf(code, codelen, "%s", b64);
	sodium_memzero(b64, sizeof(b64));
	return 0;
}

void auth_set_invite_hooks(auth_invite_check_fn check,
			   auth_invite_redeem_fn redeem)
{
	auth_invite_check = check;
	auth_invite_redeem = redeem;
}

/*
 * Opens a session for account in this call: the login answer (token,
 * expiry, account; new reference) with the session's id in *session; the
 * token leaves no copy on the stack. NULL when it failed (the error is
 * recorded in ctx).
 */
static json_t *session_open(struct rpc_ctx *ctx, int64_t account,
			    int64_t *session)
{
	struct store *db = rpc_store(ctx);
	char token[AUTH_TOKEN_B64];
	int64_t exp;
	json_t *body;
	int rc = auth_session_create(db, account, rpc_now(ctx),
				     rpc_user_agent(ctx), token, session, &exp);

	if (rc) {
		rpc_fail_store(ctx, rc);
		return NULL;
	}
	body = auth_login_json(db, account, token, exp);
	sodium_memzero(token, sizeof(token));
	if (!body)
		rpc_fail(ctx, RPC_E_INTERNAL, NULL);
	return body;
}

/* ---- auth.register ---- */

static int register_cont(struct rpc_ctx *ctx, void *arg, json_t **result)
{
	struct auth_job *j = arg;
	struct store *db = rpc_store(ctx);
	char hash[AUTH_HASH_HEX];
	int64_t id, session, taken;
	int rc;

	auth_limit_register_end(j->peer);
	if (j->weak)
		return fail_weak(ctx, "password", j);
	if (j->hash_rc) {
		log_error("auth", "password hashing failed (memory limit?)");
		return rpc_fail(ctx, RPC_E_INTERNAL,
				"cannot hash the password");
	}
	rc = store_int_query(db, &taken, SQL_HANDLE_TAKEN, "t", j->handle);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (rc > 0)
		return rpc_fail(ctx, RPC_E_CONFLICT, "handle taken");
	if (j->invite && j->site_invite) {
		rc = auth_token_hash(db, j->invite, hash);
		if (rc)
			return rpc_fail_store(ctx, rc);
		rc = store_run(db, SQL_SITE_INVITE_USE, "ti", hash,
			       rpc_now(ctx));
		if (rc)
			return rpc_fail_store(ctx, rc);
		if (store_changes(db) != 1)
			return rpc_fail_field(ctx, "invite",
					      "unknown or expired invitation");
	}
	rc = store_run(db, SQL_ACCOUNT_NEW, "ttti", j->handle, j->display_name,
		       j->newhash, rpc_now(ctx));
	if (rc)
		return rpc_fail_store(ctx, rc);
	id = store_last_id(db);
	/*
	 * HOOK POINT (circles): a circle invitation both admits the new
	 * member and joins them to the circle. circles_init() installs
	 * auth_set_invite_hooks(check, redeem); redeem runs here, in the
	 * registration's savepoint, so a failed join undoes the account.
	 */
	if (j->invite && !j->site_invite && auth_invite_redeem) {
		if (auth_invite_redeem(ctx, id, j->invite))
			return RPC_ERR;
	}
	*result = session_open(ctx, id, &session);
	if (!*result)
		return RPC_ERR;
	rpc_set_auth(ctx, id, session, false);
	log_info("auth", "account %lld registered", (long long)id);
	return 0;
}

/* Checks an invite code for registration: sets *site. 0, or RPC_ERR. */
static int register_invite(struct rpc_ctx *ctx, const char *code, bool *site)
{
	char hash[AUTH_HASH_HEX];
	int rc;

	rc = site_invite_ok(rpc_store(ctx), code, rpc_now(ctx), hash);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (rc > 0) {
		*site = true;
		return 0;
	}
	*site = false;
	if (auth_invite_check) {
		rc = auth_invite_check(rpc_store(ctx), code);
		if (rc < 0)
			return rpc_fail_store(ctx, rc);
		if (rc > 0)
			return 0;
	}
	return rpc_fail_field(ctx, "invite", "unknown or expired invitation");
}

/* Display names: 1-100 code points, no control characters, not blank. */
static int check_display_name(struct rpc_ctx *ctx, const char *field,
			      const char *s)
{
	bool blank = true;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return rpc_fail_field(ctx, field,
					      "must not contain control "
					      "characters");
		if (*p != ' ')
			blank = false;
	}
	if (blank)
		return rpc_fail_field(ctx, field, "must not be blank");
	return 0;
}

static int auth_register(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"handle", "password",
					      "display_name", "invite", NULL};
	const char *handle = NULL, *pw = NULL, *name = NULL, *invite = NULL;
	size_t pwlen = 0;
	bool site = false;
	struct auth_job *j;
	int64_t taken, retry;
	int rc;

	(void)result;
	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	if (rpc_param_str(ctx, params, "handle", true, 3, 32, &handle))
		return RPC_ERR;
	if (!auth_handle_ok(handle))
		return rpc_fail_field(ctx, "handle",
				      "3 to 32 of a-z, 0-9 and _");
	if (auth_param_password(ctx, params, "password", &pw, &pwlen))
		return RPC_ERR;
	if (rpc_param_str(ctx, params, "display_name", false, 1,
			  AUTH_DISPLAY_MAX, &name))
		return RPC_ERR;
	if (name && check_display_name(ctx, "display_name", name))
		return RPC_ERR;
	if (rpc_param_str(ctx, params, "invite", false, 1, 200, &invite))
		return RPC_ERR;
	if (auth_config.registration == 2)
		return rpc_fail(ctx, RPC_E_FORBIDDEN, "registration is closed");
	if (auth_config.registration == 1 && !invite)
		return rpc_fail(ctx, RPC_E_FORBIDDEN,
				"registration needs an invitation");
	if (invite && register_invite(ctx, invite, &site))
		return RPC_ERR;
	rc = store_int_query(rpc_store(ctx), &taken, SQL_HANDLE_TAKEN, "t",
			     handle);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (rc > 0)
		return rpc_fail(ctx, RPC_E_CONFLICT, "handle taken");
	if (auth_limit_register_begin(ctx, rpc_peer(ctx), &retry))
		return rpc_fail_retry(ctx, RPC_E_RATE_LIMITED,
				      "too many registrations from this "
				      "address: try again later",
				      retry);
	j = job_new(JOB_REGISTER);
	j->peer = xstrdup(rpc_peer(ctx));
	j->pw = auth_secret_dup(pw, pwlen);
	j->pwlen = pwlen;
	j->handle = xstrdup(handle);
	j->display_name = xstrdup(name ? name : handle);
	j->invite = invite ? xstrdup(invite) : NULL;
	j->site_invite = site;
	return rpc_defer(ctx, job_work, register_cont, j, job_free);
}

/* ---- auth.login (and POST /api/session) ---- */

/* Fails a login: in an HTTP call the answer goes into the response too. */
static int login_fail(struct rpc_ctx *ctx, int code, const char *msg,
		      int64_t retry_ms)
{
	struct http_resp *resp = rpc_http_resp(ctx);

	if (resp) {
		int status = code == RPC_E_RATE_LIMITED	     ? 429
			     : code == RPC_E_UNAUTHENTICATED ? 401
			     : code == RPC_E_INVALID_PARAMS  ? 400
			     : code == RPC_E_LOCKED	     ? 403
							     : 500;
		json_t *err =
			json_pack("{s:i,s:s}", "code", code, "message", msg);

		if (retry_ms > 0)
			json_object_set_new(err, "data",
					    json_pack("{s:I}", "retry_after_ms",
						      (json_int_t)retry_ms));
		free(resp->body);
		resp->body = NULL;
		free(resp->content_type);
		resp->content_type = NULL;
		http_resp_json(resp, status, json_pack("{s:o}", "error", err));
	}
	if (retry_ms > 0)
		return rpc_fail_retry(ctx, code, msg, retry_ms);
	return rpc_fail(ctx, code, msg);
}

/* Answers a successful login over HTTP: JSON and the session cookie. */
static void login_http(struct rpc_ctx *ctx, json_t *body)
{
	struct http_resp *resp = rpc_http_resp(ctx);
	const struct http_req *req = rpc_http_req(ctx);
	const char *token = json_string_value(json_object_get(body, "token"));
	const char *dev = json_string_value(json_object_get(body, "device"));
	struct buf b = BUF_INIT;

	if (dev) { /* the device cookie lives a year, across sessions */
		buf_addf(&b,
			 "%s=%s; Path=/api/session; HttpOnly; "
			 "SameSite=Strict; Max-Age=31536000",
			 AUTH_DEVICE_COOKIE, dev);
		if (req && req->tls)
			buf_adds(&b, "; Secure");
		buf_addch(&b, '\n');
	}
	buf_addf(&b, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld",
		 HTTP_SESSION_COOKIE, token, (long long)auth_session_max());
	if (req && req->tls)
		buf_adds(&b, "; Secure");
	free(resp->set_cookie);
	resp->set_cookie = buf_detach(&b, NULL);
	free(resp->body);
	resp->body = NULL;
	free(resp->content_type);
	resp->content_type = NULL;
	http_resp_json(resp, 200, body);
}

static int login_cont(struct rpc_ctx *ctx, void *arg, json_t **result)
{
	struct auth_job *j = arg;
	struct store *db = rpc_store(ctx);
	int64_t session;
	bool banned = false, ok;
	json_t *body;
	int rc;

	ok = j->verified && j->account && job_hash_current(db, j, &banned);
	auth_limit_end(ctx, j->device_ok ? NULL : j->handle, j->peer, true, ok);
	if (!ok) {
		log_info("auth", "failed login from %s", j->peer);
		return login_fail(ctx, RPC_E_UNAUTHENTICATED,
				  "wrong handle or password", 0);
	}
	if (banned)
		return login_fail(ctx, RPC_E_LOCKED,
				  "this account is banned from the site", 0);
	if (j->rehash && !j->hash_rc) {
		rc = store_run(db, SQL_SET_PWHASH, "ti", j->newhash,
			       j->account);
		if (rc)
			return rpc_fail_store(ctx, rc);
		log_info("auth", "account %lld: password rehashed",
			 (long long)j->account);
	}
	body = session_open(ctx, j->account, &session);
	if (!body)
		return RPC_ERR;
	/* this client has now signed in to the account: its device value
	 * (kept when it brought a valid one) exempts it from the handle's
	 * back-off next time (R2-F5) */
	if (!j->device_ok) {
		char dev[AUTH_DEVICE_MAX];

		if (!auth_device_new(db, j->account, dev))
			json_object_set_new(body, "device", json_string(dev));
	} else if (j->device) {
		json_object_set_new(body, "device", json_string(j->device));
	}
	log_info("auth", "account %lld logged in (session %lld)",
		 (long long)j->account, (long long)session);
	if (rpc_http_resp(ctx)) {
		login_http(ctx, body);
		return 0;
	}
	rpc_set_auth(ctx, j->account, session,
		     json_is_true(json_object_get(
			     json_object_get(body, "account"), "is_admin")));
	*result = body;
	return 0;
}

int auth_login_start(struct rpc_ctx *ctx, const char *handle, const char *pw,
		     size_t pwlen, const char *device)
{
	struct store *db = rpc_store(ctx);
	struct auth_job *j;
	struct store_stmt *st;
	char lower[72];
	int64_t retry;
	int rc;

	snprintf(lower, sizeof(lower), "%s", handle);
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	j = job_new(JOB_LOGIN);
	j->handle = xstrdup(lower);
	j->peer = xstrdup(rpc_peer(ctx));
	st = store_query(db, SQL_ACCOUNT_BY_HANDLE, "t", lower);
	if (!st) {
		job_free(j);
		return rpc_fail_store(ctx, SCH_EDB);
	}
	rc = store_row(st);
	if (rc > 0 && !store_int(st, 3)) {
		j->account = store_int(st, 0);
		j->hash = store_text_dup(st, 1); /* NULL: never set */
	}
	store_done(st);
	if (rc < 0) {
		job_free(j);
		return rpc_fail_store(ctx, rc);
	}
	/* a device that signed in to this account before is bound by its
	 * address's limit only, not the handle's back-off (R2-F5) */
	j->device_ok = auth_device_valid(db, device, j->account);
	if (j->device_ok)
		j->device = xstrdup(device);
	if (auth_limit_begin(ctx, j->device_ok ? NULL : lower, rpc_peer(ctx),
			     true, &retry)) {
		job_free(j);
		return login_fail(ctx, RPC_E_RATE_LIMITED,
				  "too many failed logins: try again later",
				  retry);
	}
	j->pw = auth_secret_dup(pw, pwlen);
	j->pwlen = pwlen;
	/* an unknown handle verifies against a dummy hash: same cost */
	return rpc_defer(ctx, job_work, login_cont, j, job_free);
}

static int auth_login(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"handle", "password", "device",
					      NULL};
	const char *handle = NULL, *pw = NULL, *device = NULL;
	size_t pwlen = 0;

	(void)result;
	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	if (rpc_param_str(ctx, params, "handle", true, 1, 64, &handle))
		return RPC_ERR;
	if (param_password_any(ctx, params, "password", &pw, &pwlen))
		return RPC_ERR;
	if (rpc_param_str(ctx, params, "device", false, 1, AUTH_DEVICE_MAX - 1,
			  &device))
		return RPC_ERR;
	return auth_login_start(ctx, handle, pw, pwlen, device);
}

/* ---- auth.resume, auth.logout, auth.sessions, auth.revoke ---- */

static int auth_resume(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"token", NULL};
	const char *token = NULL;
	int64_t account, session, exp;
	bool admin;
	json_t *acc;
	int rc;

	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	if (rpc_param_str(ctx, params, "token", true, 1, 200, &token))
		return RPC_ERR;
	rc = auth_session_lookup(rpc_store(ctx), token, rpc_now(ctx), &account,
				 &session, &admin, &exp);
	if (rc == SCH_ENOTFOUND)
		return rpc_fail(ctx, RPC_E_UNAUTHENTICATED,
				"session expired or ended");
	if (rc)
		return rpc_fail_store(ctx, rc);
	acc = auth_account_json(rpc_store(ctx), account);
	if (!acc)
		return rpc_fail(ctx, RPC_E_UNAUTHENTICATED,
				"session expired or ended");
	rpc_set_auth(ctx, account, session, admin);
	*result = json_pack("{s:o,s:o}", "account", acc, "expires_at",
			    auth_time_json(exp));
	return 0;
}

static int auth_logout(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {NULL};
	int64_t session = rpc_session(ctx);
	int rc;

	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	if (!session) {
		rpc_set_auth(ctx, 0, 0, false);
		*result = json_object();
		return 0;
	}
	rc = auth_session_revoke(rpc_store(ctx), session);
	if (rc)
		return rpc_fail_store(ctx, rc);
	return auth_close_later(ctx, 0, session, 4001, "session ended");
}

static int auth_sessions(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"cursor", NULL};
	struct store_stmt *st;
	json_t *items;
	int64_t now = rpc_now(ctx);
	int rc;

	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	st = store_query(rpc_store(ctx), SQL_SESSIONS_LIST, "iii",
			 rpc_account(ctx), now, now);
	if (!st)
		return rpc_fail_store(ctx, SCH_EDB);
	items = json_array();
	while ((rc = store_row(st)) > 0) {
		int64_t id = store_int(st, 0);
		const char *ua = store_text(st, 3);

		json_array_append_new(
			items,
			json_pack("{s:I,s:o,s:o,s:s,s:b,s:o}", "id",
				  (json_int_t)id, "created_at",
				  auth_time_json(store_int(st, 1)), "last_seen",
				  auth_time_json(store_int(st, 2)),
				  "user_agent", ua ? ua : "", "current",
				  id == rpc_session(ctx), "expires_at",
				  auth_time_json(store_int(st, 4))));
	}
	if (rc < 0) {
		json_decref(items);
		return rpc_fail_store(ctx, rc);
	}
	*result = json_pack("{s:o,s:n}", "items", items, "next");
	return 0;
}

static int auth_revoke(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"session", NULL};
	int64_t session = 0, owner = 0;
	int rc;

	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	if (rpc_param_id(ctx, params, "session", true, &session))
		return RPC_ERR;
	rc = store_int_query(rpc_store(ctx), &owner, SQL_SESSION_OWNER, "i",
			     session);
	if (rc < 0)
		return rpc_fail_store(ctx, rc);
	if (rc == 0 || owner != rpc_account(ctx))
		return rpc_fail(ctx, RPC_E_NOT_FOUND, "no such session");
	rc = auth_session_revoke(rpc_store(ctx), session);
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (session == rpc_session(ctx))
		return auth_close_later(ctx, 0, session, 4001, "session ended");
	rpc_effect_close(ctx, 0, session, 4001, "session ended");
	*result = json_object();
	return 0;
}

/* ---- auth.reset ---- */

static int reset_cont(struct rpc_ctx *ctx, void *arg, json_t **result)
{
	struct auth_job *j = arg;
	struct store *db = rpc_store(ctx);
	int64_t session;
	int rc;

	if (j->weak)
		return fail_weak(ctx, "password", j);
	if (j->hash_rc)
		return rpc_fail(ctx, RPC_E_INTERNAL,
				"cannot hash the password");
	rc = store_run(db, SQL_RESET_USE, "ti", j->secret_hash, rpc_now(ctx));
	if (rc)
		return rpc_fail_store(ctx, rc);
	if (store_changes(db) != 1)
		return rpc_fail(ctx, RPC_E_UNAUTHENTICATED,
				"this reset link is invalid, used or expired");
	rc = store_run(db, SQL_SET_PWHASH, "ti", j->newhash, j->account);
	if (!rc)
		rc = store_run(db, SQL_RESET_USE_ALL, "i", j->account);
	if (!rc)
		rc = auth_end_sessions(ctx, j->account, 0);
	if (rc)
		return rpc_fail_store(ctx, rc);
	*result = session_open(ctx, j->account, &session);
	if (!*result)
		return RPC_ERR;
	rpc_set_auth(ctx, j->account, session,
		     json_is_true(json_object_get(
			     json_object_get(*result, "account"), "is_admin")));
	log_info("auth", "account %lld: password set by reset link",
		 (long long)j->account);
	return 0;
}

static int auth_reset(struct rpc_ctx *ctx, json_t *params, json_t **result)
{
	static const char *const allowed[] = {"reset_token", "password", NULL};
	const char *token = NULL, *pw = NULL;
	size_t pwlen = 0;
	struct store *db = rpc_store(ctx);
	struct store_stmt *st;
	char hash[AUTH_HASH_HEX];
	int64_t account = 0, expires = 0, used = 1;
	struct auth_job *j;
	bool banned = false;
	int rc;

	(void)result;
	if (rpc_params_only(ctx, params, allowed))
		return RPC_ERR;
	if (rpc_param_str(ctx, params, "reset_token", true, 1, 200, &token))
		return RPC_ERR;
	if (auth_param_password(ctx, params, "password", &pw, &pwlen))
		return RPC_ERR;
	rc = auth_token_hash(db, token, hash);
	if (rc && rc != SCH_EINVAL)
		return rpc_fail_store(ctx, rc);
	if (!rc) {
		st = store_query(db, SQL_RESET_GET, "t", hash);
		if (!st)
			return rpc_fail_store(ctx, SCH_EDB);
		rc = store_row(st);
		if (rc > 0) {
			account = store_int(st, 0);
			expires = store_int(st, 1);
			used = store_int(st, 2);
		}
		store_done(st);
		if (rc < 0)
			return rpc_fail_store(ctx, rc);
	}
	if (!account || used || expires <= rpc_now(ctx))
		return rpc_fail(ctx, RPC_E_UNAUTHENTICATED,
				"this reset link is invalid, used or expired");
	j = job_new(JOB_RESET);
	rc = job_load_account(db, j, account);
	if (rc) {
		job_free(j);
		if (rc == SCH_ENOTFOUND)
			return rpc_fail(ctx, RPC_E_UNAUTHENTICATED,
					"this reset link is invalid, used or "
					"expired");
		return rpc_fail_store(ctx, rc);
	}
	banned = auth_is_banned(db, account);
	if (banned) {
		job_free(j);
		return rpc_fail(ctx, RPC_E_LOCKED,
				"this account is banned from the site");
	}
	j->pw = auth_secret_dup(pw, pwlen);
	j->pwlen = pwlen;
	memcpy(j->secret_hash, hash, sizeof(hash));
	return rpc_defer(ctx, job_work, reset_cont, j, job_free);
}

/* ---- account.change_password and account.delete share the job ---- */

int auth_confirm_start(struct rpc_ctx *ctx, const char *pw, size_t pwlen,
		       const char *newpw, size_t newlen, rpc_cont_fn cont)
{
	struct auth_job *j = job_new(newpw ? JOB_CHANGE : JOB_CONFIRM);
	int64_t retry;
	int rc;

	rc = job_load_account(rpc_store(ctx), j, rpc_account(ctx));
	if (rc) {
		job_free(j);
		if (rc == SCH_ENOTFOUND)
			return rpc_fail(ctx, RPC_E_UNAUTHENTICATED,
					"no such account");
		return rpc_fail_store(ctx, rc);
	}
	if (auth_limit_begin(ctx, j->handle, NULL, false, &retry)) {
		job_free(j);
		return rpc_fail_retry(ctx, RPC_E_RATE_LIMITED,
				      "too many wrong passwords: try again "
				      "later",
				      retry);
	}
	j->pw = auth_secret_dup(pw, pwlen);
	j->pwlen = pwlen;
	if (newpw) {
		j->newpw = auth_secret_dup(newpw, newlen);
		j->newlen = newlen;
	}
	return rpc_defer(ctx, job_work, cont, j, job_free);
}

int auth_confirm_check(struct rpc_ctx *ctx, void *arg, bool want_hash,
		       char **newhash)
{
	struct auth_job *j = arg;
	bool banned, ok;

	ok = j->verified && job_hash_current(rpc_store(ctx), j, &banned);
	auth_limit_end(ctx, j->handle, NULL, false, ok);
	if (!ok)
		return rpc_fail(ctx, RPC_E_FORBIDDEN, "wrong current password");
	if (want_hash) {
		if (j->weak)
			return fail_weak(ctx, "new_password", j);
		if (j->hash_rc)
			return rpc_fail(ctx, RPC_E_INTERNAL,
					"cannot hash the password");
		*newhash = j->newhash;
	}
	return 0;
}

/* ---- init ---- */

static const struct rpc_method auth_methods[] = {
	{"auth.register", auth_register, RPC_PUBLIC},
	{"auth.login", auth_login, RPC_PUBLIC},
	{"auth.resume", auth_resume, RPC_PUBLIC},
	{"auth.logout", auth_logout, RPC_AUTH},
	{"auth.sessions", auth_sessions, RPC_AUTH},
	{"auth.revoke", auth_revoke, RPC_AUTH},
	{"auth.reset", auth_reset, RPC_PUBLIC},
	{NULL, NULL, 0}};

void auth_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	if (sodium_init() < 0)
		die("libsodium cannot start");
	rpc_register(auth_methods);
	auth_account_init();
	auth_http_init();
	rpc_hooks.authenticate = auth_hook_authenticate;
	rpc_hooks.session_alive = auth_hook_session_alive;
}
