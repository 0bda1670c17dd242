/*
 * modules.c - every domain module registers here, in one place, so that a
 * reader sees the whole server's surface at a glance.
 */
#include "modules.h"

#include "auth/auth.h"
#include "books/books.h"
#include "circles/circles.h"
#include "export/export.h"
#include "meetings/meetings.h"
#include "moderation/moderation.h"
#include "mail/mail.h"
#include "notify/notify.h"
#include "rpc/core.h"
#include "search/search.h"
#include "threads/threads.h"

void modules_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	rpc_core_init();
	auth_init();
	books_init();
	circles_init();
	threads_init();
	moderation_init();
	notify_init();
	search_init();
	export_init();
	mail_init(); /* after circles_init: chains its tick */
	meetings_init();
}
