/*
 * http.c - the browser's session endpoints (SPEC §2).
 *
 * POST /api/session takes {"handle","password"}, runs the same login as
 * auth.login (limits, Argon2id on the pool) and answers like it, setting
 * the session cookie: HttpOnly so scripts never see the token, SameSite=
 * Strict so other sites cannot ride it, Secure under TLS, and Max-Age the
 * absolute session lifetime (the server enforces the sliding one).
 * DELETE /api/session ends the cookie's session and clears the cookie.
 */
#include "auth/internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "http/http.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

#define BODY_MAX 8192

static const char SQL_SESSION_BY_HASH[] =
	"SELECT id FROM sessions WHERE token_hash = ? AND revoked = 0";

static void bad_request(struct http_resp *resp, const char *field,
			const char *msg)
{
	http_resp_json(resp, 400,
		       json_pack("{s:{s:i,s:s,s:{s:s}}}", "error", "code",
				 RPC_E_INVALID_PARAMS, "message", msg, "data",
				 "field", field));
}

/* Wipes a JSON string's bytes in place: the parsed body is ours. */
static void wipe_string(json_t *v)
{
	if (json_is_string(v))
		sodium_memzero((void *)json_string_value(v),
			       json_string_length(v));
}

static int session_post(struct rpc_ctx *ctx, const struct http_req *req,
			struct http_resp *resp)
{
	json_t *body, *h, *p;
	json_error_t jerr;
	int rc;

	if (req->body_len > BODY_MAX) {
		http_resp_json(resp, 413,
			       json_pack("{s:{s:i,s:s}}", "error", "code",
					 RPC_E_TOO_LARGE, "message",
					 "request too large"));
		return 0;
	}
	body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES,
			  &jerr);
	if (!json_is_object(body)) {
		json_decref(body);
		bad_request(resp, "body", "expected {\"handle\",\"password\"}");
		return 0;
	}
	h = json_object_get(body, "handle");
	p = json_object_get(body, "password");
	if (!json_is_string(h) || json_string_length(h) < 1 ||
	    json_string_length(h) > 64) {
		bad_request(resp, "handle", "missing or too long");
		rc = 0;
	} else if (!json_is_string(p) || json_string_length(p) < 1 ||
		   json_string_length(p) > AUTH_PW_MAX ||
		   memchr(json_string_value(p), '\0', json_string_length(p))) {
		bad_request(resp, "password", "must be 1 to 1024 bytes");
		rc = 0;
	} else {
		json_t *d = json_object_get(body, "device");

		rc = auth_login_start(
			ctx, json_string_value(h), json_string_value(p),
			json_string_length(p),
			json_is_string(d) ? json_string_value(d) : req->device);
	}
	wipe_string(p);
	json_decref(body);
	return rc;
}

static int session_delete(struct rpc_ctx *ctx, const struct http_req *req,
			  struct http_resp *resp)
{
	char hash[AUTH_HASH_HEX];
	struct store *db = rpc_store(ctx);
	struct buf b = BUF_INIT;
	int64_t session = 0;
	int rc;

	if (req->token && !auth_token_hash(db, req->token, hash)) {
		rc = store_int_query(db, &session, SQL_SESSION_BY_HASH, "t",
				     hash);
		if (rc < 0) {
			http_resp_json(
				resp, 503,
				json_pack("{s:s}", "error", "database error"));
			return RPC_ERR;
		}
		if (rc > 0) {
			rc = auth_session_revoke(db, session);
			if (rc)
				return RPC_ERR;
			rpc_effect_close(ctx, 0, session, 4001,
					 "session ended");
		}
	}
	buf_addf(&b, "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
		 HTTP_SESSION_COOKIE);
	if (req->tls)
		buf_adds(&b, "; Secure");
	free(resp->set_cookie);
	resp->set_cookie = buf_detach(&b, NULL);
	http_resp_json(resp, 200, json_pack("{s:b}", "ended", session != 0));
	return 0;
}

void auth_http_init(void)
{
	http_route_register("POST", "/api/session", session_post);
	http_route_register("DELETE", "/api/session", session_delete);
}
