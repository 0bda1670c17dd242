/*
 * fixture.h - the unit tests' shared world: a fresh database with the real
 * migrations, the sample book, three accounts (alice owns a circle on the
 * book, bob is a member, carol is an outsider) and a way to call methods
 * as any of them, the way a client would (rpc_call_local).
 */
#ifndef SCH_TEST_FIXTURE_H
#define SCH_TEST_FIXTURE_H

#include <jansson.h>
#include <stdint.h>

#include "support/db.h"

/* The world a test runs in (one per test: cmocka setup/teardown). */
struct fixture {
	char path[64];
	struct store *db;
	int64_t alice, bob, carol; /* owner, member, outsider */
	int64_t book;
	int64_t ch[4]; /* the first chapters in reading order */
	int64_t circle;
};

/* Calls method as account (0: anonymous); returns the JSON-RPC error code
 * (0: ok) and the result in *res (caller frees; res may be NULL). Takes the
 * reference of params. TEST_VERBOSE=1 prints errors. */
int fixture_call(struct fixture *f, int64_t account, const char *method,
		 json_t *params, json_t **res);
/* Creates an account with `scholia admin create-account`'s code path. */
int64_t fixture_account(struct fixture *f, const char *handle);
/* cmocka setup/teardown: *state is the struct fixture. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

#endif
