/*
 * compose.c - turns a mail into the bytes of an RFC 5322 message.
 *
 * Every mail is multipart/alternative with a plain-text and an HTML part,
 * both UTF-8 in base64 so that the message is 7-bit with short lines
 * whatever the text holds; a non-ASCII subject is an RFC 2047 encoded-word.
 * Header values we write come from our own strings or from addresses that
 * passed mail_addr_ok(), and CR or LF never reach a header.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "mail/internal.h"
#include "util/html.h"
#include "util/log.h"

bool mail_addr_ok(const char *addr)
{
	const char *at;
	size_t len;

	if (!addr)
		return false;
	len = strlen(addr);
	if (len < 3 || len > MAIL_ADDR_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>' ||
		    *p == '"' || *p == '(' || *p == ')' || *p == ',' ||
		    *p == ';' || *p == ':' || *p == '\\' || *p == '[' ||
		    *p == ']')
			return false;
	at = strchr(addr, '@');
	if (!at || at == addr || strchr(at + 1, '@') || !at[1] ||
	    at - addr > 64)
		return false;
	if (!strchr(at + 1, '.') && strcmp(at + 1, "localhost") != 0)
		return false;
	if (at[1] == '.' || addr[len - 1] == '.')
		return false;
	return true;
}

void mail_addr_of(const char *from, char *out, size_t outlen)
{
	const char *lt = from ? strrchr(from, '<') : NULL, *gt;

	if (!from) {
		snprintf(out, outlen, "scholia@localhost");
		return;
	}
	if (lt && (gt = strchr(lt, '>')) != NULL)
		snprintf(out, outlen, "%.*s", (int)(gt - lt - 1), lt + 1);
	else
		snprintf(out, outlen, "%s", from);
}

static void random_bytes(unsigned char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);

		if (r < 0)
			die("mail: getrandom failed");
		got += (size_t)r;
	}
}

void mail_new_message_id(char *id, size_t len)
{
	unsigned char raw[16];
	char addr[MAIL_ADDR_MAX + 1], hex[33];
	const char *at;

	random_bytes(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	mail_addr_of(mail_config.from, addr, sizeof(addr));
	at = strchr(addr, '@');
	snprintf(id, len, "%lld.%s@%s", (long long)time(NULL), hex,
		 at && at[1] ? at + 1 : "scholia.invalid");
}

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends base64 of s[0..n); wrap > 0 breaks lines (CRLF) every wrap
 * characters. */
static void b64(struct buf *out, const unsigned char *s, size_t n, int wrap)
{
	int col = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		q[0] = b64chars[(v >> 18) & 63];
		q[1] = b64chars[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64chars[v & 63] : '=';
		buf_add(out, q, 4);
		col += 4;
		if (wrap && col >= wrap && i + 3 < n) {
			buf_adds(out, "\r\n");
			col = 0;
		}
	}
}

/* Appends a header value: as is when printable ASCII, else as RFC 2047
 * encoded-words of at most 45 bytes of UTF-8 each (never splitting a
 * character). CR and LF become spaces. */
static void header_text(struct buf *out, const char *s)
{
	bool ascii = true;
	size_t n = strlen(s), i = 0;

	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] >= 0x7f || (unsigned char)s[k] < 0x20)
			ascii = false;
	if (ascii) {
		buf_adds(out, s);
		return;
	}
	while (i < n) {
		size_t take = n - i > 45 ? 45 : n - i;
		char tmp[46];

		while (i + take < n &&
		       ((unsigned char)s[i + take] & 0xc0) == 0x80)
			take--;
		memcpy(tmp, s + i, take);
		for (size_t k = 0; k < take; k++)
			if (tmp[k] == '\r' || tmp[k] == '\n')
				tmp[k] = ' ';
		if (i)
			buf_adds(out, "\r\n ");
		buf_adds(out, "=?UTF-8?B?");
		b64(out, (const unsigned char *)tmp, take, 0);
		buf_adds(out, "?=");
		i += take;
	}
}

/* Text with LF line ends as CRLF, base64. */
static void part(struct buf *out, const char *boundary, const char *type,
		 const char *body)
{
	struct buf crlf = BUF_INIT;

	for (const char *p = body; *p; p++) {
		if (*p == '\n' && (p == body || p[-1] != '\r'))
			buf_addch(&crlf, '\r');
		buf_addch(&crlf, *p);
	}
	buf_addf(out,
		 "--%s\r\nContent-Type: %s; charset=utf-8\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\n",
		 boundary, type);
	b64(out, (const unsigned char *)(crlf.data ? crlf.data : ""), crlf.len,
	    76);
	buf_adds(out, "\r\n");
	buf_free(&crlf);
}

void mail_compose(const struct mail_msg *m, const char *message_id,
		  int64_t date, struct buf *out)
{
	char datebuf[64], boundary[64];
	unsigned char raw[12];
	time_t t = (time_t)date;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(datebuf, sizeof(datebuf), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	random_bytes(raw, sizeof(raw));
	snprintf(boundary, sizeof(boundary), "=_scholia_");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(boundary + strlen(boundary), 3, "%02x", raw[i]);
	buf_adds(out, "From: ");
	header_text(out, mail_config.from ? mail_config.from
					  : "Scholia <scholia@localhost>");
	buf_addf(out, "\r\nTo: <%s>\r\nSubject: ", m->to);
	header_text(out, m->subject ? m->subject : "");
	buf_addf(out,
		 "\r\nDate: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n"
		 "Auto-Submitted: auto-generated\r\n",
		 datebuf, message_id);
	if (m->in_reply_to)
		buf_addf(out, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n",
			 m->in_reply_to, m->in_reply_to);
	if (m->reply_to && *m->reply_to)
		buf_addf(out, "Reply-To: <%s>\r\n", m->reply_to);
	if (m->unsubscribe && *m->unsubscribe)
		buf_addf(
			out,
			"List-Unsubscribe: <%s>\r\n"
			"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
			m->unsubscribe);
	buf_addf(out,
		 "Content-Type: multipart/alternative; boundary=\"%s\"\r\n"
		 "\r\n",
		 boundary);
	part(out, boundary, "text/plain", m->text ? m->text : "");
	if (m->html) {
		struct buf page = BUF_INIT;

		mail_html_page(&page, m->subject ? m->subject : "", m->html);
		part(out, boundary, "text/html", buf_str(&page));
		buf_free(&page);
	}
	buf_addf(out, "--%s--\r\n", boundary);
}

void mail_html_link(struct buf *html, const char *href, const char *label)
{
	buf_adds(html, "<a href=\"");
	html_escape(html, href, strlen(href));
	buf_adds(html, "\">");
	html_escape(html, label, strlen(label));
	buf_adds(html, "</a>");
}

void mail_html_page(struct buf *out, const char *title, const char *body)
{
	buf_adds(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		      "<title>");
	html_escape(out, title, strlen(title));
	buf_adds(out, "</title></head>\n<body style=\"font-family: Georgia, "
		      "serif; max-width: 40em; line-height: 1.5\">\n");
	buf_adds(out, body);
	buf_adds(out, "\n</body></html>\n");
}
