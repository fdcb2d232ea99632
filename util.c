/* util.c: helpers shared by every step of the shim and by shimctl.
 * Each returns 0 (or a count) on success and -1 with errno set on
 * failure; none of them logs, except the logger itself. */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
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

int dir_file_open(struct dir_file *file, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *directory;

	file->path = path;
	file->name = slash ? slash + 1 : path;
	file->dir_fd = -1;
	if (file->name[0] == '\0' || strcmp(file->name, ".") == 0 ||
	    strcmp(file->name, "..") == 0) {
		errno = EISDIR; /* "DIR/" or "DIR/..": a directory, not a file name */
		return -1;
	}
	if (!slash)
		directory = strdup(".");
	else if (slash == path)
		directory = strdup("/");
	else
		directory = strndup(path, (size_t)(slash - path));
	if (!directory)
		return -1;
	file->dir_fd = open(directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(directory);
	return file->dir_fd < 0 ? -1 : 0;
}

void dir_file_close(struct dir_file *file)
{
	close_fd(&file->dir_fd);
}

int open_regular_append(int dir_fd, const char *name, unsigned long long *size)
{
	struct stat info;
	/* O_NONBLOCK: opening a FIFO for writing would otherwise wait for a
	 * reader, forever. On a regular file the flag changes nothing. */
	int fd = openat(dir_fd, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			0600);

	if (fd < 0)
		return -1;
	if (fstat(fd, &info) < 0) {
		close_fd(&fd);
		return -1;
	}
	if (!S_ISREG(info.st_mode)) {
		close_fd(&fd);
		errno = EINVAL;
		return -1;
	}
	/* Another user's file (made before us, so that they can read what
	 * we write), or a second name of one elsewhere: not ours to fill. */
	if (info.st_uid != geteuid() || info.st_nlink != 1) {
		close_fd(&fd);
		errno = EPERM;
		return -1;
	}
	*size = (unsigned long long)info.st_size;
	return fd;
}

const char *file_error(int errnum)
{
	switch (errnum) {
	case ELOOP:
		return "it is a symbolic link, which the shim never follows; give the real path";
	case EINVAL:
	case ENXIO: /* a FIFO with no reader, opened non-blocking */
	case EISDIR:
		return "not a regular file";
	case EPERM:
		return "owned by another user, or with another name (a hard link); the shim writes only files of its own";
	default:
		return strerror(errnum);
	}
}

/* The most a status file holds: one page, reserved at begin. */
#define STATUS_FILE_RESERVED 4096

int status_file_begin(struct status_file *status, const char *path, mode_t mode)
{
	int len, err;

	status->fd = -1;
	status->named = false;
	if (dir_file_open(&status->file, path) < 0)
		return -1;
	len = snprintf(status->tmp_name, sizeof(status->tmp_name), "%s.tmp", status->file.name);
	if (len < 0 || (size_t)len >= sizeof(status->tmp_name)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	/* Unnamed until commit: nothing for anyone to replace, remove or
	 * read in the meantime, and nothing left behind if we die. */
	status->fd = openat(status->file.dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	if (status->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		status->named = true;
		status->fd = openat(status->file.dir_fd, status->tmp_name,
				    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
		if (status->fd < 0 && errno == EEXIST &&
		    unlinkat(status->file.dir_fd, status->tmp_name, 0) == 0) /* a dead shim's */
			status->fd = openat(status->file.dir_fd, status->tmp_name,
					    O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
	}
	if (status->fd < 0)
		goto fail;
	/* Room for the content, now: a disk that fills meanwhile cannot
	 * cost us the file. (Some filesystems cannot reserve: they take
	 * their chances.) */
	err = fallocate(status->fd, FALLOC_FL_KEEP_SIZE, 0, STATUS_FILE_RESERVED) < 0 ? errno : 0;
	if (err == ENOSPC || err == EDQUOT)
		goto fail;
	return 0;
fail:
	status_file_abandon(status);
	return -1;
}

int status_file_commit(struct status_file *status, const void *data, size_t len)
{
	char fd_path[64];

	if (write_all(status->fd, data, len) < 0 || ftruncate(status->fd, (off_t)len) < 0)
		goto fail;
	if (!status->named) {
		snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", status->fd);
		if (linkat(AT_FDCWD, fd_path, status->file.dir_fd, status->tmp_name, AT_SYMLINK_FOLLOW) < 0 &&
		    (errno != EEXIST || unlinkat(status->file.dir_fd, status->tmp_name, 0) < 0 ||
		     linkat(AT_FDCWD, fd_path, status->file.dir_fd, status->tmp_name, AT_SYMLINK_FOLLOW) < 0))
			goto fail;
		status->named = true;
	}
	if (close(status->fd) < 0) {
		status->fd = -1;
		goto fail;
	}
	status->fd = -1;
	if (renameat(status->file.dir_fd, status->tmp_name, status->file.dir_fd, status->file.name) < 0)
		goto fail;
	dir_file_close(&status->file);
	return 0;
fail:
	status_file_abandon(status);
	return -1;
}

void status_file_abandon(struct status_file *status)
{
	int saved_errno = errno;

	if (status->named && status->file.dir_fd >= 0)
		unlinkat(status->file.dir_fd, status->tmp_name, 0);
	status->named = false;
	close_fd(&status->fd);
	dir_file_close(&status->file);
	errno = saved_errno;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	struct status_file status;

	if (status_file_begin(&status, path, mode) < 0)
		return -1;
	return status_file_commit(&status, data, len);
}

void capture_append(struct capture *capture, const char *data, size_t len)
{
	unsigned long long pos = capture->total;

	capture->total += len;
	if (len == 0)
		return;
	if (!capture->buf) {
		capture->buf = malloc(CAPTURE_HEAD + CAPTURE_TAIL);
		if (!capture->buf)
			return; /* counted, not kept: rendered as "not shown" */
	}
	/* Bytes 0 .. CAPTURE_HEAD-1 stay where they are; every later byte goes
	 * into the tail ring at its position modulo CAPTURE_TAIL, where only
	 * the last CAPTURE_TAIL of them survive. */
	if (pos < CAPTURE_HEAD) {
		size_t head = CAPTURE_HEAD - pos < len ? (size_t)(CAPTURE_HEAD - pos) : len;
		memcpy(capture->buf + pos, data, head);
		pos += head;
		data += head;
		len -= head;
	}
	if (len > CAPTURE_TAIL) {
		pos += len - CAPTURE_TAIL;
		data += len - CAPTURE_TAIL;
		len = CAPTURE_TAIL;
	}
	while (len > 0) {
		size_t at = (size_t)((pos - CAPTURE_HEAD) % CAPTURE_TAIL);
		size_t piece = CAPTURE_TAIL - at < len ? CAPTURE_TAIL - at : len;
		memcpy(capture->buf + CAPTURE_HEAD + at, data, piece);
		pos += piece;
		data += piece;
		len -= piece;
	}
}

char *capture_render(const struct capture *capture, size_t *len)
{
	unsigned long long total = capture->total, after_head, tail_len, dropped;
	char marker[80], *out;
	size_t marker_len = 0, head_len, pos = 0;

	head_len = total < CAPTURE_HEAD ? (size_t)total : CAPTURE_HEAD;
	after_head = total - head_len;
	tail_len = after_head < CAPTURE_TAIL ? after_head : CAPTURE_TAIL;
	dropped = after_head - tail_len;
	if (dropped > 0)
		marker_len = (size_t)snprintf(marker, sizeof(marker), "\n[... %llu bytes not shown ...]\n",
					      dropped);
	if (!capture->buf && total > 0) {
		/* Nothing could be kept: all of it is "not shown". */
		head_len = 0;
		tail_len = 0;
		marker_len = (size_t)snprintf(marker, sizeof(marker), "[... %llu bytes not shown ...]\n",
					      total);
	}
	out = malloc(head_len + marker_len + (size_t)tail_len + 1);
	if (!out)
		return NULL;
	if (head_len > 0)
		memcpy(out, capture->buf, head_len);
	pos = head_len;
	memcpy(out + pos, marker, marker_len);
	pos += marker_len;
	/* The tail ring's oldest byte sits where the next one would go. */
	for (unsigned long long p = total - tail_len; p < total; p++)
		out[pos++] = capture->buf[CAPTURE_HEAD + (p - CAPTURE_HEAD) % CAPTURE_TAIL];
	out[pos] = '\0';
	*len = pos;
	return out;
}

void capture_free(struct capture *capture)
{
	free(capture->buf);
	*capture = (struct capture){ 0 };
}

void *buffer_map(size_t size)
{
	void *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return buf == MAP_FAILED ? NULL : buf;
}

void buffer_unmap(void **buf, size_t size)
{
	if (*buf)
		munmap(*buf, size);
	*buf = NULL;
}

void buffer_release(void *buf, size_t size, size_t keep)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	keep = (keep + page - 1) / page * page;
	if (buf && keep < size)
		madvise((char *)buf + keep, size - keep, MADV_DONTNEED);
}

/* The lowest address of the [stack] mapping, from /proc/self/maps (read a
 * line at a time: sanitizer builds have thousands), or 0 when it cannot be
 * read. Not inlined: its buffer is released with the rest. */
static __attribute__((noinline)) uintptr_t stack_bottom(void)
{
	char buf[4096], *line, *end;
	size_t held = 0;
	unsigned long long low = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	while (fd >= 0 && low == 0 && (n = read(fd, buf + held, sizeof(buf) - 1 - held)) > 0) {
		buf[held + (size_t)n] = '\0';
		for (line = buf; low == 0 && (end = strchr(line, '\n')); line = end + 1) {
			*end = '\0';
			if (end - line > 8 && strcmp(end - 8, " [stack]") == 0 && sscanf(line, "%llx-", &low) != 1)
				low = 0;
		}
		held = strlen(line);
		memmove(buf, line, held);
		if (held == sizeof(buf) - 1)
			held = 0; /* a line longer than any maps line: not [stack] */
	}
	close_fd(&fd);
	return (uintptr_t)low;
}

int release_idle_memory(void)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t bottom = stack_bottom();
	/* From the page below our frame, with room to spare for the calls
	 * made from here. */
	uintptr_t below = ((uintptr_t)__builtin_frame_address(0) - 1024) & ~(page - 1);

	malloc_trim(0);
	if (bottom && bottom < below)
		return madvise((void *)bottom, below - bottom, MADV_DONTNEED);
	return 0;
}

/* Read at most cap-1 bytes of fd into buf, NUL-terminated, and close it. */
static ssize_t read_small_fd(int fd, char *buf, size_t cap)
{
	size_t len = 0;

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

ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -1 : read_small_fd(fd, buf, cap);
}

int read_pid_file(const char *path, pid_t *pid)
{
	char text[32], *end;
	struct stat info;
	long value;
	/* Written by the runtime, which renames a whole file into place: a
	 * symlink, a FIFO (open would block) or a tty (which would become our
	 * controlling terminal) is not what it writes. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &info) < 0 || !S_ISREG(info.st_mode)) {
		close_fd(&fd);
		errno = EINVAL;
		return -1;
	}
	if (read_small_fd(fd, text, sizeof(text)) < 0)
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

int diag_open(struct diag *diag, const char *logfile, enum diag_level level)
{
	unsigned long long size;
	int saved_errno = 0;

	diag->min_level = level;
	diag->fd = -1;
	if (logfile) {
		diag->fd = open_regular_append(AT_FDCWD, logfile, &size);
		saved_errno = errno;
	}
	/* No log file (or one we refuse): fall back to syslog, as shimmy
	 * does, rather than losing diagnostics. */
	if (diag->fd < 0)
		openlog("shim", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	errno = saved_errno;
	return logfile && diag->fd < 0 ? -1 : 0;
}

void escape_vformat(char *dst, size_t cap, const char *fmt, va_list ap)
{
	char raw[1024];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	escape_control(dst, cap, raw);
}

size_t escape_control(char *dst, size_t cap, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t len = 0, left = strlen(src);

	while (left > 0) {
		size_t seq = utf8_sequence_length(s, left);
		/* C1 controls: U+0080 to U+009F, UTF-8 C2 80 to C2 9F. */
		bool c1 = seq == 2 && s[0] == 0xc2 && s[1] < 0xa0;
		bool plain = seq > 1 ? !c1 : (seq == 1 && s[0] >= 0x20 && s[0] != 0x7f && s[0] != '\\');
		size_t need = plain ? seq : s[0] == '\\' || s[0] == '\n' || s[0] == '\t' || s[0] == '\r' ? 2
			    : 4 * (c1 ? 2 : 1);

		if (len + need + 1 > cap)
			break;
		if (plain) {
			memcpy(dst + len, s, seq);
			len += seq;
		} else if (need == 2) {
			dst[len++] = '\\';
			dst[len++] = s[0] == '\n' ? 'n' : s[0] == '\t' ? 't' : s[0] == '\r' ? 'r' : '\\';
		} else {
			for (size_t i = 0; i < (c1 ? 2u : 1u); i++) {
				dst[len++] = '\\';
				dst[len++] = 'x';
				dst[len++] = hex[s[i] >> 4];
				dst[len++] = hex[s[i] & 15];
			}
		}
		seq = seq == 0 ? 1 : seq; /* a byte that is not UTF-8 goes alone */
		s += seq;
		left -= seq;
	}
	dst[len] = '\0';
	return len;
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
	escape_vformat(message, sizeof(message), fmt, ap);
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

int close_fds_except(const int *kept, size_t count)
{
	unsigned from = 3;

	/* Ascending, one range between each two kept fds. */
	for (;;) {
		unsigned next = ~0U;
		for (size_t i = 0; i < count; i++)
			if (kept[i] >= (int)from && (unsigned)kept[i] < next)
				next = (unsigned)kept[i];
		if (next > from && close_range(from, next == ~0U ? ~0U : next - 1, 0) < 0)
			return -1;
		if (next == ~0U)
			return 0;
		from = next + 1;
	}
}

int touch_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	close_fd(&fd);
	return 0;
}

int parse_open_fd(const char *text, int *fd)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < 0 || value > INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (fcntl((int)value, F_GETFD) < 0)
		return -1;
	*fd = (int)value;
	return 0;
}

static long long now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Read fd until EOF into a malloc'd, NUL-terminated string; more than
 * READ_UNTIL_EOF_MAX bytes is EMSGSIZE. With timeout_ms >= 0, give up after that
 * long (ETIMEDOUT). */
int read_until_eof(int fd, int timeout_ms, char **out)
{
	long long deadline = now_ms() + timeout_ms;
	char *buf = malloc(READ_UNTIL_EOF_MAX + 1);
	size_t len = 0;

	if (!buf)
		return -1;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		int ready = poll(&pfd, 1, timeout_ms < 0 ? -1 : left > 0 ? (int)left : 0);
		ssize_t n;

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0)
			errno = ETIMEDOUT;
		if (ready <= 0)
			break;
		if (len == READ_UNTIL_EOF_MAX) {
			errno = EMSGSIZE;
			break;
		}
		n = read(fd, buf + len, READ_UNTIL_EOF_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			buf[len] = '\0';
			*out = buf;
			return 0;
		}
		len += (size_t)n;
	}
	free(buf); /* keeps errno (glibc since 2.33, POSIX.1-2024) */
	return -1;
}

/* Connect fd to the unix socket at path. sun_path holds 108 bytes; a
 * longer path is reached as /proc/self/fd/N/NAME, N being an O_PATH fd of
 * its directory, which the kernel resolves like any other path (the shim
 * binds the same way, see io_attach_listen). */
int connect_unix(int fd, const char *path)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	const char *name = strrchr(path, '/');
	size_t len = strlen(path), dir_len;
	char directory[PATH_MAX];
	int dir_fd, result;

	if (len < sizeof(address.sun_path)) {
		memcpy(address.sun_path, path, len + 1);
		return connect(fd, (struct sockaddr *)&address, sizeof(address));
	}
	if (!name || name[1] == '\0' || len >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	dir_len = name == path ? 1 : (size_t)(name - path); /* "/name" is in "/" */
	memcpy(directory, path, dir_len);
	directory[dir_len] = '\0';
	dir_fd = open(directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -1;
	if (snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d/%s", dir_fd,
		     name + 1) >= (int)sizeof(address.sun_path)) {
		errno = ENAMETOOLONG;
		result = -1;
	} else {
		result = connect(fd, (struct sockaddr *)&address, sizeof(address));
	}
	close_fd(&dir_fd); /* connect has resolved the path: the fd may go */
	return result;
}
