/* shimctl-attach.c: shimctl attach and shimctl resize, the manager's side
 * of a running container's stdio and terminal (step 5).
 *
 * attach connects to the shim's attach socket and copies our stdin to the
 * container and its output back (docs/attach.md). When the container has
 * a terminal and so do we, it is a terminal client: our terminal in raw
 * mode, SIGWINCH read from a signalfd and passed on as a resize, docker's
 * detach keys. resize writes one line to the shim's control FIFO
 * (docs/terminal.md). Read it beside io.c, the shim's side of both.
 *
 * It uses what shimctl.h declares (fail, the state directory, waiting for
 * the exit file); the other commands are in shimctl.c and
 * shimctl-create.c. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "shimctl.h"
#include "util.h"

/* The attach protocol (docs/attach.md): one stream-id byte, then at most
 * 32 KiB of data, one frame per SOCK_SEQPACKET packet. */
#define FRAME_DATA_MAX (32 * 1024)
#define ATTACH_INPUT_MAX (32 * 1024) /* one read of our stdin, one packet */
#define ATTACH_EXIT_WAIT_MS 5000     /* for the exit file, once the shim hangs up */
#define DETACH_KEYS_MAX 16

/* ---- attach and resize ----
 * Both talk to the shim, not to runc: attach to its attach socket
 * (--container-attachfile, SOCK_SEQPACKET), resize to its control FIFO
 * (--container-ctlfile). docs/attach.md and docs/terminal.md. */

/* Detach keys, as docker has them: a short byte sequence that, typed on a
 * terminal, ends the attach and leaves the container running. */
struct detach_keys {
	unsigned char keys[DETACH_KEYS_MAX];
	size_t len;     /* 0: detaching is off */
	size_t matched; /* keys[0, matched) have been typed and are held back */
};

/* Parse docker's --detach-keys syntax: comma-separated keys, each a single
 * character, "ctrl-X" with X one of a-z @ [ \ ] ^ _, or "DEL". "" turns
 * detaching off, as in podman. Returns -1 with errno EINVAL. */
static int detach_keys_parse(const char *text, struct detach_keys *detach)
{
	/* ctrl-@ is byte 0, ctrl-a 1, ..., ctrl-z 26, ctrl-[ 27, ..., ctrl-_ 31. */
	static const char ctrl_names[] = "@abcdefghijklmnopqrstuvwxyz[\\]^_";
	const char *key = text;

	detach->len = detach->matched = 0;
	if (text[0] == '\0')
		return 0;
	for (;;) {
		const char *comma = strchr(key, ',');
		size_t len = comma ? (size_t)(comma - key) : strlen(key);
		const char *ctrl;

		if (detach->len == DETACH_KEYS_MAX)
			goto invalid;
		if (len == 1)
			detach->keys[detach->len++] = (unsigned char)key[0];
		else if (len == 6 && strncmp(key, "ctrl-", 5) == 0 &&
			 (ctrl = strchr(ctrl_names, key[5])) != NULL)
			detach->keys[detach->len++] = (unsigned char)(ctrl - ctrl_names);
		else if (len == 3 && strncmp(key, "DEL", 3) == 0)
			detach->keys[detach->len++] = 127;
		else
			goto invalid;
		if (!comma)
			return 0;
		key = comma + 1;
	}
invalid:
	errno = EINVAL;
	return -1;
}

/* Pass n bytes typed on the terminal through the detach-key matcher: the
 * bytes for the container are put in out (room for n + DETACH_KEYS_MAX)
 * and counted in *out_len. Bytes that may start the sequence are held
 * back. When the sequence breaks, the held bytes and the breaking one are
 * let go, all but their longest tail that may still start it (so with
 * ctrl-p,ctrl-q, typing ctrl-p ctrl-p ctrl-q sends one ctrl-p, then
 * detaches). Returns true once the whole sequence is typed; the bytes
 * after it are dropped. Pure: no I/O, only *detach changes. */
static bool detach_keys_feed(struct detach_keys *detach, const unsigned char *in, size_t n,
			     unsigned char *out, size_t *out_len)
{
	*out_len = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char typed[DETACH_KEYS_MAX];
		size_t typed_len, keep;

		if (detach->len == 0) {
			out[(*out_len)++] = in[i];
			continue;
		}
		if (in[i] == detach->keys[detach->matched]) {
			if (++detach->matched == detach->len) {
				detach->matched = 0;
				return true;
			}
			continue;
		}
		/* The held bytes are keys[0, matched); matched < len, so
		 * they and in[i] fit in typed. */
		memcpy(typed, detach->keys, detach->matched);
		typed[detach->matched] = in[i];
		typed_len = detach->matched + 1;
		/* All of typed is not a start of the sequence (in[i] broke
		 * it); find the longest tail that is. */
		keep = typed_len - 1;
		while (keep > 0 && memcmp(typed + typed_len - keep, detach->keys, keep) != 0)
			keep--;
		memcpy(out + *out_len, typed, typed_len - keep);
		*out_len += typed_len - keep;
		detach->matched = keep;
	}
	return false;
}

/* Let go of the held bytes (at the end of input): they go to out, which
 * has room for DETACH_KEYS_MAX; returns how many. */
static size_t detach_keys_release(struct detach_keys *detach, unsigned char *out)
{
	size_t len = detach->matched;

	memcpy(out, detach->keys, len);
	detach->matched = 0;
	return len;
}

/* Write one "1 COLS ROWS" line to the shim's control FIFO. Opened anew
 * each time and non-blocking: with nobody reading (the shim is gone) open
 * fails with ENXIO instead of hanging (fifo(7)); a line this short is
 * written whole (PIPE_BUF). */
static int write_resize_line(const struct container *c, unsigned cols, unsigned rows)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "1 %u %u\n", cols, rows);
	int fd = open(c->ctl_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write_all(fd, line, (size_t)len) < 0) {
		close_fd(&fd);
		return -1;
	}
	return close(fd);
}

/* How an attach session goes: on, or why it ended. */
enum attach_end {
	ATTACH_ONGOING,  /* not over yet */
	ATTACH_CLOSED,   /* the shim closed the connection */
	ATTACH_DETACHED, /* the detach keys were typed */
	ATTACH_SIGNALED, /* SIGINT, SIGTERM, SIGHUP or SIGQUIT */
	ATTACH_FAILED,   /* failed: what and error say why */
};

/* One attach session: the connection, our stdin and, when both ends are
 * terminals, our terminal and the signals that concern it. */
struct attach {
	const struct container *c;
	int sock;            /* SOCK_SEQPACKET, connected to the shim's socket */
	int signal_fd;       /* terminal mode only; -1 otherwise */
	bool raw;            /* fd 0 is in raw mode; saved_termios undoes it */
	struct termios saved_termios;
	bool signals_blocked;
	sigset_t saved_mask;
	struct detach_keys detach; /* terminal mode only; off otherwise */
	/* Read from stdin, waiting for room in the socket: one packet. */
	unsigned char input[ATTACH_INPUT_MAX + DETACH_KEYS_MAX];
	char frame[FRAME_DATA_MAX + 1]; /* one frame per recv, always */
	size_t input_len;
	bool stdin_done;     /* EOF on stdin, or the shim takes no more input */
	bool write_shut;     /* our write side is shut down */
	bool warned_stream;  /* said once that a frame named an unknown stream */
	bool warned_resize;  /* said once that resizing failed */
	int end_signal;      /* ATTACH_SIGNALED: which */
	const char *what;    /* ATTACH_FAILED: the operation, e.g. "read stdin" */
	int error;           /* ATTACH_FAILED: its errno */
};

/* Record a failure to report once the terminal is back to normal (a
 * message in raw mode would come out as a staircase). */
static enum attach_end attach_failed(struct attach *a, const char *what)
{
	a->what = what;
	a->error = errno;
	return ATTACH_FAILED;
}

/* A warning in mid-session: in raw mode, "\n" no longer returns the
 * carriage (cfmakeraw turns off OPOST), so end the line with "\r\n". */
static void attach_warn(const struct attach *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void attach_warn(const struct attach *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shimctl: attach %s: ", a->c->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(a->raw ? "\r\n" : "\n", stderr);
}

/* Leave terminal mode, on every way out: the terminal as it was, then the
 * signals. A SIGPIPE that a failed write left pending is dropped first,
 * so that the failure ends in its message and status 1, not in death by
 * SIGPIPE. Any other signal still pending is delivered on unblocking;
 * the terminal is already fine by then. Safe to call more than once. */
static void attach_end_terminal(struct attach *a)
{
	static const struct timespec no_wait = { 0, 0 };
	sigset_t pipe_only;

	if (a->raw && tcsetattr(STDIN_FILENO, TCSANOW, &a->saved_termios) < 0)
		fail(0, "attach %s: restore the terminal: %m", a->c->id);
	a->raw = false;
	close_fd(&a->signal_fd);
	if (!a->signals_blocked)
		return;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	while (sigtimedwait(&pipe_only, NULL, &no_wait) == SIGPIPE)
		;
	sigprocmask(SIG_SETMASK, &a->saved_mask, NULL);
	a->signals_blocked = false;
}

/* Tell the shim our terminal's size, as it is now. Failing is worth a
 * warning, not the end of the session. */
static void attach_send_size(struct attach *a)
{
	struct winsize size;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &size) < 0) {
		if (!a->warned_resize)
			attach_warn(a, "get the terminal size: %s", strerror(errno));
		a->warned_resize = true;
		return;
	}
	if (size.ws_col == 0 && size.ws_row == 0)
		return; /* a terminal that does not know its size, as docker skips */
	if (write_resize_line(a->c, size.ws_col, size.ws_row) < 0) {
		if (!a->warned_resize)
			attach_warn(a, "resize through %s: %s", a->c->ctl_path, strerror(errno));
		a->warned_resize = true;
	}
}

/* Terminal mode: block the signals we handle and read them from a
 * signalfd, then put our terminal in raw mode, so that every key (ctrl-c,
 * ctrl-z, ctrl-d too) goes to the container's terminal, which does the
 * line editing and the echo. */
static enum attach_end attach_terminal_setup(struct attach *a)
{
	struct termios raw;
	sigset_t handled;

	sigemptyset(&handled);
	sigaddset(&handled, SIGWINCH);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGHUP);
	sigaddset(&handled, SIGQUIT);
	/* Also SIGPIPE: a closed stdout must be an EPIPE we report after
	 * restoring the terminal, not a death that leaves it raw. */
	sigaddset(&handled, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &handled, &a->saved_mask) < 0)
		return attach_failed(a, "block signals");
	a->signals_blocked = true;
	a->signal_fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
	if (a->signal_fd < 0)
		return attach_failed(a, "signalfd");

	if (tcgetattr(STDIN_FILENO, &a->saved_termios) < 0)
		return attach_failed(a, "get the terminal's settings");
	raw = a->saved_termios;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return attach_failed(a, "put the terminal in raw mode");
	a->raw = true;
	attach_send_size(a);
	return ATTACH_ONGOING;
}

/* Signals, in terminal mode. Returns ATTACH_SIGNALED for one that ends
 * the session. */
static enum attach_end attach_read_signals(struct attach *a)
{
	struct signalfd_siginfo info;

	for (;;) {
		ssize_t n = read(a->signal_fd, &info, sizeof(info));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return ATTACH_ONGOING;
		if (n != (ssize_t)sizeof(info))
			return attach_failed(a, "read signalfd");
		switch (info.ssi_signo) {
		case SIGWINCH:
			attach_send_size(a);
			break;
		case SIGPIPE:
			break; /* the write itself fails with EPIPE */
		default:
			a->end_signal = (int)info.ssi_signo;
			return ATTACH_SIGNALED;
		}
	}
}

/* Once stdin is done and all it gave is sent, tell the shim so: it then
 * closes the container's stdin if the container has --stdin-once. */
static void attach_shut_input(struct attach *a)
{
	if (!a->stdin_done || a->input_len > 0 || a->write_shut)
		return;
	/* ENOTCONN: the shim is gone already; recv will say so. */
	shutdown(a->sock, SHUT_WR);
	a->write_shut = true;
}

/* Send the pending input as one packet, without blocking: when the
 * container does not read its stdin, the shim stops reading us, and we
 * must keep receiving its output meanwhile (else it drops us at 4 MiB). */
static enum attach_end attach_send(struct attach *a)
{
	ssize_t n = send(a->sock, a->input, a->input_len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return ATTACH_ONGOING;
	if (n < 0 && errno != EPIPE && errno != ECONNRESET)
		return attach_failed(a, "send to the shim");
	/* Sent (a SOCK_SEQPACKET send is all or nothing), or the shim takes
	 * no more input, though its output may still come. */
	if (n < 0)
		a->stdin_done = a->write_shut = true;
	a->input_len = 0;
	attach_shut_input(a);
	return ATTACH_ONGOING;
}

/* Read what stdin has (poll said so), through the detach-key matcher
 * (which passes everything when detaching is off). */
static enum attach_end attach_read_stdin(struct attach *a)
{
	unsigned char buf[ATTACH_INPUT_MAX];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return ATTACH_ONGOING;
	if (n < 0)
		return attach_failed(a, "read stdin");
	if (n == 0) {
		a->input_len = detach_keys_release(&a->detach, a->input);
		a->stdin_done = true;
	} else if (detach_keys_feed(&a->detach, buf, (size_t)n, a->input, &a->input_len)) {
		/* What came before the keys in the same read: one try. */
		if (a->input_len > 0 && attach_send(a) == ATTACH_FAILED)
			return ATTACH_FAILED;
		return ATTACH_DETACHED;
	}
	if (a->input_len > 0)
		return attach_send(a);
	attach_shut_input(a);
	return ATTACH_ONGOING;
}

/* Take what the shim sent. Each packet is one frame: a stream byte (1
 * stdout, 2 stderr), then the data. */
static enum attach_end attach_receive(struct attach *a)
{
	char *frame = a->frame;

	/* A bounded number per wake-up, so stdin and signals get their turn. */
	for (int round = 0; round < 16; round++) {
		ssize_t n = recv(a->sock, frame, FRAME_DATA_MAX + 1, MSG_DONTWAIT);
		int fd;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return ATTACH_ONGOING;
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return ATTACH_CLOSED;
		if (n < 0)
			return attach_failed(a, "receive from the shim");
		if (frame[0] == 1) {
			fd = STDOUT_FILENO;
		} else if (frame[0] == 2) {
			fd = STDERR_FILENO;
		} else {
			if (!a->warned_stream)
				attach_warn(a, "ignoring output for unknown stream %d",
					    (unsigned char)frame[0]);
			a->warned_stream = true;
			continue;
		}
		if (write_all(fd, frame + 1, (size_t)n - 1) < 0)
			return attach_failed(a, fd == STDOUT_FILENO ? "write stdout" : "write stderr");
	}
	return ATTACH_ONGOING;
}

/* The session: one poll loop over the socket, stdin and the signalfd,
 * until the shim hangs up, the detach keys, a signal or a failure. */
static enum attach_end attach_loop(struct attach *a)
{
	enum attach_end end;

	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = a->sock, .events = POLLIN | (a->input_len > 0 ? POLLOUT : 0) },
			/* Read stdin only when the last read is sent: the socket's
			 * back-pressure reaches whoever writes to us. */
			{ .fd = !a->stdin_done && a->input_len == 0 ? STDIN_FILENO : -1,
			  .events = POLLIN },
			{ .fd = a->signal_fd, .events = POLLIN }, /* -1: ignored */
		};

		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return attach_failed(a, "poll");
		}
		if (fds[2].revents) {
			end = attach_read_signals(a);
			if (end != ATTACH_ONGOING)
				return end;
		}
		/* Output before hang-up: the last frames come with it. */
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			end = attach_receive(a);
			if (end != ATTACH_ONGOING)
				return end;
		}
		if ((fds[0].revents & POLLOUT) && a->input_len > 0) {
			end = attach_send(a);
			if (end != ATTACH_ONGOING)
				return end;
		}
		/* POLLHUP: a pipe's writer is gone, maybe with data left;
		 * POLLNVAL: no stdin at all. read says which: data, 0 or EBADF. */
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			end = attach_read_stdin(a);
			if (end != ATTACH_ONGOING)
				return end;
		} else if (fds[1].revents & POLLNVAL) {
			a->stdin_done = true;
			attach_shut_input(a);
		}
	}
}

/* The session on a connected attach socket (ours to close): copy our
 * stdin to the process's, its stdout and stderr to ours, until the shim
 * hangs up; then the process's exit status, once its exit file says how.
 * When it has a terminal and so do we, our terminal goes raw and follows
 * the size of ours; the detach keys (already checked) leave it running.
 * Shared by attach and exec: c is the container, or exec's session. */
int attach_connected(const struct container *c, const char *operation, int sock, bool terminal,
		     const char *keys)
{
	char exit_text[1024];
	struct detach_keys detach;
	struct attach *a;
	enum attach_end end;
	int status = 1;

	a = calloc(1, sizeof(*a)); /* 64 KiB of buffers: not on the stack */
	if (!a) {
		close_fd(&sock);
		return fail(1, "%s %s: out of memory", operation, c->id);
	}
	a->c = c;
	a->sock = sock;
	a->signal_fd = -1;

	/* Raw mode only when both ends are terminals: the process's and
	 * ours. Otherwise the bytes are copied as they are. */
	end = ATTACH_ONGOING;
	if (terminal && isatty(STDIN_FILENO) && detach_keys_parse(keys, &detach) == 0) {
		a->detach = detach; /* calloc left detaching off */
		end = attach_terminal_setup(a);
	}
	if (end == ATTACH_ONGOING)
		end = attach_loop(a);
	/* Every way out of the session goes through here: the terminal first. */
	attach_end_terminal(a);

	switch (end) {
	case ATTACH_FAILED:
		errno = a->error;
		fail(1, "%s %s: %s: %m", operation, c->id, a->what);
		goto out;
	case ATTACH_SIGNALED:
		status = 128 + a->end_signal; /* as if the signal had killed us */
		goto out;
	case ATTACH_DETACHED:
		fprintf(stderr, "\ndetached from %s\n", c->id);
		status = 0;
		goto out;
	case ATTACH_ONGOING: /* not returned by attach_loop */
	case ATTACH_CLOSED:
		break;
	}

	/* The shim closes its clients after writing the exit file, so it is
	 * normally there already. If it does not come, the shim dropped us
	 * (a client too far behind) and the process runs on. */
	close_fd(&a->sock);
	switch (wait_for_exit(c, ATTACH_EXIT_WAIT_MS)) {
	case CONTAINER_EXITED:
		status = exit_file_status(c, operation, exit_text, sizeof(exit_text));
		if (status < 0)
			status = 1;
		break;
	case CONTAINER_RUNNING:
		fail(0, "%s %s: the shim closed the connection; the process is still "
			"running (see %s)",
		     operation, c->id, c->shim_log_path);
		status = 0;
		break;
	case CONTAINER_LOST:
		fail_lost(c, operation);
		break;
	}
out:
	attach_end_terminal(a);
	close_fd(&a->sock);
	free(a);
	return status;
}

/* Detach keys as given, checked: 0, or the usage error's exit status. */
int check_detach_keys(const char *operation, const char *id, const char *keys)
{
	struct detach_keys detach;

	if (detach_keys_parse(keys, &detach) < 0)
		return fail(2, "%s %s: --detach-keys %s: use comma-separated keys, each "
			       "one character, ctrl-X (X in a-z @ [ \\ ] ^ _) or DEL, "
			       "e.g. ctrl-p,ctrl-q",
			    operation, id, keys);
	return 0;
}

/* Connect a SOCK_SEQPACKET socket to the shim's attach socket at path:
 * the socket, or -1 after saying why. */
int attach_socket_connect(const struct container *c, const char *operation, const char *path)
{
	int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (sock < 0)
		return fail(-1, "%s %s: socket: %m", operation, c->id);
	/* The shim removes its socket when it exits; a shim that died
	 * leaves one that refuses. */
	if (connect_unix(sock, path) < 0) {
		fail_unreachable(c, operation, "connect to", path);
		close_fd(&sock);
		return -1;
	}
	return sock;
}

/* shimctl attach [--detach-keys KEYS] ID: attach_connected, on the
 * container's attach socket; then exit as the container did. */
int cmd_attach(int argc, char **argv)
{
	const char *id = NULL, *keys = DEFAULT_DETACH_KEYS;
	char socket_path[PATH_MAX];
	struct container c;
	int status, sock;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--detach-keys") == 0 && i + 1 < argc)
			keys = argv[++i];
		else if (strncmp(argv[i], "--detach-keys=", 14) == 0)
			keys = argv[i] + 14;
		else if (argv[i][0] == '-' || id)
			return fail(2, "attach: unexpected argument %s; "
				       "usage: shimctl attach [--detach-keys KEYS] ID",
				    argv[i]);
		else
			id = argv[i];
	}
	if (!id)
		return fail(2, "attach: usage: shimctl attach [--detach-keys KEYS] ID");
	status = check_detach_keys("attach", id, keys);
	if (status != 0)
		return status;
	status = open_container(&c, "attach", id, true);
	if (status != 0)
		return status;
	if (read_attach_record(&c, socket_path) < 0) {
		if (errno == ENOENT)
			return fail(1, "attach %s: no attach socket recorded in %s "
				       "(created by an older shimctl?)",
				    id, c.attach_path);
		return fail(1, "attach %s: read %s: %m", id, c.attach_path);
	}
	sock = attach_socket_connect(&c, "attach", socket_path);
	if (sock < 0)
		return 1;
	return attach_connected(&c, "attach", sock, access(c.tty_path, F_OK) == 0, keys);
}

/* A terminal dimension for resize: 1 to 65535, digits only. (Too many
 * digits make strtoul return ULONG_MAX, which is out of range too.) */
static bool parse_dimension(const char *text, unsigned *value)
{
	char *end;
	unsigned long number = strtoul(text, &end, 10);

	*value = (unsigned)number;
	return isdigit((unsigned char)text[0]) && *end == '\0' && number >= 1 && number <= 65535;
}

/* shimctl resize ID COLS ROWS: set the size of a --tty container's
 * terminal; the kernel sends SIGWINCH to its foreground process group. */
int cmd_resize(int argc, char **argv)
{
	unsigned cols, rows;
	struct container c;
	int status;

	if (argc != 3)
		return fail(2, "resize: usage: shimctl resize ID COLS ROWS");
	status = open_container(&c, "resize", argv[0], true);
	if (status != 0)
		return status;
	if (!parse_dimension(argv[1], &cols) || !parse_dimension(argv[2], &rows))
		return fail(2, "resize %s: COLS %s and ROWS %s must be numbers from 1 to 65535",
			    c.id, argv[1], argv[2]);
	if (access(c.tty_path, F_OK) < 0)
		return fail(1, "resize %s: container %s has no terminal (created without --tty)",
			    c.id, c.id);
	/* The shim removes the FIFO when it exits (ENOENT); one that died
	 * leaves a FIFO nobody reads (ENXIO). */
	if (write_resize_line(&c, cols, rows) < 0)
		return fail_unreachable(&c, "resize", "write", c.ctl_path);
	return 0;
}
