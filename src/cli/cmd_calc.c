/* SPDX-License-Identifier: MIT */
/* vmpressure calc: the level formula on the command line. */
#include "cli.h"
#include "vmpressure.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vmpressure calc [--32] [--no-guard] SCANNED RECLAIMED\n"
		"\n"
		"Print '<pressure> <level>' for one window, with the kernel's exact integer\n"
		"arithmetic (truncating divisions, wrapping unsigned long products).\n"
		"\n"
		"  --32        emulate a 32-bit kernel (unsigned long is 32 bits)\n"
		"  --no-guard  kernels before v4.11: no 'reclaimed >= scanned gives 0' guard\n"
		"\n"
		"example: vmpressure calc 2 1   prints   66 medium\n");
}

static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d = (unsigned char)*s - '0';
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int cmd_calc(int argc, char **argv)
{
	unsigned flags = 0;
	const char *num[2];
	int nn = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--32") == 0)
			flags |= VMP_CALC_UL32;
		else if (strcmp(argv[i], "--no-guard") == 0)
			flags |= VMP_CALC_NO_GUARD;
		else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_opt_status(cli_usage_error("calc", "unknown option '%s'", argv[i]));
		} else if (nn < 2)
			num[nn++] = argv[i];
		else {
			return cli_opt_status(cli_usage_error("calc", "too many arguments ('%s')", argv[i]));
		}
	}
	if (nn != 2)
		return cli_opt_status(cli_usage_error("calc", nn ? "RECLAIMED is missing: calc SCANNED RECLAIMED"
							     : "SCANNED and RECLAIMED are missing: calc SCANNED RECLAIMED"));
	uint64_t v[2];
	static const char *const what[] = {"SCANNED", "RECLAIMED"};
	for (int i = 0; i < 2; i++)
		if (!parse_u64(num[i], &v[i])) {
			fprintf(stderr, "%s calc: %s '%s' is not an unsigned 64-bit decimal\n", prog,
				what[i], num[i]);
			return EXIT_BADINPUT;
		}
	if ((flags & VMP_CALC_UL32) && (v[0] > UINT32_MAX || v[1] > UINT32_MAX))
		fprintf(stderr, "%s calc: note: --32 keeps the low 32 bits of each count\n", prog);
	uint64_t p;
	vmp_level lv;
	if (vmp_calc(v[0], v[1], flags, &p, &lv) != 0) {
		fprintf(stderr, "%s calc: SCANNED is 0: the kernel never evaluates an empty window\n", prog);
		return EXIT_BADINPUT;
	}
	printf("%llu %s\n", (unsigned long long)p, vmp_level_name(lv));
	uint64_t m = (flags & VMP_CALC_UL32) ? UINT32_MAX : UINT64_MAX;
	if (((v[0] + v[1]) & m) == 0)
		fprintf(stderr, "%s calc: note: scanned + reclaimed wraps to 0, where the kernel divides by "
				"zero; libvmpressure defines it as 100 critical\n", prog);
	return EXIT_OK;
}
