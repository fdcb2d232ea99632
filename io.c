/* io.c: the container's stdio. Step 3 makes the pipes that become the
 * container's 0, 1 and 2, and keeps what runc writes to them while it
 * creates. Step 5 pumps stdout and stderr (or, with --terminal, the pty
 * master) into the log and to every attach client, feeds the container's
 * stdin from those clients (the control FIFO, which also steers them, is
 * ctl.c's). In this order: pipes, attach clients and their output ring,
 * stdin, the attach socket, the pump and its sinks, the end.
 *
 * Nothing here may hurt the container or the log: every fd is
 * non-blocking, slow clients share one bounded ring and are dropped when
 * they fall off its end, and a container that never reads its stdin only
 * makes the clients wait. */
#define _GNU_SOURCE
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A larger pipe means fewer wake-ups and fewer, larger writes to the log.
 * Past /proc/sys/fs/pipe-max-size the kernel refuses; then the default
 * size is kept. */
#define PIPE_SIZE_WANTED (1024 * 1024)

/* Reads per wake-up before returning to epoll (see io_pump). */
#define READS_PER_WAKEUP 16

/* The attach protocol: one stream-id byte, then at most frame_data_max
 * bytes of data (32 KiB for shimmy's clients). */
/* The output ring (io.h): a client further behind than this is dropped,
 * not waited for. The ring is the most memory clients can cost, together.
 * (A test may build io.c with a smaller one.) */
#ifndef OUTPUT_RING_SIZE
#define OUTPUT_RING_SIZE (4 * 1024 * 1024)
#endif
/* Each frame in the ring: its length, then the stream byte and the data. */
#define FRAME_HEADER_LEN sizeof(uint32_t)
/* Bytes from clients waiting for the container to read its stdin. */
#define STDIN_BUFFER_MAX (256 * 1024)
/* The most one read from a client takes. On a SOCK_SEQPACKET socket one
 * read is one packet, and a packet larger than the buffer is cut (the rest
 * is lost), so clients are read only while the stdin buffer has room for
 * a whole one (stdin_has_room). */
#define CLIENT_READ_MAX (64 * 1024)
/* At exit, how long clients get to take the output they are owed. */
#define FINISH_FLUSH_MS 2000

void io_watch(struct container_io *io, int op, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event event = { .events = events, .data.u64 = tag };

	if (epoll_ctl(io->epoll_fd, op, fd, &event) < 0)
		log_error(io->diag, "epoll_ctl %d on fd %d: %m", op, fd);
}

/* read_size: how much one read may bring (a pipe's whole capacity). */
static int output_stream_init(struct output_stream *stream, enum stream_id id, int read_fd,
			      size_t read_size)
{
	stream->fd = read_fd;
	stream->id = id;
	stream->len = 0;
	if (fcntl(read_fd, F_SETFL, O_NONBLOCK) < 0)
		return -1;
	/* Room for an unfinished line plus one full read, mapped: a quiet
	 * container touches only its first pages. */
	stream->cap = LOG_RECORD_MAX + read_size;
	stream->buf = buffer_map(stream->cap);
	return stream->buf ? 0 : -1;
}

/* After a burst the stream's buffer keeps the pages it touched; once the
 * pipe is dry they go back to the kernel, all but the first
 * STREAM_BUFFER_KEPT bytes (which hold any unfinished line). So an idle
 * container costs the same after a burst of output as before it. */
#define STREAM_BUFFER_KEPT (64 * 1024)

static void stream_went_dry(struct container_io *io, struct output_stream *stream)
{
	if (stream->touched > STREAM_BUFFER_KEPT) {
		buffer_release(stream->buf, stream->cap, STREAM_BUFFER_KEPT);
		stream->touched = 0;
	}
	log_writer_release(&io->log);
}

static int output_pipe(struct output_stream *stream, enum stream_id id, int *child_fd)
{
	int fds[2], pipe_size;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	*child_fd = fds[1];
	fcntl(fds[0], F_SETPIPE_SZ, PIPE_SIZE_WANTED); /* best effort, see above */
	pipe_size = fcntl(fds[0], F_GETPIPE_SZ);
	if (pipe_size < 0) {
		close_fd(&fds[0]);
		return -1;
	}
	return output_stream_init(stream, id, fds[0], (size_t)pipe_size);
}

void io_init(struct container_io *io)
{
	*io = (struct container_io){ .epoll_fd = -1 };
	io->child_fds[0] = io->child_fds[1] = io->child_fds[2] = -1;
	io->stdin_fd = io->listen_fd = io->ctl_fd = -1;
	io->listen_file.dir_fd = io->ctl_file.dir_fd = io->log.file.dir_fd = -1;
	io->out.fd = io->err.fd = io->tty.fd = io->log.fd = -1;
	io->out.sink_fd = io->err.sink_fd = io->tty.sink_fd = -1;
	io->frame_id[STREAM_STDOUT] = STREAM_STDOUT;
	io->frame_id[STREAM_STDERR] = STREAM_STDERR;
	io->frame_data_max = 32 * 1024;
}

int io_create_pipes(struct container_io *io, bool with_stdin, bool stdin_once, bool terminal)
{
	int stdin_pipe[2];

	io->stdin_once = stdin_once;
	io->terminal = terminal;
	if (with_stdin) {
		/* With a pty, stdin_fd will be a copy of the master. */
		io->stdin_buf = buffer_map(STDIN_BUFFER_MAX);
		if (!io->stdin_buf)
			return -1;
	}
	if (with_stdin && !terminal) {
		if (pipe2(stdin_pipe, O_CLOEXEC) < 0)
			return -1;
		io->child_fds[0] = stdin_pipe[0];
		io->stdin_fd = stdin_pipe[1];
		if (fcntl(io->stdin_fd, F_SETFL, O_NONBLOCK) < 0)
			return -1;
	} else {
		io->child_fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (io->child_fds[0] < 0)
			return -1;
	}
	if (output_pipe(&io->out, STREAM_STDOUT, &io->child_fds[1]) < 0)
		return -1;
	return output_pipe(&io->err, STREAM_STDERR, &io->child_fds[2]);
}

int io_use_terminal(struct container_io *io, int master_fd)
{
	/* A pty merges stdout and stderr: it is all "stdout" to the log and
	 * to clients. 64 KiB is plenty; a pty moves at most a few KiB a read. */
	if (output_stream_init(&io->tty, STREAM_STDOUT, master_fd, 64 * 1024) < 0)
		return -1;
	io->tty.is_tty = true;
	if (io->stdin_buf) {
		io->stdin_fd = fcntl(master_fd, F_DUPFD_CLOEXEC, 3);
		if (io->stdin_fd < 0)
			return -1;
	}
	io_watch(io, EPOLL_CTL_ADD, master_fd, EPOLLIN, WATCH_TAG(WATCH_TTY, master_fd));
	if (io->size_pending) {
		struct winsize size = { .ws_col = io->pending_width, .ws_row = io->pending_height };
		if (ioctl(master_fd, TIOCSWINSZ, &size) < 0)
			log_warn(io->diag, "resize terminal to %ux%u: %m", size.ws_col, size.ws_row);
		io->size_pending = false;
	}
	return 0;
}

void io_close_child_ends(struct container_io *io)
{
	for (int i = 0; i < 3; i++)
		close_fd(&io->child_fds[i]);
}

enum pump_result io_capture(struct output_stream *stream, struct capture *capture)
{
	/* stream->buf is free until the container runs: read into it. */
	for (int reads = 0; reads < READS_PER_WAKEUP; reads++) {
		ssize_t n = read(stream->fd, stream->buf, stream->cap);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return PUMP_AGAIN;
		if (n < 0)
			return PUMP_ERROR;
		if (n == 0)
			return PUMP_EOF;
		if ((size_t)n > stream->touched)
			stream->touched = (size_t)n;
		capture_append(capture, stream->buf, (size_t)n);
	}
	return PUMP_MORE;
}

/* Late bytes a terminal may still pass on after an exit (the kernel moves
 * them from the slave to the master in a work queue), and the most a
 * process left behind can add, in io_capture_rest and io_drain. */
#define DRAIN_SLACK (64 * 1024)

void io_capture_rest(struct output_stream *stream, struct capture *capture)
{
	int pending = 0;
	size_t left;

	if (stream->fd < 0)
		return;
	if (ioctl(stream->fd, FIONREAD, &pending) < 0)
		pending = 0;
	left = (size_t)pending + DRAIN_SLACK;
	while (left > 0) {
		ssize_t n = read(stream->fd, stream->buf, left < stream->cap ? left : stream->cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* EOF, EAGAIN, or an error: report what we have */
		capture_append(capture, stream->buf, (size_t)n);
		left -= (size_t)n;
	}
}

/* ---- attach clients ---------------------------------------------------- */

static bool stdin_has_room(const struct container_io *io)
{
	return STDIN_BUFFER_MAX - io->stdin_len >= CLIENT_READ_MAX;
}

/* What a client should wake us for: bytes to read while the stdin buffer
 * has room (otherwise it waits: back-pressure), room to write while it is
 * behind. */
static void client_update_events(struct container_io *io, struct attach_client *client)
{
	uint32_t events = 0;

	/* EPOLLRDHUP tells a client's shutdown from an empty packet, which
	 * on a seqpacket socket also reads as 0 bytes. */
	if (!client->input_done && stdin_has_room(io))
		events |= EPOLLIN | EPOLLRDHUP;
	if (client->pos != io->ring.head)
		events |= EPOLLOUT;
	io_watch(io, EPOLL_CTL_MOD, client->fd, events,
		  WATCH_TAG(WATCH_ATTACH_CLIENT, client->id));
}

/* ---- the output ring ---------------------------------------------------- */

/* The ring's bytes [pos, pos + len) start at *offset and run for the
 * returned length up to its end; the rest, if any, wrap to its start. */
static size_t ring_split(uint64_t pos, size_t len, size_t *offset)
{
	*offset = (size_t)(pos % OUTPUT_RING_SIZE);
	return len < OUTPUT_RING_SIZE - *offset ? len : OUTPUT_RING_SIZE - *offset;
}

static void ring_read(const struct output_ring *ring, uint64_t pos, void *out, size_t len)
{
	size_t offset, first = ring_split(pos, len, &offset);

	memcpy(out, ring->data + offset, first);
	memcpy((char *)out + first, ring->data, len - first);
}

static void ring_write(struct output_ring *ring, uint64_t pos, const void *data, size_t len)
{
	size_t offset, first = ring_split(pos, len, &offset);

	memcpy(ring->data + offset, data, first);
	memcpy(ring->data, (const char *)data + first, len - first);
}

/* The ring's bytes [pos, pos + len) as one or two iovecs. */
static int ring_iov(const struct output_ring *ring, uint64_t pos, size_t len, struct iovec iov[2])
{
	size_t offset, first = ring_split(pos, len, &offset);

	iov[0] = (struct iovec){ ring->data + offset, first };
	iov[1] = (struct iovec){ ring->data, len - first };
	return len > first ? 2 : 1;
}

/* Once every client has caught up, the ring's memory goes back to the
 * kernel: an attached terminal that keeps up costs nothing. */
static void ring_release_if_unused(struct container_io *io)
{
	for (struct attach_client *client = io->clients; client; client = client->next)
		if (client->pos != io->ring.head)
			return;
	if (io->ring.data && munmap(io->ring.data, OUTPUT_RING_SIZE) < 0)
		log_warn(io->diag, "unmap the attach output ring: %m");
	io->ring.data = NULL;
}

static void client_close(struct container_io *io, struct attach_client *client)
{
	struct attach_client **link = &io->clients;

	while (*link != client)
		link = &(*link)->next;
	*link = client->next;
	/* close() also removes the fd from the epoll set: it is our only copy. */
	close_fd(&client->fd);
	free(client);
	ring_release_if_unused(io);
	if (io->accept_paused) {
		/* An fd is free again: connections waiting can be accepted. */
		io->accept_paused = false;
		io_watch(io, EPOLL_CTL_MOD, io->listen_fd, EPOLLIN, WATCH_TAG(WATCH_ATTACH_LISTEN, 0));
	}
}

/* Send what the client is owed from the ring until it would block. -1
 * means the client is gone or broken and must be closed. */
static int client_flush(struct container_io *io, struct attach_client *client)
{
	while (client->pos != io->ring.head) {
		struct iovec iov[2];
		struct msghdr message = { .msg_iov = iov };
		uint32_t frame_len;
		size_t left;
		ssize_t n;

		ring_read(&io->ring, client->pos, &frame_len, FRAME_HEADER_LEN);
		left = frame_len - client->sent;
		message.msg_iovlen = (size_t)ring_iov(
			&io->ring, client->pos + FRAME_HEADER_LEN + client->sent, left, iov);
		do
			n = sendmsg(client->fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		if ((size_t)n < left) {
			/* Only a stream socket sends part of a frame. */
			client->sent += (uint32_t)n;
			return 0;
		}
		client->pos += FRAME_HEADER_LEN + frame_len;
		client->sent = 0;
	}
	ring_release_if_unused(io);
	return 0;
}

/* Store a frame at its place in the ring, mapping the ring if need be,
 * then drop every client whose next frame that overwrote. */
static void ring_store(struct container_io *io, uint64_t pos, const struct iovec frame[2])
{
	uint32_t frame_len = (uint32_t)(frame[0].iov_len + frame[1].iov_len);
	struct attach_client *client, *next;

	if (!io->ring.data) {
		void *data = mmap(NULL, OUTPUT_RING_SIZE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (data == MAP_FAILED) {
			log_error(io->diag, "map the attach output ring: %m; dropping the clients that are behind");
			for (client = io->clients; client; client = next) {
				next = client->next;
				if (client->pos != io->ring.head)
					client_close(io, client);
			}
			return;
		}
		io->ring.data = data;
	}
	ring_write(&io->ring, pos, &frame_len, FRAME_HEADER_LEN);
	ring_write(&io->ring, pos + FRAME_HEADER_LEN, frame[0].iov_base, frame[0].iov_len);
	ring_write(&io->ring, pos + FRAME_HEADER_LEN + frame[0].iov_len, frame[1].iov_base,
		   frame[1].iov_len);
	for (client = io->clients; client; client = next) {
		next = client->next;
		if (io->ring.head - client->pos > OUTPUT_RING_SIZE) {
			log_warn(io->diag,
				 "attach client fd %d is more than %d bytes behind: disconnected (the log has everything)",
				 client->fd, OUTPUT_RING_SIZE);
			client_close(io, client);
		}
	}
}

/* Send container output to every client, as frames of frame_data_max.
 * A client that is caught up gets each frame straight away; what it
 * cannot take now, and every frame for a client already behind, is
 * stored in the ring for client_flush. So the ring's invariant holds:
 * every frame from any client's position up to the head is stored (a
 * frame is skipped only when no client is behind it), which is what lets
 * the ring hold nothing, and be unmapped, while all clients keep up. */
static void broadcast(struct container_io *io, enum stream_id stream, const char *data, size_t len)
{
	unsigned char stream_byte = io->frame_id[stream];

	if (!io->clients)
		return;
	for (size_t pos = 0; pos < len; pos += io->frame_data_max) {
		size_t chunk = len - pos < io->frame_data_max ? len - pos : io->frame_data_max;
		struct iovec frame[2] = { { &stream_byte, 1 }, { (char *)data + pos, chunk } };
		struct msghdr message = { .msg_iov = frame, .msg_iovlen = 2 };
		uint64_t frame_pos = io->ring.head;
		struct attach_client *client, *next;
		bool store = false;

		io->ring.head += FRAME_HEADER_LEN + 1 + chunk;
		for (client = io->clients; client; client = next) {
			ssize_t n;

			next = client->next;
			if (client->pos != frame_pos) {
				store = true; /* behind already: it gets this one later */
				continue;
			}
			do
				n = sendmsg(client->fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
			while (n < 0 && errno == EINTR);
			if (n == (ssize_t)(1 + chunk)) {
				client->pos = io->ring.head;
				continue;
			}
			if (n < 0 && errno != EAGAIN) {
				if (errno != EPIPE && errno != ECONNRESET)
					log_warn(io->diag, "send to attach client fd %d: %m", client->fd);
				client_close(io, client);
				continue;
			}
			/* Behind from this frame on; on a stream socket perhaps
			 * with part of it sent. */
			client->sent = n > 0 ? (uint32_t)n : 0;
			store = true;
			client_update_events(io, client);
		}
		if (store)
			ring_store(io, frame_pos, frame);
	}
}

/* ---- the container's stdin -------------------------------------------- */

static void stdin_close(struct container_io *io)
{
	if (io->stdin_fd < 0)
		return;
	/* Removed from the epoll set by hand: with a terminal stdin_fd is a
	 * copy of the pty master, and close() drops an epoll registration
	 * only with the last fd of the file, so a stale EPOLLOUT would stay. */
	if (io->stdin_watched)
		io_watch(io, EPOLL_CTL_DEL, io->stdin_fd, 0, 0);
	close_fd(&io->stdin_fd);
	io->stdin_watched = false;
	io->stdin_len = 0;
	io->stdin_close_pending = false;
	log_debug(io->diag, "closed the container's stdin");
}

/* Write what the clients sent to the container, without blocking. When
 * the pipe is full, wait for EPOLLOUT on it; the clients meanwhile are not
 * read (client_update_events), so memory stays bounded. */
static void stdin_flush(struct container_io *io)
{
	bool was_full = !stdin_has_room(io);
	size_t written = 0;

	while (io->stdin_fd >= 0 && written < io->stdin_len) {
		ssize_t n = write(io->stdin_fd, io->stdin_buf + written, io->stdin_len - written);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			/* EPIPE: the container closed its stdin or exited. */
			if (errno != EPIPE)
				log_warn(io->diag, "write container stdin: %m");
			stdin_close(io);
			written = io->stdin_len = 0;
			break;
		}
		written += (size_t)n;
	}
	if (io->stdin_fd >= 0) {
		memmove(io->stdin_buf, io->stdin_buf + written, io->stdin_len - written);
		io->stdin_len -= written;
		if (io->stdin_len > 0 && !io->stdin_watched) {
			io_watch(io, EPOLL_CTL_ADD, io->stdin_fd, EPOLLOUT,
				  WATCH_TAG(WATCH_STDIN, io->stdin_fd));
			io->stdin_watched = true;
		} else if (io->stdin_len == 0 && io->stdin_close_pending) {
			stdin_close(io);
		}
	}
	if (was_full && stdin_has_room(io)) {
		for (struct attach_client *client = io->clients; client; client = client->next)
			client_update_events(io, client);
	}
}

void io_stdin_writable(struct container_io *io)
{
	if (io->stdin_watched) {
		io_watch(io, EPOLL_CTL_DEL, io->stdin_fd, 0, 0);
		io->stdin_watched = false;
	}
	stdin_flush(io);
}

/* A client has finished sending (shut down its write side, or left). */
void io_stdin_end(struct container_io *io)
{
	io->stdin_close_pending = true;
	if (io->stdin_len == 0)
		stdin_close(io);
}

static void client_input_done(struct container_io *io, struct attach_client *client)
{
	client->input_done = true;
	if (io->stdin_once && io->stdin_fd >= 0)
		io_stdin_end(io);
}

/* On a seqpacket socket recv returns 0 both for an empty packet and at
 * the end. It is the end only once the client has shut down (EPOLLRDHUP)
 * and nothing is queued behind: FIONREAD on an AF_UNIX socket counts
 * every byte still queued, not just the next packet's. */
static bool client_sent_empty_packet(const struct attach_client *client, uint32_t events)
{
	int queued = 0;

	if (!(events & (EPOLLRDHUP | EPOLLHUP)))
		return true;
	return ioctl(client->fd, FIONREAD, &queued) == 0 && queued > 0;
}

/* Bytes from a client: for the container's stdin if it has one, else
 * read and dropped, so the client's EOF is still seen. */
static void client_read(struct container_io *io, struct attach_client *client, uint32_t events)
{
	char discard[4096]; /* small: what it holds is thrown away */
	bool to_stdin = io->stdin_fd >= 0 && !io->stdin_close_pending;
	char *buf = to_stdin ? io->stdin_buf + io->stdin_len : discard;
	size_t cap = to_stdin ? CLIENT_READ_MAX : sizeof(discard);
	ssize_t n;

	if (to_stdin && !stdin_has_room(io))
		return; /* full: client_update_events stops asking */
	/* MSG_TRUNC: a packet's real length, even when it was cut. (Only on
	 * seqpacket: on a stream socket it would discard bytes.) */
	do
		n = recv(client->fd, buf, cap, io->attach_seqpacket ? MSG_TRUNC : 0);
	while (n < 0 && errno == EINTR);
	if (!to_stdin && n > (ssize_t)cap)
		n = (ssize_t)cap; /* dropped anyway; only its length mattered */
	if (n > CLIENT_READ_MAX) {
		log_warn(io->diag, "attach client fd %d sent a %zd-byte packet; only %d bytes kept",
			 client->fd, n, CLIENT_READ_MAX);
		n = CLIENT_READ_MAX;
	}
	if (n < 0 && errno == EAGAIN)
		return;
	if (n < 0) {
		if (errno != ECONNRESET)
			log_warn(io->diag, "read attach client fd %d: %m", client->fd);
		client_input_done(io, client);
		client_close(io, client);
		return;
	}
	if (n == 0 && io->attach_seqpacket && client_sent_empty_packet(client, events))
		return;
	if (n == 0) {
		client_input_done(io, client);
		client_update_events(io, client);
		return;
	}
	if (to_stdin) {
		io->stdin_len += (size_t)n;
		stdin_flush(io);
		if (!stdin_has_room(io))
			for (struct attach_client *c = io->clients; c; c = c->next)
				client_update_events(io, c);
	}
}

static struct attach_client *find_client(struct container_io *io, unsigned client_id)
{
	struct attach_client *client = io->clients;

	while (client && client->id != client_id)
		client = client->next;
	return client;
}

void io_attach_client_event(struct container_io *io, unsigned client_id, uint32_t events)
{
	struct attach_client *client = find_client(io, client_id);

	if (!client)
		return; /* closed earlier in this batch of events */
	if (events & EPOLLIN) {
		client_read(io, client, events);
		client = find_client(io, client_id); /* client_read may have closed it */
		if (!client)
			return;
	}
	if (events & EPOLLOUT) {
		if (client_flush(io, client) < 0) {
			client_close(io, client);
			return;
		}
		client_update_events(io, client);
	}
	/* Hung up both ways (reported even when not asked for), with nothing
	 * left to read: it is gone. */
	if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLIN)) {
		if (!client->input_done)
			client_input_done(io, client);
		client_close(io, client);
	}
}

/* ---- the attach socket -------------------------------------------------- */

int io_attach_listen(struct container_io *io, const char *path, bool seqpacket)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	struct dir_file *file = &io->listen_file;
	struct stat existing;
	mode_t old_umask;
	int written, bound;

	if (dir_file_open(file, path) < 0)
		return -1;
	/* sun_path holds 108 bytes, and a path can change under us: bind
	 * through our fd of the directory, which the kernel resolves like any
	 * path, so the socket lands in the directory we hold. */
	written = snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d/%s",
			   file->dir_fd, file->name);
	if (written < 0 || (size_t)written >= sizeof(address.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* A socket left by an earlier shim would make bind fail. Only a
	 * socket is removed: any other file there is an error to report. */
	if (fstatat(file->dir_fd, file->name, &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(existing.st_mode))
		unlinkat(file->dir_fd, file->name, 0);

	io->attach_seqpacket = seqpacket;
	io->listen_fd = socket(AF_UNIX, (seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC |
						SOCK_NONBLOCK, 0);
	if (io->listen_fd < 0)
		return -1;
	/* The socket file is born 0600: bind takes its mode from the umask.
	 * Setting it afterwards by path (chmod) would follow a symlink swapped
	 * in meanwhile. (We have one thread: the umask is ours alone.) */
	old_umask = umask(0177);
	bound = bind(io->listen_fd, (struct sockaddr *)&address, sizeof(address));
	umask(old_umask);
	/* Until bind succeeds the path is not ours: on failure, close the
	 * socket (so io_close removes nothing) and leave the path alone. */
	if (bound < 0) {
		close_fd(&io->listen_fd);
		return -1;
	}
	if (listen(io->listen_fd, 16) < 0) {
		int saved_errno = errno;
		unlinkat(file->dir_fd, file->name, 0);
		close_fd(&io->listen_fd);
		errno = saved_errno;
		return -1;
	}
	io_watch(io, EPOLL_CTL_ADD, io->listen_fd, EPOLLIN, WATCH_TAG(WATCH_ATTACH_LISTEN, 0));
	return 0;
}

void io_attach_accept(struct container_io *io)
{
	for (;;) {
		struct attach_client *client;
		struct ucred peer;
		socklen_t peer_len = sizeof(peer);
		int fd = accept4(io->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			       errno == ENOMEM)) {
			/* The connection stays queued and the socket readable:
			 * stop watching it until a client leaves, or the loop
			 * would spin on it. */
			log_warn(io->diag, "accept attach client: %m; not accepting until a client leaves");
			io->accept_paused = true;
			io_watch(io, EPOLL_CTL_MOD, io->listen_fd, 0, WATCH_TAG(WATCH_ATTACH_LISTEN, 0));
			return;
		}
		if (fd < 0) {
			if (errno != EAGAIN && errno != ECONNABORTED)
				log_warn(io->diag, "accept attach client: %m");
			if (errno == ECONNABORTED)
				continue;
			return;
		}
		/* The socket's mode already keeps others out; this also holds
		 * if someone loosens it. */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) < 0 ||
		    (peer.uid != 0 && peer.uid != geteuid())) {
			log_warn(io->diag, "attach client pid %d uid %d refused: not root or uid %d",
				 (int)peer.pid, (int)peer.uid, (int)geteuid());
			close_fd(&fd);
			continue;
		}
		client = calloc(1, sizeof(*client));
		if (!client) {
			log_error(io->diag, "accept attach client: out of memory");
			close_fd(&fd);
			continue;
		}
		client->id = io->next_client_id++;
		client->fd = fd;
		client->pos = io->ring.head; /* owed what comes from now on */
		client->next = io->clients;
		io->clients = client;
		io_watch(io, EPOLL_CTL_ADD, fd, 0, WATCH_TAG(WATCH_ATTACH_CLIENT, client->id));
		client_update_events(io, client);
		log_info(io->diag, "attach client pid %d connected on fd %d", (int)peer.pid, fd);
	}
}

/* ---- output ------------------------------------------------------------ */

/* The stream ended, or we stop waiting for it: its unfinished last line
 * becomes a record of its own. */
static void flush_last_line(struct container_io *io, struct output_stream *stream,
			    const struct timespec *now)
{
	log_writer_frame(&io->log, stream->id, stream->buf, stream->len, true, now);
	stream->len = 0;
}

/* ---- sinks: a stream's bytes, as they are, to an fd of the manager's ---- */

static struct output_stream *stream_at(struct container_io *io, unsigned which)
{
	return which == 0 ? &io->out : which == 1 ? &io->err : &io->tty;
}

static unsigned stream_index(const struct container_io *io, const struct output_stream *stream)
{
	return stream == &io->out ? 0 : stream == &io->err ? 1 : 2;
}

static uint64_t stream_tag(struct container_io *io, struct output_stream *stream)
{
	enum watch_kind kind = stream == &io->tty ? WATCH_TTY : stream == &io->err ? WATCH_STDERR : WATCH_STDOUT;
	return WATCH_TAG(kind, stream->fd);
}

void io_set_sinks(struct container_io *io, int stdout_fd, int stderr_fd)
{
	io->out.sink_fd = stdout_fd;
	io->err.sink_fd = stderr_fd;
	io->tty.sink_fd = stdout_fd;
}

/* The sink is full: the stream is not read until it has room (the
 * container waits on its full pipe, as it would writing to a slow reader
 * itself), and io_sink_writable is told when it has. */
static void sink_wait(struct container_io *io, struct output_stream *stream)
{
	if (stream->sink_waiting)
		return;
	stream->sink_waiting = true;
	if (stream->fd >= 0)
		io_watch(io, EPOLL_CTL_MOD, stream->fd, 0, stream_tag(io, stream));
	io_watch(io, EPOLL_CTL_ADD, stream->sink_fd, EPOLLOUT,
		  WATCH_TAG(WATCH_SINK, stream_index(io, stream)));
}

/* Write what the sink takes now: the bytes written. An error other than a
 * full sink drops the rest, said once: the sink's reader cannot come back
 * to an fd we hold read-write, so that is an error of the fd's. */
static size_t sink_put(struct container_io *io, struct output_stream *stream, const char *data,
		       size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(stream->sink_fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			log_error(io->diag, "write the container's output to fd %d: %m; dropped",
				  stream->sink_fd);
			return len;
		}
		done += (size_t)n;
	}
	return done;
}

/* The fresh bytes of a stream with a sink: what the sink does not take
 * now waits in sink_pending, and the stream with it. */
static void sink_write(struct container_io *io, struct output_stream *stream, const char *data,
		       size_t len)
{
	char *grown;
	size_t done = stream->sink_pending ? 0 : sink_put(io, stream, data, len);

	if (done == len)
		return;
	grown = realloc(stream->sink_pending, stream->sink_pending_len + len - done);
	if (!grown) {
		log_error(io->diag, "keep %zu bytes for fd %d: out of memory; dropped", len - done,
			  stream->sink_fd);
		return;
	}
	memcpy(grown + stream->sink_pending_len, data + done, len - done);
	stream->sink_pending = grown;
	stream->sink_pending_len += len - done;
	sink_wait(io, stream);
}

void io_sink_writable(struct container_io *io, unsigned which)
{
	struct output_stream *stream = stream_at(io, which);
	size_t done = sink_put(io, stream, stream->sink_pending, stream->sink_pending_len);

	if (done < stream->sink_pending_len) {
		memmove(stream->sink_pending, stream->sink_pending + done, stream->sink_pending_len - done);
		stream->sink_pending_len -= done;
		return;
	}
	free(stream->sink_pending);
	stream->sink_pending = NULL;
	stream->sink_pending_len = 0;
	stream->sink_waiting = false;
	io_watch(io, EPOLL_CTL_DEL, stream->sink_fd, 0, 0);
	if (stream->fd >= 0)
		io_watch(io, EPOLL_CTL_MOD, stream->fd, EPOLLIN, stream_tag(io, stream));
}

/* At the exit: wait (a bounded time) for the sink to have room again. 0,
 * or -1 when it took nothing for a second: what it still owes is dropped. */
static int sink_await(struct container_io *io, struct output_stream *stream)
{
	struct pollfd pfd = { .fd = stream->sink_fd, .events = POLLOUT };

	if (poll(&pfd, 1, 1000) <= 0) {
		log_error(io->diag, "fd %d took no output for 1 s at the exit: %zu bytes dropped",
			  stream->sink_fd, stream->sink_pending_len);
		return -1;
	}
	io_sink_writable(io, stream_index(io, stream));
	return 0;
}

/* fresh bytes have just been added after the stream's unfinished line:
 * clients (or the sink) get them as they come, the log gets whole lines. */
static void stream_take(struct container_io *io, struct output_stream *stream, size_t fresh,
			const struct timespec *now)
{
	size_t consumed;

	if (stream->sink_fd >= 0)
		sink_write(io, stream, stream->buf + stream->len, fresh);
	else
		broadcast(io, stream->id, stream->buf + stream->len, fresh);
	stream->len += fresh;
	consumed = log_writer_frame(&io->log, stream->id, stream->buf, stream->len, false, now);
	/* Keep the unfinished line (shorter than LOG_RECORD_MAX) at the front. */
	memmove(stream->buf, stream->buf + consumed, stream->len - consumed);
	stream->len -= consumed;
}

/* A pipe stream with a sink, and no log to frame: its bytes go from the
 * container's pipe to the sink (a FIFO) in the kernel, never copied into
 * our memory (splice). The bytes moved; 0 at the pipe's end; -1 with
 * EAGAIN when the pipe is dry or the sink full (then the stream waits for
 * the sink, as in sink_write). */
static ssize_t splice_once(struct container_io *io, struct output_stream *stream, size_t max)
{
	int queued = 0;
	ssize_t n;

	do
		n = splice(stream->fd, NULL, stream->sink_fd, NULL, max < stream->cap ? max : stream->cap,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	while (n < 0 && errno == EINTR);
	if (n >= 0 || errno != EAGAIN)
		return n;
	/* Bytes waiting in the pipe: the sink is the one that is full. */
	if (ioctl(stream->fd, FIONREAD, &queued) == 0 && queued > 0)
		sink_wait(io, stream);
	errno = EAGAIN;
	return -1;
}

static bool spliceable(const struct container_io *io, const struct output_stream *stream)
{
	return stream->sink_fd >= 0 && io->log.fd < 0 && !stream->is_tty && stream->len == 0;
}

/* One read of at most max bytes, pumped. Returns what read() did: bytes,
 * 0 at the end (the last line is flushed), or -1 with errno. */
static ssize_t read_once(struct container_io *io, struct output_stream *stream, size_t max)
{
	size_t room = stream->cap - stream->len;
	struct timespec now;
	ssize_t n;

	do
		n = read(stream->fd, stream->buf + stream->len, room < max ? room : max);
	while (n < 0 && errno == EINTR);
	/* Reading a pty master after the last slave fd closed fails with
	 * EIO, not 0 (pty(7)): the container is done with its terminal.
	 * Treated as EOF, so the fd leaves the loop instead of spinning. */
	if (n < 0 && stream->is_tty && errno == EIO)
		n = 0;
	if (n < 0)
		return -1;
	clock_gettime(CLOCK_REALTIME, &now);
	if (stream->len + (size_t)n > stream->touched)
		stream->touched = stream->len + (size_t)n;
	if (n == 0)
		flush_last_line(io, stream, &now);
	else
		stream_take(io, stream, (size_t)n, &now);
	return n;
}

/* One read or splice, as the stream goes: bytes, 0 at the end, -1 with errno. */
static ssize_t pump_once(struct container_io *io, struct output_stream *stream, size_t max)
{
	if (spliceable(io, stream))
		return splice_once(io, stream, max);
	return read_once(io, stream, max);
}

enum pump_result io_pump(struct container_io *io, struct output_stream *stream)
{
	for (int reads = 0; reads < READS_PER_WAKEUP; reads++) {
		ssize_t n = pump_once(io, stream, SIZE_MAX);

		if (n < 0 && errno == EAGAIN) {
			stream_went_dry(io, stream);
			return PUMP_AGAIN;
		}
		if (n < 0)
			return PUMP_ERROR;
		if (n == 0)
			return PUMP_EOF;
	}
	return PUMP_MORE;
}

void io_replay_capture(struct container_io *io, struct output_stream *stream,
		       const struct capture *capture)
{
	struct timespec now;
	size_t len;
	char *text;

	if (capture->total == 0)
		return;
	text = capture_render(capture, &len);
	if (!text) {
		log_error(io->diag, "log what the runtime wrote to its %s: out of memory",
			  stream->id == STREAM_STDOUT ? "stdout" : "stderr");
		return;
	}
	/* In pieces the stream's buffer has room for, as if they were read. */
	clock_gettime(CLOCK_REALTIME, &now);
	for (size_t pos = 0; pos < len;) {
		size_t piece = len - pos < stream->cap - stream->len ? len - pos : stream->cap - stream->len;
		memcpy(stream->buf + stream->len, text + pos, piece);
		stream_take(io, stream, piece, &now);
		pos += piece;
	}
	free(text);
}

/* Give clients up to FINISH_FLUSH_MS to take what they are owed: the
 * container has exited, and a slow reader should still see its last
 * words. Anyone still behind after that loses the rest (the log has it). */
static void flush_clients_before_exit(struct container_io *io)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct attach_client *client = io->clients, *next;
		struct pollfd waiting[64];
		nfds_t count = 0;
		long elapsed_ms;

		for (; client; client = next) {
			next = client->next;
			if (client_flush(io, client) < 0)
				client_close(io, client);
			else if (client->pos != io->ring.head && count < 64)
				waiting[count++] = (struct pollfd){ .fd = client->fd, .events = POLLOUT };
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (count == 0 || elapsed_ms >= FINISH_FLUSH_MS)
			return;
		if (poll(waiting, count, (int)(FINISH_FLUSH_MS - elapsed_ms)) < 0 && errno != EINTR)
			return;
	}
}

void io_mark_exit(struct container_io *io)
{
	struct output_stream *streams[] = { &io->out, &io->err, &io->tty };

	for (size_t i = 0; i < 3; i++) {
		int pending = 0;

		if (streams[i]->fd < 0)
			continue;
		/* FIONREAD: the bytes waiting in a pipe, or in a pty master's
		 * input queue (TIOCINQ, the same ioctl). */
		if (ioctl(streams[i]->fd, FIONREAD, &pending) < 0)
			pending = 0;
		streams[i]->drain_left = (size_t)pending + DRAIN_SLACK;
	}
}

void io_drain(struct container_io *io)
{
	struct output_stream *streams[] = { &io->out, &io->err, &io->tty };
	struct timespec now;

	for (size_t i = 0; i < 3; i++) {
		struct output_stream *stream = streams[i];

		while (stream->fd >= 0 && stream->drain_left > 0) {
			ssize_t n = pump_once(io, stream, stream->drain_left);
			if (n < 0 && errno == EAGAIN && stream->sink_waiting) {
				/* The sink is full: the rest waits for it a while. */
				if (sink_await(io, stream) < 0)
					break;
				continue;
			}
			if (n <= 0)
				break; /* EAGAIN, the end, or an error: nothing more now */
			stream->drain_left -= (size_t)n;
		}
		while (stream->sink_waiting && sink_await(io, stream) == 0)
			;
		free(stream->sink_pending);
		stream->sink_pending = NULL;
		/* A process left behind may still hold the pipe: flush the
		 * unfinished line now rather than wait for an EOF that may
		 * never come. */
		if (stream->len > 0) {
			clock_gettime(CLOCK_REALTIME, &now);
			flush_last_line(io, stream, &now);
		}
		close_fd(&stream->fd);
		buffer_unmap((void **)&stream->buf, stream->cap);
	}
}

void io_close(struct container_io *io)
{
	flush_clients_before_exit(io);
	while (io->clients)
		client_close(io, io->clients);
	if (io->listen_fd >= 0) {
		close_fd(&io->listen_fd);
		if (unlinkat(io->listen_file.dir_fd, io->listen_file.name, 0) < 0)
			log_warn(io->diag, "remove attach socket %s: %m", io->listen_file.path);
	}
	dir_file_close(&io->listen_file);
	log_writer_close(&io->log);
	/* The sinks' readers see their end now, with everything in them.
	 * (tty's is out's; err's may be out's too.) */
	if (io->err.sink_fd == io->out.sink_fd)
		io->err.sink_fd = -1;
	io->tty.sink_fd = -1;
	close_fd(&io->out.sink_fd);
	close_fd(&io->err.sink_fd);
	stdin_close(io);
	buffer_unmap((void **)&io->stdin_buf, STDIN_BUFFER_MAX);
	io_close_child_ends(io);
}
