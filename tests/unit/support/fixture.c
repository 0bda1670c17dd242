/*
 * fixture.c - see fixture.h. Shared by the module tests that need the
 * whole server's world (circles, threads).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "books/books.h"
#include "circles/circles.h"
#include "modules.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/err.h"

#include "support/fixture.h"

/* Calls method as account; returns the error code (0: ok) and the result
 * in *res (caller frees; may be NULL). */
int fixture_call(struct fixture *f, int64_t account, const char *method,
		 json_t *params, json_t **res)
{
	struct rpc_ctx *ctx = rpc_ctx_new_local(f->db, account, false);
	json_t *r = NULL, *e = NULL;
	int code = rpc_call_local(ctx, method, params, &r, &e);

	rpc_ctx_free_local(ctx);
	json_decref(params);
	if (e && getenv("TEST_VERBOSE")) {
		char *d = json_dumps(e, 0);

		print_message("%s: %s\n", method, d);
		free(d);
	}
	json_decref(e);
	if (res)
		*res = r;
	else
		json_decref(r);
	return code;
}

int64_t fixture_account(struct fixture *f, const char *handle)
{
	char err[256] = "";
	FILE *out = fopen("/dev/null", "w");

	if (auth_cli_create_account(f->db, handle, NULL, false, NULL, "", out,
				    err, sizeof(err)) != 0)
		fail_msg("create-account %s: %s", handle, err);
	fclose(out);
	return auth_account_by_handle(f->db, handle);
}

static void load_book(struct fixture *f)
{
	char err[256] = "";
	FILE *out = fopen("/dev/null", "w");
	json_t *r, *parts, *part, *chs, *ch;
	size_t i, j;
	int n = 0;

	if (books_cli_import(
		    f->db, SCHOLIA_SOURCE_DIR "/content/the-rochdale-pioneers",
		    NULL, false, out, err, sizeof(err)) != 0)
		fail_msg("import: %s", err);
	fclose(out);
	assert_int_equal(
		fixture_call(f, f->alice, "book.list", json_object(), &r), 0);
	f->book = json_integer_value(json_object_get(
		json_array_get(json_object_get(r, "items"), 0), "id"));
	json_decref(r);
	assert_int_equal(
		fixture_call(f, f->alice, "book.toc",
			     json_pack("{s:I}", "book", (json_int_t)f->book),
			     &r),
		0);
	parts = json_object_get(r, "parts");
	json_array_foreach(parts, i, part)
	{
		chs = json_object_get(part, "chapters");
		json_array_foreach(chs, j, ch)
		{
			if (n < 4)
				f->ch[n++] = json_integer_value(
					json_object_get(ch, "id"));
		}
	}
	json_decref(r);
	assert_int_equal(n, 4);
}

struct store *fixture_open_db(char *path, size_t pathlen, const char *tag)
{
	struct store_opts o = STORE_OPTS_INIT;
	struct store *db = NULL;
	char err[256] = "";
	int fd;

	snprintf(path, pathlen, "/tmp/sch-%s-XXXXXX", tag);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	o.path = path;
	o.migrations_dir = SCHOLIA_SOURCE_DIR "/migrations";
	o.durability = STORE_DURABILITY_NORMAL;
	if (store_open(&o, &db, err, sizeof(err)) != 0)
		fail_msg("store_open: %s", err);
	return db;
}

void fixture_close_db(struct store *db, const char *path)
{
	char p[300];

	store_close(db);
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	json_t *r;

	modules_init();
	f->db = fixture_open_db(f->path, sizeof(f->path), "unit");
	f->alice = fixture_account(f, "alice");
	f->bob = fixture_account(f, "bob");
	f->carol = fixture_account(f, "carol");
	assert_true(f->alice > 0 && f->bob > 0 && f->carol > 0);
	load_book(f);
	assert_int_equal(fixture_call(f, f->alice, "circle.create",
				      json_pack("{s:s,s:I}", "name", "Readers",
						"book", (json_int_t)f->book),
				      &r),
			 0);
	f->circle = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	assert_int_equal(fixture_call(f, f->alice, "circle.invite",
				      json_pack("{s:I}", "circle",
						(json_int_t)f->circle),
				      &r),
			 0);
	assert_int_equal(
		fixture_call(f, f->bob, "circle.join",
			     json_pack("{s:s}", "code",
				       json_string_value(
					       json_object_get(r, "code"))),
			     NULL),
		0);
	json_decref(r);
	*state = f;
	return 0;
}

int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	fixture_close_db(f->db, f->path);
	free(f);
	return 0;
}
