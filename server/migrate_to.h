/*
 * migrate_to.h - `scholia migrate-to URL`: a SQLite database into an empty
 * PostgreSQL database (SPEC §1, docs/scaling.md).
 */
#ifndef SCH_MIGRATE_TO_H
#define SCH_MIGRATE_TO_H

#include <stdio.h>

struct migrate_to_opts {
	const char *source;	    /* --db: the SQLite file */
	const char *target;	    /* postgresql://... */
	const char *migrations_dir; /* folder of migrations/ */
	const char *key_file;	    /* --key-file, or NULL for <source>.key */
	FILE *out;		    /* the report */
};

/*
 * Opens the source (it must exist and be migrated to the newest version
 * this scholia knows), migrates the target to that version, refuses a
 * target whose tables hold any row, copies every table in one transaction
 * on the target (store_copy), moves the token key from the source's key
 * file into the target's auth_key table (nodes on PostgreSQL read it
 * there), commits and prints each table's row count to o->out. Returns 0,
 * or a negative SCH_E* code after printing the reason on stderr, with
 * nothing written to the target (beyond its migrations).
 */
int migrate_to(const struct migrate_to_opts *o);

#endif
