/* SPDX-License-Identifier: MIT */
/* What every command's output shares: times and JSON strings. */
#include "cli.h"

#include <stdio.h>
#include <time.h>

/* JSON: UTC, ISO 8601 with a Z, as the daemon's events; a person: the
 * local time of day. */
void cli_fmt_time(uint64_t ns, char *buf, size_t cap, bool iso)
{
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	if (iso)
		gmtime_r(&s, &tm);
	else
		localtime_r(&s, &tm);
	size_t n = strftime(buf, cap, iso ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
	snprintf(buf + n, cap - n, iso ? ".%03uZ" : ".%03u", (unsigned)(ns / 1000000u % 1000u));
}

void cli_json_str(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}
