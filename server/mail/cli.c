/*
 * cli.c - `scholia mail digests` and `scholia mail-in`.
 */
#include "mail/internal.h"
#include "store/store.h"

int mail_cli_digests(struct store *db, FILE *out)
{
	(void)db;
	(void)out;
	return 0;
}

int mail_cli_in(struct store *db, FILE *in)
{
	(void)db;
	(void)in;
	return 75;
}
