/*
 * conf.c - the config file reader (see conf.h).
 *
 * Deliberately small: one setting a line, no sections, no includes, no
 * continuation lines. Lines longer than 4 KiB are refused rather than
 * split, so that a stray binary file is reported instead of half-read.
 */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#define CONF_LINE_MAX 4096

static char *trim(char *s)
{
	char *e;

	while (*s && isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int key_ok(const char *k)
{
	if (!*k)
		return 0;
	for (; *k; k++)
		if (!islower((unsigned char)*k) &&
		    !isdigit((unsigned char)*k) && *k != '-')
			return 0;
	return 1;
}

static void report(FILE *errs, const char *path, int line, const char *msg)
{
	if (errs)
		fprintf(errs, "%s:%d: %s\n", path, line, msg);
}

int conf_read(const char *path, conf_fn fn, void *ctx, FILE *errs)
{
	char line[CONF_LINE_MAX + 2];
	char msg[512];
	int lineno = 0, problems = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		if (errs)
			fprintf(errs, "%s: cannot read: %s\n", path,
				strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		char *k, *v, *eq;

		lineno++;
		if (n > CONF_LINE_MAX && line[n - 1] != '\n') {
			int c;

			report(errs, path, lineno, "line too long");
			problems++;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		k = trim(line);
		if (!*k || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (!eq) {
			report(errs, path, lineno,
			       "expected `key = value` (no '=' found)");
			problems++;
			continue;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		if (!key_ok(k)) {
			report(errs, path, lineno,
			       "a key is a long flag's name without its "
			       "dashes: lower-case letters, digits and '-'");
			problems++;
			continue;
		}
		n = strlen(v);
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
			v[n - 1] = '\0';
			v++;
		}
		msg[0] = '\0';
		if (fn(k, v, lineno, ctx, msg, sizeof(msg))) {
			report(errs, path, lineno, msg[0] ? msg : "refused");
			problems++;
		}
	}
	fclose(f);
	return problems;
}
