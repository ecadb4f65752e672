/* SPDX-License-Identifier: MIT */
/* Counter-file parsers and reading; see cgfiles.h. */
#include "sources/cgfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An unsigned decimal that is all of p[0..n), n > 0, in 64 bits. */
static bool parse_dec(const char *p, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned char)p[i] - '0';
		if (c > 9 || v > (UINT64_MAX - c) / 10)
			return false;
		v = v * 10 + c;
	}
	*out = v;
	return true;
}

int vmp__parse_kv(const char *buf, size_t len, const char *const *keys, size_t nkeys, uint64_t *vals,
		 uint64_t *found)
{
	const char *p = buf, *end = buf + len;
	uint64_t f = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *sp = memchr(p, ' ', (size_t)(le - p));
		if (le == p) { /* blank line: only as the very end */
			p = le + 1;
			continue;
		}
		if (!sp || sp == p || sp + 1 >= le)
			return -EBADMSG;
		uint64_t v;
		if (!parse_dec(sp + 1, (size_t)(le - sp - 1), &v))
			return -EBADMSG;
		size_t kl = (size_t)(sp - p);
		for (size_t i = 0; i < nkeys && i < 64; i++)
			if (strlen(keys[i]) == kl && memcmp(keys[i], p, kl) == 0) {
				vals[i] = v;
				f |= UINT64_C(1) << i;
				break;
			}
		p = le + 1;
	}
	*found = f;
	return 0;
}

int vmp__parse_value(const char *s, size_t len, uint64_t max_value, uint64_t *out)
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' '))
		len--;
	if (len == 3 && !memcmp(s, "max", 3)) {
		*out = max_value;
		return 0;
	}
	return parse_dec(s, len, out) ? 0 : -EBADMSG;
}

/* "avg10=1.23": a non-negative decimal with at most 2 fraction digits. */
static bool parse_avg(const char **pp, const char *end, const char *key, double *out)
{
	size_t kl = strlen(key);
	const char *p = *pp;
	if ((size_t)(end - p) < kl + 1 || memcmp(p, key, kl) != 0 || p[kl] != '=')
		return false;
	p += kl + 1;
	double v = 0;
	const char *start = p;
	while (p < end && *p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	if (p == start || v > 1e9)
		return false;
	if (p < end && *p == '.') {
		p++;
		double scale = 0.1;
		const char *fs = p;
		while (p < end && *p >= '0' && *p <= '9' && p - fs < 6) {
			v += (*p++ - '0') * scale;
			scale /= 10;
		}
		if (p == fs)
			return false;
	}
	*out = v;
	*pp = p;
	return true;
}

static bool parse_total(const char **pp, const char *end, uint64_t *out)
{
	const char *p = *pp;
	if ((size_t)(end - p) < 7 || memcmp(p, "total=", 6) != 0)
		return false;
	p += 6;
	uint64_t v = 0;
	const char *start = p;
	while (p < end && *p >= '0' && *p <= '9') {
		unsigned c = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - c) / 10)
			return false;
		v = v * 10 + c;
		p++;
	}
	if (p == start)
		return false;
	*out = v;
	*pp = p;
	return true;
}

static bool parse_line(const char *p, const char *end, double *avg10, uint64_t *total)
{
	double a60, a300;
	if (!parse_avg(&p, end, "avg10", avg10) || p >= end || *p++ != ' ' ||
	    !parse_avg(&p, end, "avg60", &a60) || p >= end || *p++ != ' ' ||
	    !parse_avg(&p, end, "avg300", &a300) || p >= end || *p++ != ' ' || !parse_total(&p, end, total))
		return false;
	return p == end;
}

int vmp__parse_schedstat(const char *buf, size_t len, unsigned *cpus, uint64_t *runq_ns)
{
	unsigned n = 0;
	uint64_t sum = 0;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (eol - p > 3 && !memcmp(p, "cpu", 3) && p[3] >= '0' && p[3] <= '9') {
			const char *q = p + 3;
			while (q < eol && *q >= '0' && *q <= '9')
				q++;
			uint64_t v[9];
			for (int i = 0; i < 9; i++) {
				if (q >= eol || *q != ' ')
					return -EBADMSG;
				const char *d = ++q;
				while (q < eol && *q != ' ')
					q++;
				if (!parse_dec(d, (size_t)(q - d), &v[i]))
					return -EBADMSG;
			}
			if (n == UINT32_MAX)
				return -EBADMSG;
			n++;
			sum += v[6] + v[7];
		}
		p = eol + 1;
	}
	if (!n)
		return -EBADMSG;
	*cpus = n;
	*runq_ns = sum;
	return 0;
}

int vmp__parse_psi(const char *buf, size_t len, struct vmp_psi *out)
{
	struct vmp_psi r = {0};
	bool some = false;
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (le - p > 5 && memcmp(p, "some ", 5) == 0) {
			if (!parse_line(p + 5, le, &r.some_avg10, &r.some_total))
				return -EBADMSG;
			some = true;
		} else if (le - p > 5 && memcmp(p, "full ", 5) == 0) {
			if (!parse_line(p + 5, le, &r.full_avg10, &r.full_total))
				return -EBADMSG;
			r.have_full = true;
		} else if (le != p)
			return -EBADMSG;
		p = le + 1;
	}
	if (!some)
		return -EBADMSG;
	*out = r;
	return 0;
}

int vmp__open_regular(int dirfd, const char *name, int flags)
{
	int fd = openat(dirfd, name, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENXIO ? -EINVAL : -errno; /* ENXIO: a FIFO without a reader */
	struct stat st;
	int e = fstat(fd, &st) != 0 ? -errno : !S_ISREG(st.st_mode) ? -EINVAL : 0;
	if (e) {
		close(fd);
		return e;
	}
	return fd;
}

int vmp__pread_all(int fd, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;
	for (;;) {
		if (got + 1 >= cap)
			return -EFBIG;
		ssize_t n = pread(fd, buf + got, cap - 1 - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = 0;
	*len = got;
	return 0;
}
