/* io.c: the container's stdio. Step 3 makes the pipes that become the
 * container's 0, 1 and 2; step 5 pumps stdout and stderr into the log. */
#define _GNU_SOURCE
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* A larger pipe means fewer wake-ups and fewer, larger writes to the log.
 * Unprivileged shims may be refused past /proc/sys/fs/pipe-max-size;
 * then the default size is kept. */
#define PIPE_SIZE_WANTED (1024 * 1024)

/* Reads per wake-up before returning to epoll (see io_pump). */
#define READS_PER_WAKEUP 16

static int output_stream_init(struct output_stream *stream, enum stream_id id, int read_fd)
{
	int pipe_size;

	stream->fd = read_fd;
	stream->id = id;
	stream->len = 0;
	if (fcntl(read_fd, F_SETFL, O_NONBLOCK) < 0)
		return -1;
	fcntl(read_fd, F_SETPIPE_SZ, PIPE_SIZE_WANTED); /* best effort, see above */
	pipe_size = fcntl(read_fd, F_GETPIPE_SZ);
	if (pipe_size < 0)
		return -1;
	/* Room for an unfinished line plus one full pipe's worth. */
	stream->cap = LOG_RECORD_MAX + (size_t)pipe_size;
	stream->buf = malloc(stream->cap);
	return stream->buf ? 0 : -1;
}

int io_create_pipes(struct container_io *io, bool with_stdin)
{
	int stdin_pipe[2] = { -1, -1 }, stdout_pipe[2], stderr_pipe[2];

	*io = (struct container_io){
		.child_fds = { -1, -1, -1 },
		.stdin_fd = -1,
		.out = { .fd = -1 },
		.err = { .fd = -1 },
		.log = { .fd = -1 },
	};
	if (with_stdin) {
		if (pipe2(stdin_pipe, O_CLOEXEC) < 0)
			return -1;
		io->child_fds[0] = stdin_pipe[0];
		io->stdin_fd = stdin_pipe[1];
	} else {
		io->child_fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (io->child_fds[0] < 0)
			return -1;
	}
	if (pipe2(stdout_pipe, O_CLOEXEC) < 0)
		goto fail;
	io->child_fds[1] = stdout_pipe[1];
	if (output_stream_init(&io->out, STREAM_STDOUT, stdout_pipe[0]) < 0)
		goto fail;
	if (pipe2(stderr_pipe, O_CLOEXEC) < 0)
		goto fail;
	io->child_fds[2] = stderr_pipe[1];
	if (output_stream_init(&io->err, STREAM_STDERR, stderr_pipe[0]) < 0)
		goto fail;
	return 0;
fail:
	io_close(io);
	return -1;
}

void io_close_child_ends(struct container_io *io)
{
	for (int i = 0; i < 3; i++)
		close_fd(&io->child_fds[i]);
}

void io_close(struct container_io *io)
{
	int saved_errno = errno;

	io_close_child_ends(io);
	close_fd(&io->stdin_fd);
	close_fd(&io->out.fd);
	close_fd(&io->err.fd);
	free(io->out.buf);
	free(io->err.buf);
	io->out.buf = io->err.buf = NULL;
	log_writer_close(&io->log);
	errno = saved_errno;
}

size_t io_read_runtime_error(struct container_io *io, char *buf, size_t cap)
{
	size_t len = 0;

	while (io->err.fd >= 0 && len < cap) {
		ssize_t n = read(io->err.fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EOF, EAGAIN, or an error: report what we have */
		len += (size_t)n;
	}
	return len;
}

enum pump_result io_pump(struct container_io *io, struct output_stream *stream)
{
	for (int reads = 0; reads < READS_PER_WAKEUP; reads++) {
		struct timespec now;
		size_t consumed;
		ssize_t n = read(stream->fd, stream->buf + stream->len, stream->cap - stream->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return PUMP_AGAIN;
		if (n < 0)
			return PUMP_ERROR;
		clock_gettime(CLOCK_REALTIME, &now);
		if (n == 0) {
			log_writer_frame(&io->log, stream->id, stream->buf, stream->len, true, &now);
			stream->len = 0;
			return PUMP_EOF;
		}
		stream->len += (size_t)n;
		consumed = log_writer_frame(&io->log, stream->id, stream->buf, stream->len, false,
					    &now);
		/* Keep the unfinished line (shorter than LOG_RECORD_MAX) at the front. */
		memmove(stream->buf, stream->buf + consumed, stream->len - consumed);
		stream->len -= consumed;
	}
	return PUMP_MORE;
}

void io_drain(struct container_io *io)
{
	struct output_stream *streams[] = { &io->out, &io->err };
	struct timespec now;

	for (size_t i = 0; i < 2; i++) {
		struct output_stream *stream = streams[i];
		enum pump_result result = PUMP_MORE;

		/* Bounded too: a process outside the container's PID namespace
		 * could keep writing forever. */
		for (int round = 0; round < 64 && stream->fd >= 0 && result == PUMP_MORE; round++)
			result = io_pump(io, stream);
		if (result == PUMP_EOF || result == PUMP_ERROR)
			close_fd(&stream->fd);
		/* A grandchild may still hold the pipe: flush the unfinished
		 * line now rather than wait for an EOF that may never come. */
		if (stream->len > 0) {
			clock_gettime(CLOCK_REALTIME, &now);
			log_writer_frame(&io->log, stream->id, stream->buf, stream->len, true, &now);
			stream->len = 0;
		}
	}
}
