/* SPDX-License-Identifier: MIT */
/* What every command's output shares: times, JSON strings, a growing
 * buffer for output held back until the input proved well formed, and
 * the count lines replay and estimate print alike. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

void cli_print_count(unsigned id, uint64_t count)
{
	printf("%u %" PRIu64 "\n", id, count);
}

void cli_print_mismatch(unsigned id, uint64_t got, uint64_t expected)
{
	printf("mismatch %u got %" PRIu64 " expected %" PRIu64 "\n", id, got, expected);
}
