/*
 * password.c - Argon2id hashing and verification, and the check against
 * common passwords.
 *
 * Everything here except the small helpers at the bottom runs on worker
 * threads (rpc_defer), never on the store thread: one Argon2id costs about
 * 64 MiB and a tenth of a second with the default limits, and the pool's
 * size bounds how many run at once. The command line calls them directly.
 *
 * Common passwords: cracklib's FascistCheck against its default dictionary
 * (Debian's cracklib-runtime), plus a short built-in list of passwords that
 * are long enough to pass SPEC's 10 bytes yet top every leaked list (some of
 * them slip through cracklib). cracklib keeps static state and exits the
 * process when its dictionary is missing, so calls are serialised and the
 * dictionary's presence is checked first; without it the built-in list
 * alone is used and a warning is logged once.
 */
#include "auth/internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stddef.h> /* crack.h uses size_t without including it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <crack.h>
#include <sodium.h>

#include "rpc/rpc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

/* Passwords of 10+ bytes that every leaked-password list starts with. */
static const char *const common_passwords[] = {"1234567890",
					       "12345678910",
					       "123456789a",
					       "1234567890a",
					       "0123456789",
					       "0987654321",
					       "1111111111",
					       "1q2w3e4r5t",
					       "1qaz2wsx3edc",
					       "qwertyuiop",
					       "qwerty1234",
					       "qwerty12345",
					       "qwertyuiop1",
					       "asdfghjkl1",
					       "asdfghjkl;",
					       "zxcvbnm123",
					       "password12",
					       "password123",
					       "password1234",
					       "password12345",
					       "passw0rd12",
					       "p@ssw0rd12",
					       "p@ssword123",
					       "iloveyou12",
					       "iloveyou123",
					       "letmein123",
					       "welcome123",
					       "welcome1234",
					       "abc1234567",
					       "abcd123456",
					       "abcdef1234",
					       "abcdefghij",
					       "1a2b3c4d5e",
					       "aa12345678",
					       "a123456789",
					       "q1w2e3r4t5",
					       "trustno1trustno1",
					       "princess12",
					       "sunshine12",
					       "football12",
					       "baseball12",
					       "superman12",
					       "michael123",
					       "charlie123",
					       "dragon1234",
					       "monkey1234",
					       "master1234",
					       "shadow1234",
					       "administrator",
					       "changeme123",
					       "qazwsxedc123",
					       "987654321a",
					       "correcthorsebatterystaple",
					       "correct horse battery staple",
					       NULL};

static pthread_mutex_t crack_lock = PTHREAD_MUTEX_INITIALIZER;
static int crack_state; /* 0 unknown, 1 dictionary present, -1 missing */

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[AUTH_PWHASH_MAX];

unsigned long long auth_pw_ops(void)
{
	if (auth_config.pwhash_ops)
		return auth_config.pwhash_ops;
	return crypto_pwhash_OPSLIMIT_INTERACTIVE;
}

size_t auth_pw_mem(void)
{
	if (auth_config.pwhash_mem)
		return auth_config.pwhash_mem;
	return crypto_pwhash_MEMLIMIT_INTERACTIVE;
}

int auth_pw_hash(const char *pw, size_t len, char *out)
{
	if (sodium_init() < 0)
		die("libsodium cannot start");
	if (crypto_pwhash_str(out, pw, len, auth_pw_ops(), auth_pw_mem()))
		return SCH_ENOMEM;
	return 0;
}

/* The dummy hash has the configured limits, so verifying against it costs
 * what verifying a real one costs. */
static void dummy_make(void)
{
	unsigned char pw[16];

	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof(pw),
			      auth_pw_ops(), auth_pw_mem()))
		die("cannot make the dummy password hash");
	sodium_memzero(pw, sizeof(pw));
}

int auth_pw_verify(const char *hash, const char *pw, size_t len, bool *rehash)
{
	int rc;

	if (sodium_init() < 0)
		die("libsodium cannot start");
	*rehash = false;
	/* made before the first check of any kind, so that the first login
	 * with an unknown handle does not take twice as long */
	pthread_once(&dummy_once, dummy_make);
	if (!hash) {
		if (crypto_pwhash_str_verify(dummy_hash, pw, len) == 0)
			log_error("auth", "the dummy hash matched");
		return SCH_EINVAL;
	}
	rc = crypto_pwhash_str_verify(hash, pw, len);
	if (rc)
		return SCH_EINVAL;
	if (crypto_pwhash_str_needs_rehash(hash, auth_pw_ops(),
					   auth_pw_mem()) != 0)
		*rehash = true;
	return 0;
}

/* True when the dictionary's files can be read (cracklib would exit). */
static bool crack_dict_present(const char *dict)
{
	static const char *const ext[] = {".pwd", ".pwi", ".hwm", NULL};
	char path[512];

	for (int i = 0; ext[i]; i++) {
		snprintf(path, sizeof(path), "%s%s", dict, ext[i]);
		if (access(path, R_OK))
			return false;
	}
	return true;
}

static bool in_builtin_list(const char *lower)
{
	for (int i = 0; common_passwords[i]; i++)
		if (!strcmp(lower, common_passwords[i]))
			return true;
	return false;
}

int auth_pw_weak(const char *pw, size_t len, const char *handle, char *why,
		 size_t whylen)
{
	char *lower = NULL;
	const char *dict, *msg = NULL;
	int rc = 0;

	lower = auth_secret_dup(pw, len);
	for (size_t i = 0; i < len; i++)
		lower[i] = (char)tolower((unsigned char)lower[i]);
	if (in_builtin_list(lower)) {
		snprintf(why, whylen, "it is one of the most common passwords");
		rc = 1;
		goto out;
	}
	if (handle && strlen(handle) >= 4 && strstr(lower, handle)) {
		snprintf(why, whylen, "it contains the handle");
		rc = 1;
		goto out;
	}
	if (memchr(pw, '\0', len)) {
		/* cracklib reads C strings; the rest has been checked */
		goto out;
	}
	pthread_mutex_lock(&crack_lock);
	dict = GetDefaultCracklibDict();
	if (!crack_state) {
		crack_state = dict && crack_dict_present(dict) ? 1 : -1;
		if (crack_state < 0)
			log_warn("auth",
				 "cracklib dictionary %s missing "
				 "(install cracklib-runtime): checking "
				 "passwords against a built-in list only",
				 dict ? dict : "(none)");
	}
	if (crack_state > 0)
		msg = FascistCheck(pw, dict);
	if (msg) {
		snprintf(why, whylen, "%s", msg);
		rc = 1;
	}
	pthread_mutex_unlock(&crack_lock);
out:
	auth_secret_free(lower, len);
	return rc;
}

char *auth_secret_dup(const char *s, size_t len)
{
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void auth_secret_free(char *s, size_t len)
{
	if (!s)
		return;
	sodium_memzero(s, len + 1);
	free(s);
}
