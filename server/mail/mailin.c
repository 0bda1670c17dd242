/*
 * mailin.c - `scholia mail-in`: a reply by email becomes a reply in the
 * thread.
 *
 * The MTA pipes one RFC 5322 message to stdin (Postfix's pipe transport,
 * see docs/email.md). GMime parses it; the reply address (Delivered-To,
 * X-Original-To, To or Cc at --reply-to-domain) carries
 * reply+<account>-<thread>-<mac>, a MAC with the server key, so it cannot
 * be made up or moved to another account or thread. The From address must
 * be that account's verified address. The text part, without the quoted
 * mail and the signature, is posted with reply.create as that account, so
 * every rule of posting applies (membership, mute, lock, slow mode, rate
 * limit, size).
 *
 * Exit codes (sysexits): 0 posted; 65 (EX_DATAERR) refused, with a mail to
 * the sender saying why when the sender is a known verified address (no
 * backscatter to strangers); 75 (EX_TEMPFAIL) try again later: slow mode,
 * rate limit, database busy. What the command posts goes to live
 * subscribers when they next catch up (circle.subscribe since_seq), as for
 * any write made by another process.
 */
#include <ctype.h>
#include <strings.h>
#include <time.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail/internal.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"
#include "util/log.h"

#define MAILIN_MAX (10 * 1024 * 1024) /* bytes read from stdin at most */
#define EX_OK 0
#define EX_DATAERR 65
#define EX_TEMPFAIL 75

static const char SQL_ADDR_OWNER[] =
	"SELECT account FROM mail_addresses WHERE verified = 1 AND"
	" lower(email) = lower(?) LIMIT 1";

/* Finds a reply address at our domain among the addresses of list; its
 * local part into local. */
static bool find_token(InternetAddressList *list, char *local, size_t len)
{
	int n = list ? internet_address_list_length(list) : 0;

	for (int i = 0; i < n; i++) {
		InternetAddress *ia =
			internet_address_list_get_address(list, i);
		const char *addr, *at;

		if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
			continue;
		addr = internet_address_mailbox_get_addr(
			INTERNET_ADDRESS_MAILBOX(ia));
		at = addr ? strrchr(addr, '@') : NULL;
		if (!at || strcasecmp(at + 1, mail_config.reply_domain) != 0 ||
		    strncasecmp(addr, "reply+", 6) != 0)
			continue;
		snprintf(local, len, "%.*s", (int)(at - addr), addr);
		return true;
	}
	return false;
}

/* Same for a raw header value ("Delivered-To: reply+...@domain"). */
static bool find_token_header(GMimeObject *msg, const char *name, char *local,
			      size_t len)
{
	const char *v = g_mime_object_get_header(msg, name);
	InternetAddressList *l;
	bool found;

	if (!v)
		return false;
	l = internet_address_list_parse(NULL, v);
	found = find_token(l, local, len);
	if (l)
		g_object_unref(l);
	return found;
}

/* The first text/plain part (or text/html with its tags dropped), as a
 * malloc'd UTF-8 string, or NULL. */
static char *body_text(GMimeMessage *msg)
{
	GMimePartIter *it;
	GMimeObject *top = g_mime_message_get_mime_part(msg), *html = NULL;
	char *out = NULL;

	if (!top)
		return NULL;
	if (GMIME_IS_TEXT_PART(top)) {
		GMimeContentType *ct = g_mime_object_get_content_type(top);

		if (g_mime_content_type_is_type(ct, "text", "plain")) {
			char *t =
				g_mime_text_part_get_text(GMIME_TEXT_PART(top));

			out = t ? xstrdup(t) : NULL;
			g_free(t);
			return out;
		}
		html = top;
	} else if (GMIME_IS_MULTIPART(top)) {
		it = g_mime_part_iter_new(top);
		do {
			GMimeObject *p = g_mime_part_iter_get_current(it);
			GMimeContentType *ct;

			if (!p || !GMIME_IS_TEXT_PART(p))
				continue;
			ct = g_mime_object_get_content_type(p);
			if (g_mime_content_type_is_type(ct, "text", "plain")) {
				char *t = g_mime_text_part_get_text(
					GMIME_TEXT_PART(p));

				out = t ? xstrdup(t) : NULL;
				g_free(t);
				break;
			}
			if (!html &&
			    g_mime_content_type_is_type(ct, "text", "html"))
				html = p;
		} while (g_mime_part_iter_next(it));
		g_mime_part_iter_free(it);
	}
	if (!out && html) {
		char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(html));
		struct buf b = BUF_INIT;
		bool tag = false;

		for (const char *p = t ? t : ""; *p; p++) {
			if (*p == '<')
				tag = true;
			else if (*p == '>')
				tag = false;
			else if (!tag)
				buf_addch(&b, *p);
		}
		g_free(t);
		out = buf_detach(&b, NULL);
	}
	return out;
}

static bool starts(const char *line, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && strncmp(line, prefix, k) == 0;
}

/* True for the line that opens a quoted mail or a signature: everything
 * from it on is dropped. */
static bool cut_here(const char *line, size_t n)
{
	size_t e = n;

	while (e && (line[e - 1] == ' ' || line[e - 1] == '\r'))
		e--;
	if (e == 2 && strncmp(line, "--", 2) == 0)
		return true; /* "-- " signature delimiter */
	if (starts(line, n, "-----Original Message-----") ||
	    starts(line, n, "________________________________") ||
	    starts(line, n, "Sent from my ") ||
	    starts(line, n, "Reply to this mail to answer"))
		return true;
	/* "On <date>, <name> wrote:" (and "Le ... a écrit :") */
	if (e >= 6 && (strncmp(line + e - 6, "wrote:", 6) == 0 ||
		       (e >= 7 && strncmp(line + e - 7, "écrit :", 7) == 0)))
		return true;
	return false;
}

char *mail_strip_quotes(const char *text)
{
	struct buf b = BUF_INIT;
	const char *p = text;
	char *out;
	size_t len;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (cut_here(p, n))
			break;
		if (!(n && p[0] == '>')) {
			buf_add(&b, p, n && p[n - 1] == '\r' ? n - 1 : n);
			buf_addch(&b, '\n');
		}
		p += n + (nl ? 1 : 0);
	}
	out = buf_detach(&b, &len);
	while (len && isspace((unsigned char)out[len - 1]))
		out[--len] = '\0';
	p = out;
	while (*p && isspace((unsigned char)*p))
		p++;
	if (p != out)
		memmove(out, p, strlen(p) + 1);
	return out;
}

/* Mails the sender why the reply was not posted (when known). */
static void refuse_mail(struct store *db, int64_t account, const char *to,
			const char *subject, const char *msgid, const char *why)
{
	struct mail_msg m = MAIL_MSG_INIT;
	struct buf text = BUF_INIT, s = BUF_INIT;

	if (!to || !*to || !mail_addr_ok(to))
		return;
	buf_addf(&text,
		 "Your reply by email was not posted:\n\n  %s\n\n"
		 "Nothing else was changed. You can answer in the browser "
		 "instead.\n",
		 why);
	buf_addf(&s, "Not posted: %s", subject ? subject : "your reply");
	m.to = to;
	m.subject = buf_str(&s);
	m.text = buf_str(&text);
	m.in_reply_to = msgid;
	if (store_begin(db) == 0) {
		if (mail_queue(db, account, "refusal", &m,
			       (int64_t)time(NULL)) ||
		    store_commit(db))
			store_rollback(db);
		else
			mail_outbox_flush(db);
	}
	buf_free(&text);
	buf_free(&s);
}

/* Posts body as account in thread: 0, EX_DATAERR with why, EX_TEMPFAIL. */
static int post_reply(struct store *db, int64_t account, int64_t thread,
		      const char *body, char *why, size_t whylen)
{
	struct rpc_ctx *ctx;
	json_t *result = NULL, *error = NULL, *data, *params;
	int rc, code;

	if (store_begin(db)) {
		snprintf(why, whylen, "the database is busy");
		return EX_TEMPFAIL;
	}
	ctx = rpc_ctx_new_local(db, account, false);
	params = json_pack("{s:I,s:s}", "annotation", (json_int_t)thread,
			   "body", body);
	rc = rpc_call_local(ctx, "reply.create", params, &result, &error);
	json_decref(params);
	rpc_ctx_free_local(ctx);
	if (rc == 0) {
		json_decref(result);
		if (store_commit(db)) {
			store_rollback(db);
			snprintf(why, whylen, "the database is busy");
			return EX_TEMPFAIL;
		}
		return EX_OK;
	}
	store_rollback(db);
	code = (int)json_integer_value(json_object_get(error, "code"));
	data = json_object_get(error, "data");
	snprintf(why, whylen, "%s",
		 json_string_value(json_object_get(error, "message"))
			 ? json_string_value(json_object_get(error, "message"))
			 : "refused");
	if (code == RPC_E_RATE_LIMITED || code == RPC_E_INTERNAL ||
	    (code == RPC_E_LOCKED &&
	     json_is_true(json_object_get(data, "slow_mode")))) {
		json_decref(error);
		return EX_TEMPFAIL;
	}
	json_decref(error);
	if (code == RPC_E_NOT_FOUND)
		snprintf(why, whylen,
			 "the thread is gone, or you are no longer a member "
			 "of its circle");
	return EX_DATAERR;
}

int mail_cli_in(struct store *db, FILE *in)
{
	struct buf raw = BUF_INIT;
	GMimeStream *stream = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *msg = NULL;
	InternetAddressList *from;
	char local[MAIL_ADDR_MAX + 1] = "", sender[MAIL_ADDR_MAX + 1] = "";
	char mine[MAIL_ADDR_MAX + 1], why[300] = "";
	const char *subject, *msgid;
	int64_t account = 0, thread = 0, known = 0;
	char *text = NULL, *body = NULL;
	char chunk[8192];
	size_t n;
	int rc = EX_DATAERR;

	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
		if (raw.len + n > MAILIN_MAX) {
			log_warn("mail", "mail-in: message over %d bytes",
				 MAILIN_MAX);
			buf_free(&raw);
			return EX_DATAERR;
		}
		buf_add(&raw, chunk, n);
	}
	if (!mail_config.reply_domain || !*mail_config.reply_domain) {
		log_warn("mail", "mail-in: --reply-to-domain is not set");
		buf_free(&raw);
		return EX_DATAERR;
	}
	g_mime_init();
	stream = g_mime_stream_mem_new_with_buffer(raw.data ? raw.data : "",
						   raw.len);
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, NULL);
	if (!msg) {
		log_warn("mail", "mail-in: not a message");
		goto out;
	}
	from = g_mime_message_get_from(msg);
	if (from && internet_address_list_length(from) > 0) {
		InternetAddress *ia =
			internet_address_list_get_address(from, 0);

		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			snprintf(sender, sizeof(sender), "%s",
				 internet_address_mailbox_get_addr(
					 INTERNET_ADDRESS_MAILBOX(ia)));
	}
	subject = g_mime_message_get_subject(msg);
	msgid = g_mime_message_get_message_id(msg);
	/* a reply goes only to a sender we know: no backscatter */
	if (sender[0])
		store_int_query(db, &known, SQL_ADDR_OWNER, "t", sender);
	if (!find_token_header(GMIME_OBJECT(msg), "Delivered-To", local,
			       sizeof(local)) &&
	    !find_token_header(GMIME_OBJECT(msg), "X-Original-To", local,
			       sizeof(local)) &&
	    !find_token(
		    g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_TO),
		    local, sizeof(local)) &&
	    !find_token(
		    g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_CC),
		    local, sizeof(local))) {
		snprintf(why, sizeof(why),
			 "it was not sent to a reply address of ours");
		goto refuse;
	}
	if (mail_reply_parse(db, local, &account, &thread)) {
		snprintf(why, sizeof(why),
			 "the reply address is not one we gave out");
		goto refuse;
	}
	mail_verified_address(db, account, mine, sizeof(mine));
	if (!mine[0] || strcasecmp(mine, sender) != 0) {
		snprintf(why, sizeof(why),
			 "it came from an address that is not the verified "
			 "address of the account it answers for");
		goto refuse;
	}
	text = body_text(msg);
	body = text ? mail_strip_quotes(text) : NULL;
	if (!body || !*body) {
		snprintf(why, sizeof(why), "we found no text above the quote");
		goto refuse;
	}
	rc = post_reply(db, account, thread, body, why, sizeof(why));
	if (rc == EX_OK) {
		log_info("mail", "mail-in: account %lld replied in thread %lld",
			 (long long)account, (long long)thread);
		mail_outbox_flush(db); /* the notifications it caused */
		goto out;
	}
	if (rc == EX_TEMPFAIL) {
		log_info("mail", "mail-in: try again later: %s", why);
		goto out;
	}
refuse:
	rc = EX_DATAERR;
	log_info("mail", "mail-in: refused from %s: %s",
		 sender[0] ? sender : "?", why);
	if (known > 0)
		refuse_mail(db, known, sender, subject, msgid, why);
out:
	free(text);
	free(body);
	if (msg)
		g_object_unref(msg);
	if (parser)
		g_object_unref(parser);
	if (stream)
		g_object_unref(stream);
	g_mime_shutdown();
	buf_free(&raw);
	return rc;
}
