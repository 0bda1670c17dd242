/*
 * addr.c - who the client is, and how many WebSockets it holds (issue 14,
 * R2-F4).
 *
 * The client address is the peer's, except for a connection from one of
 * the --trusted-proxy addresses: then it comes from the Forwarded header
 * (its right-most "for=" that is not itself a trusted proxy) or, without
 * one, from X-Forwarded-For (the right-most hop that is not a trusted
 * proxy). From any other peer those headers are ignored, so a client cannot
 * choose its own address. Every per-address rule uses this address: the
 * WebSocket limit below, the login and registration limits and the logs
 * (it is the "peer" the RPC layer is given).
 *
 * --max-connections-per-address caps the WebSockets one address holds
 * (loopback is not exempt); the upgrade is refused with 429 past it.
 * Counts live in a map keyed by a 64-bit hash of the address (loop thread).
 */
#include "net/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

uint64_t net_addr_key(const char *a)
{
	uint64_t h = 1469598103934665603ull;

	for (; *a; a++) {
		h ^= (unsigned char)*a;
		h *= 1099511628211ull;
	}
	return h | 1; /* never 0 */
}

static bool is_trusted(const char *a, size_t n)
{
	const char *list = net.opts.trusted_proxies;

	while (list && *list) {
		const char *comma = strchr(list, ',');
		size_t l = comma ? (size_t)(comma - list) : strlen(list);

		while (l && *list == ' ') {
			list++;
			l--;
		}
		while (l && list[l - 1] == ' ')
			l--;
		if (l && l == n && !strncmp(list, a, n))
			return true;
		list = comma ? comma + 1 : NULL;
	}
	return false;
}

/* An address as written in a header: "1.2.3.4", "1.2.3.4:80",
 * "\"[2001:db8::1]:4711\"". Copies the bare address into out; false when
 * it is not one (unknown, obfuscated, junk). */
static bool clean_addr(const char *s, size_t n, char *out, size_t outlen)
{
	size_t k = 0;

	while (n && (*s == ' ' || *s == '\t' || *s == '"')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '"'))
		n--;
	if (n && *s == '[') { /* [v6]:port */
		const char *e = memchr(s, ']', n);

		if (!e)
			return false;
		s++;
		n = (size_t)(e - s);
	} else if (memchr(s, '.', n) && memchr(s, ':', n)) {
		n = (size_t)((const char *)memchr(s, ':', n) - s); /* v4:port */
	}
	if (!n || n >= outlen || n > 45)
		return false;
	for (k = 0; k < n; k++) {
		if (!isxdigit((unsigned char)s[k]) && s[k] != '.' &&
		    s[k] != ':')
			return false;
		out[k] = s[k];
	}
	out[k] = '\0';
	return true;
}

/* The right-most element of a comma-separated list whose address is not a
 * trusted proxy. for_param: take each element's for= (Forwarded). */
static bool rightmost_untrusted(const char *hdr, bool for_param, char *out,
				size_t outlen)
{
	size_t end = strlen(hdr);

	while (end > 0) {
		size_t start = end;
		const char *el, *v;
		size_t n;
		char a[64];

		while (start > 0 && hdr[start - 1] != ',')
			start--;
		el = hdr + start;
		n = end - start;
		end = start ? start - 1 : 0;
		if (for_param) {
			/* ;-separated pairs; find for= (case-insensitive) */
			const char *p = el, *stop = el + n;

			v = NULL;
			while (p < stop) {
				while (p < stop && (*p == ' ' || *p == ';'))
					p++;
				if (stop - p > 4 &&
				    !strncasecmp(p, "for=", 4)) {
					v = p + 4;
					break;
				}
				while (p < stop && *p != ';')
					p++;
			}
			if (!v)
				return false; /* no for=: malformed, stop */
			n = (size_t)(stop - v);
			if (memchr(v, ';', n))
				n = (size_t)((const char *)memchr(v, ';', n) -
					     v);
		} else {
			v = el;
		}
		if (!clean_addr(v, n, a, sizeof(a)))
			return false;
		if (!is_trusted(a, strlen(a))) {
			snprintf(out, outlen, "%s", a);
			return true;
		}
		if (!start)
			break;
	}
	return false;
}

void net_client_addr(struct lws *wsi, char *out, size_t outlen)
{
	char hdr[1024];
	int n;

	lws_get_peer_simple(wsi, out, outlen);
	if (!net.opts.trusted_proxies || !net.opts.trusted_proxies[0] ||
	    !is_trusted(out, strlen(out)))
		return;
	n = lws_hdr_custom_copy(wsi, hdr, sizeof(hdr), "forwarded:", 10);
	if (n > 0) {
		rightmost_untrusted(hdr, true, out, outlen);
		return;
	}
	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_X_FORWARDED_FOR) > 0)
		rightmost_untrusted(hdr, false, out, outlen);
}

bool net_addr_full(const char *addr)
{
	uintptr_t n;

	if (net.opts.max_per_address <= 0)
		return false;
	n = (uintptr_t)u64map_get(&net.addrs, net_addr_key(addr));
	return n >= (uintptr_t)net.opts.max_per_address;
}

void net_addr_add(uint64_t k, int delta)
{
	intptr_t n = (intptr_t)(uintptr_t)u64map_get(&net.addrs, k) + delta;

	if (n <= 0)
		u64map_del(&net.addrs, k);
	else
		u64map_put(&net.addrs, k, (void *)(uintptr_t)n);
}
