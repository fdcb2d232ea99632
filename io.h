/* io.h: the container's stdio (steps 3 and 5): the pipes given to runc,
 * pumping what the container writes into the log and to attach clients,
 * and feeding the container's stdin from those clients. */
#ifndef SHIM_IO_H
#define SHIM_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "log.h"
#include "util.h"

/* What an epoll event is about, stored in its data.u64: a kind, and for
 * attach clients their id in the upper half. (An id, not the fd: a client
 * closed while events for it wait in the same epoll_wait batch must not
 * have them applied to a new client that got the same fd number.) */
enum watch_kind {
	WATCH_SIGNALS = 1,
	WATCH_STDOUT,
	WATCH_STDERR,
	WATCH_STDIN,         /* the container's stdin is writable again */
	WATCH_ATTACH_LISTEN, /* a client is connecting */
	WATCH_ATTACH_CLIENT, /* a client sent bytes, or can take more */
	WATCH_TTY,           /* the pty master has output (--terminal) */
	WATCH_CTL,           /* a line on the control FIFO */
	WATCH_RUNTIME_TIMER, /* --runtime-timeout has passed */
	WATCH_CONTAINER_GONE, /* --no-subreaper: the container's pidfd says it exited */
	WATCH_SINK,          /* a stream's sink has room again (its index in the upper half) */
	WATCH_GUEST,         /* a hosted front end has work (shim_host) */
};
#define WATCH_TAG(kind, n) (((uint64_t)(uint32_t)(n) << 32) | (uint64_t)(kind))
#define WATCH_KIND(tag) ((enum watch_kind)((tag) & 0xffffffffu))
#define WATCH_CLIENT_ID(tag) ((unsigned)((tag) >> 32))

/* Our read end of the container's stdout or stderr, with the bytes of an
 * unfinished line kept at the front of buf until the rest arrives. */
struct output_stream {
	int fd; /* -1 once the container closed its end and we drained it */
	enum stream_id id;
	char *buf;
	size_t len; /* bytes of an unfinished line at the front of buf */
	size_t cap;
	bool is_tty; /* a pty master: EIO means the container closed it */
	size_t touched; /* bytes of buf written since its pages were last given back */
	size_t drain_left; /* at the container's exit: the most still to read */
	/* Where its bytes go as they are, instead of to attach clients
	 * (containerd's FIFO); -1: none. What the sink could not take yet
	 * waits here, and the stream is not read meanwhile. */
	int sink_fd;
	char *sink_pending;
	size_t sink_pending_len;
	bool sink_waiting;  /* not read until the sink has room */
};

/* Output that some attach client has not taken yet. One ring serves
 * every client, each holding only its position in it: a client that stops
 * reading costs a position, not a copy, so memory stays bounded however
 * many there are. Positions count bytes since the start, so they only
 * grow; every frame has its place (a 4-byte length, the stream byte, the
 * data), but its bytes are stored only when some client is behind, and
 * the ring is mapped only while one is. */
struct output_ring {
	char *data;    /* OUTPUT_RING_SIZE bytes, or NULL while nobody is behind */
	uint64_t head; /* where the next frame goes */
};

struct attach_client {
	unsigned id;
	int fd;
	bool input_done; /* it shut down its write side: it sends no more */
	uint64_t pos;    /* the ring position of the next frame it is owed */
	uint32_t sent;   /* bytes of that frame already sent (stream sockets) */
	struct attach_client *next;
};

struct container_io {
	int epoll_fd;             /* the shim's loop, where io adds its fds */
	const struct diag *diag;  /* for what only io sees: refused clients */
	int child_fds[3];         /* runc's 0, 1, 2: closed in the shim right after the fork */
	/* With --terminal, out and err carry only runc's own output and the
	 * container's stdio is the pty whose master is tty. */
	struct output_stream out, err, tty;
	bool terminal;            /* the pty is coming (or came) */
	struct log_writer log;
	struct output_ring ring;

	/* stdin: bytes from attach clients on their way to the container */
	int stdin_fd;             /* our write end; -1 without --stdin, or once closed */
	bool stdin_once;          /* close it when the first client is done */
	bool stdin_close_pending; /* close it once the buffer is written */
	bool stdin_watched;       /* in the epoll set, waiting for room */
	char *stdin_buf;
	size_t stdin_len;

	/* the attach socket */
	int listen_fd;
	bool attach_seqpacket;    /* SOCK_SEQPACKET: one frame, one packet */
	/* Each frame's first byte, by stream_id (shimmy: 1 and 2; conmon: 2
	 * and 3), and the most data a frame carries (a manager's read size). */
	unsigned char frame_id[3];
	size_t frame_data_max;
	struct dir_file listen_file; /* its directory, held to bind and remove it */
	struct attach_client *clients;
	unsigned next_client_id;
	bool accept_paused;       /* out of fds: not accepting until a client leaves */

	/* the control FIFO (--container-ctlfile) */
	int ctl_fd;               /* opened read-write, so it never sees EOF */
	struct dir_file ctl_file; /* its directory, held to remove it at the end */
	bool ctl_height_first;    /* "TYPE HEIGHT WIDTH", as conmon reads them */
	/* A resize that came before the terminal did (exec: the manager
	 * sends the size first), applied when it comes. */
	bool size_pending;
	unsigned short pending_width, pending_height;
	char ctl_line[128];
	size_t ctl_len;
	bool ctl_skipping;        /* discarding an over-long line up to its newline */
	/* Bad lines are warned about at most CTL_WARNINGS_PER_MINUTE times a
	 * minute: a writer of garbage must not fill the disk with warnings. */
	struct timespec ctl_window_start;
	unsigned ctl_warned;      /* warnings in this window */
	unsigned long ctl_unwarned; /* bad lines skipped without a warning */
};

/* The control FIFO's lines, "TYPE WIDTH HEIGHT\n", after docker's
 * original containerd-shim. */
enum ctl_type { CTL_CLOSE_STDIN = 0, CTL_RESIZE = 1, CTL_REOPEN_LOG = 2 };

/* Every fd closed (-1), so io_close is safe at any point; frames as
 * shimmy's. */
void io_init(struct container_io *io);

/* Make the pipes: stdin (or /dev/null), stdout and stderr. Our ends are
 * non-blocking and as large as the kernel allows. With terminal, runc's
 * stdin is /dev/null and the container's stdin comes with the pty. */
int io_create_pipes(struct container_io *io, bool with_stdin, bool stdin_once, bool terminal);

/* Send the container's stdout and stderr to these fds as they come (-1:
 * to attach clients, as usual), holding the container back while one is
 * full. With a terminal, its output goes to stdout_fd. */
void io_set_sinks(struct container_io *io, int stdout_fd, int stderr_fd);
void io_sink_writable(struct container_io *io, unsigned which);

/* Take the pty master runc sent (--terminal): its output is pumped like
 * stdout, and with --stdin attach clients write to it. */
int io_use_terminal(struct container_io *io, int master_fd);
void io_close_child_ends(struct container_io *io);

enum pump_result { PUMP_AGAIN, PUMP_MORE, PUMP_EOF, PUMP_ERROR };

/* While runc creates the container, what it writes to the pipes is its
 * own: keep it (bounded) for the report, reading as it comes, so a runtime
 * that writes more than a pipe holds cannot block with us waiting for it.
 * Never blocks; a bounded number of reads, as io_pump. */
enum pump_result io_capture(struct output_stream *stream, struct capture *capture);

/* When runc has exited: capture what the stream holds now, and no more (a
 * process runc left may go on writing to it). */
void io_capture_rest(struct output_stream *stream, struct capture *capture);

/* Once the log is open: put what was captured into it, as if it had just
 * been read from the stream, so nothing runc printed on success is lost. */
void io_replay_capture(struct container_io *io, struct output_stream *stream,
		       const struct capture *capture);

/* Read what the stream holds, frame it into the log and send it to the
 * attach clients. Stops at EAGAIN (PUMP_AGAIN), at EOF (PUMP_EOF: the last
 * line is flushed; the caller closes the fd), or after a bounded number of
 * reads (PUMP_MORE), so a container writing without pause cannot starve
 * the other fds in the loop. */
enum pump_result io_pump(struct container_io *io, struct output_stream *stream);

/* Listen on path for attach clients, mode 0600 from the moment it exists.
 * It is bound through /proc/self/fd/N/NAME, N our fd of its directory, so
 * it lands there whatever the path does meanwhile, and a path longer than
 * sun_path works (NAME itself must leave room for the prefix). */
int io_attach_listen(struct container_io *io, const char *path, bool seqpacket);
void io_attach_accept(struct container_io *io);
void io_attach_client_event(struct container_io *io, unsigned client_id, uint32_t events);
void io_stdin_writable(struct container_io *io);

/* For ctl.c, beside io.c: add, change or remove an fd in the shim's epoll
 * set (logged on failure); close the container's stdin once what is
 * buffered for it is written. */
void io_watch(struct container_io *io, int op, int fd, uint32_t events, uint64_t tag);
void io_stdin_end(struct container_io *io);

/* ctl.c. Make the control FIFO at path (mode 0600, ours) and watch it. A FIFO
 * left there is replaced: another's could let others write to it. EEXIST:
 * the path holds something else, or a FIFO not made by us appeared. */
int io_ctl_open(struct container_io *io, const char *path);
void io_ctl_readable(struct container_io *io);

/* "TYPE WIDTH HEIGHT" (a newline already removed): 0 or -1 (EINVAL). */
int parse_ctl_line(const char *line, int *type, unsigned *width, unsigned *height);
/* Remove the FIFO (at the end, beside io_close). */
void io_ctl_close(struct container_io *io);

/* At the container's exit: note how much each stream holds now. What the
 * container wrote is all there; anything after is from processes it left
 * behind, which must not keep us reading (and the exit file waiting). */
void io_mark_exit(struct container_io *io);

/* Then: pump the streams for what io_mark_exit found (and a little more,
 * for late terminal bytes), stopping early at EAGAIN or EOF, and flush any
 * unfinished line into the log. Never blocks. */
void io_drain(struct container_io *io);

/* Then, after the exit file: give attach clients a bounded time to take
 * what they are owed, close them, remove the socket, and close everything
 * but the log and the control FIFO (io_ctl_close, ctl.c). */
void io_close(struct container_io *io);

#endif
