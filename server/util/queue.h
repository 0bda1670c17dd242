/*
 * queue.h - appending to a singly linked queue kept as head and tail.
 */
#ifndef SCH_UTIL_QUEUE_H
#define SCH_UTIL_QUEUE_H

/* Appends the chain first..last (linked through link; last's link as the
 * caller left it) to the queue head..tail. Arguments are evaluated more than
 * once: pass plain lvalues. */
#define QUEUE_APPEND(head, tail, first, last, link)                            \
	do {                                                                   \
		if (tail)                                                      \
			(tail)->link = (first);                                \
		else                                                           \
			(head) = (first);                                      \
		(tail) = (last);                                               \
	} while (0)

#endif
