/*
 * smtp.c - hands mails to the SMTP server with libcurl. Runs on a worker
 * pool thread (or a command's own thread): no database, no sockets of ours.
 *
 * Credentials in --smtp-url are never sent in clear: with smtps:// the whole
 * session is TLS; with smtp:// and credentials, STARTTLS is required
 * (CURLUSESSL_ALL) and curl gives up before AUTH when the server does not
 * offer it. Without credentials STARTTLS is used where offered.
 *
 * A reply code of 5xx is permanent; everything else that fails (4xx, a
 * refused or dropped connection, a timeout) is temporary and the outbox
 * retries it later.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "mail/internal.h"
#include "util/log.h"

/* Reads the message out of memory for curl. */
struct smtp_reader {
	const char *data;
	size_t len, off;
};

static size_t smtp_read(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct smtp_reader *r = arg;
	size_t room = size * nmemb, n = r->len - r->off;

	if (n > room)
		n = room;
	memcpy(ptr, r->data + r->off, n);
	r->off += n;
	return n;
}

static pthread_once_t smtp_once = PTHREAD_ONCE_INIT;

static void smtp_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* True when the URL carries a user (and so a password). */
static bool smtp_has_credentials(const char *url)
{
	const char *p = strstr(url, "://"), *at, *slash;

	if (!p)
		return false;
	p += 3;
	at = strchr(p, '@');
	slash = strchr(p, '/');
	return at && (!slash || at < slash);
}

int mail_smtp_check(const char *url, char *why, size_t whylen)
{
	curl_version_info_data *v;

	pthread_once(&smtp_once, smtp_global_init);
	if (strncmp(url, "smtp://", 7) && strncmp(url, "smtps://", 8)) {
		snprintf(why, whylen,
			 "--smtp-url must start with smtp:// or "
			 "smtps://");
		return -1;
	}
	v = curl_version_info(CURLVERSION_NOW);
	if (smtp_has_credentials(url) && !(v->features & CURL_VERSION_SSL)) {
		snprintf(why, whylen,
			 "credentials need TLS, which this libcurl "
			 "lacks");
		return -1;
	}
	return 0;
}

/* Classifies a failed transfer. */
static enum mail_result smtp_classify(CURLcode rc, long code)
{
	if (code >= 500 && code < 600)
		return MAIL_PERMFAIL;
	if (rc == CURLE_LOGIN_DENIED)
		return MAIL_TEMPFAIL; /* configuration: keep it, log loudly */
	return MAIL_TEMPFAIL;
}

void mail_smtp_send(struct mail_item *items, size_t n)
{
	const char *url = mail_config.smtp_url;
	char from[MAIL_ADDR_MAX + 3], addr[MAIL_ADDR_MAX + 1];
	bool creds;
	CURL *c;

	pthread_once(&smtp_once, smtp_global_init);
	creds = smtp_has_credentials(url);
	mail_addr_of(mail_config.from, addr, sizeof(addr));
	snprintf(from, sizeof(from), "<%s>", addr);
	c = curl_easy_init();
	if (!c) {
		for (size_t i = 0; i < n; i++) {
			items[i].result = MAIL_TEMPFAIL;
			snprintf(items[i].error, sizeof(items[i].error),
				 "curl_easy_init failed");
		}
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct mail_item *it = &items[i];
		struct smtp_reader r = {it->message, strlen(it->message), 0};
		struct curl_slist *rcpt = NULL;
		char to[MAIL_ADDR_MAX + 3], errbuf[CURL_ERROR_SIZE] = "";
		long code = 0;
		CURLcode rc;

		snprintf(to, sizeof(to), "<%s>", it->rcpt);
		rcpt = curl_slist_append(rcpt, to);
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, smtp_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &r);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
				 (long)(mail_config.timeout_s > 0
						? mail_config.timeout_s
						: 10));
		curl_easy_setopt(c, CURLOPT_TIMEOUT,
				 (long)(mail_config.timeout_s > 0
						? 3 * mail_config.timeout_s
						: 30));
		/* a password only ever travels inside TLS */
		curl_easy_setopt(c, CURLOPT_USE_SSL,
				 creds ? (long)CURLUSESSL_ALL
				       : (long)CURLUSESSL_TRY);
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_slist_free_all(rcpt);
		if (rc == CURLE_OK) {
			it->result = MAIL_SENT;
			it->error[0] = '\0';
			continue;
		}
		it->result = smtp_classify(rc, code);
		snprintf(it->error, sizeof(it->error), "%.60s (%ld): %.120s",
			 curl_easy_strerror(rc), code,
			 errbuf[0] ? errbuf : "-");
	}
	curl_easy_cleanup(c);
}
