/*
 * admin.c - the site admin's view of accounts: list them, give or take the
 * site admin role. Used by moderation's admin.accounts / admin.set_admin
 * methods and by `scholia admin list-accounts|set-admin`; the audit entry is
 * the caller's (moderation owns the audit log).
 */
#include "auth/auth.h"

#include "store/store.h"
#include "util/err.h"

#include <stdbool.h>

static const char SQL_PAGE[] =
	"SELECT id, handle, display_name, is_admin, banned, created_at"
	" FROM accounts WHERE deleted = 0 AND id > ? ORDER BY id LIMIT ?";
static const char SQL_ADMINS[] =
	"SELECT count(*) FROM accounts WHERE is_admin = 1 AND deleted = 0"
	" AND id <> ?";
static const char SQL_SET[] =
	"UPDATE accounts SET is_admin = ? WHERE id = ? AND deleted = 0";

int auth_accounts_page(struct store *db, int64_t after, int limit,
		       auth_account_fn fn, void *arg)
{
	struct store_stmt *st =
		store_query(db, SQL_PAGE, "ii", after, (int64_t)limit);
	int rc, n = 0;

	if (!st)
		return SCH_EDB;
	while ((rc = store_row(st)) > 0) {
		struct auth_account_row r = {
			.id = store_int(st, 0),
			.handle = store_text(st, 1),
			.display_name = store_text(st, 2),
			.is_admin = store_int(st, 3) != 0,
			.banned = store_int(st, 4) != 0,
			.created_at = store_int(st, 5),
		};

		fn(&r, arg);
		n++;
	}
	return rc < 0 ? rc : n;
}

int auth_set_admin(struct store *db, int64_t account, bool on)
{
	int64_t others = 0;
	int rc;

	if (!on) {
		rc = store_int_query(db, &others, SQL_ADMINS, "i", account);
		if (rc < 0)
			return rc;
		if (others == 0)
			return SCH_ECONFLICT; /* the last site admin stays */
	}
	rc = store_run(db, SQL_SET, "bi", on ? 1 : 0, account);
	if (rc)
		return rc;
	return store_changes(db) == 1 ? 0 : SCH_ENOTFOUND;
}
