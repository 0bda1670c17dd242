/*
 * test_mail.c - unit tests of the mail module's pure parts: which
 * addresses are accepted, the composed message (headers that cannot be
 * injected into, RFC 2047 subjects, 7-bit CRLF lines), the reply text
 * without its quote and signature, and the signed reply addresses (a
 * changed digit, another account or thread, and case).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/internal.h"
#include "mail/internal.h"
#include "rpc/rpc.h"
#include "support/db.h"
#include "util/buf.h"

static void test_addresses(void **state)
{
	(void)state;
	assert_true(mail_addr_ok("ada@example.org"));
	assert_true(mail_addr_ok("a.b+tag@sub.example.org"));
	assert_true(mail_addr_ok("root@localhost"));
	assert_false(mail_addr_ok(NULL));
	assert_false(mail_addr_ok(""));
	assert_false(mail_addr_ok("no-at-sign"));
	assert_false(mail_addr_ok("two@@example.org"));
	assert_false(mail_addr_ok("a@b@example.org"));
	assert_false(mail_addr_ok("@example.org"));
	assert_false(mail_addr_ok("ada@"));
	assert_false(mail_addr_ok("ada@nodot"));
	assert_false(mail_addr_ok("ada @example.org"));
	assert_false(mail_addr_ok("ada@example.org\r\nBcc: x@y.z"));
	assert_false(mail_addr_ok("<ada@example.org>"));
	assert_false(mail_addr_ok("ada@example.org."));
}

static void test_addr_of(void **state)
{
	char out[300];

	(void)state;
	mail_addr_of("Scholia <noreply@scholia.test>", out, sizeof(out));
	assert_string_equal(out, "noreply@scholia.test");
	mail_addr_of("plain@scholia.test", out, sizeof(out));
	assert_string_equal(out, "plain@scholia.test");
}

static void test_compose(void **state)
{
	struct mail_msg m = MAIL_MSG_INIT;
	struct buf b = BUF_INIT;
	const char *s, *p;

	(void)state;
	mail_config.from = "Scholia <noreply@scholia.test>";
	m.to = "ada@example.org";
	m.subject = "Réponse\r\nBcc: victim@example.org";
	m.text = "line one\nline two é\n";
	m.html = "<p>x</p>";
	m.unsubscribe = "https://s.test/api/mail/unsubscribe?t=1.2.ab";
	m.reply_to = "reply+1-2-abc@reply.test";
	mail_compose(&m, "123.abc@scholia.test", 0, &b);
	s = buf_str(&b);
	assert_non_null(strstr(s, "\r\nTo: <ada@example.org>\r\n"));
	assert_non_null(
		strstr(s, "\r\nMessage-ID: <123.abc@scholia.test>\r\n"));
	assert_non_null(strstr(s, "\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000"));
	assert_non_null(strstr(s, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(s, "\r\nList-Unsubscribe: <https://s.test/"));
	assert_non_null(strstr(
		s,
		"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	assert_non_null(strstr(s, "\r\nReply-To: <reply+1-2-abc@reply.test>"));
	assert_non_null(strstr(s, "Content-Type: text/plain; charset=utf-8"));
	assert_non_null(strstr(s, "Content-Type: text/html; charset=utf-8"));
	/* the subject's CR LF never starts a header of its own */
	assert_null(strstr(s, "\r\nBcc:"));
	/* 7-bit, CRLF line ends, short lines */
	for (p = s; *p; p++) {
		const char *nl = strchr(p, '\n');

		assert_true((unsigned char)*p < 0x80);
		if (!nl)
			break;
		assert_true(nl > s && nl[-1] == '\r');
		assert_true(nl - p <= 998);
		p = nl;
	}
	buf_free(&b);
}

static void check_strip(const char *in, const char *want)
{
	char *got = mail_strip_quotes(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_strip_quotes(void **state)
{
	(void)state;
	check_strip("Yes, I agree.\n\nOn Sun, 6 Dec 2026, Scholia wrote:\n"
		    "> the old text\n> more\n",
		    "Yes, I agree.");
	check_strip("Top reply\r\n\r\n-- \r\nAda\r\nPhone 123\r\n",
		    "Top reply");
	check_strip("> quoted first\nmy answer\n> quoted again\nmore\n",
		    "my answer\nmore");
	check_strip("Answer\n-----Original Message-----\nFrom: x\n", "Answer");
	check_strip("  \n\n> only a quote\n", "");
	check_strip("Keep -- this dash\nand this\n",
		    "Keep -- this dash\nand this");
}

static void test_reply_addresses(void **state)
{
	char path[512], addr[300], local[300];
	struct store *db;
	int64_t account = 0, thread = 0;

	(void)state;
	auth_config.server_key_path = NULL; /* the key lives in the database */
	auth_key_forget();
	db = fixture_open_db(path, sizeof(path), "mail");
	mail_config.reply_domain = "reply.scholia.test";
	mail_reply_address(db, 7, 42, addr, sizeof(addr));
	assert_true(strncmp(addr, "reply+7-42-", 11) == 0);
	assert_non_null(strstr(addr, "@reply.scholia.test"));
	snprintf(local, sizeof(local), "%.*s", (int)(strchr(addr, '@') - addr),
		 addr);
	assert_int_equal(mail_reply_parse(db, local, &account, &thread), 0);
	assert_int_equal(account, 7);
	assert_int_equal(thread, 42);
	/* mail systems may change the case of the local part */
	for (char *p = local; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(mail_reply_parse(db, local, &account, &thread), 0);
	/* another thread or account with the same MAC, or a changed MAC */
	snprintf(local, sizeof(local), "reply+7-43-%s", addr + 11);
	*strchr(local, '@') = '\0';
	assert_int_equal(mail_reply_parse(db, local, &account, &thread), -1);
	snprintf(local, sizeof(local), "reply+8-42-%s", addr + 11);
	*strchr(local, '@') = '\0';
	assert_int_equal(mail_reply_parse(db, local, &account, &thread), -1);
	snprintf(local, sizeof(local), "%.*s", (int)(strchr(addr, '@') - addr),
		 addr);
	local[strlen(local) - 1] = local[strlen(local) - 1] == '0' ? '1' : '0';
	assert_int_equal(mail_reply_parse(db, local, &account, &thread), -1);
	assert_int_equal(mail_reply_parse(db, "reply+7-42-", &account, &thread),
			 -1);
	assert_int_equal(mail_reply_parse(db, "nonsense", &account, &thread),
			 -1);
	/* without a reply domain there are no reply addresses */
	mail_config.reply_domain = NULL;
	mail_reply_address(db, 7, 42, addr, sizeof(addr));
	assert_string_equal(addr, "");
	fixture_close_db(db, path);
	auth_key_forget();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_addr_of),
		cmocka_unit_test(test_compose),
		cmocka_unit_test(test_strip_quotes),
		cmocka_unit_test(test_reply_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
