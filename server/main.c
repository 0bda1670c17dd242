/*
 * main.c - the scholia command: sub-commands, flags (each with an
 * environment variable), start-up and shutdown.
 *
 * Exit codes: 0 success, 1 failure at run time, 2 bad usage, 3 the database
 * cannot be used (newer schema, corrupt, unwritable), 4 not found.
 */
#include "auth/auth.h"
#include "books/books.h"
#include "bus/bus.h"
#include "circles/circles.h"
#include "export/export.h"
#include "mail/mail.h"
#include "migrate_to.h"
#include "moderation/moderation.h"
#include "modules.h"
#include "net/net.h"
#include "rpc/rpc.h"
#include "rpc/transport.h"
#include "search/search.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/pool.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define EXIT_DB 3
#define EXIT_NOTFOUND 4

#ifndef SCHOLIA_DATA_DIR
#define SCHOLIA_DATA_DIR "/usr/local/share/scholia"
#endif
#ifndef SCHOLIA_CONFIG_DEFAULT
#define SCHOLIA_CONFIG_DEFAULT "/etc/scholia/scholia.conf"
#endif

enum opt_type { OPT_STR, OPT_INT, OPT_FLAG };

/* One command-line flag and its environment variable. */
struct opt {
	const char *name; /* "--port" */
	const char *env;  /* "SCHOLIA_PORT" */
	enum opt_type type;
	const char *help;
	const char *str; /* value (strings) */
	long num;	 /* value (numbers, flags) */
	bool set;
};

static struct opt opts[] = {
	{"--db", "SCHOLIA_DB", OPT_STR,
	 "database file, or postgresql://... URL", "./data/scholia.db", 0,
	 false},
	{"--host", "SCHOLIA_HOST", OPT_STR, "listen address", "127.0.0.1", 0,
	 false},
	{"--port", "SCHOLIA_PORT", OPT_INT, "listen port", NULL, 8080, false},
	{"--web", "SCHOLIA_WEB", OPT_STR, "folder of the web app", NULL, 0,
	 false},
	{"--content", "SCHOLIA_CONTENT", OPT_STR,
	 "folder of books imported on first start", NULL, 0, false},
	{"--migrations", "SCHOLIA_MIGRATIONS", OPT_STR,
	 "folder of NNNN_name.sql migrations", NULL, 0, false},
	{"--public-url", "SCHOLIA_PUBLIC_URL", OPT_STR,
	 "public base URL for links and export ids", "", 0, false},
	{"--registration", "SCHOLIA_REGISTRATION", OPT_STR,
	 "open|invite|closed", "open", 0, false},
	{"--durability", "SCHOLIA_DURABILITY", OPT_STR,
	 "full|normal (fsync per commit or not)", "full", 0, false},
	{"--allowed-origin", "SCHOLIA_ALLOWED_ORIGIN", OPT_STR,
	 "extra WebSocket origins, comma-separated", "", 0, false},
	{"--max-connections", "SCHOLIA_MAX_CONNECTIONS", OPT_INT,
	 "WebSocket connections before 503", NULL, 20000, false},
	{"--max-connections-per-address", "SCHOLIA_MAX_CONNECTIONS_PER_ADDRESS",
	 OPT_INT, "WebSockets per client address before 429 (0: no limit)",
	 NULL, 64, false},
	{"--auth-timeout", "SCHOLIA_AUTH_TIMEOUT", OPT_INT,
	 "seconds a WebSocket may stay unauthenticated (0: no limit)", NULL, 60,
	 false},
	{"--trusted-proxy", "SCHOLIA_TRUSTED_PROXY", OPT_STR,
	 "reverse proxies whose Forwarded/X-Forwarded-For is believed, "
	 "comma-separated",
	 "", 0, false},
	{"--max-message", "SCHOLIA_MAX_MESSAGE", OPT_INT,
	 "largest WebSocket message (bytes)", NULL, 65536, false},
	{"--max-queue", "SCHOLIA_MAX_QUEUE", OPT_INT,
	 "unsent bytes per connection before 1008", NULL, 1048576, false},
	{"--tls-cert", "SCHOLIA_TLS_CERT", OPT_STR,
	 "PEM certificate: serve HTTPS/WSS", NULL, 0, false},
	{"--tls-key", "SCHOLIA_TLS_KEY", OPT_STR, "PEM private key", NULL, 0,
	 false},
	{"--redirect-http", "SCHOLIA_REDIRECT_HTTP", OPT_FLAG,
	 "with TLS, redirect plain HTTP to HTTPS", NULL, 0, false},
	{"--workers", "SCHOLIA_WORKERS", OPT_INT,
	 "worker threads (bounds concurrent Argon2id)", NULL, 2, false},
	{"--pwhash-ops", "SCHOLIA_PWHASH_OPS", OPT_INT, "Argon2id opslimit",
	 NULL, 2, false},
	{"--pwhash-mem", "SCHOLIA_PWHASH_MEM", OPT_INT,
	 "Argon2id memlimit (bytes)", NULL, 67108864, false},
	{"--session-idle", "SCHOLIA_SESSION_IDLE", OPT_INT,
	 "session sliding expiry (s)", NULL, 30 * 86400, false},
	{"--session-max", "SCHOLIA_SESSION_MAX", OPT_INT,
	 "session absolute expiry (s)", NULL, 90 * 86400, false},
	{"--key-file", "SCHOLIA_KEY_FILE", OPT_STR,
	 "server key for token hashes (default <db>.key; in the database "
	 "for PostgreSQL)",
	 NULL, 0, false},
	{"--posts-per-minute", "SCHOLIA_POSTS_PER_MINUTE", OPT_INT,
	 "posts a minute per member per circle", NULL, 20, false},
	{"--search-per-minute", "SCHOLIA_SEARCH_PER_MINUTE", OPT_INT,
	 "searches a minute per member (0: no limit)", NULL, 30, false},
	{"--login-failures", "SCHOLIA_LOGIN_FAILURES", OPT_INT,
	 "login failures a minute before back-off", NULL, 5, false},
	{"--autohide-flags", "SCHOLIA_AUTOHIDE_FLAGS", OPT_INT,
	 "distinct flags that hide content", NULL, 3, false},
	{"--presence-idle", "SCHOLIA_PRESENCE_IDLE", OPT_INT,
	 "presence idle timeout (s)", NULL, 60, false},
	{"--idle-ping", "SCHOLIA_IDLE_PING", OPT_INT,
	 "ping an idle WebSocket after (s)", NULL, 30, false},
	{"--idle-hangup", "SCHOLIA_IDLE_HANGUP", OPT_INT,
	 "hang up an unresponsive WebSocket after (s)", NULL, 75, false},
	{"--http-timeout", "SCHOLIA_HTTP_TIMEOUT", OPT_INT,
	 "seconds for a request's headers and body", NULL, 10, false},
	{"--log-level", "SCHOLIA_LOG_LEVEL", OPT_STR, "debug|info|warn|error",
	 "info", 0, false},
	{"--smtp-url", "SCHOLIA_SMTP_URL", OPT_STR,
	 "smtp://HOST:PORT or smtps://USER:PASS@HOST:PORT (none: no mail)",
	 NULL, 0, false},
	{"--mail-from", "SCHOLIA_MAIL_FROM", OPT_STR,
	 "sender of mails, \"Name <address>\"", "Scholia <scholia@localhost>",
	 0, false},
	{"--reply-to-domain", "SCHOLIA_REPLY_TO_DOMAIN", OPT_STR,
	 "domain of reply-by-email addresses (none: off)", NULL, 0, false},
	{"--mail-batch-window", "SCHOLIA_MAIL_BATCH_WINDOW", OPT_INT,
	 "seconds an instant mail's thread is batched", NULL, 600, false},
	{"--digest-hour", "SCHOLIA_DIGEST_HOUR", OPT_INT,
	 "local hour serve sends daily digests (-1: never)", NULL, 7, false},
	{"--mail-give-up", "SCHOLIA_MAIL_GIVE_UP", OPT_INT,
	 "seconds before an undeliverable mail is given up", NULL, 3 * 86400,
	 false},
	{"--config", "SCHOLIA_CONFIG", OPT_STR,
	 "config file (default " SCHOLIA_CONFIG_DEFAULT " when it exists)",
	 NULL, 0, false},
	/* sub-command specific */
	{"--status", NULL, OPT_FLAG, "migrate: list applied and pending", NULL,
	 0, false},
	{"--book", NULL, OPT_STR, "import: the book's slug", NULL, 0, false},
	{"--dry-run", NULL, OPT_FLAG, "import: report only, write nothing",
	 NULL, 0, false},
	{"--title", NULL, OPT_STR,
	 "import: the book's title (else from the source)", NULL, 0, false},
	{"--author", NULL, OPT_STR,
	 "import: the book's author (else from the source)", NULL, 0, false},
	{"--handle", NULL, OPT_STR, "admin: the account's handle", NULL, 0,
	 false},
	{"--display-name", NULL, OPT_STR, "admin: display name", NULL, 0,
	 false},
	{"--admin", NULL, OPT_FLAG, "admin create-account: site admin", NULL, 0,
	 false},
	{"--max-uses", NULL, OPT_INT, "admin invite: uses (0 unlimited)", NULL,
	 0, false},
	{"--expires-in", NULL, OPT_INT, "admin invite: lifetime (s)", NULL,
	 7 * 86400, false},
	{"--circle", NULL, OPT_INT, "export: the circle id", NULL, 0, false},
	{"--format", NULL, OPT_STR, "export: w3c|markdown", "w3c", 0, false},
	{"--keep", NULL, OPT_INT, "backup into a folder: keep the newest N",
	 NULL, 14, false},
	{"--remove", NULL, OPT_FLAG, "admin set-admin: take the role away",
	 NULL, 0, false},
	{"--force", NULL, OPT_FLAG, "restore: replace an existing database",
	 NULL, 0, false},
	{"--help", NULL, OPT_FLAG, "this text", NULL, 0, false},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* Where each option's value came from (flag, environment, file), for
 * `scholia config show`; NULL is the default. Kept beside opts[] so that
 * the table's rows stay short. */
static const char *opt_from[NOPTS];
#define OPT_FROM(o) opt_from[(o)-opts]

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
		"  scholia serve [--host H] [--port P] [--web DIR] [--content "
		"DIR] [--public-url URL]\n"
		"  scholia migrate [--status]\n"
		"  scholia migrate-to postgresql://...  (--db's SQLite "
		"database into an empty one)\n"
		"  scholia import PATH [--book SLUG] [--title T] [--author A] "
		"[--dry-run]\n"
		"  scholia admin create-account --handle H [--display-name N] "
		"[--admin]\n"
		"  scholia admin reset-link --handle H\n"
		"  scholia admin invite [--max-uses N] [--expires-in SECONDS]\n"
		"  scholia admin list-accounts | log\n"
		"  scholia admin set-admin --handle H [--remove]\n"
		"  scholia backup OUT         (OUT a folder: a dated file, "
		"--keep N newest)\n"
		"  scholia restore IN         (into a stopped server's --db)\n"
		"  scholia config check | show\n"
		"  scholia export --circle ID --format w3c|markdown\n"
		"  scholia mail digests\n"
		"  scholia mail-in < message\n\n"
		"Settings come from the flags, then the environment, then the "
		"config\n"
		"file (--config PATH, default " SCHOLIA_CONFIG_DEFAULT
		" when it\n"
		"exists: `key = value` lines named like the long flags), then "
		"the\n"
		"defaults.\n\n"
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
			fprintf(stderr,
				"scholia: %s wants a number, got '%s'\n", from,
				v);
			return -1;
		}
	} else {
		o->num = strcmp(v, "0") && strcmp(v, "false") && strcmp(v, "");
	}
	o->set = true;
	return 0;
}

/* The setting a config-file key names: a long flag that has an
 * environment variable (sub-command options such as --dry-run are not
 * settings). NULL with msg filled when there is none. */
static struct opt *conf_opt(const char *key, char *msg, size_t msglen)
{
	char name[80];

	snprintf(name, sizeof(name), "--%s", key);
	for (size_t i = 0; i < NOPTS; i++) {
		if (strcmp(opts[i].name, name))
			continue;
		if (!opts[i].env || strcmp(name, "--config") == 0) {
			snprintf(msg, msglen,
				 "'%s' is a command-line option, not a "
				 "setting",
				 key);
			return NULL;
		}
		return &opts[i];
	}
	snprintf(msg, msglen, "unknown setting '%s' (see scholia --help)", key);
	return NULL;
}

/* Values that only a few words are good for. NULL: anything goes. */
static const char *const *conf_choices(const char *name)
{
	static const char *const reg[] = {"open", "invite", "closed", NULL};
	static const char *const dur[] = {"full", "normal", NULL};
	static const char *const lvl[] = {"debug", "info", "warn", "error",
					  NULL};

	if (strcmp(name, "--registration") == 0)
		return reg;
	if (strcmp(name, "--durability") == 0)
		return dur;
	if (strcmp(name, "--log-level") == 0)
		return lvl;
	return NULL;
}

/* Checks one value for its option; 0 or -1 with msg filled. */
static int check_value(const struct opt *o, const char *v, char *msg,
		       size_t msglen)
{
	const char *const *ch = conf_choices(o->name);
	char *end;

	if (o->type == OPT_INT) {
		errno = 0;
		(void)strtol(v, &end, 10);
		if (end == v || *end || errno) {
			snprintf(msg, msglen, "%s wants a number, got '%s'",
				 o->name + 2, v);
			return -1;
		}
	} else if (o->type == OPT_FLAG) {
		if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "true") &&
		    strcmp(v, "false") && strcmp(v, "yes") && strcmp(v, "no")) {
			snprintf(msg, msglen,
				 "%s wants true or false, got '%s'",
				 o->name + 2, v);
			return -1;
		}
	}
	for (; ch && *ch; ch++)
		if (strcmp(*ch, v) == 0)
			return 0;
	if (conf_choices(o->name)) {
		snprintf(msg, msglen, "%s: '%s' is not one of its values",
			 o->name + 2, v);
		return -1;
	}
	return 0;
}

/* A copy of a config-file value that lives as long as the process: opts[]
 * points into it, and a reload may stop pointing at it while another thread
 * still reads the old value, so copies are kept (listed, hence reachable),
 * never freed. A reload adds a few hundred bytes. */
static const char *keep_string(const char *v)
{
	static char **kept;
	static size_t n, cap;
	char *copy = strdup(v);

	if (!copy)
		die("main: out of memory");
	if (n == cap) {
		cap = cap ? cap * 2 : 32;
		kept = realloc(kept, cap * sizeof(*kept));
		if (!kept)
			die("main: out of memory");
	}
	kept[n++] = copy;
	return copy;
}

/* conf_read callback: check, and unless ctx is NULL (config check), set. */
static int conf_apply(const char *key, const char *value, int line, void *ctx,
		      char *msg, size_t msglen)
{
	struct opt *o = conf_opt(key, msg, msglen);
	const char *copy;

	(void)line;
	if (!o || check_value(o, value, msg, msglen))
		return -1;
	if (!ctx)
		return 0;
	copy = keep_string(value);
	if (o->type == OPT_FLAG)
		o->num = strcmp(copy, "1") == 0 || strcmp(copy, "true") == 0 ||
			 strcmp(copy, "yes") == 0;
	else if (set_value(o, copy, o->name))
		return -1;
	o->set = true;
	OPT_FROM(o) = "file";
	return 0;
}

/* The config file named by --config, else $SCHOLIA_CONFIG, else the
 * default when it exists; NULL for none. *explicit says it was asked for. */
static const char *config_path(int argc, char **argv, bool *explicit)
{
	const char *env = getenv("SCHOLIA_CONFIG");

	*explicit = true;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return argv[i + 1];
	}
	if (env && *env)
		return env;
	*explicit = false;
	return access(SCHOLIA_CONFIG_DEFAULT, F_OK) == 0
		       ? SCHOLIA_CONFIG_DEFAULT
		       : NULL;
}

/* Config file, then environment, then flags (each overriding the one
 * before); positional arguments go to args[]. */
static int parse(int argc, char **argv, const char **args, int *nargs)
{
	bool explicit;
	const char *conf = config_path(argc, argv, &explicit);

	*nargs = 0;
	/* `scholia config check` reads the file itself and reports every
	 * problem; everything else refuses to start on a bad file */
	if (conf && !(argc > 2 && strcmp(argv[1], "config") == 0 &&
		      strcmp(argv[2], "check") == 0)) {
		int bad = conf_read(conf, conf_apply, opts, stderr);

		if (bad < 0 && !explicit)
			bad = 0; /* the default file vanished: no file */
		if (bad) {
			fprintf(stderr,
				"scholia: fix %s (scholia config "
				"check lists its problems)\n",
				conf);
			return -1;
		}
	}
	for (size_t i = 0; i < NOPTS; i++) {
		const char *v = opts[i].env ? getenv(opts[i].env) : NULL;

		if (v && set_value(&opts[i], v, opts[i].env))
			return -1;
		if (v)
			opt_from[i] = "environment";
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
		OPT_FROM(o) = "flag";
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
	if (is_dir(p))
		return p;
	/* an installed binary: cmake --install puts them here */
	snprintf(p, sizeof(paths[0]), "%s/%s", SCHOLIA_DATA_DIR, name);
	return p;
}

/* The folder of sample books imported on first start (--content). */
static const char *content_dir;

/* The mail module's settings; links need an absolute base. */
static void configure_mail(void)
{
	static char base[300];
	const char *url = ostr("--smtp-url");

	mail_config.smtp_url = url && *url ? url : NULL;
	mail_config.from = ostr("--mail-from");
	mail_config.reply_domain = ostr("--reply-to-domain");
	mail_config.batch_window_s = (int)onum("--mail-batch-window");
	mail_config.digest_hour = (int)onum("--digest-hour");
	mail_config.give_up_s = (int)onum("--mail-give-up");
	if (*ostr("--public-url"))
		snprintf(base, sizeof(base), "%s", ostr("--public-url"));
	else
		snprintf(base, sizeof(base), "http://%s:%ld", ostr("--host"),
			 onum("--port"));
	mail_config.base_url = base;
	rpc_config.mail = mail_config.smtp_url != NULL;
}

static void set_log_level(void)
{
	const char *lvl = ostr("--log-level");

	if (strcmp(lvl, "debug") == 0)
		log_set_level(LOG_DEBUG);
	else if (strcmp(lvl, "warn") == 0)
		log_set_level(LOG_WARN);
	else if (strcmp(lvl, "error") == 0)
		log_set_level(LOG_ERROR);
	else
		log_set_level(LOG_INFO);
}

static void configure(void)
{
	const char *reg = ostr("--registration");
	static char keyfile[1100];

	set_log_level();
	rpc_config.max_message = (size_t)onum("--max-message");
	rpc_config.posts_per_minute = (int)onum("--posts-per-minute");
	rpc_config.login_failures = (int)onum("--login-failures");
	search_config.per_minute = (int)onum("--search-per-minute");
	moderation_config.autohide_flags = (int)onum("--autohide-flags");
	auth_config.registration = strcmp(reg, "invite") == 0	? 1
				   : strcmp(reg, "closed") == 0 ? 2
								: 0;
	auth_config.pwhash_ops = (unsigned long long)onum("--pwhash-ops");
	auth_config.pwhash_mem = (size_t)onum("--pwhash-mem");
	auth_config.session_idle_s = (int)onum("--session-idle");
	auth_config.session_max_s = (int)onum("--session-max");
	circles_config.public_url = ostr("--public-url");
	content_dir = find_dir("--content", "content");
	circles_config.presence_idle_s = (int)onum("--presence-idle");
	configure_mail();
	if (ostr("--key-file")) {
		auth_config.server_key_path = ostr("--key-file");
	} else if (!store_is_file(ostr("--db"))) {
		/* nodes sharing a PostgreSQL database share its key too */
		auth_config.server_key_path = NULL;
	} else {
		snprintf(keyfile, sizeof(keyfile), "%s.key", ostr("--db"));
		auth_config.server_key_path = keyfile;
	}
}

/* Files made by an older scholia (0644) become 0600 too (R2-F9). */
static void tighten_modes(const char *db)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char path[4200];
	struct stat st;

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", db, suffix[i]);
		if (!stat(path, &st) && S_ISREG(st.st_mode) &&
		    (st.st_mode & 077) && chmod(path, st.st_mode & 0700))
			log_warn("main", "cannot make %s private", path);
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
	if (store_is_file(so.path))
		tighten_modes(so.path);
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

static int db_lock(void);

/* What reload needs to read the settings again as start-up did. */
static int saved_argc;
static char **saved_argv;
static struct opt opts_default[NOPTS];

/*
 * SIGHUP (systemctl reload): the config file, environment and flags are
 * read again from the defaults, and what can change without a restart is
 * applied: the log level, the connection limit, the post, login and
 * auto-hide limits (the TLS certificate is re-read by net). A file with
 * problems changes nothing.
 */
static void reload(struct net_reload *r)
{
	static struct opt before[NOPTS];
	const char *args[8];
	int nargs;

	memcpy(before, opts, sizeof(opts));
	memcpy(opts, opts_default, sizeof(opts));
	memset(opt_from, 0, sizeof(opt_from));
	if (parse(saved_argc, saved_argv, args, &nargs)) {
		memcpy(opts, before, sizeof(opts));
		log_warn("main", "reload: the settings have problems (see "
				 "above); nothing changed");
		return;
	}
	set_log_level();
	rpc_config.posts_per_minute = (int)onum("--posts-per-minute");
	rpc_config.login_failures = (int)onum("--login-failures");
	moderation_config.autohide_flags = (int)onum("--autohide-flags");
	r->max_connections = (int)onum("--max-connections");
	log_info("main", "reloaded: log level %s, %d connections at most",
		 ostr("--log-level"), r->max_connections);
}

static int cmd_serve(void)
{
	struct net_opts no = NET_OPTS_INIT;
	struct store *db = NULL, *exec_db = NULL;
	struct pool *pool;
	int rc, lock;

	char why[200];

	if (mail_check_config(why, sizeof(why))) {
		fprintf(stderr, "scholia: %s\n", why);
		return EXIT_USAGE;
	}
	lock = db_lock();
	if (lock == -1) {
		fprintf(stderr,
			"scholia: another scholia serve is running on "
			"%s\n",
			ostr("--db"));
		return EXIT_DB;
	}
	rc = open_db(&db, true);
	if (rc)
		return exit_for(rc);
	rc = books_ensure_content(db, content_dir);
	if (rc)
		log_warn("main", "importing %s failed (%d)", content_dir, rc);
	circles_presence_reset(db); /* a shared database: rows left over */
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
	no.max_per_address = (int)onum("--max-connections-per-address");
	no.auth_timeout_s = (int)onum("--auth-timeout");
	no.trusted_proxies = ostr("--trusted-proxy");
	no.max_queue = (size_t)onum("--max-queue");
	no.idle_ping_s = (int)onum("--idle-ping");
	no.idle_hangup_s = (int)onum("--idle-hangup");
	no.http_timeout_s = (int)onum("--http-timeout");
	no.exec_db = exec_db;
	no.pool = pool;
	net_on_reload(reload);
	if (!store_is_file(ostr("--db"))) {
		struct store *ldb = NULL;

		/* other nodes' events reach this node's subscribers */
		if (open_db(&ldb, false) ||
		    bus_listen_start(ldb, &rpc_bus_remote))
			log_warn("main",
				 "cannot listen for other nodes' events: "
				 "live delivery stays on this node");
	}
	log_info("main", "scholia %s serving %s (db %s, web %s)",
		 SCHOLIA_VERSION, no.host, ostr("--db"), no.web_dir);
	rc = net_serve(&no);
	bus_listen_stop();
	if (!store_is_file(ostr("--db")) && open_db(&db, false) == 0) {
		circles_presence_reset(db); /* this node's presence rows */
		store_close(db);
	}
	pool_stop(pool);
	if (lock >= 0)
		close(lock);
	return rc ? 1 : 0;
}

/* scholia mail digests | scholia mail-in */
static int cmd_mail(const char *what)
{
	struct store *db;
	int rc;

	if (!mail_enabled()) {
		fprintf(stderr, "scholia: mail needs --smtp-url\n");
		return what ? 75 : EXIT_USAGE;
	}
	rc = open_db(&db, true);
	if (rc)
		return what ? 75 : exit_for(rc);
	if (what) {
		rc = mail_cli_in(db, stdin);
	} else {
		rc = mail_cli_digests(db, stdout);
		rc = exit_for(rc);
	}
	store_close(db);
	return rc;
}

static int cmd_migrate(void)
{
	struct store *db;
	int rc = open_db(&db, !onum("--status"));

	if (rc)
		return exit_for(rc);
	if (onum("--status"))
		rc = store_migration_print(
			db, find_dir("--migrations", "migrations"), stdout);
	else
		printf("database %s is up to date\n", ostr("--db"));
	store_close(db);
	return exit_for(rc);
}

/* scholia migrate-to URL: --db (SQLite, its server stopped) into an empty
 * PostgreSQL database (migrate_to.c). */
static int cmd_migrate_to(const char *url)
{
	struct migrate_to_opts mo = {
		.source = ostr("--db"),
		.target = url,
		.migrations_dir = find_dir("--migrations", "migrations"),
		.key_file = ostr("--key-file"),
		.out = stdout,
	};
	int lock = -2, rc;

	if (store_is_file(mo.source) && access(mo.source, F_OK) == 0)
		lock = db_lock();
	if (lock == -1) {
		fprintf(stderr,
			"scholia migrate-to: a server is running on "
			"%s; stop it first\n",
			mo.source);
		return EXIT_DB;
	}
	rc = migrate_to(&mo);
	if (lock >= 0)
		close(lock);
	return rc == SCH_ECONFLICT ? 1 : exit_for(rc);
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
		fprintf(stderr, "scholia import: %s\n",
			err[0] ? err : "failed");
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
	if (what &&
	    (strcmp(what, "list-accounts") == 0 ||
	     strcmp(what, "set-admin") == 0 || strcmp(what, "log") == 0)) {
		rc = open_db(&db, true);
		if (rc)
			return exit_for(rc);
		rc = moderation_cli_admin(db, what, ostr("--handle"),
					  onum("--remove") != 0, stdout, err,
					  sizeof(err));
		if (rc)
			fprintf(stderr, "scholia admin: %s\n",
				err[0] ? err : "failed");
		store_close(db);
		return exit_for(rc);
	}
	if (!what || !ostr("--handle")) {
		fprintf(stderr, "scholia admin: create-account|reset-link|"
				"set-admin --handle H, or invite, "
				"list-accounts, log\n");
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

		rc = auth_cli_create_account(
			db, ostr("--handle"), ostr("--display-name"),
			onum("--admin"), pw, ostr("--public-url"), stdout, err,
			sizeof(err));
		if (pw) {
			memset(pw, 0, strlen(pw));
			free(pw);
		}
	} else {
		/* without --public-url, the server's own address as
		 * configured (flags, environment), not a fixed :8080 */
		char base[300];
		const char *host = ostr("--host");

		if (*ostr("--public-url"))
			snprintf(base, sizeof(base), "%s",
				 ostr("--public-url"));
		else
			snprintf(base, sizeof(base), "%s://%s:%ld",
				 ostr("--tls-cert") ? "https" : "http",
				 !strcmp(host, "0.0.0.0") || !strcmp(host, "::")
					 ? "127.0.0.1"
					 : host,
				 onum("--port"));
		rc = auth_cli_reset_link(db, ostr("--handle"), base, stdout,
					 err, sizeof(err));
	}
	if (rc)
		fprintf(stderr, "scholia admin: %s\n", err[0] ? err : "failed");
	store_close(db);
	return exit_for(rc);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Removes all but the newest keep files named scholia-*.db in dir (their
 * names sort by date). */
static void prune_backups(const char *dir, long keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (strncmp(e->d_name, "scholia-", 8) || len < 12 ||
		    strcmp(e->d_name + len - 3, ".db"))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				die("main: out of memory");
		}
		names[n] = strdup(e->d_name);
		if (!names[n])
			die("main: out of memory");
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if ((long)(n - i) > keep) {
			char path[2048];

			snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
			if (unlink(path) == 0)
				printf("removed old backup %s\n", path);
		}
		free(names[i]);
	}
	free(names);
}

static int cmd_backup(const char *out)
{
	struct store *db;
	char err[512] = "", dated[2048];
	const char *dir = out;
	bool folder = is_dir(out);
	int rc;

	if (folder) {
		time_t now = time(NULL);
		struct tm tm;
		char stamp[32];

		if (onum("--keep") < 1) {
			fprintf(stderr, "scholia backup: --keep wants 1 or "
					"more\n");
			return EXIT_USAGE;
		}
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(dated, sizeof(dated), "%s/scholia-%s.db", out, stamp);
		out = dated;
	}
	rc = open_db(&db, true);
	if (rc)
		return exit_for(rc);
	rc = store_backup(db, out, err, sizeof(err));
	if (rc)
		fprintf(stderr, "scholia backup: %s\n", err);
	else
		printf("backed up %s to %s\n", ostr("--db"), out);
	store_close(db);
	if (rc == 0 && folder)
		prune_backups(dir, onum("--keep"));
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
			ostr("--public-url"), stdout, err, sizeof(err));
	if (rc)
		fprintf(stderr, "scholia export: %s\n",
			err[0] ? err : "failed");
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

/*
 * One serve per SQLite database: serve holds an exclusive flock on
 * <db>.lock for its life (released by the kernel however it ends), so that
 * restore can tell a running server from a stopped one. flock, not fcntl:
 * POSIX locks on the database file itself would interfere with SQLite's.
 * Returns the lock's descriptor, -1 when it is held by another process, or
 * -2 when it cannot be made at all (read-only folder: no lock, go on).
 */
static int db_lock(void)
{
	char path[1100];
	int fd;

	if (!store_is_file(ostr("--db")))
		return -2; /* nodes share a PostgreSQL database */
	snprintf(path, sizeof(path), "%s.lock", ostr("--db"));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -2;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Moves path (and its -wal and -shm) aside to path.replaced-STAMP. */
static int move_aside(const char *path, const char *stamp)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};

	for (int i = 0; i < 3; i++) {
		char from[1100], to[1200];

		snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		snprintf(to, sizeof(to), "%s.replaced-%s%s", path, stamp,
			 sfx[i]);
		if (access(from, F_OK) != 0)
			continue;
		if (rename(from, to) != 0) {
			fprintf(stderr,
				"scholia restore: cannot move %s: "
				"%s\n",
				from, strerror(errno));
			return -1;
		}
		if (i == 0)
			printf("the database it replaces is kept as %s\n", to);
	}
	return 0;
}

/* scholia restore IN: a backup into a stopped server's database. */
static int cmd_restore(const char *in)
{
	const char *db = ostr("--db");
	char tmp[1100], err[512] = "", stamp[32];
	struct store_opts so = STORE_OPTS_INIT;
	struct store *s;
	time_t now = time(NULL);
	struct tm tm;
	int lock, rc;

	if (!store_is_file(db)) {
		fprintf(stderr, "scholia restore: a PostgreSQL database is "
				"restored with pg_restore (docs/scaling.md)\n");
		return EXIT_USAGE;
	}
	lock = db_lock();
	if (lock == -1) {
		fprintf(stderr,
			"scholia restore: a server is running on %s; "
			"stop it first (systemctl stop scholia)\n",
			db);
		return EXIT_DB;
	}
	snprintf(tmp, sizeof(tmp), "%s.restoring", db);
	unlink(tmp);
	rc = store_restore(in, tmp, err, sizeof(err));
	if (rc == 0) {
		/* refuse a backup made by a newer scholia before replacing */
		so.path = tmp;
		so.migrations_dir = find_dir("--migrations", "migrations");
		so.migrate = false;
		rc = store_open(&so, &s, err, sizeof(err));
		if (rc == 0)
			store_close(s);
	}
	if (rc) {
		fprintf(stderr, "scholia restore: %s\n", err);
		unlink(tmp);
		if (lock >= 0)
			close(lock);
		return exit_for(rc);
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (move_aside(db, stamp) || rename(tmp, db) != 0) {
		unlink(tmp);
		if (lock >= 0)
			close(lock);
		return 1;
	}
	chmod(db, 0600);
	/* migrate now, so that the restored database is ready to serve */
	rc = open_db(&s, true);
	if (rc == 0)
		store_close(s);
	if (lock >= 0)
		close(lock);
	if (rc == 0)
		printf("restored %s into %s\n", in, db);
	return exit_for(rc);
}

/* Hides a password in a URL's user-info for `config show`. */
static void mask_secret(const char *v, char *out, size_t len)
{
	const char *at = strchr(v, '@'), *sch = strstr(v, "://");
	const char *colon = sch ? strchr(sch + 3, ':') : NULL;

	if (sch && at && colon && colon < at)
		snprintf(out, len, "%.*s:****%s", (int)(colon - v), v, at);
	else
		snprintf(out, len, "%s", v);
}

/* scholia config check | show. */
static int cmd_config(const char *what, int argc, char **argv)
{
	bool explicit;
	const char *path = config_path(argc, argv, &explicit);

	if (what && strcmp(what, "show") == 0) {
		printf("# config file: %s\n", path ? path : "(none)");
		for (size_t i = 0; i < NOPTS; i++) {
			char val[512];

			if (!opts[i].env ||
			    strcmp(opts[i].name, "--config") == 0)
				continue;
			if (opts[i].type == OPT_STR)
				mask_secret(opts[i].str ? opts[i].str : "", val,
					    sizeof(val));
			else
				snprintf(val, sizeof(val), "%ld", opts[i].num);
			printf("%s = %s  # %s\n", opts[i].name + 2, val,
			       opt_from[i] ? opt_from[i] : "default");
		}
		return 0;
	}
	if (!what || strcmp(what, "check") != 0) {
		fprintf(stderr, "scholia config: check or show\n");
		return EXIT_USAGE;
	}
	if (!path) {
		printf("no config file (%s does not exist): defaults, "
		       "environment and flags apply\n",
		       SCHOLIA_CONFIG_DEFAULT);
		return 0;
	}
	int bad = conf_read(path, conf_apply, NULL, stderr);

	if (bad < 0)
		return EXIT_USAGE;
	if (bad) {
		fprintf(stderr, "%s: %d problem%s\n", path, bad,
			bad == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	printf("%s: OK\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	const char *args[8];
	int nargs;
	const char *cmd;

	/* a write past RLIMIT_FSIZE must fail with EFBIG (SQLite reports the
	 * disk as full), not kill the process without a word */
	signal(SIGXFSZ, SIG_IGN);
	/* the database, its WAL and SHM, the key file and backups are
	 * private to the server's user (SPEC §1, issue 14 R2-F9) */
	umask(077);
	memcpy(opts_default, opts, sizeof(opts));
	saved_argc = argc;
	saved_argv = argv;
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
	if (strcmp(cmd, "migrate-to") == 0 && nargs >= 2)
		return cmd_migrate_to(args[1]);
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
	if (strcmp(cmd, "mail") == 0 && nargs >= 2 &&
	    strcmp(args[1], "digests") == 0)
		return cmd_mail(NULL);
	if (strcmp(cmd, "mail-in") == 0)
		return cmd_mail("in");
	if (strcmp(cmd, "restore") == 0 && nargs >= 2)
		return cmd_restore(args[1]);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(nargs >= 2 ? args[1] : NULL, argc, argv);
	usage(stderr);
	return EXIT_USAGE;
}
