/*
 * intern.h - one shared copy of strings that many holders repeat: the
 * User-Agent and address of every connection (all tabs of one browser, all
 * clients behind one proxy), kept for each open connection by the
 * executor. A browser's User-Agent is over 100 bytes; a copy per idle
 * connection was memory the issue-15 goal (2.5 kB per connection) could not
 * spare. Reference counted, thread-safe.
 */
#ifndef SCH_UTIL_INTERN_H
#define SCH_UTIL_INTERN_H

/* A shared copy of s (NULL: ""), to give back with intern_put. */
const char *intern_get(const char *s);
/* Releases one reference of a string from intern_get (NULL: nothing). */
void intern_put(const char *s);

#endif
