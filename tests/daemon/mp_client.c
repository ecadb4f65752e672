/* SPDX-License-Identifier: MIT */
/*
 * A memory pressure client that follows systemd's documented protocol
 * ("Memory Pressure Handling", sd_event_add_memory_pressure(3)) and
 * nothing else: it knows no vmpressure. From its environment:
 *
 *   $MEMORY_PRESSURE_WATCH  an absolute path; "/dev/null" (or empty): off
 *   $MEMORY_PRESSURE_WRITE  optional Base64, written right after opening
 *
 * A regular file is opened and watched for POLLPRI, never read; a FIFO is
 * opened and watched for POLLIN, its data read and discarded; an AF_UNIX
 * socket is connected as a stream socket and watched for POLLIN, its data
 * read and discarded. Each POLLPRI/POLLIN is one "wake".
 *
 * For the test it reports on stdout: "ready" once the data is written,
 * then after every wake "wake W B L M C X" (wakes so far, bytes discarded
 * so far, and of those how many were each of vmpressure's level bytes),
 * and "eof ..." if the other end closed. It runs until SIGTERM.
 * Exit status: 0, 2 bad environment, 3 cannot open/connect, 4 write failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard Base64 with '=' padding; -1 if malformed. */
static long b64decode(const char *s, unsigned char *out, size_t cap)
{
	size_t n = strlen(s), o = 0;
	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		for (int k = 0; k < 4; k++) {
			v[k] = s[i + k] == '=' ? 0 : b64val((unsigned char)s[i + k]);
			if (v[k] < 0 || (s[i + k] == '=' && i + 4 != n))
				return -1;
		}
		unsigned x = (unsigned)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		int pad = (s[i + 2] == '=') + (s[i + 3] == '=');
		unsigned char b[3] = {(unsigned char)(x >> 16), (unsigned char)(x >> 8), (unsigned char)x};
		for (int k = 0; k < 3 - pad; k++) {
			if (o == cap)
				return -1;
			out[o++] = b[k];
		}
	}
	return (long)o;
}

int main(void)
{
	const char *watch = getenv("MEMORY_PRESSURE_WATCH");
	const char *wr = getenv("MEMORY_PRESSURE_WRITE");
	if (!watch || !*watch || !strcmp(watch, "/dev/null")) {
		fprintf(stderr, "mp_client: memory pressure watching is off\n");
		return 2;
	}
	if (watch[0] != '/') {
		fprintf(stderr, "mp_client: $MEMORY_PRESSURE_WATCH=%s is not absolute\n", watch);
		return 2;
	}
	unsigned char data[4096];
	long ndata = 0;
	if (wr && (ndata = b64decode(wr, data, sizeof(data))) < 0) {
		fprintf(stderr, "mp_client: $MEMORY_PRESSURE_WRITE is not Base64\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);

	struct stat st;
	if (stat(watch, &st) != 0) {
		fprintf(stderr, "mp_client: %s: %s\n", watch, strerror(errno));
		return 3;
	}
	int fd;
	short events;
	bool readable = true;
	if (S_ISSOCK(st.st_mode)) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(watch) >= sizeof(sa.sun_path))
			return 3;
		strcpy(sa.sun_path, watch);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			fprintf(stderr, "mp_client: connect %s: %s\n", watch, strerror(errno));
			return 3;
		}
		events = POLLIN;
	} else if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) {
		fd = open(watch, (ndata ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			fprintf(stderr, "mp_client: open %s: %s\n", watch, strerror(errno));
			return 3;
		}
		events = S_ISREG(st.st_mode) ? POLLPRI : POLLIN;
		readable = !S_ISREG(st.st_mode);
	} else {
		fprintf(stderr, "mp_client: %s is neither a file, a FIFO nor a socket\n", watch);
		return 3;
	}
	for (long off = 0; off < ndata;) {
		ssize_t n = write(fd, data + off, (size_t)(ndata - off));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			poll(&p, 1, 1000);
			continue;
		}
		if (n <= 0) {
			fprintf(stderr, "mp_client: write %s: %s\n", watch, strerror(errno));
			return 4;
		}
		off += n;
	}
	if (readable) {
		int fl = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
	printf("ready\n");
	fflush(stdout);

	uint64_t wakes = 0, bytes = 0, lv[4] = {0};
	while (!stop) {
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, -1);
		if (r < 0)
			continue; /* EINTR: SIGTERM, most likely */
		if (!(p.revents & events)) {
			if (p.revents & (POLLHUP | POLLERR))
				break;
			continue;
		}
		wakes++;
		bool eof = false;
		if (readable) {
			/* Read and discard whatever is queued (sd-event reads a pipe buffer). */
			unsigned char buf[4096];
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n == 0)
				eof = true;
			for (ssize_t i = 0; i < n; i++) {
				const char *k = strchr("LMCX", buf[i]);
				if (k && buf[i])
					lv[k - "LMCX"]++;
			}
			if (n > 0)
				bytes += (uint64_t)n;
		}
		printf("%s %llu %llu %llu %llu %llu %llu\n", eof ? "eof" : "wake", (unsigned long long)wakes,
		       (unsigned long long)bytes, (unsigned long long)lv[0], (unsigned long long)lv[1],
		       (unsigned long long)lv[2], (unsigned long long)lv[3]);
		fflush(stdout);
		if (eof)
			break; /* an sd-event client would spin here; we report it */
	}
	return 0;
}
