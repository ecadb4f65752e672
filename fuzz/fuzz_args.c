/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: vmp_parse_args() on arbitrary bytes.
 *
 * The input is NUL-terminated (an embedded NUL ends the string early, as
 * it would for any C caller) and parsed by the library and by an
 * independent reference of spec R-14 written the way the kernel does it
 * (kstrndup of 19 bytes, then strsep at ','). Any disagreement aborts.
 * Also checked: the result is 0 or -EINVAL, the out-parameters are written
 * only on success and hold in-range values, and a success round-trips
 * through vmp_level_name()/vmp_mode_name().
 */
#include "vmpressure.h"
#include "ref_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *s, int rc, int ref_rc)
{
	fprintf(stderr, "fuzz_args: %s: args \"", what);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		fprintf(stderr, *p >= 0x20 && *p < 0x7f && *p != '"' ? "%c" : "\\x%02x", *p);
	fprintf(stderr, "\" library rc %d, reference rc %d\n", rc, ref_rc);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly sized, so ASan sees any read past the terminator. */
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;

	vmp_level level = (vmp_level)77;
	vmp_mode mode = (vmp_mode)77;
	int rc = vmp_parse_args(s, &level, &mode);
	int ref_level = -1, ref_mode = -1;
	int ref_rc = ref_parse_args(s, &ref_level, &ref_mode);

	if (rc != 0 && rc != -EINVAL)
		fail("unexpected return value", s, rc, ref_rc);
	if (rc != ref_rc)
		fail("library and reference disagree", s, rc, ref_rc);
	if (rc == 0) {
		if ((int)level != ref_level || (int)mode != ref_mode)
			fail("level/mode differ from the reference", s, rc, ref_rc);
		const char *ln = vmp_level_name(level), *mn = vmp_mode_name(mode);
		if (!ln || !mn)
			fail("level/mode out of range", s, rc, ref_rc);
		/* The canonical spelling parses to the same thing. */
		char canon[32];
		snprintf(canon, sizeof(canon), "%s,%s", ln, mn);
		vmp_level l2;
		vmp_mode m2;
		if (strlen(canon) <= REF_MAX_ARGS &&
		    (vmp_parse_args(canon, &l2, &m2) != 0 || l2 != level || m2 != mode))
			fail("canonical form does not round-trip", s, rc, ref_rc);
	} else if ((int)level != 77 || (int)mode != 77) {
		fail("out-parameters written on failure", s, rc, ref_rc);
	}

	/* A NULL string is an error, not a crash. */
	if (size == 0 && vmp_parse_args(NULL, &level, &mode) != -EINVAL)
		fail("NULL args accepted", "", rc, ref_rc);

	free(s);
	return 0;
}
