/* SPDX-License-Identifier: MIT */
/*
 * A strict, bounded parser of one HTTP/1.x request head (RFC 9112), for
 * the metrics endpoint, and the responses it sends. Pure.
 *
 * The endpoint serves one resource to scrapers, so the parser accepts
 * exactly the requests they send and refuses everything else with the
 * status that says why, before anything else is done:
 *   - the request line is METHOD SP TARGET SP HTTP/d.d, single spaces,
 *     at most 1024 bytes (414 past it); the target is origin-form (starts
 *     with '/'), visible ASCII only;
 *   - lines end in CRLF or a lone LF (RFC 9112 §2.2 allows a recipient to
 *     accept it); a CR anywhere else, a NUL or another control byte is
 *     400;
 *   - header names are tokens directly followed by ':'; values are
 *     visible bytes, spaces and tabs; obsolete line folding is 400;
 *   - at most 64 header lines and 8 KiB for the whole head (431);
 *   - HTTP/1.1 needs exactly one Host header (400, as RFC 9112 §3.2 says);
 *   - a body (Content-Length other than 0, any Transfer-Encoding) is 400:
 *     no method served has one, and not reading it keeps the parser free
 *     of body framing (the request-smuggling kind of bug);
 *   - HTTP versions other than 1.0 and 1.1 are 505.
 * Every response closes the connection, so nothing after the head is ever
 * read as a request.
 *
 * The whole head is parsed again on each call (it is at most 8 KiB, and a
 * connection has a deadline): no state survives between calls, so what a
 * partial head leads to cannot depend on how it was cut.
 */
#include "metrics.h"

#include <string.h>

static bool tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int fail(struct vmpd_http_request *out, int status, const char *why)
{
	out->status = status;
	out->head = false;
	out->head_len = 0;
	out->reason = why;
	return status;
}

static bool ieq(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	if (n != k)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return false;
	}
	return true;
}

/* The request line at s[0, n), its line ending removed. 0 if it is good. */
static int request_line(const char *s, size_t n, struct vmpd_http_request *out, bool *v11,
			size_t *tstart, size_t *tlen, size_t *mlen)
{
	size_t i = 0;
	while (i < n && tchar((unsigned char)s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ' ')
		return fail(out, 400, "malformed request line: no method");
	*mlen = i;
	size_t t = ++i;
	while (i < n && (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f)
		i++;
	if (i == t || i == n || s[i] != ' ')
		return fail(out, 400, "malformed request line: no target");
	*tstart = t;
	*tlen = i - t;
	if (s[t] != '/')
		return fail(out, 400, "the target is not a path (origin-form)");
	i++;
	if (n - i != 8 || memcmp(s + i, "HTTP/", 5) || s[i + 5] < '0' || s[i + 5] > '9' ||
	    s[i + 6] != '.' || s[i + 7] < '0' || s[i + 7] > '9')
		return fail(out, 400, "malformed request line: no HTTP version");
	if (s[i + 5] != '1' || (s[i + 7] != '0' && s[i + 7] != '1'))
		return fail(out, 505, "HTTP version not supported");
	*v11 = s[i + 7] == '1';
	return 0;
}

int vmpd_http_parse(const char *buf, size_t len, bool eof, struct vmpd_http_request *out)
{
	size_t pos = 0, nheaders = 0, hosts = 0;
	bool v11 = false, first = true;
	size_t tstart = 0, tlen = 0, mlen = 0;
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t limit = first ? VMPD_HTTP_LINE_MAX : VMPD_HTTP_HEAD_MAX;
		if (!nl) {
			if (first && len - pos >= limit)
				return fail(out, 414, "request line over 1024 bytes");
			if (len >= VMPD_HTTP_HEAD_MAX)
				return fail(out, 431, "request head over 8192 bytes");
			if (eof)
				return fail(out, 400, len ? "the connection ended inside the request head"
							  : "the connection ended before a request");
			return 0;
		}
		size_t end = (size_t)(nl - buf);
		size_t n = end - pos;
		/* The request line's bound first, as without its newline: the
		 * answer must not change as more of the request arrives. */
		if (first && n + 1 > limit)
			return fail(out, 414, "request line over 1024 bytes");
		if (end + 1 > VMPD_HTTP_HEAD_MAX)
			return fail(out, 431, "request head over 8192 bytes");
		const char *s = buf + pos;
		if (n && s[n - 1] == '\r')
			n--;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '\r')
				return fail(out, 400, "a CR not followed by LF");
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return fail(out, 400, "a control byte in the request head");
		}
		pos = end + 1;
		if (first) {
			int rc = request_line(s, n, out, &v11, &tstart, &tlen, &mlen);
			if (rc)
				return rc;
			first = false;
			continue;
		}
		if (n == 0)
			break; /* the blank line: the head is complete */
		if (++nheaders > VMPD_HTTP_HEADERS_MAX)
			return fail(out, 431, "more than 64 header lines");
		if (s[0] == ' ' || s[0] == '\t')
			return fail(out, 400, "obsolete header line folding");
		size_t k = 0;
		while (k < n && tchar((unsigned char)s[k]))
			k++;
		if (k == 0 || k == n || s[k] != ':')
			return fail(out, 400, "malformed header line");
		const char *v = s + k + 1;
		size_t vn = n - k - 1;
		while (vn && (*v == ' ' || *v == '\t'))
			v++, vn--;
		while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
			vn--;
		if (ieq(s, k, "host"))
			hosts++;
		else if (ieq(s, k, "transfer-encoding"))
			return fail(out, 400, "a request body (Transfer-Encoding)");
		else if (ieq(s, k, "content-length")) {
			if (!vn)
				return fail(out, 400, "an empty Content-Length");
			for (size_t i = 0; i < vn; i++) {
				if (v[i] < '0' || v[i] > '9')
					return fail(out, 400, "a malformed Content-Length");
				if (v[i] != '0')
					return fail(out, 400, "a request body (Content-Length)");
			}
		}
	}
	if (v11 && hosts != 1)
		return fail(out, 400, hosts ? "more than one Host header" : "HTTP/1.1 without a Host header");
	const char *target = buf + tstart;
	const char *q = memchr(target, '?', tlen);
	size_t plen = q ? (size_t)(q - target) : tlen;
	if (plen != 8 || memcmp(target, "/metrics", 8))
		return fail(out, 404, "not found: the only resource is /metrics");
	bool is_head = mlen == 4 && !memcmp(buf, "HEAD", 4);
	if (!is_head && !(mlen == 3 && !memcmp(buf, "GET", 3)))
		return fail(out, 405, "method not allowed: GET or HEAD");
	out->status = 200;
	out->head = is_head;
	out->head_len = pos;
	out->reason = "ok";
	return 200;
}

static const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

void vmpd_http_response(struct vmp__buf *b, int status, bool head, const char *body, size_t n)
{
	vmp__buf_printf(b, "HTTP/1.1 %d %s\r\n", status, status_text(status));
	vmp__buf_printf(b, "Content-Type: %s\r\n",
			status == 200 ? VMPD_METRICS_CONTENT_TYPE : "text/plain; charset=utf-8");
	vmp__buf_printf(b, "Content-Length: %zu\r\n", n);
	if (status == 405)
		vmp__buf_puts(b, "Allow: GET, HEAD\r\n");
	vmp__buf_puts(b, "Connection: close\r\n\r\n");
	if (!head)
		vmp__buf_add(b, body, n);
}
