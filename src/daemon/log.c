/* SPDX-License-Identifier: MIT */
/*
 * The daemon's log: standard error by default (under systemd that is the
 * journal, and each line starts with the sd-daemon "<N>" priority prefix so
 * the journal files it at the right level), or --log-file PATH with a UTC
 * timestamp per line. SIGHUP reopens the file, so that logrotate can move
 * it away. Each line goes out in one write(2) on an O_APPEND descriptor:
 * lines never interleave, and nothing is buffered that a crash could lose.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static char *log_path;
static bool journal; /* stderr is the journal: "<N>" prefixes, no time */

/* A regular file only, opened without blocking: a FIFO in its place
 * would hang open() until a reader comes (at startup, or inside SIGHUP
 * with every client waiting), then every write once its pipe is full.
 * -EINVAL for what is not a regular file. */
static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
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

int vmpd_log_open(const char *path)
{
	if (!path) {
		journal = getenv("JOURNAL_STREAM") != NULL;
		log_fd = 2;
		return 0;
	}
	int fd = open_file(path);
	if (fd < 0)
		return fd;
	char *p = strdup(path);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	log_path = p;
	log_fd = fd;
	return 0;
}

const char *vmpd_log_path(void)
{
	return log_path;
}

int vmpd_log_reopen(void)
{
	if (!log_path)
		return 0;
	int fd = open_file(log_path);
	if (fd < 0)
		return fd; /* keep writing to the old one */
	close(log_fd);
	log_fd = fd;
	return 0;
}

void vmpd_log_close(void)
{
	if (log_path) {
		close(log_fd);
		free(log_path);
		log_path = NULL;
	}
	log_fd = 2;
}

void vmpd_log(int prio, const char *fmt, ...)
{
	char line[1024];
	size_t n = 0;
	if (log_path) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ vmpressured[%ld]: ",
				      ts.tv_nsec / 1000000, (long)getpid());
	} else if (journal)
		n = (size_t)snprintf(line, sizeof(line), "<%d>", prio);
	else
		n = (size_t)snprintf(line, sizeof(line), "vmpressured: ");
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		k = 0;
	n += (size_t)k;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2; /* cut: a log line is not worth a malloc */
	line[n++] = '\n';
	while (write(log_fd, line, n) < 0 && errno == EINTR) {
	}
}
