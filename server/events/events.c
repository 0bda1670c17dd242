/*
 * events.c - the subscriber table of the domain events (see events.h).
 *
 * A fixed table filled at start-up by the modules' init functions (one
 * thread, before the server runs) and only read afterwards, so it needs no
 * lock.
 */
#include "events/events.h"

#include <assert.h>
#include <stddef.h>

#include "util/log.h"

#define EVENTS_MAX_SUBS 16 /* per type (account.export has 4 today) */

struct sub {
	events_fn fn;
	void *arg;
};

static struct sub subs[EVENTS_NTYPES][EVENTS_MAX_SUBS];
static int nsubs[EVENTS_NTYPES];

void events_on(enum events_type type, events_fn fn, void *arg)
{
	assert(type >= 0 && type < EVENTS_NTYPES);
	assert(fn != NULL);
	if (nsubs[type] >= EVENTS_MAX_SUBS)
		die("too many subscribers of domain event %d", (int)type);
	subs[type][nsubs[type]].fn = fn;
	subs[type][nsubs[type]].arg = arg;
	nsubs[type]++;
}

int events_emit(const struct events_event *ev)
{
	assert(ev->type >= 0 && ev->type < EVENTS_NTYPES);
	for (int i = 0; i < nsubs[ev->type]; i++) {
		int rc = subs[ev->type][i].fn(ev, subs[ev->type][i].arg);

		if (rc)
			return rc;
	}
	return 0;
}
