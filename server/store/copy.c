/*
 * copy.c - `scholia migrate-to postgresql://...`: every row of a SQLite
 * database into an empty PostgreSQL one migrated to the same version.
 *
 * The tables and columns come from the target (migrations/pg/ mirrors
 * migrations/, so the names match; SQLite's implicit rowid is selected
 * where the PostgreSQL table has a column of that name, and generated
 * columns such as the search tsvector are left to PostgreSQL). Everything
 * is copied in one transaction with triggers and foreign keys off
 * (session_replication_role = replica, which needs a superuser or the
 * database's owner with that right), then each identity column's sequence
 * is moved past the largest id copied.
 */
#include "store/internal.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_MAX_COLS 64

static const char SQL_VERSION[] =
	"SELECT coalesce(max(version), 0) FROM schema_migrations";
static const char SQL_ROWS[] = "SELECT count(*) FROM accounts";

/* The ok status of res, or the error into err; clears res. */
static int check(PGresult *res, ExecStatusType want, const char *what,
		 char *err, size_t errlen)
{
	int rc = 0;

	if (PQresultStatus(res) != want) {
		const char *m = PQresultErrorMessage(res);

		snprintf(err, errlen, "%s: %.*s", what, (int)strcspn(m, "\n"),
			 m);
		rc = SCH_EDB;
	}
	PQclear(res);
	return rc;
}

static char *quoted(const char *name)
{
	struct buf b = BUF_INIT;

	buf_addch(&b, '"');
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			buf_addch(&b, '"');
		buf_addch(&b, *p);
	}
	buf_addch(&b, '"');
	return buf_detach(&b, NULL);
}

/* Copies one table; *rows gets how many rows. */
static int copy_table(sqlite3 *sq, PGconn *pg, const char *table, long *rows,
		      char *err, size_t errlen)
{
	const char *params[1] = {table};
	PGresult *cols = PQexecParams(
		pg,
		"SELECT column_name, data_type FROM information_schema.columns"
		" WHERE table_schema = current_schema() AND table_name = $1"
		" AND is_generated = 'NEVER' ORDER BY ordinal_position",
		1, NULL, params, NULL, NULL, 0);
	struct buf sel = BUF_INIT, ins = BUF_INIT;
	bool bytea[COPY_MAX_COLS];
	sqlite3_stmt *st = NULL;
	char *qt = quoted(table);
	int n, rc = 0;

	*rows = 0;
	if (PQresultStatus(cols) != PGRES_TUPLES_OK) {
		check(cols, PGRES_TUPLES_OK, table, err, errlen);
		free(qt);
		return SCH_EDB;
	}
	n = PQntuples(cols);
	if (n == 0 || n > COPY_MAX_COLS) {
		PQclear(cols);
		free(qt);
		return 0;
	}
	buf_adds(&sel, "SELECT ");
	buf_addf(&ins, "INSERT INTO %s (", qt);
	for (int i = 0; i < n; i++) {
		char *qc = quoted(PQgetvalue(cols, i, 0));

		bytea[i] = strcmp(PQgetvalue(cols, i, 1), "bytea") == 0;
		buf_addf(&sel, "%s%s", i ? ", " : "", qc);
		buf_addf(&ins, "%s%s", i ? ", " : "", qc);
		free(qc);
	}
	PQclear(cols);
	buf_addf(&sel, " FROM %s", qt);
	buf_adds(&ins, ") VALUES (");
	for (int i = 0; i < n; i++)
		buf_addf(&ins, "%s$%d", i ? ", " : "", i + 1);
	buf_adds(&ins, ")");
	if (sqlite3_prepare_v2(sq, buf_str(&sel), -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "reading %s: %s", table,
			 sqlite3_errmsg(sq));
		rc = SCH_EDB;
		goto out;
	}
	rc = check(PQprepare(pg, "", buf_str(&ins), n, NULL), PGRES_COMMAND_OK,
		   table, err, errlen);
	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		const char *vals[COPY_MAX_COLS];
		int lens[COPY_MAX_COLS], fmts[COPY_MAX_COLS];

		for (int i = 0; i < n; i++) {
			lens[i] = 0;
			fmts[i] = 0;
			if (sqlite3_column_type(st, i) == SQLITE_NULL) {
				vals[i] = NULL;
			} else if (bytea[i]) {
				vals[i] = sqlite3_column_blob(st, i);
				lens[i] = sqlite3_column_bytes(st, i);
				fmts[i] = 1;
				if (!vals[i])
					vals[i] = "";
			} else {
				vals[i] = (const char *)sqlite3_column_text(st,
									    i);
			}
		}
		rc = check(PQexecPrepared(pg, "", n, vals, lens, fmts, 0),
			   PGRES_COMMAND_OK, table, err, errlen);
		if (!rc)
			(*rows)++;
	}
out:
	sqlite3_finalize(st);
	buf_free(&sel);
	buf_free(&ins);
	free(qt);
	return rc;
}

/* Moves every identity sequence past the ids copied. */
static int reset_identities(PGconn *pg, char *err, size_t errlen)
{
	PGresult *res =
		PQexec(pg, "SELECT table_name, column_name FROM"
			   " information_schema.columns WHERE table_schema ="
			   " current_schema() AND is_identity = 'YES'");
	int rc = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		return check(res, PGRES_TUPLES_OK, "identities", err, errlen);
	for (int i = 0; !rc && i < PQntuples(res); i++) {
		char *qt = quoted(PQgetvalue(res, i, 0));
		char *qc = quoted(PQgetvalue(res, i, 1));
		struct buf b = BUF_INIT;
		char *lit = PQescapeLiteral(pg, qt, strlen(qt));

		buf_addf(&b,
			 "SELECT setval(pg_get_serial_sequence(%s, '%s'),"
			 " coalesce(max(%s), 0) + 1, false) FROM %s",
			 lit ? lit : "''", PQgetvalue(res, i, 1), qc, qt);
		rc = check(PQexec(pg, buf_str(&b)), PGRES_TUPLES_OK, "identity",
			   err, errlen);
		PQfreemem(lit);
		buf_free(&b);
		free(qt);
		free(qc);
	}
	PQclear(res);
	return rc;
}

int store_copy(struct store *src, struct store *dst, FILE *progress, char *err,
	       size_t errlen)
{
	sqlite3 *sq;
	PGconn *pg;
	PGresult *tables;
	int64_t vs = 0, vd = 0, accounts = 0;
	int rc;

	if (src->ops != &store_sqlite_ops || dst->ops != &store_pg_ops) {
		snprintf(err, errlen,
			 "copies a SQLite database into a "
			 "PostgreSQL one only");
		return SCH_EINVAL;
	}
	sq = store_sqlite_handle(src);
	pg = store_pg_conn(dst);
	if (store_int_query(src, &vs, SQL_VERSION, "") != 1 ||
	    store_int_query(dst, &vd, SQL_VERSION, "") != 1 || vs != vd) {
		snprintf(err, errlen,
			 "the two databases are not at the same migration "
			 "(%lld and %lld)",
			 (long long)vs, (long long)vd);
		return SCH_EINVAL;
	}
	if (store_int_query(dst, &accounts, SQL_ROWS, "") != 1 || accounts) {
		snprintf(err, errlen, "the PostgreSQL database is not empty");
		return SCH_ECONFLICT;
	}
	rc = check(PQexec(pg, "BEGIN"), PGRES_COMMAND_OK, "begin", err, errlen);
	if (!rc)
		rc = check(PQexec(pg, "SET LOCAL session_replication_role ="
				      " replica"),
			   PGRES_COMMAND_OK,
			   "turning triggers off (needs a superuser)", err,
			   errlen);
	tables = PQexec(pg, "SELECT table_name FROM information_schema.tables"
			    " WHERE table_schema = current_schema() AND"
			    " table_type = 'BASE TABLE' AND table_name <>"
			    " 'schema_migrations' ORDER BY table_name");
	if (PQresultStatus(tables) != PGRES_TUPLES_OK) {
		if (!rc)
			rc = check(tables, PGRES_TUPLES_OK, "tables", err,
				   errlen);
		else
			PQclear(tables);
		tables = NULL;
	}
	for (int i = 0; !rc && tables && i < PQntuples(tables); i++) {
		const char *t = PQgetvalue(tables, i, 0);
		char *qt = quoted(t);
		struct buf b = BUF_INIT;
		long rows = 0;

		/* a `serve` that started on it may have imported books */
		buf_addf(&b, "DELETE FROM %s", qt);
		rc = check(PQexec(pg, buf_str(&b)), PGRES_COMMAND_OK, t, err,
			   errlen);
		buf_free(&b);
		free(qt);
		if (!rc)
			rc = copy_table(sq, pg, t, &rows, err, errlen);
		if (!rc && progress)
			fprintf(progress, "%-24s %ld rows\n", t, rows);
	}
	PQclear(tables);
	if (!rc)
		rc = reset_identities(pg, err, errlen);
	if (!rc)
		rc = check(PQexec(pg, "COMMIT"), PGRES_COMMAND_OK, "commit",
			   err, errlen);
	else
		PQclear(PQexec(pg, "ROLLBACK"));
	return rc;
}
