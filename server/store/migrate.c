/*
 * migrate.c - the migrations runner.
 *
 * migrations/NNNN_name.sql files are applied in numeric order, each inside
 * its own transaction together with its row in schema_migrations, so a
 * failed migration leaves the database at the previous version. A database
 * whose recorded version is higher than any file we know was written by a
 * newer scholia: we refuse to touch it rather than guess.
 *
 * Each engine has its folder of files: migrations/ for SQLite and
 * migrations/pg/ for PostgreSQL (store_migrations_sub), with the same
 * version numbers, so `scholia migrate` means the same on both.
 */
#include "store/internal.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One migration file. */
struct migration {
	int version;
	char *name; /* file name, e.g. "0001_core.sql" */
};

static const char SQL_TABLE[] =
	"CREATE TABLE IF NOT EXISTS schema_migrations ("
	" version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" applied_at INTEGER NOT NULL)";
static const char SQL_MAX[] =
	"SELECT coalesce(max(version), 0) FROM schema_migrations";
static const char SQL_HAS[] =
	"SELECT count(*) FROM schema_migrations WHERE version = ?1";
static const char SQL_RECORD[] =
	"INSERT INTO schema_migrations(version, name, applied_at)"
	" VALUES (?1, ?2, ?3)";

static int cmp_migration(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

/* Lists the folder; caller frees with free_list. */
static int list_migrations(const char *dir, struct migration **out, int *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct migration *list = NULL;
	int count = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (!d)
		return SCH_EIO;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char *end;
		long v;

		if (len < 10 || strcmp(e->d_name + len - 4, ".sql"))
			continue;
		v = strtol(e->d_name, &end, 10);
		if (end != e->d_name + 4 || *end != '_' || v <= 0)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			list = xrealloc(list, (size_t)cap * sizeof(*list));
		}
		list[count].version = (int)v;
		list[count].name = xstrdup(e->d_name);
		count++;
	}
	closedir(d);
	if (count)
		qsort(list, (size_t)count, sizeof(*list), cmp_migration);
	*out = list;
	*n = count;
	return 0;
}

static void free_list(struct migration *list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t got;

	if (!f)
		return NULL;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, got);
	fclose(f);
	return buf_detach(&b, NULL);
}

/* The folder of this engine's migrations under dir; caller frees. */
static char *engine_dir(struct store *s, const char *dir)
{
	const char *sub = store_migrations_sub(s);
	char *d = xmalloc(strlen(dir) + strlen(sub) + 2);

	if (*sub)
		sprintf(d, "%s/%s", dir, sub);
	else
		strcpy(d, dir);
	return d;
}

static int applied_version(struct store *s, int *out)
{
	int64_t v = 0;
	int rc = store_has_table(s, "schema_migrations");

	*out = 0;
	if (rc <= 0)
		return rc;
	rc = store_int_query(s, &v, SQL_MAX, "");
	if (rc < 0)
		return rc;
	*out = (int)v;
	return 0;
}

static int store_migration_status_in(struct store *s, const char *dir,
				     struct migration_status *st)
{
	struct migration *list;
	int n, rc;

	st->applied = st->available = 0;
	rc = applied_version(s, &st->applied);
	if (rc)
		return rc;
	rc = list_migrations(dir, &list, &n);
	if (rc)
		return rc;
	if (n)
		st->available = list[n - 1].version;
	free_list(list, n);
	return 0;
}

static int store_migrate_in(struct store *s, const char *dir, char *err,
			    size_t errlen)
{
	struct migration *list = NULL;
	int n = 0, rc, current;

	rc = list_migrations(dir, &list, &n);
	if (rc) {
		snprintf(err, errlen, "cannot read migrations folder %s", dir);
		return rc;
	}
	rc = applied_version(s, &current);
	if (rc) {
		snprintf(err, errlen, "cannot read schema version: %s",
			 store_errmsg(s));
		goto out;
	}
	if (n && current > list[n - 1].version) {
		snprintf(
			err, errlen,
			"database %s was migrated to version %d by a newer "
			"scholia (this one knows up to %d); refusing to use it",
			store_path(s), current, list[n - 1].version);
		rc = SCH_ETOONEW;
		goto out;
	}
	rc = store_exec(s, SQL_TABLE);
	if (rc) {
		snprintf(err, errlen, "cannot create schema_migrations: %s",
			 store_errmsg(s));
		goto out;
	}
	for (int i = 0; i < n; i++) {
		int64_t have = 0;
		char *path, *sql;

		rc = store_int_query(s, &have, SQL_HAS, "i",
				     (int64_t)list[i].version);
		if (rc < 0)
			goto out;
		if (have)
			continue;
		path = xmalloc(strlen(dir) + strlen(list[i].name) + 2);
		sprintf(path, "%s/%s", dir, list[i].name);
		sql = read_file(path);
		free(path);
		if (!sql) {
			snprintf(err, errlen, "cannot read %s", list[i].name);
			rc = SCH_EIO;
			goto out;
		}
		rc = store_begin(s);
		if (!rc)
			rc = store_exec(s, sql);
		if (!rc)
			rc = store_run(s, SQL_RECORD, "iti",
				       (int64_t)list[i].version, list[i].name,
				       (int64_t)time(NULL));
		if (!rc)
			rc = store_commit(s);
		free(sql);
		if (rc) {
			snprintf(err, errlen, "migration %s failed: %s",
				 list[i].name, store_errmsg(s));
			store_rollback(s);
			goto out;
		}
		log_info("store", "applied migration %s", list[i].name);
	}
	rc = 0;
out:
	free_list(list, n);
	return rc;
}

static int store_migration_print_in(struct store *s, const char *dir, FILE *out)
{
	struct migration *list;
	int n, rc, current;

	rc = applied_version(s, &current);
	if (rc)
		return rc;
	rc = list_migrations(dir, &list, &n);
	if (rc)
		return rc;
	for (int i = 0; i < n; i++) {
		int64_t have = 0;

		if (current > 0 &&
		    store_int_query(s, &have, SQL_HAS, "i",
				    (int64_t)list[i].version) < 0)
			have = 0;
		fprintf(out, "%-8s %s\n", have ? "applied" : "pending",
			list[i].name);
	}
	if (n && current > list[n - 1].version)
		fprintf(out,
			"database is at version %d, newer than this "
			"scholia (%d)\n",
			current, list[n - 1].version);
	free_list(list, n);
	return 0;
}

int store_migration_status(struct store *s, const char *dir,
			   struct migration_status *st)
{
	char *d = engine_dir(s, dir);
	int rc = store_migration_status_in(s, d, st);

	free(d);
	return rc;
}

int store_migrate(struct store *s, const char *dir, char *err, size_t errlen)
{
	char *d = engine_dir(s, dir);
	int rc = store_migrate_in(s, d, err, errlen);

	free(d);
	return rc;
}

int store_migration_print(struct store *s, const char *dir, FILE *out)
{
	char *d = engine_dir(s, dir);
	int rc = store_migration_print_in(s, d, out);

	free(d);
	return rc;
}

int store_open_migrations(struct store *s, const struct store_opts *opts,
			  const char *name, char *err, size_t errlen)
{
	struct migration_status ms;
	int rc;

	if (!opts->migrations_dir)
		return 0;
	if (opts->migrate && !opts->readonly)
		return store_migrate(s, opts->migrations_dir, err, errlen);
	rc = store_migration_status(s, opts->migrations_dir, &ms);
	if (rc == 0 && ms.applied > ms.available) {
		snprintf(err, errlen,
			 "%s%s was migrated to version %d by a "
			 "newer scholia (this one knows up to %d)",
			 name ? "database " : "the database", name ? name : "",
			 ms.applied, ms.available);
		return SCH_ETOONEW;
	}
	return 0;
}
