/*
 * pg.c - the PostgreSQL engine behind store/store.h (libpq), chosen by a
 * postgresql:// or postgres:// URL in --db.
 *
 * One struct pg_store wraps one libpq connection, used by one thread at a
 * time. Each SQL string is translated once (`?` and `?N` become `$N`,
 * outside string literals, quoted names and comments) and prepared once per
 * connection under a name of its own; parameters are sent as text (blobs
 * as binary) with their types from the bind string (i, I, b: int8; d:
 * float8; B: bytea; t, n: left for PostgreSQL to infer), results come back
 * as text and the column accessors parse them ('t'/'f' for booleans).
 *
 * Transactions: SQLite opens a transaction at a savepoint outside one and
 * ends it at the matching release; PostgreSQL refuses a savepoint outside a
 * transaction, so the outermost savepoint here is a BEGIN (REPEATABLE READ
 * READ ONLY on a reader: one snapshot per read call, like a WAL snapshot)
 * and its release a COMMIT. A failed statement aborts a PostgreSQL
 * transaction until a rollback to a savepoint; release and commit notice
 * that and roll back, so one failed call cannot take its batch with it.
 *
 * --durability: full sets synchronous_commit=on (a commit is acknowledged
 * once its WAL is on the database server's disk); normal sets it to off (a
 * commit survives the loss of a scholia node, as SQLite's NORMAL survives
 * kill -9, but the last fraction of a second of commits may be lost if the
 * database server itself crashes).
 *
 * A lost connection is reset at the next statement (the prepared
 * statements are prepared again), so a node recovers on its own once the
 * database is back.
 */
#include "store/internal.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Type OIDs (catalog/pg_type.h is a server header). */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_FLOAT8 701

#define PG_MAX_PARAMS 64

struct pg_stmt {
	struct store_stmt head;
	char *text;    /* the SQL with $N parameters */
	char name[24]; /* prepared statement's name */
	unsigned gen;  /* connection generation it was prepared in (0: not) */
	int nparams;
	Oid types[PG_MAX_PARAMS];
	/* this run's parameters */
	char *values[PG_MAX_PARAMS];
	int lengths[PG_MAX_PARAMS];
	int formats[PG_MAX_PARAMS];
	bool bound, ran;
	PGresult *res;
	int row, nrows;
	unsigned char *blob; /* last unescaped bytea */
};

struct pg_store {
	struct store head;
	PGconn *conn;
	unsigned gen; /* bumped when the connection is reset */
	unsigned next_name;
	bool reader;
	bool sp_began; /* the outermost savepoint began the transaction */
	int sp_depth;  /* savepoints open */
	enum store_durability durability;
	int changes;
	char err[512];
	char state[6]; /* SQLSTATE of the last error */
};

#define PG(s) ((struct pg_store *)(s))
#define PST(x) ((struct pg_stmt *)(x))

/* ---- errors ---- */

static int set_error(struct store *s, const PGresult *res)
{
	struct pg_store *p = PG(s);
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	const char *state =
		res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	int rc = SCH_EDB;

	if (!msg || !*msg)
		msg = PQerrorMessage(p->conn);
	snprintf(p->err, sizeof(p->err), "%s", msg ? msg : "database error");
	p->err[strcspn(p->err, "\n")] = '\0';
	snprintf(p->state, sizeof(p->state), "%s", state ? state : "");
	if (state && strncmp(state, "23", 2) == 0)
		rc = SCH_ECONFLICT;
	else if (state &&
		 (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
		  strcmp(state, "55P03") == 0))
		rc = SCH_EBUSY;
	else if (state && strcmp(state, "53100") == 0)
		rc = SCH_EFULL;
	else if (state && strcmp(state, "25006") == 0)
		log_warn("store", "write refused on a read connection: %s",
			 p->err);
	s->last_rc = 1;
	s->last_sch = rc;
	return rc;
}

static const char *pg_errmsg(struct store *s)
{
	return PG(s)->err[0] ? PG(s)->err : "not an error";
}

static const char *pg_error_kind(struct store *s)
{
	const char *st = PG(s)->state;

	if (PQstatus(PG(s)->conn) != CONNECTION_OK)
		return "database unreachable";
	if (strcmp(st, "53100") == 0)
		return "disk full";
	if (strcmp(st, "25006") == 0)
		return "read-only database";
	if (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 ||
	    strcmp(st, "55P03") == 0)
		return "database locked";
	if (strncmp(st, "23", 2) == 0)
		return "constraint";
	if (strncmp(st, "58", 2) == 0)
		return "I/O error";
	return "database error";
}

/* ---- the connection ---- */

static void notice_quiet(void *arg, const char *msg)
{
	(void)arg;
	log_debug("store", "postgresql: %s", msg);
}

/* Runs one command without parameters or rows; 0 or SCH_E*. */
static int command(struct store *s, const char *sql)
{
	PGresult *res = PQexec(PG(s)->conn, sql);
	ExecStatusType t = PQresultStatus(res);
	int rc = 0;

	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
		rc = set_error(s, res);
		log_error("store", "%.80s failed: %s", sql, PG(s)->err);
	}
	PQclear(res);
	return rc;
}

/* Settings every connection gets (again after a reset). */
static int configure(struct store *s)
{
	struct pg_store *p = PG(s);
	int rc;

	PQsetNoticeProcessor(p->conn, notice_quiet, NULL);
	rc = command(s, "SET client_min_messages = warning");
	if (!rc)
		rc = command(s, p->durability == STORE_DURABILITY_FULL
					? "SET synchronous_commit = on"
					: "SET synchronous_commit = off");
	if (!rc && p->reader)
		rc = command(s, "SET default_transaction_read_only = on");
	return rc;
}

/* Reconnects a lost connection; 0 when it is usable again. */
static int revive(struct store *s)
{
	struct pg_store *p = PG(s);

	if (PQstatus(p->conn) == CONNECTION_OK)
		return 0;
	PQreset(p->conn);
	if (PQstatus(p->conn) != CONNECTION_OK) {
		snprintf(p->err, sizeof(p->err), "%s", PQerrorMessage(p->conn));
		p->err[strcspn(p->err, "\n")] = '\0';
		s->last_sch = SCH_EDB;
		return SCH_EDB;
	}
	p->gen++; /* prepared statements are gone with the old session */
	p->sp_depth = 0;
	p->sp_began = false;
	log_info("store", "reconnected to the database");
	return configure(s);
}

static void pg_close(struct store *s);

static int pg_open(const struct store_opts *opts, struct store **out, char *err,
		   size_t errlen)
{
	struct pg_store *p = xcalloc(1, sizeof(*p));
	struct store *s = &p->head;
	int rc;

	*out = NULL;
	s->ops = &store_pg_ops;
	s->path = xstrdup(opts->path);
	p->gen = 1;
	p->durability = opts->durability;
	p->reader = opts->query_only || opts->readonly;
	p->conn = PQconnectdb(opts->path);
	if (!p->conn || PQstatus(p->conn) != CONNECTION_OK) {
		const char *m = p->conn ? PQerrorMessage(p->conn) : "no memory";

		snprintf(err, errlen, "cannot connect to the database: %.*s",
			 (int)strcspn(m, "\n"), m);
		rc = SCH_EDB;
		goto fail;
	}
	rc = configure(s);
	if (rc) {
		snprintf(err, errlen, "cannot configure the connection: %s",
			 p->err);
		goto fail;
	}
	rc = store_open_migrations(s, opts, NULL, err, errlen);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	pg_close(s);
	return rc ? rc : SCH_EDB;
}

static int pg_open_reader(const struct store *s, struct store **out)
{
	struct store_opts so = STORE_OPTS_INIT;
	char err[512];
	int rc;

	so.path = s->path;
	so.migrations_dir = NULL;
	so.migrate = false;
	so.query_only = true;
	so.durability = PG(s)->durability;
	rc = pg_open(&so, out, err, sizeof(err));
	if (rc)
		log_error("store", "read connection: %s", err);
	return rc;
}

static void pg_free_stmt(struct store_stmt *st)
{
	struct pg_stmt *p = PST(st);

	PQclear(p->res);
	for (int i = 0; i < p->nparams; i++)
		free(p->values[i]);
	PQfreemem(p->blob);
	free(p->text);
	free(p);
}

static void pg_close(struct store *s)
{
	struct pg_store *p = PG(s);

	store_cache_free(s, pg_free_stmt);
	if (p->conn) {
		if (PQstatus(p->conn) == CONNECTION_OK &&
		    PQtransactionStatus(p->conn) != PQTRANS_IDLE)
			PQclear(PQexec(p->conn, "ROLLBACK"));
		PQfinish(p->conn);
	}
	free(s->path);
	free(p);
}

/* ---- statements ---- */

/*
 * The SQL with `?` and `?N` as `$N` (a bare `?` takes the number after the
 * largest so far, as in SQLite), leaving string literals, quoted names and
 * comments alone. *nparams gets the largest number. Caller frees.
 */
static char *translate(const char *sql, int *nparams)
{
	struct buf b = BUF_INIT;
	int max = 0;

	for (const char *p = sql; *p;) {
		if (*p == '\'' || *p == '"') {
			char q = *p;
			const char *e = p + 1;

			while (*e && !(*e == q && e[1] != q))
				e += (*e == q) ? 2 : 1;
			if (*e)
				e++;
			buf_add(&b, p, (size_t)(e - p));
			p = e;
		} else if (p[0] == '-' && p[1] == '-') {
			const char *e = p + strcspn(p, "\n");

			buf_add(&b, p, (size_t)(e - p));
			p = e;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");

			e = e ? e + 2 : p + strlen(p);
			buf_add(&b, p, (size_t)(e - p));
			p = e;
		} else if (*p == '?') {
			int n = max + 1;

			p++;
			if (*p >= '0' && *p <= '9') {
				char *end;

				n = (int)strtol(p, &end, 10);
				p = end;
			}
			if (n > max)
				max = n;
			buf_addf(&b, "$%d", n);
		} else {
			buf_addch(&b, *p++);
		}
	}
	*nparams = max;
	return buf_detach(&b, NULL);
}

static struct store_stmt *pg_prepare(struct store *s, const char *sql,
				     const char *types)
{
	struct pg_stmt *st = xcalloc(1, sizeof(*st));

	st->text = translate(sql, &st->nparams);
	if (st->nparams > PG_MAX_PARAMS) {
		log_error("store", "too many parameters: %.200s", sql);
		free(st->text);
		free(st);
		s->last_sch = SCH_EDB;
		return NULL;
	}
	/* parameter types from the first bind: i, I and b are 64-bit
	 * integers as in SQLite, d float8, B bytea; t and n are left for
	 * PostgreSQL to infer from where they stand */
	for (int i = 0; types && types[i] && i < st->nparams; i++) {
		switch (types[i]) {
		case 'i':
		case 'I':
		case 'b':
			st->types[i] = OID_INT8;
			break;
		case 'd':
			st->types[i] = OID_FLOAT8;
			break;
		case 'B':
			st->types[i] = OID_BYTEA;
			break;
		default:
			st->types[i] = 0;
		}
	}
	snprintf(st->name, sizeof(st->name), "s%u", ++PG(s)->next_name);
	return &st->head;
}

static void reset_run(struct pg_stmt *st)
{
	PQclear(st->res);
	st->res = NULL;
	st->row = st->nrows = 0;
	st->ran = false;
	PQfreemem(st->blob);
	st->blob = NULL;
}

static void set_param(struct pg_stmt *st, int i, char *v, int len, int fmt)
{
	free(st->values[i]);
	st->values[i] = v;
	st->lengths[i] = len;
	st->formats[i] = fmt;
}

static int pg_bind(struct store_stmt *head, const char *types, va_list ap)
{
	struct pg_stmt *st = PST(head);
	char num[40];
	int idx = 0;

	reset_run(st);
	for (int i = 0; i < st->nparams; i++)
		set_param(st, i, NULL, 0, 0);
	for (const char *t = types; *t; t++, idx++) {
		char *v = NULL;
		int len = 0, fmt = 0;

		switch (*t) {
		case 'i':
			snprintf(num, sizeof(num), "%lld",
				 (long long)va_arg(ap, int64_t));
			v = xstrdup(num);
			break;
		case 'I': {
			int64_t x = va_arg(ap, int64_t);

			if (x) {
				snprintf(num, sizeof(num), "%lld",
					 (long long)x);
				v = xstrdup(num);
			}
			break;
		}
		case 't': {
			const char *x = va_arg(ap, const char *);

			v = x ? xstrdup(x) : NULL;
			break;
		}
		case 'b':
			v = xstrdup(va_arg(ap, int) != 0 ? "1" : "0");
			break;
		case 'd':
			snprintf(num, sizeof(num), "%.17g", va_arg(ap, double));
			v = xstrdup(num);
			break;
		case 'n':
			break;
		case 'B': {
			const void *x = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			v = xmalloc(n ? n : 1);
			if (n)
				memcpy(v, x, n);
			len = (int)n;
			fmt = 1;
			break;
		}
		default:
			die("store: bad bind type '%c'", *t);
		}
		if (idx < st->nparams)
			set_param(st, idx, v, len, fmt);
		else
			free(v);
	}
	st->bound = true;
	return 0;
}

static bool is_write(const char *status)
{
	return strncmp(status, "INSERT", 6) == 0 ||
	       strncmp(status, "UPDATE", 6) == 0 ||
	       strncmp(status, "DELETE", 6) == 0 ||
	       strncmp(status, "MERGE", 5) == 0;
}

/* Prepares (if this connection has not) and runs st. */
static int run(struct pg_stmt *st)
{
	struct store *s = st->head.owner;
	struct pg_store *p = PG(s);
	ExecStatusType t;
	int rc;

	if (PQstatus(p->conn) != CONNECTION_OK) {
		/* inside a transaction the work so far is lost: say so */
		bool in_tx = p->sp_depth > 0;

		rc = revive(s);
		if (rc || in_tx) {
			s->last_sch = SCH_EDB;
			return SCH_EDB;
		}
	}
	if (st->gen != p->gen) {
		PGresult *res = PQprepare(p->conn, st->name, st->text,
					  st->nparams, st->types);

		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			rc = set_error(s, res);
			log_error("store", "prepare failed: %s: %.200s", p->err,
				  st->head.sql);
			PQclear(res);
			return rc;
		}
		PQclear(res);
		st->gen = p->gen;
	}
	st->res = PQexecPrepared(p->conn, st->name, st->nparams,
				 (const char *const *)st->values, st->lengths,
				 st->formats, 0);
	t = PQresultStatus(st->res);
	if (t != PGRES_TUPLES_OK && t != PGRES_COMMAND_OK) {
		rc = set_error(s, st->res);
		if (rc != SCH_ECONFLICT)
			log_warn("store", "statement failed: %s: %.200s",
				 p->err, st->head.sql);
		PQclear(st->res);
		st->res = NULL;
		return rc;
	}
	if (is_write(PQcmdStatus(st->res)))
		p->changes = atoi(PQcmdTuples(st->res));
	st->nrows = PQntuples(st->res);
	st->row = -1;
	st->ran = true;
	return 0;
}

static int pg_row(struct store_stmt *head)
{
	struct pg_stmt *st = PST(head);
	int rc;

	if (!st->ran) {
		if (!st->bound)
			return 0; /* already done: a new run needs a bind */
		st->bound = false;
		rc = run(st);
		if (rc)
			return rc;
	}
	if (++st->row < st->nrows) {
		PQfreemem(st->blob);
		st->blob = NULL;
		return 1;
	}
	reset_run(st);
	return 0;
}

static void pg_done(struct store_stmt *st)
{
	PST(st)->bound = false;
	reset_run(PST(st));
}

static const char *cell(struct store_stmt *head, int col)
{
	struct pg_stmt *st = PST(head);

	if (!st->res || st->row < 0 || st->row >= st->nrows ||
	    col >= PQnfields(st->res) || PQgetisnull(st->res, st->row, col))
		return NULL;
	return PQgetvalue(st->res, st->row, col);
}

static int64_t pg_int(struct store_stmt *st, int col)
{
	const char *v = cell(st, col);

	if (!v)
		return 0;
	if (v[0] == 't' && v[1] == '\0')
		return 1;
	if (v[0] == 'f' && v[1] == '\0')
		return 0;
	if (strpbrk(v, ".eE")) /* numeric or float text: truncate */
		return (int64_t)strtod(v, NULL);
	return strtoll(v, NULL, 10);
}

static double pg_double(struct store_stmt *st, int col)
{
	const char *v = cell(st, col);

	if (!v)
		return 0;
	if (v[0] == 't' && v[1] == '\0')
		return 1;
	return strtod(v, NULL);
}

static const char *pg_text(struct store_stmt *st, int col)
{
	return cell(st, col);
}

static bool pg_null(struct store_stmt *st, int col)
{
	return cell(st, col) == NULL;
}

static const void *pg_blob(struct store_stmt *head, int col, size_t *len)
{
	struct pg_stmt *st = PST(head);
	const char *v = cell(head, col);

	*len = 0;
	if (!v)
		return NULL;
	if (PQftype(st->res, col) != OID_BYTEA) {
		*len = strlen(v);
		return v;
	}
	PQfreemem(st->blob);
	st->blob = PQunescapeBytea((const unsigned char *)v, len);
	return st->blob;
}

static int pg_exec(struct store *s, const char *sql)
{
	if (revive(s))
		return SCH_EDB;
	return command(s, sql);
}

static const char SQL_LASTVAL[] = "SELECT lastval()";

static int64_t pg_last_id(struct store *s)
{
	int64_t id = 0;

	if (store_int_query(s, &id, SQL_LASTVAL, "") != 1)
		return 0;
	return id;
}

static int pg_changes(struct store *s)
{
	return PG(s)->changes;
}

/* ---- transactions ---- */

static bool in_error(struct store *s)
{
	return PQtransactionStatus(PG(s)->conn) == PQTRANS_INERROR;
}

/*
 * A write transaction begins by taking one transaction-level advisory
 * lock, so write transactions run one at a time across every node of the
 * database, as on SQLite. Without it two nodes' group-commit batches took
 * the circle_seq rows of several circles in different orders and
 * deadlocked: PostgreSQL found each cycle only after deadlock_timeout (1 s)
 * and failed a call of one batch (tests/bench/run with BENCH_PG=2: one
 * second ack latencies and a few acked writes a second). Every writer that
 * holds row locks past one statement holds this lock first, so no wait
 * cycle can form. Read-only transactions do not take it.
 */
#define PG_WRITE_LOCK "2058403781"

static int pg_begin(struct store *s)
{
	const char *sql =
		PG(s)->reader
			? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
			: "BEGIN; SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK
			  ")";
	int rc = pg_exec(s, sql);

	/* a connection lost while idle shows only when used: nothing is
	 * lost before a transaction begins, so reconnect and begin again */
	if (rc && PQstatus(PG(s)->conn) != CONNECTION_OK && revive(s) == 0)
		rc = command(s, sql);

	if (!rc) {
		PG(s)->sp_depth = 0;
		PG(s)->sp_began = false;
	}
	return rc;
}

static int pg_rollback(struct store *s)
{
	PG(s)->sp_depth = 0;
	PG(s)->sp_began = false;
	if (PQstatus(PG(s)->conn) != CONNECTION_OK ||
	    PQtransactionStatus(PG(s)->conn) == PQTRANS_IDLE)
		return 0;
	return command(s, "ROLLBACK");
}

static int pg_commit(struct store *s)
{
	if (PQstatus(PG(s)->conn) != CONNECTION_OK) {
		s->last_sch = SCH_EDB;
		return SCH_EDB;
	}
	if (in_error(s)) {
		/* COMMIT would roll back and say COMMIT was fine */
		snprintf(PG(s)->err, sizeof(PG(s)->err),
			 "a statement failed: the transaction was rolled back");
		pg_rollback(s);
		return SCH_EDB;
	}
	PG(s)->sp_depth = 0;
	PG(s)->sp_began = false;
	return command(s, "COMMIT");
}

static const char SQL_SAVEPOINT[] = "SAVEPOINT call";
static const char SQL_RELEASE[] = "RELEASE SAVEPOINT call";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO SAVEPOINT call";

static int pg_savepoint(struct store *s)
{
	struct pg_store *p = PG(s);
	int rc;

	if (revive(s))
		return SCH_EDB;
	if (PQtransactionStatus(p->conn) == PQTRANS_IDLE) {
		rc = pg_begin(s);
		if (rc)
			return rc;
		p->sp_began = true;
		p->sp_depth = 1;
		return 0;
	}
	rc = store_run(s, SQL_SAVEPOINT, "");
	if (!rc)
		p->sp_depth++;
	return rc;
}

static int pg_rollback_to(struct store *s);

/* Whether the connection is lost; then the savepoints went with it. */
static bool sp_lost(struct pg_store *p)
{
	if (PQstatus(p->conn) == CONNECTION_OK)
		return false;
	p->sp_depth = 0;
	p->sp_began = false;
	return true;
}

static int pg_release(struct store *s)
{
	struct pg_store *p = PG(s);
	int rc;

	if (sp_lost(p))
		return SCH_EDB;
	if (in_error(s)) {
		pg_rollback_to(s);
		return SCH_EDB;
	}
	if (p->sp_depth == 1 && p->sp_began)
		return pg_commit(s);
	rc = store_run(s, SQL_RELEASE, "");
	if (!rc && p->sp_depth > 0)
		p->sp_depth--;
	return rc;
}

static int pg_rollback_to(struct store *s)
{
	struct pg_store *p = PG(s);
	int rc;

	if (sp_lost(p))
		return SCH_EDB;
	if (p->sp_depth == 1 && p->sp_began)
		return pg_rollback(s);
	rc = store_run(s, SQL_ROLLBACK_TO, "");
	if (!rc)
		rc = store_run(s, SQL_RELEASE, "");
	if (p->sp_depth > 0)
		p->sp_depth--;
	return rc;
}

/* ---- the rest ---- */

static const char SQL_HAS_TABLE[] =
	"SELECT count(*) FROM pg_catalog.pg_tables"
	" WHERE schemaname = current_schema() AND tablename = ?";

/* pg_dump's custom format (restore with pg_restore). */
static int pg_backup(struct store *s, const char *path, char *err,
		     size_t errlen)
{
	pid_t pid = fork();
	int status = 0;

	if (pid < 0) {
		snprintf(err, errlen, "cannot start pg_dump: %s",
			 strerror(errno));
		return SCH_EIO;
	}
	if (pid == 0) {
		execlp("pg_dump", "pg_dump", "--format=custom", "--file", path,
		       "--dbname", s->path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "pg_dump failed (%s %d)",
			 WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status)
					   : WTERMSIG(status));
		return WIFEXITED(status) && WEXITSTATUS(status) == 127
			       ? SCH_ENOTFOUND
			       : SCH_EDB;
	}
	return 0;
}

static const char SQL_NOTIFY[] = "SELECT pg_notify(?, ?)";

static int pg_notify(struct store *s, const char *channel, const char *payload)
{
	return store_run(s, SQL_NOTIFY, "tt", channel, payload);
}

/* ---- the listener ---- */

struct store_listener {
	PGconn *conn;
	char *url;
	char *channel;
	bool lost; /* the connection went away; the next call reconnects */
};

static int listen_connect(struct store_listener *l)
{
	PGresult *res;
	char *sql, *ident;
	bool ok;

	if (l->conn)
		PQfinish(l->conn);
	l->conn = PQconnectdb(l->url);
	if (PQstatus(l->conn) != CONNECTION_OK)
		return SCH_EDB;
	PQsetNoticeProcessor(l->conn, notice_quiet, NULL);
	ident = PQescapeIdentifier(l->conn, l->channel, strlen(l->channel));
	if (!ident)
		return SCH_EDB;
	sql = xmalloc(strlen(ident) + 8);
	sprintf(sql, "LISTEN %s", ident);
	PQfreemem(ident);
	res = PQexec(l->conn, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	free(sql);
	if (!ok)
		return SCH_EDB;
	return PQsetnonblocking(l->conn, 1) == 0 ? 0 : SCH_EDB;
}

static int pg_listen(const struct store *s, const char *channel,
		     struct store_listener **out)
{
	struct store_listener *l = xcalloc(1, sizeof(*l));

	l->url = xstrdup(s->path);
	l->channel = xstrdup(channel);
	if (listen_connect(l)) {
		log_error("store", "cannot listen on %s: %s", channel,
			  PQerrorMessage(l->conn));
		pg_listener_close(l);
		return SCH_EDB;
	}
	*out = l;
	return 0;
}

int pg_listener_fd(struct store_listener *l)
{
	return l->lost ? -1 : PQsocket(l->conn);
}

int pg_listener_next(struct store_listener *l, char *buf, size_t len)
{
	PGnotify *n;

	if (l->lost) {
		if (listen_connect(l))
			return SCH_EDB;
		l->lost = false;
		log_info("store", "listening on %s again", l->channel);
		return SCH_EIO;
	}
	if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) {
		log_warn("store", "lost the listening connection: %s",
			 PQerrorMessage(l->conn));
		l->lost = true;
		return SCH_EDB;
	}
	n = PQnotifies(l->conn);
	if (!n)
		return 0;
	snprintf(buf, len, "%s", n->extra ? n->extra : "");
	PQfreemem(n);
	return 1;
}

void pg_listener_close(struct store_listener *l)
{
	if (l->conn)
		PQfinish(l->conn);
	free(l->url);
	free(l->channel);
	free(l);
}

static const char *pg_dialect(const struct store_dialect *d)
{
	return d->postgresql;
}

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.migrations_sub = "pg",
	.open = pg_open,
	.open_reader = pg_open_reader,
	.close = pg_close,
	.prepare = pg_prepare,
	.bind = pg_bind,
	.row = pg_row,
	.done = pg_done,
	.col_int = pg_int,
	.col_double = pg_double,
	.col_text = pg_text,
	.col_null = pg_null,
	.col_blob = pg_blob,
	.exec = pg_exec,
	.last_id = pg_last_id,
	.changes = pg_changes,
	.errmsg = pg_errmsg,
	.error_kind = pg_error_kind,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.savepoint = pg_savepoint,
	.release = pg_release,
	.rollback_to = pg_rollback_to,
	.has_table_sql = SQL_HAS_TABLE,
	.backup = pg_backup,
	.notify = pg_notify,
	.listen = pg_listen,
	.dialect = pg_dialect,
};
