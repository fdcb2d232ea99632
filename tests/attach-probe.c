/* attach-probe.c: a small attach client for the integration tests
 * (tests/attach.sh, tests/logging.sh). It speaks the raw protocol of
 * docs/attach.md (shim to client: frames of one stream-id byte, 1 stdout or
 * 2 stderr, then at most 32 KiB of data; client to shim: raw stdin bytes),
 * and decodes k8s-file logs back into bytes.
 *
 *   attach-probe [OPTION...] SOCKET_PATH
 *     --seqpacket      the socket is SOCK_SEQPACKET (--attach-seqpacket):
 *                      each recv is exactly one frame
 *     --conman         stream socket, read as conman reads it: each read()
 *                      of at most 32 KiB + 1 bytes is taken as one frame
 *     (neither)        stream socket, demultiplexed by marker: every byte 1
 *                      or 2 starts a frame of that stream. Sound only when
 *                      the container's output never holds bytes 1 and 2; a
 *                      stream socket keeps no frame boundaries, so nothing
 *                      else can be.
 *     --empty-first    send one empty packet before anything else
 *     --send FILE      send FILE's bytes, in writes of at most 64 KiB (on a
 *                      seqpacket socket, a packet each), while receiving;
 *                      then shut down the write side. A FIFO works: sending
 *                      waits for its writer.
 *     --chat FILE      send FILE one line at a time, each after the reply to
 *                      the one before (a frame ending in a newline), then
 *                      shut down the write side; with --seqpacket or --conman
 *     (neither)        send nothing and keep the write side open
 *     --out FILE       stdout payloads go here (default: discarded)
 *     --err FILE       stderr payloads go here (default: discarded)
 *     --expect-bytes N stop once N payload bytes (both streams) have come
 *     --uid N          become uid/gid N before connecting, connecting through
 *                      an O_PATH fd of the socket's directory opened before
 *                      (so only the socket's own mode can deny us)
 *     --no-read        connect, then never read: sleep until killed
 *     --timeout S      give up after S seconds (default 60; 0: never)
 *   A SOCKET_PATH of 108 bytes or more (sun_path's size) is reached as
 *   /proc/self/fd/N/NAME, N an O_PATH fd of its directory.
 *   At the end, one line on stdout: "frames F stdout S stderr E".
 *
 *   attach-probe --decode-cri LOG STREAM
 *     writes the exact bytes STREAM (stdout or stderr) carried, decoded from
 *     the k8s-file log LOG: P records joined, an F record's content followed
 *     by "\n". Content may hold any byte but "\n", NUL included. Any line
 *     that is not a well-formed record is an error.
 *
 * Exit status:
 *   0  done: the shim closed the connection after sending data, or
 *      --expect-bytes were received; for --decode-cri, decoded
 *   1  an error (said on stderr): a system call failed, the connection
 *      ended before --expect-bytes, a malformed log
 *   2  usage error
 *   3  refused: the shim closed the connection without sending a byte
 *      ("refused" on stdout)
 *   4  connect failed with EACCES: the socket's mode kept us out
 *   5  protocol error: an unknown stream id, an empty or oversized frame
 *   6  --timeout passed
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FRAME_DATA_MAX (32 * 1024)
#define SEND_CHUNK (64 * 1024)

enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_REFUSED = 3,
	EXIT_DENIED = 4,
	EXIT_PROTOCOL = 5,
	EXIT_TIMEOUT = 6,
};

enum read_mode { MODE_MARKERS, MODE_SEQPACKET, MODE_CONMAN };

struct probe {
	enum read_mode mode;
	int sock;
	int out_fd, err_fd;
	/* totals */
	unsigned long long frames, out_bytes, err_bytes;
	unsigned long long expect_bytes; /* 0: until EOF */
	unsigned long long newlines;     /* in payloads, for --chat */
	/* MODE_MARKERS: the frame being read */
	int current_stream;
	size_t current_len;
};

static _Noreturn void die(int status, const char *what)
{
	fprintf(stderr, "attach-probe: %s: %s\n", what, strerror(errno));
	exit(status);
}

static _Noreturn void protocol_error(const char *what)
{
	fprintf(stderr, "attach-probe: protocol error: %s\n", what);
	exit(EXIT_PROTOCOL);
}

static void on_alarm(int signo)
{
	(void)signo;
	static const char message[] = "attach-probe: timed out\n";
	if (write(STDERR_FILENO, message, sizeof(message) - 1) < 0) {
		/* nothing more to do */
	}
	_exit(EXIT_TIMEOUT);
}

static void write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(EXIT_ERROR, "write output");
		data += n;
		len -= (size_t)n;
	}
}

static void payload(struct probe *probe, int stream, const char *data, size_t len)
{
	if (stream == 1) {
		probe->out_bytes += len;
		if (probe->out_fd >= 0)
			write_all(probe->out_fd, data, len);
	} else if (stream == 2) {
		probe->err_bytes += len;
		if (probe->err_fd >= 0)
			write_all(probe->err_fd, data, len);
	} else {
		protocol_error("frame with an unknown stream id");
	}
	for (size_t i = 0; i < len; i++)
		probe->newlines += data[i] == '\n';
}

/* One whole frame (seqpacket, conman). */
static void frame(struct probe *probe, const char *buf, size_t len)
{
	if (len < 2)
		protocol_error("frame without data");
	probe->frames++;
	payload(probe, (unsigned char)buf[0], buf + 1, len - 1);
}

/* Stream bytes in marker mode: 1 and 2 start frames, the rest is data. */
static void marked_bytes(struct probe *probe, const char *buf, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && buf[i] != 1 && buf[i] != 2)
			continue;
		if (i > start) {
			if (probe->current_stream == 0)
				protocol_error("data before the first stream id");
			probe->current_len += i - start;
			if (probe->current_len > FRAME_DATA_MAX)
				protocol_error("a frame longer than 32 KiB");
			payload(probe, probe->current_stream, buf + start, i - start);
		}
		if (i == len)
			break;
		if (probe->current_stream != 0 && probe->current_len == 0)
			protocol_error("frame without data");
		probe->current_stream = buf[i];
		probe->current_len = 0;
		probe->frames++;
		start = i + 1;
	}
}

/* Receive once. Returns false at EOF (or a reset connection). */
static bool receive(struct probe *probe)
{
	static char buf[FRAME_DATA_MAX + 2];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr message = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	switch (probe->mode) {
	case MODE_SEQPACKET:
		/* One byte more than a frame may be, and MSG_TRUNC: an
		 * oversized packet is seen, not cut. */
		n = recvmsg(probe->sock, &message, 0);
		if (n > 0 && ((message.msg_flags & MSG_TRUNC) || n > FRAME_DATA_MAX + 1))
			protocol_error("a frame longer than 32 KiB");
		break;
	case MODE_CONMAN:
		n = read(probe->sock, buf, FRAME_DATA_MAX + 1); /* conman's buffer */
		break;
	default:
		n = read(probe->sock, buf, sizeof(buf));
		break;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n < 0 && errno == ECONNRESET)
		return false;
	if (n < 0)
		die(EXIT_ERROR, "receive");
	if (n == 0)
		return false;
	if (probe->mode == MODE_MARKERS)
		marked_bytes(probe, buf, (size_t)n);
	else
		frame(probe, buf, (size_t)n);
	return true;
}

static bool received_enough(const struct probe *probe)
{
	return probe->expect_bytes > 0 &&
	       probe->out_bytes + probe->err_bytes >= probe->expect_bytes;
}

/* Connect to path; a path too long for sun_path, or any path with
 * through_dir, through an O_PATH fd of its directory. With uid >= 0, that
 * fd is opened first, then we become uid, then connect. */
static int attach_connect(const char *path, int type, long uid)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	char *dir_copy = strdup(path), *name_copy = strdup(path);
	int fd, dir_fd = -1;

	if (!dir_copy || !name_copy)
		die(EXIT_ERROR, "strdup");
	if (uid >= 0 || strlen(path) >= sizeof(address.sun_path)) {
		dir_fd = open(dirname(dir_copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir_fd < 0)
			die(EXIT_ERROR, "open the socket's directory");
		snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d/%s", dir_fd,
			 basename(name_copy));
	} else {
		snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	}
	if (uid >= 0) {
		if (setgroups(0, NULL) < 0 || setgid((gid_t)uid) < 0 || setuid((uid_t)uid) < 0)
			die(EXIT_ERROR, "become the given uid");
	}
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(EXIT_ERROR, "socket");
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		if (errno == EACCES) {
			printf("denied\n");
			exit(EXIT_DENIED);
		}
		die(EXIT_ERROR, "connect");
	}
	if (dir_fd >= 0)
		close(dir_fd);
	free(dir_copy);
	free(name_copy);
	return fd;
}

static int open_output(const char *path)
{
	int fd;

	if (!path)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(EXIT_ERROR, path);
	return fd;
}

/* --chat: each line, then wait for a frame that ends a line. Blocking:
 * the lines are short and the replies small. */
static void chat(struct probe *probe, const char *path)
{
	FILE *lines = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (!lines)
		die(EXIT_ERROR, path);
	while ((len = getline(&line, &cap, lines)) > 0) {
		unsigned long long before = probe->newlines;
		write_all(probe->sock, line, (size_t)len);
		while (probe->newlines == before) {
			if (!receive(probe)) {
				fprintf(stderr, "attach-probe: connection closed while waiting for a reply\n");
				exit(EXIT_ERROR);
			}
		}
	}
	free(line);
	fclose(lines);
	if (shutdown(probe->sock, SHUT_WR) < 0)
		die(EXIT_ERROR, "shutdown");
}

/* --send (send_fd >= 0) or nothing to send: send while receiving,
 * until EOF. */
static void pump(struct probe *probe, int send_fd)
{
	static char pending[SEND_CHUNK];
	size_t start = 0, end = 0;

	if (fcntl(probe->sock, F_SETFL, O_NONBLOCK) < 0)
		die(EXIT_ERROR, "fcntl");
	for (;;) {
		struct pollfd fds[2] = { { .fd = probe->sock, .events = POLLIN },
					 { .fd = -1, .events = POLLIN } };

		if (end > start)
			fds[0].events |= POLLOUT;
		else if (send_fd >= 0)
			fds[1].fd = send_fd;
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(EXIT_ERROR, "poll");
		}
		if (fds[1].revents) {
			ssize_t n = read(send_fd, pending, sizeof(pending));
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				die(EXIT_ERROR, "read the file to send");
			if (n > 0) {
				start = 0;
				end = (size_t)n;
			} else if (n == 0) {
				close(send_fd);
				send_fd = -1;
				if (shutdown(probe->sock, SHUT_WR) < 0 && errno != ENOTCONN)
					die(EXIT_ERROR, "shutdown");
			}
		}
		if ((fds[0].revents & POLLOUT) && end > start) {
			ssize_t n = send(probe->sock, pending + start, end - start, MSG_NOSIGNAL);
			if (n > 0) {
				start += (size_t)n;
			} else if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
				/* The shim closed us: stop sending, read the rest. */
				start = end = 0;
				if (send_fd >= 0)
					close(send_fd);
				send_fd = -1;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				die(EXIT_ERROR, "send");
			}
		}
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (!receive(probe))
				return;
			if (received_enough(probe))
				return;
		}
	}
}

/* ---- --decode-cri ------------------------------------------------------ */

/* "2026-11-22T04:09:41.473641854Z stdout F " */
#define CRI_TIME_LEN 30
#define CRI_PREFIX_LEN (CRI_TIME_LEN + 10)

static bool cri_time_ok(const char *t)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";

	for (int i = 0; i < CRI_TIME_LEN; i++) {
		if (pattern[i] == 'd' ? (t[i] < '0' || t[i] > '9') : t[i] != pattern[i])
			return false;
	}
	return true;
}

static int decode_cri(const char *path, const char *stream)
{
	FILE *log = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long long number = 0;

	if (!log)
		die(EXIT_ERROR, path);
	if (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0) {
		fprintf(stderr, "attach-probe: --decode-cri: STREAM is stdout or stderr\n");
		return EXIT_USAGE;
	}
	while ((len = getdelim(&line, &cap, '\n', log)) > 0) {
		number++;
		if (line[len - 1] != '\n' || len < CRI_PREFIX_LEN + 1 || !cri_time_ok(line) ||
		    line[CRI_TIME_LEN] != ' ' ||
		    (memcmp(line + CRI_TIME_LEN + 1, "stdout ", 7) != 0 &&
		     memcmp(line + CRI_TIME_LEN + 1, "stderr ", 7) != 0) ||
		    (line[CRI_PREFIX_LEN - 2] != 'P' && line[CRI_PREFIX_LEN - 2] != 'F') ||
		    line[CRI_PREFIX_LEN - 1] != ' ') {
			fprintf(stderr, "attach-probe: %s: line %llu is not a k8s-file record\n", path,
				number);
			return EXIT_ERROR;
		}
		if (memcmp(line + CRI_TIME_LEN + 1, stream, 6) != 0)
			continue;
		/* F: the content and its newline; P: the content alone. */
		if (line[CRI_PREFIX_LEN - 2] == 'F')
			write_all(STDOUT_FILENO, line + CRI_PREFIX_LEN, (size_t)len - CRI_PREFIX_LEN);
		else
			write_all(STDOUT_FILENO, line + CRI_PREFIX_LEN, (size_t)len - CRI_PREFIX_LEN - 1);
	}
	if (ferror(log))
		die(EXIT_ERROR, path);
	free(line);
	if (log != stdin)
		fclose(log);
	return EXIT_OK;
}

/* ---- main -------------------------------------------------------------- */

static _Noreturn void usage(void)
{
	fprintf(stderr,
		"usage: attach-probe [--seqpacket|--conman] [--uid N] [--no-read] [--empty-first] [--send FILE|--chat FILE]\n"
		"                    [--out FILE] [--err FILE] [--expect-bytes N] [--timeout S] SOCKET_PATH\n"
		"       attach-probe --decode-cri LOG STREAM\n");
	exit(EXIT_USAGE);
}

static unsigned long long number_arg(const char *text)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0')
		usage();
	return value;
}

int main(int argc, char **argv)
{
	struct probe probe = { .out_fd = -1, .err_fd = -1 };
	const char *send_path = NULL, *chat_path = NULL, *out_path = NULL, *err_path = NULL;
	bool no_read = false, empty_first = false;
	long uid = -1;
	unsigned timeout = 60;
	int i, send_fd = -1;

	if (argc == 4 && strcmp(argv[1], "--decode-cri") == 0)
		return decode_cri(argv[2], argv[3]);
	for (i = 1; i < argc - 1; i++) {
		const char *flag = argv[i];
		bool has_value = i + 2 < argc;

		if (strcmp(flag, "--seqpacket") == 0)
			probe.mode = MODE_SEQPACKET;
		else if (strcmp(flag, "--conman") == 0)
			probe.mode = MODE_CONMAN;
		else if (strcmp(flag, "--no-read") == 0)
			no_read = true;
		else if (strcmp(flag, "--empty-first") == 0)
			empty_first = true;
		else if (!has_value)
			usage();
		else if (strcmp(flag, "--send") == 0)
			send_path = argv[++i];
		else if (strcmp(flag, "--chat") == 0)
			chat_path = argv[++i];
		else if (strcmp(flag, "--out") == 0)
			out_path = argv[++i];
		else if (strcmp(flag, "--err") == 0)
			err_path = argv[++i];
		else if (strcmp(flag, "--expect-bytes") == 0)
			probe.expect_bytes = number_arg(argv[++i]);
		else if (strcmp(flag, "--uid") == 0)
			uid = (long)number_arg(argv[++i]);
		else if (strcmp(flag, "--timeout") == 0)
			timeout = (unsigned)number_arg(argv[++i]);
		else
			usage();
	}
	if (i != argc - 1 || argv[i][0] == '-' || (send_path && chat_path) ||
	    (chat_path && probe.mode == MODE_MARKERS) || uid > INT_MAX)
		usage();

	signal(SIGALRM, on_alarm);
	alarm(timeout);
	/* A shim that closes us makes a write fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* Files first: as another uid we may not be allowed to. */
	probe.out_fd = open_output(out_path);
	probe.err_fd = open_output(err_path);
	if (send_path) {
		/* Non-blocking, so a FIFO without a writer yet does not stop
		 * us reading; poll on a FIFO reports POLLHUP only once a
		 * writer has come and gone (fifo(7)). */
		send_fd = open(send_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (send_fd < 0)
			die(EXIT_ERROR, send_path);
	}
	probe.sock = attach_connect(argv[i], probe.mode == MODE_SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM,
				    uid);
	if (no_read) {
		for (;;)
			pause();
	}
	if (chat_path)
		chat(&probe, chat_path);
	/* On a seqpacket socket an empty packet is a message of its own,
	 * which the shim must not take for our shutdown. */
	if (empty_first && send(probe.sock, "", 0, MSG_NOSIGNAL) < 0)
		die(EXIT_ERROR, "send an empty packet");
	if (!received_enough(&probe))
		pump(&probe, send_fd);
	if (probe.mode == MODE_MARKERS && !received_enough(&probe) && probe.current_stream != 0 &&
	    probe.current_len == 0)
		protocol_error("frame without data");
	printf("frames %llu stdout %llu stderr %llu\n", probe.frames, probe.out_bytes,
	       probe.err_bytes);
	if (probe.expect_bytes > 0 && !received_enough(&probe)) {
		fprintf(stderr, "attach-probe: connection closed after %llu of %llu bytes\n",
			probe.out_bytes + probe.err_bytes, probe.expect_bytes);
		return EXIT_ERROR;
	}
	if (probe.frames == 0) {
		printf("refused\n");
		return EXIT_REFUSED;
	}
	return EXIT_OK;
}
