/*
 * device.c - device cookies (OWASP "Slow brute force" defence; issue 14,
 * R2-F5).
 *
 * Five wrong passwords for a handle put the handle in back-off, during
 * which even the right password is refused: anyone could lock a member
 * out. A client that has signed in to the account before holds a device
 * value the server signed at that sign-in (the browser as the HttpOnly
 * cookie scholia_device, set with the session cookie; other clients as
 * auth.login's "device", which they send back). A login that presents a
 * valid device value for the account skips the per-handle back-off: only
 * its own address's limit binds it (limit.c).
 *
 * The value is base64url(account (8 bytes, big-endian) | random (16) |
 * MAC (16)), the MAC a BLAKE2b of the rest keyed with the server key
 * (session.c), so it is bound to one account and cannot be forged or
 * moved to another. Nothing is stored.
 */
#include "auth/internal.h"

#include <string.h>

#include <sodium.h>

#define DEV_RAW (8 + 16 + 16)

int auth_device_new(struct store *db, int64_t account, char *out)
{
	unsigned char raw[DEV_RAW];
	int rc;

	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)((uint64_t)account >> (56 - 8 * i));
	randombytes_buf(raw + 8, 16);
	rc = auth_key_mac(db, raw, 24, raw + 24, 16);
	if (rc)
		return rc;
	sodium_bin2base64(out, AUTH_DEVICE_MAX, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return 0;
}

bool auth_device_valid(struct store *db, const char *value, int64_t account)
{
	unsigned char raw[DEV_RAW], mac[16];
	size_t len, binlen = 0;
	const char *end = NULL;
	uint64_t acc = 0;

	if (!value || !account)
		return false;
	len = strnlen(value, AUTH_DEVICE_MAX);
	if (!len || len >= AUTH_DEVICE_MAX ||
	    sodium_base642bin(raw, sizeof(raw), value, len, NULL, &binlen, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
	    binlen != sizeof(raw) || end != value + len)
		return false;
	for (int i = 0; i < 8; i++)
		acc = acc << 8 | raw[i];
	if ((int64_t)acc != account ||
	    auth_key_mac(db, raw, 24, mac, sizeof(mac)))
		return false;
	return sodium_memcmp(mac, raw + 24, sizeof(mac)) == 0;
}
