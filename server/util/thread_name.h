/*
 * thread_name.h - names a thread for ps, top and perf ("sch-exec", ...), so
 * that a profile can be split by thread: which of the executor, the front
 * threads, the pool, the checkpointer and the listener spends the time.
 */
#ifndef SCH_UTIL_THREAD_NAME_H
#define SCH_UTIL_THREAD_NAME_H

#include <sys/prctl.h>

/* name: at most 15 bytes; longer names are cut by the kernel. */
static inline void thread_name(const char *name)
{
	(void)prctl(PR_SET_NAME, name, 0, 0, 0);
}

#endif
