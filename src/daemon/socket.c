/* SPDX-License-Identifier: MIT */
/*
 * The control socket's path. A Unix socket file outlives the process that
 * bound it (a crash, SIGKILL), so a file at the path is not proof that a
 * daemon is running: we ask it. If something answers, another daemon owns
 * the path and we refuse to start rather than steal its clients; if the
 * connection is refused, the file is stale and is replaced. Anything that
 * is not a socket is never removed.
 *
 * The socket's mode is set through the umask at bind() time, so that there
 * is no moment in which the socket exists with looser permissions.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int say(char *err, size_t cap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The reason into err; returns rc, a -errno. */
static int say(char *err, size_t cap, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return rc;
}

/* mkdir -p of the socket's directory; new directories get 0755. */
static int make_parents(const char *path, char *err, size_t cap)
{
	char *dir = strdup(path);
	if (!dir)
		return say(err, cap, -ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir) {
		free(dir);
		return 0; /* relative name in the cwd, or in / */
	}
	*slash = 0;
	int rc = 0;
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != 0)
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
			rc = say(err, cap, -errno, "cannot create directory %s: %s", dir, strerror(errno));
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	if (!rc) {
		struct stat st;
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = say(err, cap, -ENOTDIR, "%s is not a directory", dir);
	}
	free(dir);
	return rc;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, n);
	return 0;
}

int vmpd_socket_open(struct vmpd_socket *s, const char *path, mode_t mode, char *err, size_t cap)
{
	struct sockaddr_un sa;
	s->fd = -1;
	if (fill_addr(&sa, path))
		return say(err, cap, -ENAMETOOLONG, "socket path %s: empty or longer than %zu bytes", path,
			   sizeof(sa.sun_path) - 1);
	int rc = make_parents(path, err, cap);
	if (rc)
		return rc;

	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return say(err, cap, -EEXIST, "%s exists and is not a socket; not touching it", path);
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return say(err, cap, -errno, "socket: %s", strerror(errno));
		int c = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
		int e = errno;
		close(probe);
		if (c == 0)
			return say(err, cap, -EADDRINUSE, "another vmpressured is already serving on %s", path);
		if (e != ECONNREFUSED)
			return say(err, cap, -e, "cannot check the existing socket %s: %s",
				   path, strerror(e));
		if (unlink(path) != 0 && errno != ENOENT)
			return say(err, cap, -errno, "cannot remove the stale socket %s: %s",
				   path, strerror(errno));
		vmpd_log(VMPD_LOG_INFO, "removed the stale socket %s (nothing answered on it)", path);
	} else if (errno != ENOENT)
		return say(err, cap, -errno, "%s: %s", path, strerror(errno));

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return say(err, cap, -errno, "socket: %s", strerror(errno));
	mode_t old = umask(~mode & 0777);
	int b = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (b != 0) {
		close(fd);
		return say(err, cap, -e, "cannot bind %s: %s", path, strerror(e));
	}
	if (listen(fd, (int)VMPD_MAX_CLIENTS) != 0 || lstat(path, &st) != 0) {
		e = errno;
		unlink(path);
		close(fd);
		return say(err, cap, -e, "cannot listen on %s: %s", path, strerror(e));
	}
	s->fd = fd;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return 0;
}

void vmpd_socket_close(struct vmpd_socket *s, const char *path)
{
	if (s->fd < 0)
		return;
	struct stat st;
	/* Someone may have started another daemon on the path after removing
	 * ours by hand; its socket is not ours to remove. */
	if (lstat(path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(path);
	close(s->fd);
	s->fd = -1;
}
