/*
 * rfc3339.h - the one place that writes and reads times as RFC 3339 UTC
 * ("2026-03-01T18:30:00Z"), the form every time in the API takes (SPEC §3).
 */
#ifndef SCH_RFC3339_H
#define SCH_RFC3339_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Room for one formatted time, NUL included. */
#define RFC3339_LEN 32

/* Writes t (seconds since the epoch) as "YYYY-MM-DDTHH:MM:SSZ" into buf;
 * "1970-01-01T00:00:00Z" for a time that cannot be represented. */
void rfc3339_format(int64_t t, char *buf, size_t len);
/* Room for one date, NUL included. */
#define RFC3339_DATE_LEN 11

/* Writes the UTC day of t as "YYYY-MM-DD" (RFC 3339's full-date) into buf
 * (RFC3339_DATE_LEN bytes or more); "1970-01-01" when t cannot be
 * represented. */
void rfc3339_date(int64_t t, char *buf, size_t len);
/* The same as a JSON string (new reference). */
json_t *rfc3339_json(int64_t t);
/*
 * Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" ('t', 'z' and a space
 * for 'T' accepted; year 1970 or later) into seconds since the epoch.
 * 0, or SCH_EINVAL when s is not such a time.
 */
int rfc3339_parse(const char *s, int64_t *out);

#endif
