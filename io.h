/* io.h: the container's stdio (steps 3 and 5): the pipes given to runc,
 * and pumping what the container writes into the log. */
#ifndef SHIM_IO_H
#define SHIM_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "log.h"

/* Our read end of the container's stdout or stderr, with the bytes of an
 * unfinished line kept at the front of buf until the rest arrives. */
struct output_stream {
	int fd; /* -1 once the container closed its end and we drained it */
	enum stream_id id;
	char *buf;
	size_t len; /* bytes of an unfinished line at the front of buf */
	size_t cap;
};

struct container_io {
	int child_fds[3];  /* runc's 0, 1, 2: closed in the shim right after the fork */
	int stdin_fd;      /* our write end of the container's stdin; -1 without --stdin */
	struct output_stream out, err;
	struct log_writer log;
};

/* Make the pipes: stdin (or /dev/null), stdout and stderr. Our ends are
 * non-blocking and as large as the kernel allows. */
int io_create_pipes(struct container_io *io, bool with_stdin);
void io_close_child_ends(struct container_io *io);
void io_close(struct container_io *io);

/* What runc wrote to its stderr before failing; it sits in the pipe that
 * would have become the container's stderr. Reads without blocking (a
 * leftover process may hold the pipe open forever). */
size_t io_read_runtime_error(struct container_io *io, char *buf, size_t cap);

enum pump_result { PUMP_AGAIN, PUMP_MORE, PUMP_EOF, PUMP_ERROR };

/* Read what the stream holds and frame it into the log. Stops at EAGAIN
 * (PUMP_AGAIN), at EOF (PUMP_EOF: the last line is flushed; the caller
 * closes the fd), or after a bounded number of reads (PUMP_MORE), so a container
 * writing without pause cannot starve the other fds in the loop. */
enum pump_result io_pump(struct container_io *io, struct output_stream *stream);

/* At container exit: pump both streams until EAGAIN or EOF and flush any
 * unfinished line. Never blocks. */
void io_drain(struct container_io *io);

#endif
