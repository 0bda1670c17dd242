/*
 * rfc3339.c - RFC 3339 UTC times (see rfc3339.h).
 */
#include "util/rfc3339.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/err.h"

void rfc3339_format(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

void rfc3339_date(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "1970-01-01");
}

json_t *rfc3339_json(int64_t t)
{
	char buf[RFC3339_LEN];

	rfc3339_format(t, buf, sizeof(buf));
	return json_string(buf);
}

/* Reads exactly n digits at *p into *out; advances *p. 0 or SCH_EINVAL. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return SCH_EINVAL;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int rfc3339_parse(const char *s, int64_t *out)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	struct tm tm;
	time_t t;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d))
		return SCH_EINVAL;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return SCH_EINVAL;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return SCH_EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return SCH_EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
			return SCH_EINVAL;
	} else {
		return SCH_EINVAL;
	}
	if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return SCH_EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return SCH_EINVAL;
	*out = (int64_t)t - (int64_t)sign * (oh * 3600 + om * 60);
	return 0;
}
