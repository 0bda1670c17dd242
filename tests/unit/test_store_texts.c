/*
 * test_store_texts.c - the store additions behind `scholia migrate-to`
 * (store/copy.c): SQL built at run time kept for the connection's life
 * (store_keep_sql), statements whose parameters all come from an array of
 * texts (store_query_texts), and store_copy's refusal of anything but
 * SQLite into PostgreSQL. The copy itself runs against PostgreSQL in
 * tests/integration/test_migrate_to.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

static struct store *open_memory(void)
{
	struct store_opts so = STORE_OPTS_INIT;
	struct store *s = NULL;
	char err[256];

	so.path = ":memory:";
	so.migrations_dir = NULL;
	so.migrate = false;
	assert_int_equal(store_open(&so, &s, err, sizeof(err)), 0);
	return s;
}

static void test_keep_sql_is_one_copy_per_text(void **state)
{
	struct store *s = open_memory();
	const char *a, *b, *c;

	(void)state;
	a = store_keep_sql(s, xstrdup("SELECT 1"));
	b = store_keep_sql(s, xstrdup("SELECT 1"));
	c = store_keep_sql(s, xstrdup("SELECT 2"));
	/* the same text is the same pointer: one cached statement */
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_string_equal(c, "SELECT 2");
	store_close(s); /* frees the kept texts (ASan: no leak) */
}

static void test_query_texts_binds_an_array(void **state)
{
	struct store *s = open_memory();
	struct buf sql = BUF_INIT;
	const char *vals[STORE_MAX_TEXTS + 1];
	char nums[STORE_MAX_TEXTS][8];
	struct store_stmt *st;
	const char *ins;
	int64_t n = 0;

	(void)state;
	/* a table as wide as the limit */
	buf_adds(&sql, "CREATE TABLE w (");
	for (int i = 0; i < STORE_MAX_TEXTS; i++)
		buf_addf(&sql, "%sc%d INTEGER", i ? ", " : "", i);
	buf_adds(&sql, ")");
	assert_int_equal(store_exec(s, buf_str(&sql)), 0);
	buf_reset(&sql);
	buf_adds(&sql, "INSERT INTO w VALUES (");
	for (int i = 0; i < STORE_MAX_TEXTS; i++) {
		buf_addf(&sql, "%s?%d", i ? ", " : "", i + 1);
		snprintf(nums[i], sizeof(nums[i]), "%d", i * 10);
		vals[i] = nums[i];
	}
	buf_adds(&sql, ")");
	vals[7] = NULL; /* binds NULL */
	ins = store_keep_sql(s, buf_detach(&sql, NULL));
	st = store_query_texts(s, ins, STORE_MAX_TEXTS, vals);
	assert_non_null(st);
	assert_int_equal(store_row(st), 0);

	/* every value in its column, the first and the last included */
	st = store_query(s, "SELECT c0, c1, c7, c63, typeof(c1) FROM w", "");
	assert_int_equal(store_row(st), 1);
	assert_int_equal(store_int(st, 0), 0);
	assert_int_equal(store_int(st, 1), 10);
	assert_true(store_is_null(st, 2));
	assert_int_equal(store_int(st, 3), 630);
	/* text into an INTEGER column becomes an integer, as a literal */
	assert_string_equal(store_text(st, 4), "integer");
	store_done(st);

	/* one more than the limit is refused, not truncated */
	vals[STORE_MAX_TEXTS] = "x";
	assert_null(store_query_texts(s, ins, STORE_MAX_TEXTS + 1, vals));
	assert_int_equal(store_int_query(s, &n, "SELECT count(*) FROM w", ""),
			 1);
	assert_int_equal(n, 1);
	buf_free(&sql);
	store_close(s);
}

static void test_copy_wants_sqlite_into_postgresql(void **state)
{
	struct store *a = open_memory(), *b = open_memory();
	char err[256] = "";

	(void)state;
	assert_int_equal(store_copy(a, b, NULL, NULL, err, sizeof(err)),
			 SCH_EINVAL);
	assert_non_null(strstr(err, "PostgreSQL"));
	store_close(a);
	store_close(b);
}

static struct store *open_file(const char *path, enum store_durability d)
{
	struct store_opts so = STORE_OPTS_INIT;
	struct store *s = NULL;
	char err[256];

	so.path = path;
	so.durability = d;
	so.migrations_dir = NULL;
	so.migrate = false;
	assert_int_equal(store_open(&so, &s, err, sizeof(err)), 0);
	return s;
}

/* Deferred sync: only a WAL file at durability full defers; then a commit
 * returns without syncing and store_sync syncs the log, also after the
 * log file was made anew (another inode). */
static void test_defer_sync(void **state)
{
	char dir[] = "/tmp/scholia-sync-XXXXXX", path[256], wal[280];
	struct store *s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	s = open_memory();
	assert_int_equal(store_defer_sync(s), SCH_EINVAL);
	assert_int_equal(store_sync(s), SCH_EINVAL);
	store_close(s);
	s = open_file(path, STORE_DURABILITY_NORMAL);
	assert_int_equal(store_defer_sync(s), SCH_EINVAL);
	store_close(s);
	s = open_file(path, STORE_DURABILITY_FULL);
	assert_int_equal(store_defer_sync(s), 0);
	assert_int_equal(store_exec(s, "CREATE TABLE t(v)"), 0);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(store_exec(s, "INSERT INTO t VALUES (1)"), 0);
	assert_int_equal(store_commit(s), 0);
	assert_int_equal(store_sync(s), 0);
	/* the log truncated and started again by a checkpoint */
	assert_int_equal(store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
	assert_int_equal(store_exec(s, "INSERT INTO t VALUES (2)"), 0);
	assert_int_equal(store_sync(s), 0);
	store_close(s);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	unlink(wal);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_sql_is_one_copy_per_text),
		cmocka_unit_test(test_query_texts_binds_an_array),
		cmocka_unit_test(test_copy_wants_sqlite_into_postgresql),
		cmocka_unit_test(test_defer_sync),
	};

	return cmocka_run_group_tests_name("store texts", tests, NULL, NULL);
}
