/* SPDX-License-Identifier: MIT */
/* Registration arguments: the table of spec R-14 and its edges. */
#include "check.h"
#include "vmpressure.h"

#include <errno.h>

struct row {
	const char *args;
	int rc;
	vmp_level lv;
	vmp_mode md;
};

static const struct row rows[] = {
	{"low", 0, VMP_LEVEL_LOW, VMP_MODE_DEFAULT},
	{"medium", 0, VMP_LEVEL_MEDIUM, VMP_MODE_DEFAULT},
	{"critical", 0, VMP_LEVEL_CRITICAL, VMP_MODE_DEFAULT},
	{"critical,hierarchy", 0, VMP_LEVEL_CRITICAL, VMP_MODE_HIERARCHY},
	{"medium,default", 0, VMP_LEVEL_MEDIUM, VMP_MODE_DEFAULT},
	{"low,local", 0, VMP_LEVEL_LOW, VMP_MODE_LOCAL},
	{"low,local,garbage", 0, VMP_LEVEL_LOW, VMP_MODE_LOCAL},
	{"low,hierarchy,", 0, VMP_LEVEL_LOW, VMP_MODE_HIERARCHY},
	{"medium,hierarchy,xyz", 0, VMP_LEVEL_MEDIUM, VMP_MODE_HIERARCHY}, /* 20 chars, cut to 19 */
	{"critical,local,abcdefgh", 0, VMP_LEVEL_CRITICAL, VMP_MODE_LOCAL},
	{"low,", -EINVAL, 0, 0},
	{",low", -EINVAL, 0, 0},
	{"", -EINVAL, 0, 0},
	{"Low", -EINVAL, 0, 0},
	{"LOW", -EINVAL, 0, 0},
	{"low ", -EINVAL, 0, 0},
	{" low", -EINVAL, 0, 0},
	{"low hierarchy", -EINVAL, 0, 0},
	{"low,Local", -EINVAL, 0, 0},
	{"low,,local", -EINVAL, 0, 0},
	{"critical,hierarchyX", -EINVAL, 0, 0},    /* 19 chars */
	{"critical,hierarchyXYZ", -EINVAL, 0, 0},  /* cut to critical,hierarchyX */
	{"critical,hierarchy", 0, VMP_LEVEL_CRITICAL, VMP_MODE_HIERARCHY},
	{"lowmedium", -EINVAL, 0, 0},
	{"medium,locals", -EINVAL, 0, 0},
	{"critical", 0, VMP_LEVEL_CRITICAL, VMP_MODE_DEFAULT},
	{"verylongprefix,low", -EINVAL, 0, 0},
};

int main(void)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		vmp_level lv = (vmp_level)7;
		vmp_mode md = (vmp_mode)7;
		int rc = vmp_parse_args(rows[i].args, &lv, &md);
		CHECK(rc == rows[i].rc, "'%s': rc %d, expected %d", rows[i].args, rc, rows[i].rc);
		if (rows[i].rc == 0) {
			CHECK(lv == rows[i].lv && md == rows[i].md, "'%s': got %d,%d expected %d,%d",
			      rows[i].args, lv, md, rows[i].lv, rows[i].md);
		} else {
			CHECK(lv == (vmp_level)7 && md == (vmp_mode)7, "'%s': outputs written on error",
			      rows[i].args);
		}
	}
	vmp_level lv;
	vmp_mode md;
	CHECK(vmp_parse_args(NULL, &lv, &md) == -EINVAL, "NULL args");
	/* a 19-byte prefix that is valid even though byte 20 would not be */
	char buf[64];
	snprintf(buf, sizeof(buf), "low,local,%s", "0123456789abcdefghijklmnop");
	CHECK(vmp_parse_args(buf, &lv, &md) == 0 && md == VMP_MODE_LOCAL, "long tail after a comma");
	return check_done("args");
}
