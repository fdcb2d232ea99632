/* util.c: helpers shared by every step of the shim and by shimctl.
 * Each returns 0 (or a count) on success and -1 with errno set on
 * failure; none of them logs, except the logger itself. */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };
				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					return -1;
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void close_fd(int *fd)
{
	int saved_errno = errno;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	errno = saved_errno;
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0 if the
 * bytes there are not one: overlong forms, surrogates and code points past
 * U+10FFFF are rejected, as RFC 3629 requires. */
static size_t utf8_sequence_length(const unsigned char *s, size_t len)
{
	size_t need;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

size_t json_escape(char *dst, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	char *out = dst;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t seq;

		switch (c) {
		case '"': out = stpcpy(out, "\\\""); i++; continue;
		case '\\': out = stpcpy(out, "\\\\"); i++; continue;
		case '\n': out = stpcpy(out, "\\n"); i++; continue;
		case '\r': out = stpcpy(out, "\\r"); i++; continue;
		case '\t': out = stpcpy(out, "\\t"); i++; continue;
		case '\b': out = stpcpy(out, "\\b"); i++; continue;
		case '\f': out = stpcpy(out, "\\f"); i++; continue;
		}
		if (c < 0x20) {
			out += sprintf(out, "\\u%04x", c);
			i++;
			continue;
		}
		seq = utf8_sequence_length(s + i, len - i);
		if (seq == 0) {
			out = stpcpy(out, "\\ufffd");
			i++;
			continue;
		}
		memcpy(out, s + i, seq);
		out += seq;
		i += seq;
	}
	*out = '\0';
	return (size_t)(out - dst);
}

void format_rfc3339(char out[RFC3339_LEN + 1], const struct timespec *ts)
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(out, RFC3339_LEN + 1, "%Y-%m-%dT%H:%M:%S", &tm); /* 19 characters */
	snprintf(out + 19, RFC3339_LEN + 1 - 19, ".%09ldZ", ts->tv_nsec);
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp_path[4096];
	int fd = -1, saved_errno;

	if (snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path) >= (int)sizeof(tmp_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp_path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST) {
		/* A leftover from a shim that died between open and rename. */
		if (unlink(tmp_path) < 0)
			return -1;
		fd = open(tmp_path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
	}
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp_path, path) < 0)
		goto fail;
	return 0;
fail:
	saved_errno = errno;
	close_fd(&fd);
	unlink(tmp_path);
	errno = saved_errno;
	return -1;
}

ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len + 1 < cap) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close_fd(&fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close_fd(&fd);
	return (ssize_t)len;
}

int read_pid_file(const char *path, pid_t *pid)
{
	char text[32], *end;
	long value;

	if (read_small_file(path, text, sizeof(text)) < 0)
		return -1;
	errno = 0;
	value = strtol(text, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno != 0 || end == text || *end != '\0' || value <= 0 || value > 4194304) {
		errno = EINVAL;
		return -1;
	}
	*pid = (pid_t)value;
	return 0;
}

static const char *const diag_level_names[] = { "TRACE", "DEBUG", "INFO", "WARN", "ERROR" };

int diag_level_parse(const char *name, enum diag_level *level)
{
	for (size_t i = 0; i < sizeof(diag_level_names) / sizeof(diag_level_names[0]); i++) {
		if (strcasecmp(name, diag_level_names[i]) == 0) {
			*level = (enum diag_level)i;
			return 0;
		}
	}
	errno = EINVAL;
	return -1;
}

void diag_open(struct diag *diag, const char *logfile, enum diag_level level)
{
	diag->min_level = level;
	diag->fd = -1;
	if (logfile)
		diag->fd = open(logfile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	/* No log file (or it cannot be opened): fall back to syslog, as
	 * shimmy does, rather than losing diagnostics. */
	if (diag->fd < 0)
		openlog("shim", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void diag_log(const struct diag *diag, enum diag_level level, const char *fmt, ...)
{
	static const int syslog_priority[] = { LOG_DEBUG, LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
	int saved_errno = errno;
	char message[2048];
	va_list ap;

	if (level < diag->min_level)
		return;
	va_start(ap, fmt);
	errno = saved_errno; /* so that %m names the caller's error */
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);

	if (diag->fd < 0) {
		syslog(syslog_priority[level], "%s", message);
	} else {
		char line[2200], now_text[RFC3339_LEN + 1];
		struct timespec now;
		int len;

		clock_gettime(CLOCK_REALTIME, &now);
		format_rfc3339(now_text, &now);
		len = snprintf(line, sizeof(line), "%s %s[%d] %s: %s\n", now_text, "shim",
			       (int)getpid(), diag_level_names[level], message);
		if (len > (int)sizeof(line) - 1)
			len = (int)sizeof(line) - 1;
		/* Diagnostics are best effort: a full disk must not stop the shim. */
		write_all(diag->fd, line, (size_t)len);
	}
	errno = saved_errno;
}
