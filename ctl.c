/* ctl.c: the control FIFO (step 5), through which a manager steers a
 * running container's stdio: "TYPE WIDTH HEIGHT" lines (HEIGHT first in
 * conmon's dialect) to close its stdin (0), resize its terminal (1) or
 * reopen its log (2), after docker's original containerd-shim. The FIFO
 * is one of the fds of io.c's struct container_io, read in the shim's
 * epoll loop like the others. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

int io_ctl_open(struct container_io *io, const char *path)
{
	struct dir_file *file = &io->ctl_file;
	struct stat existing;

	if (dir_file_open(file, path) < 0)
		return -1;
	/* A FIFO left by an earlier shim, or by anyone: replaced by our own.
	 * Anything else there is not ours to remove. */
	if (fstatat(file->dir_fd, file->name, &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISFIFO(existing.st_mode))
		unlinkat(file->dir_fd, file->name, 0);
	if (mkfifoat(file->dir_fd, file->name, 0600) < 0)
		return -1;
	/* Read-write: we hold a writer ourselves, so when the manager's
	 * writers come and go the FIFO never reports EOF (fifo(7)). Checked
	 * after opening, on the fd: what we hold is the FIFO we made (owned
	 * by us, 0600), not one swapped in after mkfifoat. */
	io->ctl_fd = openat(file->dir_fd, file->name, O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (io->ctl_fd < 0 && errno == ELOOP)
		errno = EEXIST;
	if (io->ctl_fd < 0)
		return -1;
	if (fstat(io->ctl_fd, &existing) < 0 || !S_ISFIFO(existing.st_mode) ||
	    existing.st_uid != geteuid() || (existing.st_mode & 077) != 0) {
		close_fd(&io->ctl_fd);
		errno = EEXIST;
		return -1;
	}
	io_watch(io, EPOLL_CTL_ADD, io->ctl_fd, EPOLLIN, WATCH_TAG(WATCH_CTL, io->ctl_fd));
	return 0;
}

int parse_ctl_line(const char *line, int *type, unsigned *width, unsigned *height)
{
	long values[3];
	const char *p = line;

	for (int i = 0; i < 3; i++) {
		char *end;
		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			goto invalid;
		errno = 0;
		values[i] = strtol(p, &end, 10);
		if (errno != 0 || values[i] > 65535)
			goto invalid;
		p = end;
	}
	while (*p == ' ' || *p == '\r')
		p++;
	if (*p != '\0' || values[0] > CTL_REOPEN_LOG)
		goto invalid;
	*type = (int)values[0];
	*width = (unsigned)values[1];
	*height = (unsigned)values[2];
	return 0;
invalid:
	errno = EINVAL;
	return -1;
}

/* A writer of garbage must not fill the disk with our warnings: at most
 * CTL_WARNINGS_PER_MINUTE a minute, then one line counting the rest. */
#define CTL_WARNINGS_PER_MINUTE 10

static void ctl_report_unwarned(struct container_io *io)
{
	if (io->ctl_unwarned > 0)
		log_warn(io->diag, "control FIFO %s: %lu more bad lines skipped without a warning",
			 io->ctl_file.path, io->ctl_unwarned);
	io->ctl_unwarned = 0;
}

static bool ctl_may_warn(struct container_io *io)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (io->ctl_warned == 0 || now.tv_sec - io->ctl_window_start.tv_sec >= 60) {
		ctl_report_unwarned(io);
		io->ctl_window_start = now;
		io->ctl_warned = 0;
	}
	if (io->ctl_warned < CTL_WARNINGS_PER_MINUTE) {
		io->ctl_warned++;
		return true;
	}
	io->ctl_unwarned++;
	return false;
}

#define ctl_warn(io, ...) do { if (ctl_may_warn(io)) log_warn((io)->diag, __VA_ARGS__); } while (0)

static void ctl_apply(struct container_io *io, const char *line)
{
	unsigned width, height;
	int type;

	if (parse_ctl_line(line, &type, &width, &height) < 0) {
		ctl_warn(io, "control FIFO %s: skipped malformed line \"%s\"; expected TYPE WIDTH HEIGHT",
			 io->ctl_file.path, line);
		return;
	}
	if (io->ctl_height_first) {
		unsigned first = width;
		width = height;
		height = first;
	}
	switch ((enum ctl_type)type) {
	case CTL_CLOSE_STDIN:
		io_stdin_end(io);
		break;
	case CTL_RESIZE:
		if (io->tty.fd < 0 && io->terminal) {
			io->size_pending = true;
			io->pending_width = (unsigned short)width;
			io->pending_height = (unsigned short)height;
		} else if (io->tty.fd < 0) {
			ctl_warn(io, "resize to %ux%u: the container has no terminal", width, height);
		} else {
			/* The kernel sends SIGWINCH to the pty's foreground group. */
			struct winsize size = { .ws_col = (unsigned short)width, .ws_row = (unsigned short)height };
			if (ioctl(io->tty.fd, TIOCSWINSZ, &size) < 0)
				log_warn(io->diag, "resize terminal to %ux%u: %m", width, height);
		}
		break;
	case CTL_REOPEN_LOG:
		if (io->log.fd < 0)
			ctl_warn(io, "reopen the container log: there is none");
		else if (log_writer_reopen(&io->log) < 0)
			log_error(io->diag, "reopen container log %s: %m", io->log.file.path);
		break;
	}
}

void io_ctl_readable(struct container_io *io)
{
	for (;;) {
		char *newline;
		ssize_t n = read(io->ctl_fd, io->ctl_line + io->ctl_len,
				 sizeof(io->ctl_line) - 1 - io->ctl_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* EAGAIN: all read (and we hold a writer: no EOF) */
			if (n < 0 && errno != EAGAIN)
				log_warn(io->diag, "read control FIFO %s: %m", io->ctl_file.path);
			return;
		}
		io->ctl_len += (size_t)n;
		/* memchr, not strchr: a NUL byte must not hide a newline. */
		while ((newline = memchr(io->ctl_line, '\n', io->ctl_len))) {
			size_t line_len = (size_t)(newline - io->ctl_line);
			*newline = '\0';
			if (io->ctl_skipping)
				io->ctl_skipping = false; /* the end of an over-long line */
			else if (memchr(io->ctl_line, '\0', line_len))
				ctl_warn(io, "control FIFO %s: skipped a line with a NUL byte",
					 io->ctl_file.path);
			else
				ctl_apply(io, io->ctl_line);
			io->ctl_len -= line_len + 1;
			memmove(io->ctl_line, newline + 1, io->ctl_len);
		}
		if (io->ctl_len == sizeof(io->ctl_line) - 1) {
			if (!io->ctl_skipping)
				ctl_warn(io, "control FIFO %s: line too long; skipped", io->ctl_file.path);
			io->ctl_skipping = true; /* until its newline */
			io->ctl_len = 0;
		}
	}
}

/* At the end: the FIFO goes, after one last word on the lines skipped
 * without a warning. */
void io_ctl_close(struct container_io *io)
{
	if (io->ctl_fd >= 0) {
		close_fd(&io->ctl_fd);
		ctl_report_unwarned(io);
		if (unlinkat(io->ctl_file.dir_fd, io->ctl_file.name, 0) < 0)
			log_warn(io->diag, "remove control FIFO %s: %m", io->ctl_file.path);
	}
	dir_file_close(&io->ctl_file);
}
