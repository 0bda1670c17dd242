/*
 * copy.c - copying a whole SQLite database into a PostgreSQL one (`scholia
 * migrate-to`, store.h: store_copy).
 *
 * The target's schema decides what is copied: every table of the target
 * (migrated to the source's version; schema_migrations excepted) gets the
 * rows of the source's table of the same name, column by column as the
 * target names them, generated columns left out (the search tables'
 * tsvector is computed again from the copied text). Tables go in the order
 * of the target's foreign keys, parents first, and a table's rows in rowid
 * order, so that a row referring to an earlier row of its own table (a
 * reply's parent) finds it. Every value travels as text, as a literal
 * would, except a blob (bytea, as \x hex) and a double (all 17 digits).
 * A source table the target has no place for is an error (data would be
 * lost); an FTS5 table's shadow tables are not data of their own.
 *
 * After the rows, each identity column's sequence is set past the largest
 * copied id (and past SQLite's sqlite_sequence, which AUTOINCREMENT keeps),
 * so new rows get new ids.
 *
 * This file knows both engines' catalogues (sqlite_master, pg_catalog):
 * that is why it lives in store/.
 */
#include "store/internal.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/vec.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIGRATIONS_TABLE "schema_migrations"

static const char SQL_PG_TABLES[] =
	"SELECT tablename FROM pg_catalog.pg_tables"
	" WHERE schemaname = current_schema() AND tablename <> "
	"'" MIGRATIONS_TABLE "' ORDER BY tablename";
static const char SQL_PG_FKEYS[] =
	"SELECT a.relname, b.relname FROM pg_catalog.pg_constraint c"
	" JOIN pg_catalog.pg_class a ON a.oid = c.conrelid"
	" JOIN pg_catalog.pg_class b ON b.oid = c.confrelid"
	" WHERE c.contype = 'f' AND a.relnamespace ="
	" (SELECT oid FROM pg_catalog.pg_namespace"
	" WHERE nspname = current_schema())";
static const char SQL_PG_COLUMNS[] =
	"SELECT column_name, data_type FROM information_schema.columns"
	" WHERE table_schema = current_schema() AND table_name = ?"
	" AND is_generated = 'NEVER' ORDER BY ordinal_position";
static const char SQL_PG_SEQUENCES[] =
	"SELECT table_name, column_name,"
	" pg_get_serial_sequence(quote_ident(table_name), column_name)"
	" FROM information_schema.columns"
	" WHERE table_schema = current_schema()"
	" AND pg_get_serial_sequence(quote_ident(table_name), column_name)"
	" IS NOT NULL ORDER BY table_name, column_name";
static const char SQL_PG_SETVAL[] =
	"SELECT setval(CAST(? AS regclass), ?, ? <> 0)";

static const char SQL_SQ_TABLES[] =
	"SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'table'"
	" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> "
	"'" MIGRATIONS_TABLE "' ORDER BY name";
static const char SQL_SQ_SEQUENCE[] =
	"SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = ?";

/* One table of the source, as sqlite_master describes it. */
struct src_table {
	char *name;
	bool virtual_table; /* CREATE VIRTUAL TABLE (FTS5) */
	bool rowid;	    /* has a rowid (not WITHOUT ROWID) */
};

struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static bool names_has(const struct names *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return true;
	return false;
}

static int fail(char *err, size_t errlen, int rc, struct store *s,
		const char *what, const char *table)
{
	snprintf(err, errlen, "%s%s%s: %s", what, table ? " " : "",
		 table ? table : "", s ? store_errmsg(s) : "failed");
	return rc < 0 ? rc : SCH_EDB;
}

/* A name as a quoted SQL identifier into b. */
static void add_ident(struct buf *b, const char *name)
{
	buf_addch(b, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			buf_addch(b, '"');
		buf_addch(b, *p);
	}
	buf_addch(b, '"');
}

/* The target's tables into tables (the caller frees them). */
static int target_tables(struct store *dst, struct names *tables, char *err,
			 size_t errlen)
{
	struct store_stmt *st = store_query(dst, SQL_PG_TABLES, "");
	int rc;

	while ((rc = store_row(st)) > 0)
		*VEC_PUSH(tables->v, tables->n, tables->cap) =
			store_text_dup(st, 0);
	if (rc < 0)
		return fail(err, errlen, rc, dst, "cannot list the tables of",
			    "the target");
	return 0;
}

/* The target's tables, parents before the tables that refer to them. */
static int target_order(struct store *dst, struct names *out, char *err,
			size_t errlen)
{
	struct names tables = {0};
	char **from = NULL, **to = NULL;
	size_t nfk = 0, nto = 0, capf = 0, capt = 0;
	bool *done = NULL;
	struct store_stmt *st;
	int rc;

	rc = target_tables(dst, &tables, err, errlen);
	if (rc)
		goto out;
	st = store_query(dst, SQL_PG_FKEYS, "");
	while ((rc = store_row(st)) > 0) {
		*VEC_PUSH(from, nfk, capf) = store_text_dup(st, 0);
		*VEC_PUSH(to, nto, capt) = store_text_dup(st, 1);
	}
	if (rc < 0) {
		rc = fail(err, errlen, rc, dst,
			  "cannot list the foreign keys of", "the target");
		goto out;
	}
	/* Kahn's order: a table is next once every table it refers to
	 * (other than itself) is placed; ties in name order */
	done = xcalloc(tables.n ? tables.n : 1, sizeof(*done));
	for (size_t placed = 0; placed < tables.n;) {
		size_t before = placed;

		for (size_t i = 0; i < tables.n; i++) {
			bool ready = !done[i];

			for (size_t k = 0; ready && k < nfk; k++) {
				if (strcmp(from[k], tables.v[i]) != 0 ||
				    strcmp(to[k], tables.v[i]) == 0)
					continue;
				for (size_t j = 0; j < tables.n; j++)
					if (!done[j] &&
					    strcmp(tables.v[j], to[k]) == 0)
						ready = false;
			}
			if (ready) {
				done[i] = true;
				*VEC_PUSH(out->v, out->n, out->cap) =
					xstrdup(tables.v[i]);
				placed++;
			}
		}
		if (placed == before) {
			snprintf(err, errlen,
				 "the target's foreign keys form a cycle: "
				 "no order to copy the tables in");
			rc = SCH_EINVAL;
			goto out;
		}
	}
	rc = 0;
out:
	for (size_t k = 0; k < nfk; k++) {
		free(from[k]);
		free(to[k]);
	}
	free(from);
	free(to);
	free(done);
	names_free(&tables);
	return rc;
}

/* The source's tables (schema_migrations and sqlite_* left out). */
static int source_tables(struct store *src, struct src_table **out, size_t *n,
			 char *err, size_t errlen)
{
	size_t cap = 0;
	struct store_stmt *st = store_query(src, SQL_SQ_TABLES, "");
	int rc;

	*out = NULL;
	*n = 0;
	while ((rc = store_row(st)) > 0) {
		struct src_table *t = VEC_PUSH(*out, *n, cap);
		const char *sql = store_text(st, 1);

		t->name = store_text_dup(st, 0);
		t->virtual_table = strncasecmp(sql, "CREATE VIRTUAL", 14) == 0;
		t->rowid = true;
		/* "WITHOUT ROWID" closes the statement, in any case */
		for (const char *p = sql; *p; p++)
			if (strncasecmp(p, "WITHOUT", 7) == 0 &&
			    strncasecmp(p + 7 + strspn(p + 7, " \t\r\n"),
					"ROWID", 5) == 0)
				t->rowid = false;
	}
	if (rc < 0)
		return fail(err, errlen, rc, src, "cannot list the tables of",
			    "the source");
	return 0;
}

static void source_tables_free(struct src_table *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

static const struct src_table *find_source(const struct src_table *v, size_t n,
					   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* Whether name is a shadow table of one of the source's virtual tables
 * (FTS5 keeps search_posts_data, _idx, _content, _docsize, _config). */
static bool is_shadow(const struct src_table *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(v[i].name);

		if (v[i].virtual_table && strncmp(name, v[i].name, len) == 0 &&
		    name[len] == '_')
			return true;
	}
	return false;
}

int store_copy_check_empty(struct store *dst, char *err, size_t errlen)
{
	struct names tables = {0};
	int rc = target_tables(dst, &tables, err, errlen);

	if (rc)
		goto out;
	for (size_t i = 0; i < tables.n; i++) {
		struct buf b = BUF_INIT;
		const char *sql;
		int64_t any = 0;

		buf_adds(&b, "SELECT count(*) FROM (SELECT 1 FROM ");
		add_ident(&b, tables.v[i]);
		buf_adds(&b, " LIMIT 1) AS t");
		sql = store_keep_sql(dst, buf_detach(&b, NULL));
		rc = store_int_query(dst, &any, sql, "");
		if (rc < 0) {
			rc = fail(err, errlen, rc, dst, "cannot read",
				  tables.v[i]);
			goto out;
		}
		if (any) {
			snprintf(err, errlen,
				 "the target database is not empty (table %s "
				 "has rows): migrate-to copies into an empty "
				 "database only",
				 tables.v[i]);
			rc = SCH_ECONFLICT;
			goto out;
		}
	}
	rc = 0;
out:
	names_free(&tables);
	return rc;
}

/* The target's columns of table (generated ones left out) and their
 * types. */
static int target_columns(struct store *dst, const char *table,
			  struct names *cols, struct names *types, char *err,
			  size_t errlen)
{
	struct store_stmt *st = store_query(dst, SQL_PG_COLUMNS, "t", table);
	int rc;

	while ((rc = store_row(st)) > 0) {
		*VEC_PUSH(cols->v, cols->n, cols->cap) = store_text_dup(st, 0);
		*VEC_PUSH(types->v, types->n, types->cap) =
			store_text_dup(st, 1);
	}
	if (rc < 0)
		return fail(err, errlen, rc, dst, "cannot read the columns of",
			    table);
	return 0;
}

/* A column's value of the source's current row as the text the target
 * reads for its type; NULL for NULL. Uses (and resets) scratch. */
static const char *value_text(struct store_stmt *st, int col, const char *type,
			      struct buf *scratch)
{
	static const char hex[] = "0123456789abcdef";

	if (store_is_null(st, col))
		return NULL;
	if (strcmp(type, "bytea") == 0) {
		size_t len = 0;
		const unsigned char *p = store_blob(st, col, &len);

		buf_reset(scratch);
		buf_adds(scratch, "\\x");
		for (size_t i = 0; i < len; i++) {
			buf_addch(scratch, hex[p[i] >> 4]);
			buf_addch(scratch, hex[p[i] & 15]);
		}
		return buf_str(scratch);
	}
	if (strcmp(type, "double precision") == 0 ||
	    strcmp(type, "real") == 0) {
		buf_reset(scratch);
		buf_addf(scratch, "%.17g", store_double(st, col));
		return buf_str(scratch);
	}
	return store_text(st, col);
}

/* Runs an INSERT whose parameters are all text; 0 or SCH_E*. */
static int run_texts(struct store *s, const char *sql, size_t n,
		     const char *const *vals)
{
	struct store_stmt *st = store_query_texts(s, sql, n, vals);
	int rc;

	if (!st)
		return s->last_sch ? s->last_sch : SCH_EDB;
	while ((rc = store_row(st)) > 0)
		;
	return rc;
}

/* Copies the rows of one table; *rows gets their number. */
static int copy_table(struct store *src, struct store *dst,
		      const struct src_table *from, const char *table,
		      int64_t *rows, char *err, size_t errlen)
{
	struct names cols = {0}, types = {0};
	struct buf sel = BUF_INIT, ins = BUF_INIT;
	struct buf *scratch = NULL;
	const char **vals = NULL;
	const char *sel_sql, *ins_sql;
	struct store_stmt *st;
	int rc;

	*rows = 0;
	rc = target_columns(dst, table, &cols, &types, err, errlen);
	if (rc)
		goto out;
	if (cols.n == 0 || cols.n > STORE_MAX_TEXTS) {
		snprintf(err, errlen,
			 "table %s has %zu columns to copy (1 to "
			 "%d can be)",
			 table, cols.n, STORE_MAX_TEXTS);
		rc = SCH_EINVAL;
		goto out;
	}
	buf_adds(&sel, "SELECT ");
	buf_adds(&ins, "INSERT INTO ");
	add_ident(&ins, table);
	buf_adds(&ins, " (");
	for (size_t i = 0; i < cols.n; i++) {
		if (i) {
			buf_adds(&sel, ", ");
			buf_adds(&ins, ", ");
		}
		add_ident(&sel, cols.v[i]);
		add_ident(&ins, cols.v[i]);
	}
	buf_adds(&sel, " FROM ");
	add_ident(&sel, table);
	if (from->rowid)
		buf_adds(&sel, " ORDER BY rowid");
	buf_adds(&ins, ") VALUES (");
	for (size_t i = 0; i < cols.n; i++)
		buf_addf(&ins, "%s?%zu", i ? ", " : "", i + 1);
	buf_adds(&ins, ")");
	sel_sql = store_keep_sql(src, buf_detach(&sel, NULL));
	ins_sql = store_keep_sql(dst, buf_detach(&ins, NULL));

	vals = xcalloc(cols.n, sizeof(*vals));
	scratch = xcalloc(cols.n, sizeof(*scratch));
	st = store_query(src, sel_sql, "");
	if (!st) {
		rc = fail(err, errlen, SCH_EDB, src, "cannot read the table",
			  table);
		goto out;
	}
	while ((rc = store_row(st)) > 0) {
		for (size_t i = 0; i < cols.n; i++)
			vals[i] =
				value_text(st, (int)i, types.v[i], &scratch[i]);
		rc = run_texts(dst, ins_sql, cols.n, vals);
		if (rc) {
			store_done(st);
			rc = fail(err, errlen, rc, dst, "cannot copy a row of",
				  table);
			goto out;
		}
		(*rows)++;
	}
	if (rc < 0)
		rc = fail(err, errlen, rc, src, "cannot read the table", table);
out:
	for (size_t i = 0; scratch && i < cols.n; i++)
		buf_free(&scratch[i]);
	free(scratch);
	free(vals);
	buf_free(&sel);
	buf_free(&ins);
	names_free(&cols);
	names_free(&types);
	return rc;
}

/* Sets every identity column's sequence past the ids in use. */
static int set_sequences(struct store *src, struct store *dst, char *err,
			 size_t errlen)
{
	struct names tables = {0}, cols = {0}, seqs = {0};
	struct store_stmt *st = store_query(dst, SQL_PG_SEQUENCES, "");
	int has_seq = store_has_table(src, "sqlite_sequence");
	int rc;

	while ((rc = store_row(st)) > 0) {
		*VEC_PUSH(tables.v, tables.n, tables.cap) =
			store_text_dup(st, 0);
		*VEC_PUSH(cols.v, cols.n, cols.cap) = store_text_dup(st, 1);
		*VEC_PUSH(seqs.v, seqs.n, seqs.cap) = store_text_dup(st, 2);
	}
	if (rc < 0 || has_seq < 0) {
		rc = fail(err, errlen, rc < 0 ? rc : has_seq,
			  rc < 0 ? dst : src, "cannot list the sequences",
			  NULL);
		goto out;
	}
	for (size_t i = 0; i < tables.n; i++) {
		struct buf b = BUF_INIT;
		int64_t top = 0, used = 0;
		const char *sql;

		buf_adds(&b, "SELECT coalesce(max(");
		add_ident(&b, cols.v[i]);
		buf_adds(&b, "), 0) FROM ");
		add_ident(&b, tables.v[i]);
		sql = store_keep_sql(dst, buf_detach(&b, NULL));
		rc = store_int_query(dst, &top, sql, "");
		if (rc >= 0 && has_seq > 0)
			rc = store_int_query(src, &used, SQL_SQ_SEQUENCE, "t",
					     tables.v[i]);
		if (rc < 0) {
			rc = fail(err, errlen, rc, NULL,
				  "cannot read the ids of", tables.v[i]);
			goto out;
		}
		if (used > top)
			top = used;
		/* setval(seq, 1, false): the next id is 1, as in a new table */
		rc = store_int_query(dst, &used, SQL_PG_SETVAL, "tib",
				     seqs.v[i], top > 0 ? top : (int64_t)1,
				     top > 0);
		if (rc < 0) {
			rc = fail(err, errlen, rc, dst,
				  "cannot set the sequence", seqs.v[i]);
			goto out;
		}
	}
	rc = 0;
out:
	names_free(&tables);
	names_free(&cols);
	names_free(&seqs);
	return rc;
}

int store_copy(struct store *src, struct store *dst,
	       void (*report)(void *arg, const char *table, int64_t rows),
	       void *arg, char *err, size_t errlen)
{
	struct names order = {0};
	struct src_table *from = NULL;
	size_t nfrom = 0;
	int rc;

	if (src->ops != &store_sqlite_ops || dst->ops != &store_pg_ops) {
		snprintf(err, errlen,
			 "copies a SQLite database into a "
			 "PostgreSQL database only");
		return SCH_EINVAL;
	}
	rc = target_order(dst, &order, err, errlen);
	if (!rc)
		rc = source_tables(src, &from, &nfrom, err, errlen);
	if (rc)
		goto out;
	/* a source table the target has no place for would be lost */
	for (size_t i = 0; i < nfrom; i++) {
		if (names_has(&order, from[i].name) ||
		    is_shadow(from, nfrom, from[i].name))
			continue;
		snprintf(err, errlen,
			 "the source's table %s has no place in the target's "
			 "schema (are both migrated to the same version?)",
			 from[i].name);
		rc = SCH_EINVAL;
		goto out;
	}
	for (size_t i = 0; i < order.n; i++) {
		const struct src_table *t =
			find_source(from, nfrom, order.v[i]);
		int64_t rows = 0;

		if (!t) {
			snprintf(err, errlen,
				 "the target's table %s is not in the source "
				 "(are both migrated to the same version?)",
				 order.v[i]);
			rc = SCH_EINVAL;
			goto out;
		}
		rc = copy_table(src, dst, t, order.v[i], &rows, err, errlen);
		if (rc)
			goto out;
		if (report)
			report(arg, order.v[i], rows);
	}
	rc = set_sequences(src, dst, err, errlen);
out:
	source_tables_free(from, nfrom);
	names_free(&order);
	return rc;
}
