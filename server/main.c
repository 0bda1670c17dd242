/*
 * main.c - the scholia command: sub-commands, flags (each with an
 * environment variable), start-up and shutdown.
 *
 * Exit codes: 0 success, 1 failure at run time, 2 bad usage, 3 the database
 * cannot be used (newer schema, corrupt, unwritable), 4 not found.
 */
#include "auth/auth.h"
#include "books/books.h"
#include "export/export.h"
#include "modules.h"
#include "net/net.h"
#include "rpc/rpc.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/pool.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_DB 3
#define EXIT_NOTFOUND 4

enum opt_type { OPT_STR, OPT_INT, OPT_FLAG };

/* One command-line flag and its environment variable. */
struct opt {
	const char *name;   /* "--port" */
	const char *env;    /* "SCHOLIA_PORT" */
	enum opt_type type;
	const char *help;
	const char *str;    /* value (strings) */
	long num;           /* value (numbers, flags) */
	bool set;
};

static struct opt opts[] = {
	{"--db", "SCHOLIA_DB", OPT_STR, "database file", "./data/scholia.db", 0, false},
	{"--host", "SCHOLIA_HOST", OPT_STR, "listen address", "127.0.0.1", 0, false},
	{"--port", "SCHOLIA_PORT", OPT_INT, "listen port", NULL, 8080, false},
	{"--web", "SCHOLIA_WEB", OPT_STR, "folder of the web app", NULL, 0, false},
	{"--content", "SCHOLIA_CONTENT", OPT_STR, "folder of books imported on first start", NULL, 0, false},
	{"--migrations", "SCHOLIA_MIGRATIONS", OPT_STR, "folder of NNNN_name.sql migrations", NULL, 0, false},
	{"--public-url", "SCHOLIA_PUBLIC_URL", OPT_STR, "public base URL for links and export ids", "", 0, false},
	{"--registration", "SCHOLIA_REGISTRATION", OPT_STR, "open|invite|closed", "open", 0, false},
	{"--durability", "SCHOLIA_DURABILITY", OPT_STR, "full|normal (fsync per commit or not)", "full", 0, false},
	{"--allowed-origin", "SCHOLIA_ALLOWED_ORIGIN", OPT_STR, "extra WebSocket origins, comma-separated", "", 0, false},
	{"--max-connections", "SCHOLIA_MAX_CONNECTIONS", OPT_INT, "WebSocket connections before 503", NULL, 20000, false},
	{"--max-message", "SCHOLIA_MAX_MESSAGE", OPT_INT, "largest WebSocket message (bytes)", NULL, 65536, false},
	{"--max-queue", "SCHOLIA_MAX_QUEUE", OPT_INT, "unsent bytes per connection before 1008", NULL, 1048576, false},
	{"--tls-cert", "SCHOLIA_TLS_CERT", OPT_STR, "PEM certificate: serve HTTPS/WSS", NULL, 0, false},
	{"--tls-key", "SCHOLIA_TLS_KEY", OPT_STR, "PEM private key", NULL, 0, false},
	{"--redirect-http", "SCHOLIA_REDIRECT_HTTP", OPT_FLAG, "with TLS, redirect plain HTTP to HTTPS", NULL, 0, false},
	{"--workers", "SCHOLIA_WORKERS", OPT_INT, "worker threads (bounds concurrent Argon2id)", NULL, 2, false},
	{"--pwhash-ops", "SCHOLIA_PWHASH_OPS", OPT_INT, "Argon2id opslimit", NULL, 2, false},
	{"--pwhash-mem", "SCHOLIA_PWHASH_MEM", OPT_INT, "Argon2id memlimit (bytes)", NULL, 67108864, false},
	{"--session-idle", "SCHOLIA_SESSION_IDLE", OPT_INT, "session sliding expiry (s)", NULL, 30 * 86400, false},
	{"--session-max", "SCHOLIA_SESSION_MAX", OPT_INT, "session absolute expiry (s)", NULL, 90 * 86400, false},
	{"--key-file", "SCHOLIA_KEY_FILE", OPT_STR, "server key for token hashes (default <db>.key)", NULL, 0, false},
	{"--posts-per-minute", "SCHOLIA_POSTS_PER_MINUTE", OPT_INT, "posts a minute per member per circle", NULL, 20, false},
	{"--login-failures", "SCHOLIA_LOGIN_FAILURES", OPT_INT, "login failures a minute before back-off", NULL, 5, false},
	{"--autohide-flags", "SCHOLIA_AUTOHIDE_FLAGS", OPT_INT, "distinct flags that hide content", NULL, 3, false},
	{"--presence-idle", "SCHOLIA_PRESENCE_IDLE", OPT_INT, "presence idle timeout (s)", NULL, 60, false},
	{"--idle-ping", "SCHOLIA_IDLE_PING", OPT_INT, "ping an idle WebSocket after (s)", NULL, 30, false},
	{"--idle-hangup", "SCHOLIA_IDLE_HANGUP", OPT_INT, "hang up an unresponsive WebSocket after (s)", NULL, 75, false},
	{"--http-timeout", "SCHOLIA_HTTP_TIMEOUT", OPT_INT, "seconds for a request's headers and body", NULL, 10, false},
	{"--log-level", "SCHOLIA_LOG_LEVEL", OPT_STR, "debug|info|warn|error", "info", 0, false},
	/* sub-command specific */
	{"--status", NULL, OPT_FLAG, "migrate: list applied and pending", NULL, 0, false},
	{"--book", NULL, OPT_STR, "import: the book's slug", NULL, 0, false},
	{"--dry-run", NULL, OPT_FLAG, "import: report only, write nothing", NULL, 0, false},
	{"--title", NULL, OPT_STR, "import: the book's title (else from the source)", NULL, 0, false},
	{"--author", NULL, OPT_STR, "import: the book's author (else from the source)", NULL, 0, false},
	{"--handle", NULL, OPT_STR, "admin: the account's handle", NULL, 0, false},
	{"--display-name", NULL, OPT_STR, "admin: display name", NULL, 0, false},
	{"--admin", NULL, OPT_FLAG, "admin create-account: site admin", NULL, 0, false},
	{"--max-uses", NULL, OPT_INT, "admin invite: uses (0 unlimited)", NULL, 0, false},
	{"--expires-in", NULL, OPT_INT, "admin invite: lifetime (s)", NULL, 7 * 86400, false},
	{"--circle", NULL, OPT_INT, "export: the circle id", NULL, 0, false},
	{"--format", NULL, OPT_STR, "export: w3c|markdown", "w3c", 0, false},
	{"--help", NULL, OPT_FLAG, "this text", NULL, 0, false},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static struct opt *opt(const char *name)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	die("main: unknown option %s", name);
}

static const char *ostr(const char *name)
{
	return opt(name)->str;
}

static long onum(const char *name)
{
	return opt(name)->num;
}

static void usage(FILE *f)
{
	fprintf(f,
		"scholia %s - a server for reading circles\n\n"
		"usage:\n"
		"  scholia serve [--host H] [--port P] [--web DIR] [--content DIR] [--public-url URL]\n"
		"  scholia migrate [--status]\n"
		"  scholia import PATH [--book SLUG] [--title T] [--author A] [--dry-run]\n"
		"  scholia admin create-account --handle H [--display-name N] [--admin]\n"
		"  scholia admin reset-link --handle H\n"
		"  scholia admin invite [--max-uses N] [--expires-in SECONDS]\n"
		"  scholia backup OUT\n"
		"  scholia export --circle ID --format w3c|markdown\n\n"
		"options (each also read from its environment variable):\n",
		SCHOLIA_VERSION);
	for (size_t i = 0; i < NOPTS; i++) {
		char def[64] = "";

		if (opts[i].type == OPT_INT)
			snprintf(def, sizeof(def), " (default %ld)",
				 opts[i].num);
		else if (opts[i].type == OPT_STR && opts[i].str &&
			 opts[i].str[0])
			snprintf(def, sizeof(def), " (default %s)",
				 opts[i].str);
		fprintf(f, "  %-20s %-26s %s%s\n", opts[i].name,
			opts[i].env ? opts[i].env : "", opts[i].help, def);
	}
}

static int set_value(struct opt *o, const char *v, const char *from)
{
	char *end;

	if (o->type == OPT_STR) {
		o->str = v;
	} else if (o->type == OPT_INT) {
		o->num = strtol(v, &end, 10);
		if (end == v || *end) {
			fprintf(stderr, "scholia: %s wants a number, got '%s'\n",
				from, v);
			return -1;
		}
	} else {
		o->num = strcmp(v, "0") && strcmp(v, "false") && strcmp(v, "");
	}
	o->set = true;
	return 0;
}

/* Environment first, then flags; positional arguments go to args[]. */
static int parse(int argc, char **argv, const char **args, int *nargs)
{
	*nargs = 0;
	for (size_t i = 0; i < NOPTS; i++) {
		const char *v = opts[i].env ? getenv(opts[i].env) : NULL;

		if (v && set_value(&opts[i], v, opts[i].env))
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		struct opt *o = NULL;
		char name[64];

		if (strncmp(a, "--", 2) != 0) {
			if (*nargs < 8)
				args[(*nargs)++] = a;
			continue;
		}
		snprintf(name, sizeof(name), "%.*s",
			 eq ? (int)(eq - a) : (int)strlen(a), a);
		for (size_t k = 0; k < NOPTS; k++)
			if (strcmp(opts[k].name, name) == 0)
				o = &opts[k];
		if (!o) {
			fprintf(stderr, "scholia: unknown option %s\n", name);
			return -1;
		}
		if (o->type == OPT_FLAG) {
			o->num = 1;
			o->set = true;
			continue;
		}
		if (eq) {
			if (set_value(o, eq + 1, name))
				return -1;
		} else if (i + 1 < argc) {
			if (set_value(o, argv[++i], name))
				return -1;
		} else {
			fprintf(stderr, "scholia: %s needs a value\n", name);
			return -1;
		}
	}
	return 0;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A folder given by flag, else ./name, else the source tree's. */
static const char *find_dir(const char *flag, const char *name)
{
	static char paths[4][1024];
	static int n;
	const char *v = ostr(flag);
	char *p;

	if (v)
		return v;
	if (is_dir(name))
		return name;
	p = paths[n++ % 4];
	snprintf(p, sizeof(paths[0]), "%s/%s", SCHOLIA_SOURCE_DIR, name);
	return p;
}

static void configure(void)
{
	const char *reg = ostr("--registration");
	const char *lvl = ostr("--log-level");
	static char keyfile[1100];

	if (strcmp(lvl, "debug") == 0)
		log_set_level(LOG_DEBUG);
	else if (strcmp(lvl, "warn") == 0)
		log_set_level(LOG_WARN);
	else if (strcmp(lvl, "error") == 0)
		log_set_level(LOG_ERROR);
	rpc_config.max_message = (size_t)onum("--max-message");
	rpc_config.posts_per_minute = (int)onum("--posts-per-minute");
	rpc_config.login_failures = (int)onum("--login-failures");
	rpc_config.autohide_flags = (int)onum("--autohide-flags");
	rpc_config.registration = strcmp(reg, "invite") == 0   ? 1
				  : strcmp(reg, "closed") == 0 ? 2
							       : 0;
	rpc_config.pwhash_ops = (unsigned long long)onum("--pwhash-ops");
	rpc_config.pwhash_mem = (size_t)onum("--pwhash-mem");
	rpc_config.session_idle_s = (int)onum("--session-idle");
	rpc_config.session_max_s = (int)onum("--session-max");
	rpc_config.public_url = ostr("--public-url");
	rpc_config.content_dir = find_dir("--content", "content");
	rpc_config.presence_idle_s = (int)onum("--presence-idle");
	if (ostr("--key-file")) {
		rpc_config.server_key_path = ostr("--key-file");
	} else {
		snprintf(keyfile, sizeof(keyfile), "%s.key", ostr("--db"));
		rpc_config.server_key_path = keyfile;
	}
}

static int open_db(struct store **db, bool migrate)
{
	struct store_opts so = STORE_OPTS_INIT;
	char err[512];
	int rc;

	so.path = ostr("--db");
	so.migrations_dir = find_dir("--migrations", "migrations");
	so.durability = strcmp(ostr("--durability"), "normal") == 0
				? STORE_DURABILITY_NORMAL
				: STORE_DURABILITY_FULL;
	so.migrate = migrate;
	rc = store_open(&so, db, err, sizeof(err));
	if (rc) {
		log_error("main", "%s", err);
		fprintf(stderr, "scholia: %s\n", err);
		return rc;
	}
	return 0;
}

static int exit_for(int rc)
{
	if (rc == 0)
		return 0;
	if (rc == SCH_ETOONEW || rc == SCH_ECORRUPT || rc == SCH_EDB ||
	    rc == SCH_EBUSY || rc == SCH_EFULL)
		return EXIT_DB;
	if (rc == SCH_ENOTFOUND)
		return EXIT_NOTFOUND;
	if (rc == SCH_EINVAL)
		return EXIT_USAGE;
	return 1;
}

static int cmd_serve(void)
{
	struct net_opts no = NET_OPTS_INIT;
	struct store *db = NULL, *exec_db = NULL;
	struct pool *pool;
	int rc;

	rc = open_db(&db, true);
	if (rc)
		return exit_for(rc);
	rc = books_ensure_content(db, rpc_config.content_dir);
	if (rc)
		log_warn("main", "importing %s failed (%d)",
			 rpc_config.content_dir, rc);
	if (auth_no_accounts(db))
		log_info("main", "no accounts yet: create the site admin with "
				 "`scholia admin create-account --handle NAME "
				 "--admin` (password on stdin)");
	store_close(db);
	rc = open_db(&exec_db, false);
	if (rc)
		return exit_for(rc);
	pool = pool_start((int)onum("--workers"));
	no.host = ostr("--host");
	no.port = (int)onum("--port");
	no.web_dir = find_dir("--web", "web");
	no.public_url = ostr("--public-url");
	no.allowed_origins = ostr("--allowed-origin");
	no.tls_cert = ostr("--tls-cert");
	no.tls_key = ostr("--tls-key");
	no.redirect_http = onum("--redirect-http") != 0;
	no.max_connections = (int)onum("--max-connections");
	no.max_message = (size_t)onum("--max-message");
	no.max_queue = (size_t)onum("--max-queue");
	no.idle_ping_s = (int)onum("--idle-ping");
	no.idle_hangup_s = (int)onum("--idle-hangup");
	no.http_timeout_s = (int)onum("--http-timeout");
	no.exec_db = exec_db;
	no.pool = pool;
	log_info("main", "scholia %s serving %s (db %s, web %s)",
		 SCHOLIA_VERSION, no.host, ostr("--db"), no.web_dir);
	rc = net_serve(&no);
	pool_stop(pool);
	return rc ? 1 : 0;
}

static int cmd_migrate(void)
{
	struct store *db;
	int rc = open_db(&db, !onum("--status"));

	if (rc)
		return exit_for(rc);
	if (onum("--status"))
		rc = store_migration_print(db,
					   find_dir("--migrations",
						    "migrations"),
					   stdout);
	else
		printf("database %s is up to date\n", ostr("--db"));
	store_close(db);
	return exit_for(rc);
}

static int cmd_import(const char *path)
{
	struct store *db;
	char err[512] = "";
	int rc = open_db(&db, true);

	if (rc)
		return exit_for(rc);
	books_cli_import_meta(ostr("--title"), ostr("--author"));
	rc = books_cli_import(db, path, ostr("--book"), onum("--dry-run"),
			      stdout, err, sizeof(err));
	if (rc)
		fprintf(stderr, "scholia import: %s\n", err[0] ? err : "failed");
	store_close(db);
	return exit_for(rc);
}

/* The first line of stdin without its newline, or NULL when there is no
 * stdin (a terminal, or nothing to read). Caller frees. */
static char *read_password(void)
{
	struct buf b = BUF_INIT;
	int c;

	if (isatty(STDIN_FILENO))
		return NULL;
	while ((c = getchar()) != EOF && c != '\n')
		buf_addch(&b, (char)c);
	if (b.len && b.data[b.len - 1] == '\r')
		b.data[--b.len] = '\0';
	if (b.len == 0 && c == EOF) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* scholia admin invite: a site invitation for --registration invite. */
static int cmd_admin_invite(void)
{
	struct store *db;
	char code[128];
	int rc = open_db(&db, true);

	if (rc)
		return exit_for(rc);
	rc = auth_site_invite_create(db, 0, (int)onum("--max-uses"),
				     onum("--expires-in"), code, sizeof(code));
	if (rc == 0)
		printf("invite code: %s\n(valid %ld s, %s; enter it when "
		       "registering)\n",
		       code, onum("--expires-in"),
		       onum("--max-uses") ? "limited uses" : "unlimited uses");
	else
		fprintf(stderr, "scholia admin invite: failed (%d)\n", rc);
	store_close(db);
	return exit_for(rc);
}

static int cmd_admin(const char *what)
{
	struct store *db;
	char err[512] = "";
	int rc;

	if (what && strcmp(what, "invite") == 0)
		return cmd_admin_invite();
	if (!what || !ostr("--handle")) {
		fprintf(stderr, "scholia admin: create-account|reset-link "
				"--handle H, or invite\n");
		return EXIT_USAGE;
	}
	if (strcmp(what, "create-account") && strcmp(what, "reset-link")) {
		fprintf(stderr, "scholia admin: unknown action %s\n", what);
		return EXIT_USAGE;
	}
	rc = open_db(&db, true);
	if (rc)
		return exit_for(rc);
	if (strcmp(what, "create-account") == 0) {
		char *pw = read_password();

		rc = auth_cli_create_account(db, ostr("--handle"),
					     ostr("--display-name"),
					     onum("--admin"), pw,
					     rpc_config.public_url, stdout,
					     err, sizeof(err));
		if (pw) {
			memset(pw, 0, strlen(pw));
			free(pw);
		}
	} else {
		rc = auth_cli_reset_link(db, ostr("--handle"),
					 rpc_config.public_url, stdout, err,
					 sizeof(err));
	}
	if (rc)
		fprintf(stderr, "scholia admin: %s\n", err[0] ? err : "failed");
	store_close(db);
	return exit_for(rc);
}

static int cmd_backup(const char *out)
{
	struct store *db;
	char err[512] = "";
	int rc = open_db(&db, true);

	if (rc)
		return exit_for(rc);
	rc = store_backup(db, out, err, sizeof(err));
	if (rc)
		fprintf(stderr, "scholia backup: %s\n", err);
	else
		printf("backed up %s to %s\n", ostr("--db"), out);
	store_close(db);
	return rc ? 1 : 0;
}

static int cmd_export(void)
{
	struct store *db;
	char err[512] = "";
	int rc;

	if (onum("--circle") <= 0) {
		fprintf(stderr, "scholia export: --circle ID is required\n");
		return EXIT_USAGE;
	}
	rc = open_db(&db, true);
	if (rc)
		return exit_for(rc);
	rc = export_cli(db, onum("--circle"), ostr("--format"),
			rpc_config.public_url, stdout, err, sizeof(err));
	if (rc)
		fprintf(stderr, "scholia export: %s\n", err[0] ? err : "failed");
	store_close(db);
	return exit_for(rc);
}

static void print_method(const struct rpc_method *m, void *arg)
{
	(void)arg;
	printf("%s\n", m->name);
}

/* `scholia methods` (not in the usage text): every registered JSON-RPC
 * method, one per line; the access-matrix test reads its list from here. */
static int cmd_methods(void)
{
	rpc_each_method(print_method, NULL);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *args[8];
	int nargs;
	const char *cmd;

	/* a write past RLIMIT_FSIZE must fail with EFBIG (SQLite reports the
	 * disk as full), not kill the process without a word */
	signal(SIGXFSZ, SIG_IGN);
	if (parse(argc, argv, args, &nargs)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (onum("--help") || nargs == 0) {
		usage(nargs == 0 && !onum("--help") ? stderr : stdout);
		return onum("--help") ? 0 : EXIT_USAGE;
	}
	configure();
	modules_init();
	cmd = args[0];
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve();
	if (strcmp(cmd, "migrate") == 0)
		return cmd_migrate();
	if (strcmp(cmd, "import") == 0 && nargs >= 2)
		return cmd_import(args[1]);
	if (strcmp(cmd, "admin") == 0)
		return cmd_admin(nargs >= 2 ? args[1] : NULL);
	if (strcmp(cmd, "backup") == 0 && nargs >= 2)
		return cmd_backup(args[1]);
	if (strcmp(cmd, "export") == 0)
		return cmd_export();
	if (strcmp(cmd, "methods") == 0)
		return cmd_methods();
	usage(stderr);
	return EXIT_USAGE;
}
