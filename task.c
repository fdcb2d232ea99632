/* task.c: containerd's task service (issue 11), in the long-lived server
 * that containerd-main.c's `start` forked. One epoll loop: containerd's
 * ttrpc connections, SIGCHLD, and each process's stdio.
 *
 * Each process of the task gets a shim daemon of the core's, speaking
 * shimmy's words to us: it runs `runc create` (or `runc exec`), reports
 * the PID on a sync pipe, and writes an exit file. The init's runs here,
 * in this process (shim_host, from Create until the init has exited): the
 * core's loop then runs ours inside it, and a task costs one process, as
 * the Go shim's does. An exec's is a daemon of its own (shim_launch, as
 * any front end starts one), whose exit is our SIGCHLD. Either writes the
 * process's output straight into containerd's FIFOs (its sinks); what
 * the stdin FIFO holds reaches the process through its attach socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "containerd.h"
#include "events.pb-c.h"
#include "jsonread.h"
#include "runtime.h"
#include "shim.h"
#include "task.pb-c.h"
#include "util.h"

#define LAUNCH_TIMEOUT_MS 60000

enum watch { WATCH_LISTEN = 1, WATCH_SIGNALS, WATCH_CONN, WATCH_ATTACH, WATCH_STDIN, WATCH_REPORT };
#define TAG(kind, fd) (((uint64_t)(uint32_t)(fd) << 32) | (kind))

struct conn {
	int fd;
	struct ttrpc_reader reader;
	struct conn *next;
};

/* The loop's state beyond struct task_server: kept here, passed down. */
struct loop {
	struct task_server *server;
	struct conn *conns;
};

static void watch(struct task_server *s, int op, int fd, uint32_t events, enum watch kind)
{
	struct epoll_event event = { .events = events, .data.u64 = TAG(kind, fd) };

	if (epoll_ctl(s->epoll_fd, op, fd, op == EPOLL_CTL_DEL ? NULL : &event) < 0)
		syslog(LOG_WARNING, "containerd shim: epoll_ctl fd %d: %m", fd);
}

/* ---- answering ---------------------------------------------------------- */

static void respond(int conn_fd, uint32_t stream_id, enum ttrpc_code code, const char *message,
		    const uint8_t *payload, size_t len)
{
	size_t frame_len;
	uint8_t *frame = ttrpc_response_frame(stream_id, code, message, payload, len, &frame_len);

	if (!frame || write_all(conn_fd, frame, frame_len) < 0)
		syslog(LOG_WARNING, "containerd shim: answer stream %u: %m", stream_id);
	free(frame);
}

/* Pack a message into a malloc'd buffer and answer with it. */
#define RESPOND_WITH(conn_fd, stream_id, prefix, message)                                   \
	do {                                                                                \
		size_t len_ = prefix##__get_packed_size(message);                           \
		uint8_t *buf_ = malloc(len_ ? len_ : 1);                                    \
		if (!buf_) {                                                                \
			respond(conn_fd, stream_id, TTRPC_INTERNAL, "out of memory", NULL, 0); \
			break;                                                              \
		}                                                                           \
		prefix##__pack(message, buf_);                                              \
		respond(conn_fd, stream_id, TTRPC_OK, NULL, buf_, len_);                    \
		free(buf_);                                                                 \
	} while (0)

#define PUBLISH(server, topic, type, prefix, message)                                  \
	do {                                                                           \
		size_t len_ = prefix##__get_packed_size(message);                      \
		uint8_t *buf_ = malloc(len_ ? len_ : 1);                               \
		if (buf_) {                                                            \
			prefix##__pack(message, buf_);                                 \
			events_publish(server, topic, type, buf_, len_);               \
			free(buf_);                                                    \
		}                                                                      \
	} while (0)

static Task__Timestamp timestamp_of(const struct timespec *at)
{
	Task__Timestamp t = TASK__TIMESTAMP__INIT;

	t.seconds = at->tv_sec;
	t.nanos = (int32_t)at->tv_nsec;
	return t;
}

/* ---- processes ---------------------------------------------------------- */

static struct process *find_process(struct task_server *s, const char *exec_id)
{
	for (struct process *p = s->processes; p; p = p->next)
		if (strcmp(p->exec_id, exec_id ? exec_id : "") == 0)
			return p;
	return NULL;
}

static struct process *process_by_fd(struct task_server *s, int fd)
{
	for (struct process *p = s->processes; p; p = p->next)
		if (p->attach_fd == fd || p->stdin_fd == fd)
			return p;
	return NULL;
}

static char *path_in_bundle(struct task_server *s, const struct process *p, const char *suffix)
{
	char *path;

	return asprintf(&path, "%s/%s.%s", s->bundle, p->name, suffix) < 0 ? NULL : path;
}

static void close_stdio(struct task_server *s, struct process *p)
{
	int *fds[] = { &p->attach_fd, &p->stdin_fd, &p->stdout_fd, &p->stderr_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0 && (fds[i] != &p->stderr_fd || p->stderr_fd != p->stdout_fd))
			epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, *fds[i], NULL);
	}
	if (p->stderr_fd == p->stdout_fd)
		p->stderr_fd = -1;
	close_fd(&p->attach_fd);
	close_fd(&p->stdin_fd);
	close_fd(&p->stdin_keep_fd);
	close_fd(&p->stdout_fd);
	close_fd(&p->stderr_fd);
	free(p->stdin_held);
	p->stdin_held = NULL;
}

static void free_process(struct task_server *s, struct process *p)
{
	struct process **link = &s->processes;

	while (*link && *link != p)
		link = &(*link)->next;
	if (*link)
		*link = p->next;
	close_stdio(s, p);
	while (p->waiters) {
		struct waiter *w = p->waiters;
		p->waiters = w->next;
		free(w);
	}
	if (p->spec_path)
		unlink(p->spec_path);
	free(p->exec_id);
	free(p->stdin_path);
	free(p->stdout_path);
	free(p->stderr_path);
	free(p->spec_path);
	free(p);
}

static struct process *new_process(struct task_server *s, const char *exec_id, bool terminal,
				   const char *in, const char *out, const char *err)
{
	struct process *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->exec_id = strdup(exec_id);
	p->stdin_path = strdup(in ? in : "");
	p->stdout_path = strdup(out ? out : "");
	p->stderr_path = strdup(err ? err : "");
	if (!p->exec_id || !p->stdin_path || !p->stdout_path || !p->stderr_path) {
		free(p->exec_id);
		free(p->stdin_path);
		free(p->stdout_path);
		free(p->stderr_path);
		free(p);
		return NULL;
	}
	snprintf(p->name, sizeof(p->name), exec_id[0] ? "exec-%.70s" : "init", exec_id);
	p->terminal = terminal;
	p->attach_fd = p->stdin_fd = p->stdin_keep_fd = p->stdout_fd = p->stderr_fd = -1;
	p->next = s->processes;
	s->processes = p;
	return p;
}

/* Run `runc --root R ARGS...` to the end: 0, or -1 with what it said (or
 * why it could not run) in error. Its stdout, if wanted, in *out. */
static int run_runc(struct task_server *s, const char *const *args, char **out, char *error,
		    size_t error_len)
{
	int out_pipe[2], err_pipe[2], status;
	const char *argv[16];
	size_t argc = 0;
	char *text = NULL, *err_text = NULL;
	pid_t pid;

	argv[argc++] = "runc";
	argv[argc++] = "--root";
	argv[argc++] = s->runc_root;
	for (; *args && argc < 15; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;
	if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
		snprintf(error, error_len, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		if (sigprocmask(SIG_SETMASK, &none, NULL) < 0 || dup2(out_pipe[1], 1) < 0 ||
		    dup2(err_pipe[1], 2) < 0)
			_exit(126);
		execvp("runc", (char *const *)argv);
		dprintf(2, "exec runc: %s", strerror(errno));
		_exit(127);
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (pid < 0) {
		close(out_pipe[0]);
		close(err_pipe[0]);
		snprintf(error, error_len, "fork: %s", strerror(errno));
		return -1;
	}
	/* runc writes little: read stdout, then stderr, then wait. */
	if (read_until_eof(out_pipe[0], -1, &text) < 0)
		text = NULL;
	if (read_until_eof(err_pipe[0], -1, &err_text) < 0)
		err_text = NULL;
	close(out_pipe[0]);
	close(err_pipe[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(error, error_len, "runc %s failed: %s", argv[3],
			 err_text && err_text[0] ? err_text : "(no message)");
		free(text);
		free(err_text);
		return -1;
	}
	if (out)
		*out = text;
	else
		free(text);
	free(err_text);
	return 0;
}

/* The daemon's attach socket, SOCK_SEQPACKET, by a path of any length. */
static int connect_attach(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect_unix(fd, path) < 0)
		close_fd(&fd);
	return fd;
}

/* The shim daemon's report: the PID, or why not (in error). */
static pid_t report_pid(const char *report, char *error, size_t error_len)
{
	struct flat_json obj;
	const char *kind, *text;
	long long pid = 0;

	if (!report || flat_json_parse(report, &obj) < 0) {
		snprintf(error, error_len, "no report from the shim daemon: %s", report ? report : "(none)");
		return -1;
	}
	kind = flat_json_string(&obj, "kind");
	if (kind && strcmp(kind, "container_pid") == 0 && flat_json_number(&obj, "pid", &pid) && pid > 0) {
		free(obj.text);
		return (pid_t)pid;
	}
	text = flat_json_string(&obj, "stderr");
	if (!text || !text[0])
		text = flat_json_string(&obj, "message");
	snprintf(error, error_len, "%s", text && text[0] ? text : report);
	free(obj.text);
	return -1;
}

static int open_fifos(struct process *p)
{
	if (p->stdout_path[0] && (p->stdout_fd = open(p->stdout_path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	if (p->stderr_path[0] && strcmp(p->stderr_path, p->stdout_path) != 0 &&
	    (p->stderr_fd = open(p->stderr_path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
		return -1;
	if (p->stderr_fd < 0)
		p->stderr_fd = p->stdout_fd;
	/* As large as a pipe of the core's: fewer wake-ups on both sides.
	 * (Best effort: the limit may be lower for this user.) */
	if (p->stdout_fd >= 0)
		fcntl(p->stdout_fd, F_SETPIPE_SZ, 1 << 20);
	if (p->stderr_fd >= 0 && p->stderr_fd != p->stdout_fd)
		fcntl(p->stderr_fd, F_SETPIPE_SZ, 1 << 20);
	if (p->stdin_path[0]) {
		/* Our reader first, then a writer of ours that keeps the FIFO
		 * from ending when the client's goes (until CloseIO). */
		p->stdin_fd = open(p->stdin_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (p->stdin_fd < 0)
			return -1;
		p->stdin_keep_fd = open(p->stdin_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (p->stdin_keep_fd < 0)
			return -1;
	}
	return 0;
}

/* The files in the bundle through which the core serves process p:
 * init.pid, init.exit, init.attach, ... (exec-ID.* for an exec). */
struct daemon_files {
	char *pid, *exit, *attach, *ctl, *daemon, *log;
};

static int daemon_files_make(struct task_server *s, const struct process *p, struct daemon_files *f)
{
	*f = (struct daemon_files){
		.pid = path_in_bundle(s, p, "pid"),
		.exit = path_in_bundle(s, p, "exit"),
		.attach = path_in_bundle(s, p, "attach"),
		.ctl = path_in_bundle(s, p, "ctl"),
		.daemon = path_in_bundle(s, p, "shim.pid"),
		.log = path_in_bundle(s, p, "shim.log"),
	};
	return f->pid && f->exit && f->attach && f->ctl && f->daemon && f->log ? 0 : -1;
}

static void daemon_files_free(struct daemon_files *f)
{
	char **paths[] = { &f->pid, &f->exit, &f->attach, &f->ctl, &f->daemon, &f->log };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		free(*paths[i]);
		*paths[i] = NULL;
	}
}

/* What the core is told for p: shimmy's flags, as conman would give them,
 * and the FIFOs as the output's sinks (the core writes the output to them
 * as it comes: one copy, as the Go shim makes). runtime_args must live as
 * long as the core does. */
static struct shim_args daemon_args(struct task_server *s, struct process *p,
				    const struct daemon_files *f, char **runtime_args)
{
	bool exec = p->exec_id[0] != '\0';

	return (struct shim_args){
		.shim_logfile = f->log,
		.log_level = DIAG_INFO,
		.runtime = "runc",
		.runtime_args = runtime_args,
		.runtime_arg_count = 2,
		.bundle = exec ? NULL : s->bundle,
		.container_id = s->id,
		.container_pidfile = f->pid,
		.container_exitfile = f->exit,
		.container_attachfile = f->attach,
		.attach_seqpacket = true,
		.log_format = LOG_FORMAT_SHIMMY,
		.stdin_enabled = p->stdin_path[0] != '\0' || p->terminal,
		.stdin_once = !p->terminal,
		.terminal = p->terminal,
		.container_ctlfile = p->terminal ? f->ctl : NULL,
		.sync_fd = -1,
		.exec_process_spec = exec ? p->spec_path : NULL,
		.go_fd = -1,
		.ready_fd = -1,
		.stdout_sink_fd = p->stdout_fd,
		.stderr_sink_fd = p->stderr_fd,
		/* Ours are all blocked, read from the signalfd; runc's and
		 * the container's must not be. */
		.unblock_children = true,
		/* A runc that hangs is killed, and the Create or Start fails,
		 * rather than the task waiting for ever. */
		.runtime_timeout = LAUNCH_TIMEOUT_MS / 1000,
	};
}

/* p's stdio is ours to serve from now on: what its daemon's attach
 * socket sends, and its stdin FIFO. */
static void watch_stdio(struct task_server *s, struct process *p)
{
	watch(s, EPOLL_CTL_ADD, p->attach_fd, EPOLLIN, WATCH_ATTACH);
	if (p->stdin_fd >= 0)
		watch(s, EPOLL_CTL_ADD, p->stdin_fd, EPOLLIN, WATCH_STDIN);
}

/* Start a shim daemon of the core's for an exec: `runc exec` once we are
 * attached (so no output is lost). The PID, or -1 with error said. */
static pid_t launch(struct task_server *s, struct process *p, char *error, size_t error_len)
{
	char *runtime_args[] = { "--root", s->runc_root, NULL }, *report = NULL, *ready = NULL;
	int sync_pipe[2] = { -1, -1 }, go_pipe[2] = { -1, -1 }, ready_pipe[2] = { -1, -1 };
	struct daemon_files files;
	struct shim_args args;
	pid_t pid = -1, daemon_pid;
	int status;

	if (daemon_files_make(s, p, &files) < 0 || pipe2(sync_pipe, O_CLOEXEC) < 0 ||
	    pipe2(go_pipe, O_CLOEXEC) < 0 || pipe2(ready_pipe, O_CLOEXEC) < 0) {
		snprintf(error, error_len, "prepare the shim daemon: %s", strerror(errno));
		goto out;
	}
	/* The FIFOs first: the daemon holds them until the process has
	 * exited and its output is all there. */
	if (open_fifos(p) < 0) {
		snprintf(error, error_len, "open the process's FIFOs: %s", strerror(errno));
		goto out;
	}
	args = daemon_args(s, p, &files, runtime_args);
	args.shim_pidfile = files.daemon;
	args.sync_fd = sync_pipe[1];
	args.go_fd = go_pipe[0];
	args.ready_fd = ready_pipe[1];
	status = shim_launch(&args, &shimmy_dialect);
	/* The daemon has its own copies: ours would keep the reader from
	 * ever seeing the end. */
	if (p->stderr_fd == p->stdout_fd)
		p->stderr_fd = -1;
	close_fd(&p->stdout_fd);
	close_fd(&p->stderr_fd);
	close_fd(&sync_pipe[1]);
	close_fd(&go_pipe[0]);
	close_fd(&ready_pipe[1]);
	if (status != 0 || read_pid_file(files.daemon, &daemon_pid) < 0) {
		snprintf(error, error_len, "start the shim daemon (see %s)", files.log);
		goto out;
	}
	p->daemon_pid = daemon_pid;
	if (read_until_eof(ready_pipe[0], LAUNCH_TIMEOUT_MS, &ready) < 0)
		ready = NULL;
	if (ready && ready[0]) {
		p->attach_fd = connect_attach(files.attach);
		if (p->attach_fd < 0 || write_all(go_pipe[1], "", 1) < 0) {
			snprintf(error, error_len, "attach to %s: %s", files.attach, strerror(errno));
			goto out;
		}
	}
	close_fd(&go_pipe[1]);
	if (read_until_eof(sync_pipe[0], LAUNCH_TIMEOUT_MS, &report) < 0)
		report = NULL;
	pid = report_pid(report, error, error_len);
	if (pid < 0)
		goto out;
	if (p->attach_fd < 0) {
		snprintf(error, error_len, "connect the process's stdio: %s", strerror(errno));
		pid = -1;
		goto out;
	}
	watch_stdio(s, p);
out:
	close_fd(&sync_pipe[0]);
	close_fd(&sync_pipe[1]);
	close_fd(&go_pipe[0]);
	close_fd(&go_pipe[1]);
	close_fd(&ready_pipe[0]);
	close_fd(&ready_pipe[1]);
	free(report);
	free(ready);
	daemon_files_free(&files);
	return pid;
}

/* ---- stdio: the stdin FIFO to the attach socket ------------------------ */

/* Send one packet of stdin to the daemon: 0, or -1 (EAGAIN) when it
 * holds all it can for now. Never blocking: the init's daemon runs in
 * this very process, and could not drain its socket while we wait. */
static int stdin_send(struct process *p, const char *data, size_t len)
{
	if (send(p->attach_fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
		return 0;
	if (errno == EAGAIN)
		return -1;
	syslog(LOG_WARNING, "containerd shim: stdin for %s: %m", p->name);
	return 0; /* dropped: the daemon is going */
}

/* The attach socket has room again: the held packet goes, and the stdin
 * FIFO is read again. */
static void stdin_release(struct task_server *s, struct process *p)
{
	if (p->attach_fd >= 0 && p->stdin_held && stdin_send(p, p->stdin_held, p->stdin_held_len) < 0)
		return;
	free(p->stdin_held);
	p->stdin_held = NULL;
	if (p->attach_fd >= 0)
		watch(s, EPOLL_CTL_MOD, p->attach_fd, EPOLLIN, WATCH_ATTACH);
	if (p->stdin_fd >= 0)
		watch(s, EPOLL_CTL_ADD, p->stdin_fd, EPOLLIN, WATCH_STDIN);
}

/* The output needs nothing from us: the daemon writes it to the FIFOs
 * (its sinks). What its attach socket still sends (a stream with no FIFO:
 * ctr --null-io) is read and dropped, so the daemon never finds its one
 * client behind and drops it, and stdin with it. 0, or -1 at the end. */
static int attach_read(struct task_server *s, struct process *p)
{
	char frame[64];
	ssize_t n = recv(p->attach_fd, frame, sizeof(frame), MSG_DONTWAIT | MSG_TRUNC);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		watch(s, EPOLL_CTL_DEL, p->attach_fd, 0, WATCH_ATTACH);
		close_fd(&p->attach_fd);
		/* A packet held for it goes nowhere; stdin is read again,
		 * to its end (stdin_readable, with no socket). */
		if (p->stdin_held)
			stdin_release(s, p);
		return -1;
	}
	return 0;
}

static void stdin_readable(struct task_server *s, struct process *p)
{
	char buf[4096]; /* a packet each: small, as above */
	ssize_t n = read(p->stdin_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && p->attach_fd >= 0) {
		if (stdin_send(p, buf, (size_t)n) == 0)
			return;
		/* Held, and no more read until the socket takes it. */
		p->stdin_held = malloc((size_t)n);
		if (!p->stdin_held) {
			syslog(LOG_WARNING, "containerd shim: stdin for %s: out of memory", p->name);
			return;
		}
		memcpy(p->stdin_held, buf, (size_t)n);
		p->stdin_held_len = (size_t)n;
		watch(s, EPOLL_CTL_DEL, p->stdin_fd, 0, WATCH_STDIN);
		watch(s, EPOLL_CTL_MOD, p->attach_fd, EPOLLIN | EPOLLOUT, WATCH_ATTACH);
		return;
	}
	/* Every writer is gone (the client's, and ours after CloseIO): the
	 * process's stdin ends too. */
	watch(s, EPOLL_CTL_DEL, p->stdin_fd, 0, WATCH_STDIN);
	close_fd(&p->stdin_fd);
	if (p->attach_fd >= 0)
		shutdown(p->attach_fd, SHUT_WR);
}

/* ---- the exit ----------------------------------------------------------- */

static void answer_wait(struct waiter *w, const struct process *p)
{
	Task__WaitResponse response = TASK__WAIT_RESPONSE__INIT;
	Task__Timestamp at = timestamp_of(&p->exited_at);

	response.exit_status = p->exit_status;
	response.exited_at = &at;
	RESPOND_WITH(w->conn_fd, w->stream_id, task__wait_response, &response);
}

/* The shim daemon of p has exited: its exit file says how the process
 * ended. The output is in the FIFOs already (the daemon drained it there
 * before writing the exit file, and its exit closed them: the reader's
 * EOF), so the exit can be told at once. */
static void process_exited(struct task_server *s, struct process *p)
{
	Events__TaskExit exited = EVENTS__TASK_EXIT__INIT;
	Task__Timestamp at;
	char *exit_path = path_in_bundle(s, p, "exit"), text[1024];
	struct flat_json obj;
	const char *reason;
	long long value = 0;

	clock_gettime(CLOCK_REALTIME, &p->exited_at);
	p->exit_status = 255; /* unknown, as containerd says of a lost shim */
	if (exit_path && read_small_file(exit_path, text, sizeof(text)) >= 0 &&
	    flat_json_parse(text, &obj) == 0) {
		reason = flat_json_string(&obj, "reason");
		if (reason && strcmp(reason, "exited") == 0 && flat_json_number(&obj, "exitCode", &value))
			p->exit_status = (uint32_t)value;
		else if (reason && strcmp(reason, "signaled") == 0 && flat_json_number(&obj, "signal", &value))
			p->exit_status = 128 + (uint32_t)value;
		if (flat_json_number(&obj, "oomKilled", &value) && value == 1 && !p->exec_id[0]) {
			Events__TaskOOM oom = EVENTS__TASK_OOM__INIT;
			oom.container_id = (char *)s->id;
			PUBLISH(s, "/tasks/oom", "containerd.events.TaskOOM", events__task_oom, &oom);
		}
		free(obj.text);
	}
	free(exit_path);
	p->state = PROCESS_STOPPED;
	close_stdio(s, p);
	at = timestamp_of(&p->exited_at);
	exited.container_id = (char *)s->id;
	exited.id = p->exec_id[0] ? p->exec_id : (char *)s->id;
	exited.pid = (uint32_t)p->pid;
	exited.exit_status = p->exit_status;
	exited.exited_at = &at;
	PUBLISH(s, "/tasks/exit", "containerd.events.TaskExit", events__task_exit, &exited);
	while (p->waiters) {
		struct waiter *w = p->waiters;
		p->waiters = w->next;
		answer_wait(w, p);
		free(w);
	}
}

/* A child of ours has been reaped: if it was a process's daemon, the
 * process is over. Whether it was one. */
static bool daemon_exited(struct task_server *s, pid_t pid)
{
	for (struct process *p = s->processes; p; p = p->next) {
		if (p->daemon_pid == pid) {
			if (p->state != PROCESS_STOPPED)
				process_exited(s, p);
			return true;
		}
	}
	return false;
}

static void reap(struct task_server *s)
{
	if (s->hosting)
		return; /* the core reaps, and hands us our daemons (host_child_exited) */
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid <= 0)
			return;
		daemon_exited(s, pid);
	}
}

/* ---- the methods -------------------------------------------------------- */

/* The image's rootfs, if Create mounted one, goes: logged if it will not,
 * as nobody waits on it. */
static void unmount_rootfs(struct task_server *s)
{
	if (rootfs_unmount(s->bundle) < 0)
		syslog(LOG_WARNING, "containerd shim %s: unmount %s/rootfs: %m", s->id, s->bundle);
}

#define UNPACK(prefix, request) prefix##__unpack(NULL, (request)->payload_len, (request)->payload)

static void method_create(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	Task__CreateTaskRequest *req = UNPACK(task__create_task_request, r);
	char error[1024];

	if (!req) {
		respond(fd, stream, TTRPC_INVALID_ARGUMENT, "CreateTaskRequest: bad message", NULL, 0);
		return;
	}
	if (find_process(s, "") || s->init_deleted) {
		respond(fd, stream, TTRPC_ALREADY_EXISTS, "the task was created already", NULL, 0);
	} else if (rootfs_mount(s->bundle, req->rootfs, req->n_rootfs, error, sizeof(error)) < 0) {
		respond(fd, stream, TTRPC_INTERNAL, error, NULL, 0);
	} else if (!new_process(s, "", req->terminal, req->stdin, req->stdout, req->stderr)) {
		unmount_rootfs(s);
		respond(fd, stream, TTRPC_INTERNAL, "out of memory", NULL, 0);
	} else {
		/* Answered by the core's report (create_reported), once the
		 * loop has begun the init's daemon here (host_init). */
		s->create_conn_fd = fd;
		s->create_stream = stream;
		s->host_wanted = true;
	}
	task__create_task_request__free_unpacked(req, NULL);
}

/* The Create fails: answered, and what it made undone. */
static void create_failed(struct task_server *s, struct process *init, const char *error)
{
	if (s->create_conn_fd >= 0)
		respond(s->create_conn_fd, s->create_stream, TTRPC_INTERNAL, error, NULL, 0);
	s->create_conn_fd = -1;
	free_process(s, init);
	unmount_rootfs(s);
}

/* The core's report on the init: its PID (the Create's answer; then we
 * attach to its stdio) or why runc could not create it. */
static void create_reported(struct task_server *s)
{
	Task__CreateTaskResponse response = TASK__CREATE_TASK_RESPONSE__INIT;
	Events__TaskCreate created = EVENTS__TASK_CREATE__INIT;
	Events__TaskIO io = EVENTS__TASK_IO__INIT;
	struct process *init = find_process(s, "");
	char *report = NULL, *attach_path, error[1024];
	pid_t pid;

	watch(s, EPOLL_CTL_DEL, s->report_fd, 0, WATCH_REPORT);
	if (read_until_eof(s->report_fd, LAUNCH_TIMEOUT_MS, &report) < 0)
		report = NULL;
	close_fd(&s->report_fd);
	pid = report_pid(report, error, sizeof(error));
	free(report);
	if (!init)
		return; /* deleted before it was reported: nobody to tell */
	if (pid < 0)
		return create_failed(s, init, error);
	init->pid = pid;
	/* Its stdio, while the daemon is here to serve it; read only in
	 * host_leave, the report came with the process's end, which
	 * host_leave tells next. */
	if (s->hosting) {
		attach_path = path_in_bundle(s, init, "attach");
		init->attach_fd = attach_path ? connect_attach(attach_path) : -1;
		free(attach_path);
		if (init->attach_fd < 0) {
			snprintf(error, sizeof(error), "connect the process's stdio: %s", strerror(errno));
			return create_failed(s, init, error);
		}
		watch_stdio(s, init);
	}
	if (s->create_conn_fd >= 0) {
		response.pid = (uint32_t)pid;
		RESPOND_WITH(s->create_conn_fd, s->create_stream, task__create_task_response, &response);
	}
	s->create_conn_fd = -1;
	io.stdin = init->stdin_path;
	io.stdout = init->stdout_path;
	io.stderr = init->stderr_path;
	io.terminal = init->terminal;
	created.container_id = (char *)s->id;
	created.bundle = (char *)s->bundle;
	created.io = &io;
	created.pid = (uint32_t)pid;
	PUBLISH(s, "/tasks/create", "containerd.events.TaskCreate", events__task_create, &created);
}

static struct process *process_or_answer(struct task_server *s, int fd, uint32_t stream,
					 const char *exec_id)
{
	struct process *p = find_process(s, exec_id);
	char message[256];

	if (!p) {
		snprintf(message, sizeof(message), "process %s: not found", exec_id && exec_id[0] ? exec_id : "init");
		respond(fd, stream, TTRPC_NOT_FOUND, message, NULL, 0);
	}
	return p;
}

static void method_start(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	Task__StartRequest *req = UNPACK(task__start_request, r);
	Task__StartResponse response = TASK__START_RESPONSE__INIT;
	char error[1024];
	struct process *p;

	if (!req) {
		respond(fd, stream, TTRPC_INVALID_ARGUMENT, "StartRequest: bad message", NULL, 0);
		return;
	}
	if ((p = process_or_answer(s, fd, stream, req->exec_id))) {
		if (p->state != PROCESS_CREATED) {
			respond(fd, stream, TTRPC_FAILED_PRECONDITION, "the process was started already", NULL, 0);
		} else if (!p->exec_id[0]) {
			const char *args[] = { "start", s->id, NULL };
			if (run_runc(s, args, NULL, error, sizeof(error)) < 0) {
				respond(fd, stream, TTRPC_INTERNAL, error, NULL, 0);
			} else {
				Events__TaskStart started = EVENTS__TASK_START__INIT;
				p->state = PROCESS_RUNNING;
				response.pid = (uint32_t)p->pid;
				RESPOND_WITH(fd, stream, task__start_response, &response);
				started.container_id = (char *)s->id;
				started.pid = (uint32_t)p->pid;
				PUBLISH(s, "/tasks/start", "containerd.events.TaskStart", events__task_start, &started);
			}
		} else if ((p->pid = launch(s, p, error, sizeof(error))) < 0) {
			/* Never started: it is over, as for runc-v2. */
			p->state = PROCESS_STOPPED;
			p->exit_status = 255;
			respond(fd, stream, TTRPC_INTERNAL, error, NULL, 0);
		} else {
			Events__TaskExecStarted started = EVENTS__TASK_EXEC_STARTED__INIT;
			p->state = PROCESS_RUNNING;
			response.pid = (uint32_t)p->pid;
			RESPOND_WITH(fd, stream, task__start_response, &response);
			started.container_id = (char *)s->id;
			started.exec_id = p->exec_id;
			started.pid = (uint32_t)p->pid;
			PUBLISH(s, "/tasks/exec-started", "containerd.events.TaskExecStarted",
				events__task_exec_started, &started);
		}
	}
	task__start_request__free_unpacked(req, NULL);
	reap(s); /* a daemon that ended while we were busy */
}

static void method_state(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	static const Task__Status states[] = {
		[PROCESS_CREATED] = TASK__STATUS__CREATED,
		[PROCESS_RUNNING] = TASK__STATUS__RUNNING,
		[PROCESS_PAUSED] = TASK__STATUS__PAUSED,
		[PROCESS_STOPPED] = TASK__STATUS__STOPPED,
	};
	Task__StateRequest *req = UNPACK(task__state_request, r);
	Task__StateResponse response = TASK__STATE_RESPONSE__INIT;
	Task__Timestamp at;
	struct process *p;

	if (!req) {
		respond(fd, stream, TTRPC_INVALID_ARGUMENT, "StateRequest: bad message", NULL, 0);
		return;
	}
	if ((p = process_or_answer(s, fd, stream, req->exec_id))) {
		response.id = p->exec_id[0] ? p->exec_id : (char *)s->id;
		response.bundle = (char *)s->bundle;
		response.pid = (uint32_t)p->pid;
		response.status = states[p->state];
		response.stdin = p->stdin_path;
		response.stdout = p->stdout_path;
		response.stderr = p->stderr_path;
		response.terminal = p->terminal;
		response.exec_id = p->exec_id;
		if (p->state == PROCESS_STOPPED) {
			at = timestamp_of(&p->exited_at);
			response.exit_status = p->exit_status;
			response.exited_at = &at;
		}
		RESPOND_WITH(fd, stream, task__state_response, &response);
	}
	task__state_request__free_unpacked(req, NULL);
}

static void method_wait(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	Task__WaitRequest *req = UNPACK(task__wait_request, r);
	struct process *p;

	if (!req) {
		respond(fd, stream, TTRPC_INVALID_ARGUMENT, "WaitRequest: bad message", NULL, 0);
		return;
	}
	if ((p = process_or_answer(s, fd, stream, req->exec_id))) {
		struct waiter w = { .conn_fd = fd, .stream_id = stream }, *queued;
		if (p->state == PROCESS_STOPPED)
			answer_wait(&w, p);
		else if ((queued = malloc(sizeof(*queued)))) {
			*queued = w;
			queued->next = p->waiters;
			p->waiters = queued;
		} else {
			respond(fd, stream, TTRPC_INTERNAL, "out of memory", NULL, 0);
		}
	}
	task__wait_request__free_unpacked(req, NULL);
}

static void method_kill(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	Task__KillRequest *req = UNPACK(task__kill_request, r);
	char error[1024], signal_text[16];
	struct process *p;

	if (!req) {
		respond(fd, stream, TTRPC_INVALID_ARGUMENT, "KillRequest: bad message", NULL, 0);
		return;
	}
	if ((p = process_or_answer(s, fd, stream, req->exec_id))) {
		snprintf(signal_text, sizeof(signal_text), "%u", req->signal);
		if (p->state == PROCESS_STOPPED) {
			respond(fd, stream, TTRPC_NOT_FOUND, "process already finished", NULL, 0);
		} else if (p->exec_id[0]) {
			/* Not yet reaped by its shim daemon: its PID is still its. */
			if (kill(p->pid, (int)req->signal) < 0)
				respond(fd, stream, TTRPC_NOT_FOUND, strerror(errno), NULL, 0);
			else
				respond(fd, stream, TTRPC_OK, NULL, NULL, 0);
		} else {
			const char *all[] = { "kill", "--all", s->id, signal_text, NULL };
			const char *one[] = { "kill", s->id, signal_text, NULL };
			if (run_runc(s, req->all ? all : one, NULL, error, sizeof(error)) < 0)
				respond(fd, stream, TTRPC_NOT_FOUND, error, NULL, 0);
			else
				respond(fd, stream, TTRPC_OK, NULL, NULL, 0);
		}
	}
	task__kill_request__free_unpacked(req, NULL);
}

static void method_delete(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	Task__DeleteRequest *req = UNPACK(task__delete_request, r);
	Task__DeleteResponse response = TASK__DELETE_RESPONSE__INIT;
	Task__Timestamp at;
	char error[1024];
	struct process *p;

	if (!req) {
		respond(fd, stream, TTRPC_INVALID_ARGUMENT, "DeleteRequest: bad message", NULL, 0);
		return;
	}
	if ((p = process_or_answer(s, fd, stream, req->exec_id))) {
		if (!p->exec_id[0] && (s->host_wanted || s->report_fd >= 0)) {
			/* Its Create waits for runc: that answer comes first. */
			respond(fd, stream, TTRPC_FAILED_PRECONDITION, "the task is still being created", NULL, 0);
		} else if (p->state == PROCESS_RUNNING || p->state == PROCESS_PAUSED) {
			respond(fd, stream, TTRPC_FAILED_PRECONDITION, "cannot delete a running process", NULL, 0);
		} else {
			if (!p->exec_id[0]) {
				/* Created and never started, or stopped: runc forgets it
				 * (and kills a created one's init). */
				const char *args[] = { "delete", "--force", s->id, NULL };
				if (run_runc(s, args, NULL, error, sizeof(error)) < 0)
					syslog(LOG_WARNING, "containerd shim %s: %s", s->id, error);
				unmount_rootfs(s);
			}
			at = timestamp_of(&p->exited_at);
			response.pid = (uint32_t)p->pid;
			response.exit_status = p->exit_status;
			if (p->state == PROCESS_STOPPED)
				response.exited_at = &at;
			RESPOND_WITH(fd, stream, task__delete_response, &response);
			if (!p->exec_id[0]) {
				Events__TaskDelete deleted = EVENTS__TASK_DELETE__INIT;
				deleted.container_id = (char *)s->id;
				deleted.pid = (uint32_t)p->pid;
				deleted.exit_status = p->exit_status;
				deleted.exited_at = response.exited_at;
				PUBLISH(s, "/tasks/delete", "containerd.events.TaskDelete", events__task_delete, &deleted);
				s->init_deleted = true;
			}
			free_process(s, p);
		}
	}
	task__delete_request__free_unpacked(req, NULL);
}

static void method_exec(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	Task__ExecProcessRequest *req = UNPACK(task__exec_process_request, r);
	Events__TaskExecAdded added = EVENTS__TASK_EXEC_ADDED__INIT;
	struct process *p;

	if (!req) {
		respond(fd, stream, TTRPC_INVALID_ARGUMENT, "ExecProcessRequest: bad message", NULL, 0);
		return;
	}
	if (!req->exec_id[0] || find_process(s, req->exec_id)) {
		respond(fd, stream, TTRPC_ALREADY_EXISTS, "an exec with that ID exists, or no ID", NULL, 0);
	} else if (!req->spec || !find_process(s, "")) {
		respond(fd, stream, TTRPC_FAILED_PRECONDITION, "no process spec, or no task", NULL, 0);
	} else if (!(p = new_process(s, req->exec_id, req->terminal, req->stdin, req->stdout, req->stderr)) ||
		   !(p->spec_path = path_in_bundle(s, p, "json")) ||
		   /* The spec is the OCI process as JSON: runc exec reads it as it is. */
		   write_file_atomic(p->spec_path, req->spec->value.data, req->spec->value.len, 0600) < 0) {
		if (p)
			free_process(s, p);
		respond(fd, stream, TTRPC_INTERNAL, "write the process spec", NULL, 0);
	} else {
		respond(fd, stream, TTRPC_OK, NULL, NULL, 0);
		added.container_id = (char *)s->id;
		added.exec_id = p->exec_id;
		PUBLISH(s, "/tasks/exec-added", "containerd.events.TaskExecAdded", events__task_exec_added, &added);
	}
	task__exec_process_request__free_unpacked(req, NULL);
}

static void method_pids(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	Task__PidsResponse response = TASK__PIDS_RESPONSE__INIT;
	Task__ProcessInfo infos[256], *list[256];
	const char *args[] = { "ps", "--format", "json", s->id, NULL };
	char error[1024], *out = NULL, *p, *end;
	size_t count = 0;

	(void)r;
	if (run_runc(s, args, &out, error, sizeof(error)) < 0) {
		respond(fd, stream, TTRPC_NOT_FOUND, error, NULL, 0);
		return;
	}
	/* [1234,1240]: runc's list of the container's PIDs. */
	for (p = out; p && *p && count < 256; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p) {
			end = p + 1;
			continue;
		}
		task__process_info__init(&infos[count]);
		infos[count].pid = (uint32_t)pid;
		list[count] = &infos[count];
		count++;
	}
	free(out);
	response.processes = list;
	response.n_processes = count;
	RESPOND_WITH(fd, stream, task__pids_response, &response);
}

static void pause_or_resume(struct task_server *s, int fd, uint32_t stream, bool pause)
{
	const char *args[] = { pause ? "pause" : "resume", s->id, NULL };
	struct process *init = find_process(s, "");
	char error[1024];

	if (!init) {
		respond(fd, stream, TTRPC_NOT_FOUND, "no task", NULL, 0);
		return;
	}
	if (run_runc(s, args, NULL, error, sizeof(error)) < 0) {
		respond(fd, stream, TTRPC_FAILED_PRECONDITION, error, NULL, 0);
		return;
	}
	init->state = pause ? PROCESS_PAUSED : PROCESS_RUNNING;
	respond(fd, stream, TTRPC_OK, NULL, NULL, 0);
	if (pause) {
		Events__TaskPaused paused = EVENTS__TASK_PAUSED__INIT;
		paused.container_id = (char *)s->id;
		PUBLISH(s, "/tasks/paused", "containerd.events.TaskPaused", events__task_paused, &paused);
	} else {
		Events__TaskResumed resumed = EVENTS__TASK_RESUMED__INIT;
		resumed.container_id = (char *)s->id;
		PUBLISH(s, "/tasks/resumed", "containerd.events.TaskResumed", events__task_resumed, &resumed);
	}
}

static void method_resize(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	Task__ResizePtyRequest *req = UNPACK(task__resize_pty_request, r);
	struct process *p;
	char line[64], *ctl_path;
	int ctl_fd;

	if (!req) {
		respond(fd, stream, TTRPC_INVALID_ARGUMENT, "ResizePtyRequest: bad message", NULL, 0);
		return;
	}
	if ((p = process_or_answer(s, fd, stream, req->exec_id))) {
		/* The core's control FIFO, in shimmy's order: width, height. */
		int len = snprintf(line, sizeof(line), "1 %u %u\n", req->width & 0xffff, req->height & 0xffff);
		ctl_path = path_in_bundle(s, p, "ctl");
		ctl_fd = ctl_path ? open(ctl_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC) : -1;
		if (!p->terminal || ctl_fd < 0 || write_all(ctl_fd, line, (size_t)len) < 0)
			respond(fd, stream, TTRPC_FAILED_PRECONDITION, "the process has no terminal to resize", NULL, 0);
		else
			respond(fd, stream, TTRPC_OK, NULL, NULL, 0);
		close_fd(&ctl_fd);
		free(ctl_path);
	}
	task__resize_pty_request__free_unpacked(req, NULL);
}

static void method_close_io(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	Task__CloseIORequest *req = UNPACK(task__close_iorequest, r);
	struct process *p;

	if (!req) {
		respond(fd, stream, TTRPC_INVALID_ARGUMENT, "CloseIORequest: bad message", NULL, 0);
		return;
	}
	if ((p = process_or_answer(s, fd, stream, req->exec_id))) {
		/* Our writer on the stdin FIFO goes: once the client's has too,
		 * the FIFO ends, and so does the process's stdin. */
		if (req->stdin)
			close_fd(&p->stdin_keep_fd);
		respond(fd, stream, TTRPC_OK, NULL, NULL, 0);
	}
	task__close_iorequest__free_unpacked(req, NULL);
}

static void method_pause(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	(void)r; /* a PauseRequest names the task, and we serve one */
	pause_or_resume(s, fd, stream, true);
}

static void method_resume(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	(void)r;
	pause_or_resume(s, fd, stream, false);
}

static void method_connect(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	Task__ConnectResponse response = TASK__CONNECT_RESPONSE__INIT;
	struct process *init = find_process(s, "");

	(void)r; /* its id names the task, and we serve one */
	response.shim_pid = (uint32_t)getpid();
	response.task_pid = init ? (uint32_t)init->pid : 0;
	response.version = SHIM_VERSION;
	RESPOND_WITH(fd, stream, task__connect_response, &response);
}

static void method_shutdown(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	(void)r;
	respond(fd, stream, TTRPC_OK, NULL, NULL, 0);
	/* Only once the task is gone: containerd asks after Delete. */
	if (!find_process(s, ""))
		s->shutting_down = true;
}

/* The methods of containerd.task.v2.Task we serve; the rest (Checkpoint,
 * Stats, Update) are answered Unimplemented. Called through the table,
 * never inlined: a request's locals lie below the loop and are given back
 * when it is idle (see release_idle_memory), and a process's core daemon,
 * forked from inside Create or Exec, keeps only their frames. */
static const struct method {
	const char *name;
	void (*serve)(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r);
} methods[] = {
	{ "Create", method_create },
	{ "Start", method_start },
	{ "State", method_state },
	{ "Wait", method_wait },
	{ "Kill", method_kill },
	{ "Delete", method_delete },
	{ "Exec", method_exec },
	{ "Pids", method_pids },
	{ "Pause", method_pause },
	{ "Resume", method_resume },
	{ "ResizePty", method_resize },
	{ "CloseIO", method_close_io },
	{ "Connect", method_connect },
	{ "Shutdown", method_shutdown },
};

static void dispatch(struct task_server *s, int fd, uint32_t stream, const struct ttrpc_request *r)
{
	char message[256];

	if (strcmp(r->service, TASK_SERVICE) != 0) {
		snprintf(message, sizeof(message), "service %s", r->service);
		respond(fd, stream, TTRPC_UNIMPLEMENTED, message, NULL, 0);
		return;
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(r->method, methods[i].name) == 0) {
			methods[i].serve(s, fd, stream, r);
			return;
		}
	}
	snprintf(message, sizeof(message), "method %s is not supported by this shim", r->method);
	respond(fd, stream, TTRPC_UNIMPLEMENTED, message, NULL, 0);
}

/* ---- connections -------------------------------------------------------- */

static void conn_close(struct loop *loop, struct conn *c)
{
	struct conn **link = &loop->conns;

	if (loop->server->create_conn_fd == c->fd)
		loop->server->create_conn_fd = -1; /* its Create is answered to nobody */
	/* Waits of this connection are answered to nobody. */
	for (struct process *p = loop->server->processes; p; p = p->next) {
		for (struct waiter **w = &p->waiters; *w;) {
			if ((*w)->conn_fd == c->fd) {
				struct waiter *gone = *w;
				*w = gone->next;
				free(gone);
			} else {
				w = &(*w)->next;
			}
		}
	}
	while (*link && *link != c)
		link = &(*link)->next;
	if (*link)
		*link = c->next;
	epoll_ctl(loop->server->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close_fd(&c->fd);
	ttrpc_reader_free(&c->reader);
	free(c);
}

/* Read what the client sent into its frame reader: 1, 0 for nothing yet,
 * -1 at its end. Not inlined into conn_readable: the buffer is gone before
 * a request is served, so a core daemon forked by one does not keep it. */
static __attribute__((noinline)) int conn_fill(struct conn *c)
{
	char buf[4096];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0 || ttrpc_reader_feed(&c->reader, buf, (size_t)n) < 0)
		return -1;
	return 1;
}

static void conn_readable(struct loop *loop, struct conn *c)
{
	struct ttrpc_header header;
	const uint8_t *data;
	enum ttrpc_read_result result;
	int filled = conn_fill(c);

	if (filled == 0)
		return;
	if (filled < 0)
		return conn_close(loop, c);
	while ((result = ttrpc_reader_next(&c->reader, &header, &data)) != TTRPC_NEED_MORE) {
		struct ttrpc_request request;

		if (result == TTRPC_TOO_LARGE) {
			respond(c->fd, header.stream_id, TTRPC_RESOURCE_EXHAUSTED,
				"message larger than ttrpc's 4 MiB", NULL, 0);
			continue;
		}
		if (header.type != TTRPC_REQUEST)
			continue; /* as ttrpc does: for compatibility */
		if (header.stream_id % 2 == 0) {
			respond(c->fd, header.stream_id, TTRPC_INVALID_ARGUMENT,
				"StreamID must be odd for client initiated streams", NULL, 0);
			continue;
		}
		if (ttrpc_request_decode(data, header.length, &request) < 0) {
			respond(c->fd, header.stream_id, TTRPC_INVALID_ARGUMENT, "not a ttrpc Request", NULL, 0);
			continue;
		}
		dispatch(loop->server, c->fd, header.stream_id, &request);
		ttrpc_request_free(&request);
	}
}

static void conn_accept(struct loop *loop)
{
	int fd = accept4(loop->server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	struct conn *c;

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close_fd(&fd);
		return;
	}
	c->fd = fd;
	c->next = loop->conns;
	loop->conns = c;
	watch(loop->server, EPOLL_CTL_ADD, fd, EPOLLIN, WATCH_CONN);
}

/* One event of the loop. Never inlined into it: what a request's work puts
 * on the stack then lies below the loop's frame, where release_idle_memory
 * gives it back. */
static __attribute__((noinline)) void serve_event(struct loop *loop, const struct epoll_event *event)
{
	struct task_server *s = loop->server;
	int fd = (int)(event->data.u64 >> 32);
	struct process *p;
	struct signalfd_siginfo info;

	switch ((enum watch)(event->data.u64 & 0xff)) {
	case WATCH_LISTEN:
		conn_accept(loop);
		break;
	case WATCH_SIGNALS:
		while (read(s->signal_fd, &info, sizeof(info)) == sizeof(info)) {
			if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT)
				s->shutting_down = true;
		}
		reap(s);
		break;
	case WATCH_CONN:
		for (struct conn *c = loop->conns; c; c = c->next) {
			if (c->fd == fd) {
				conn_readable(loop, c);
				break;
			}
		}
		break;
	case WATCH_ATTACH:
		if ((p = process_by_fd(s, fd)) && (event->events & EPOLLOUT) && p->stdin_held)
			stdin_release(s, p);
		if ((p = process_by_fd(s, fd)) && (event->events & ~EPOLLOUT))
			attach_read(s, p);
		break;
	case WATCH_STDIN:
		if ((p = process_by_fd(s, fd)))
			stdin_readable(s, p);
		break;
	case WATCH_REPORT:
		create_reported(s);
		break;
	}
}

static _Noreturn void serve(struct loop *loop);

/* The core's loop has work of ours: our epoll set, nested in its own. */
static void host_ready(void *ctx)
{
	struct loop *loop = ctx;
	struct epoll_event events[16];
	int count = epoll_wait(loop->server->epoll_fd, events, 16, 0);

	for (int i = 0; i < count; i++)
		serve_event(loop, &events[i]);
}

/* The core reaped a child that is not its own: an exec's daemon? */
static bool host_child_exited(void *ctx, pid_t pid, int status)
{
	struct loop *loop = ctx;

	(void)status; /* a daemon's exit file says how its process ended */
	return daemon_exited(loop->server, pid);
}

/* A signal for this process, while the core reads them: SIGTERM and
 * SIGINT end the server as they would otherwise (once the task is gone:
 * the loop ends when the core gives the process back); others are not
 * for the container, and are ignored, as the Go shim ignores them. */
static void host_signalled(void *ctx, int signo)
{
	struct loop *loop = ctx;

	if (signo == SIGTERM || signo == SIGINT)
		loop->server->shutting_down = true;
	else
		syslog(LOG_DEBUG, "containerd shim %s: signal %d ignored", loop->server->id, signo);
}

/* The init's daemon is done: the init has exited (its exit file is
 * written and its output is all in the FIFOs), or runc could not create
 * it. The process is the server's alone again, to serve until Shutdown. */
static void host_leave(void *ctx, int status)
{
	struct loop *loop = ctx;
	struct task_server *s = loop->server;
	struct process *init;

	(void)status; /* the report, or the exit file, says more */
	s->hosting = false;
	if (s->report_fd >= 0)
		create_reported(s); /* a failure, told as the daemon ended */
	init = find_process(s, "");
	if (init && init->state != PROCESS_STOPPED)
		process_exited(s, init);
	watch(s, EPOLL_CTL_ADD, s->signal_fd, EPOLLIN, WATCH_SIGNALS);
	reap(s); /* orphans the core left us */
	serve(loop);
}

/* Begin the init's daemon in this process: runc create, the report, and
 * from then on the core's loop, which calls ours (host_ready) until the
 * init has exited (host_leave). Returns only if it could not begin, with
 * the Create answered. */
static void host_init(struct loop *loop)
{
	struct task_server *s = loop->server;
	struct process *init = find_process(s, "");
	/* What the core holds on to: this frame lives as long as the
	 * process, as shim_host returns only through host_leave. */
	char *runtime_args[] = { "--root", s->runc_root, NULL };
	struct daemon_files files;
	int report_pipe[2] = { -1, -1 };
	struct shim_args args;
	const struct shim_guest guest = {
		.ctx = loop,
		.fd = s->epoll_fd,
		.ready = host_ready,
		.child_exited = host_child_exited,
		.signalled = host_signalled,
		.leave = host_leave,
	};
	char error[256];

	s->host_wanted = false;
	if (!init)
		return; /* deleted already */
	if (daemon_files_make(s, init, &files) < 0 || pipe2(report_pipe, O_CLOEXEC) < 0) {
		snprintf(error, sizeof(error), "prepare the shim daemon: %s", strerror(errno));
		daemon_files_free(&files);
		return create_failed(s, init, error);
	}
	if (open_fifos(init) < 0) {
		snprintf(error, sizeof(error), "open the process's FIFOs: %s", strerror(errno));
		daemon_files_free(&files);
		close_fd(&report_pipe[0]);
		close_fd(&report_pipe[1]);
		return create_failed(s, init, error);
	}
	args = daemon_args(s, init, &files, runtime_args);
	args.sync_fd = report_pipe[1];
	/* The FIFOs are the core's now: it closes them once the output is
	 * all in them, and the reader sees the end. */
	init->stdout_fd = init->stderr_fd = -1;
	s->report_fd = report_pipe[0];
	watch(s, EPOLL_CTL_ADD, s->report_fd, EPOLLIN, WATCH_REPORT);
	/* The core reads every signal from now on, SIGCHLD above all: our
	 * signalfd would take them from it. */
	watch(s, EPOLL_CTL_DEL, s->signal_fd, 0, WATCH_SIGNALS);
	s->hosting = true;
	shim_host(&args, &shimmy_dialect, &guest);
}

/* The loop: until Shutdown, or the init's Create, which carries it on
 * inside the core's (host_init). */
static _Noreturn void serve(struct loop *loop)
{
	struct task_server *s = loop->server;
	bool idle = false;

	while (!s->shutting_down) {
		struct epoll_event events[16];
		int count = epoll_wait(s->epoll_fd, events, 16, idle ? -1 : IDLE_AFTER_MS);

		idle = count == 0; /* then give back memory, as the core's loop does */
		if (idle && release_idle_memory() < 0)
			syslog(LOG_DEBUG, "containerd shim %s: give back idle memory: %m", s->id);
		for (int i = 0; i < count && !s->shutting_down; i++)
			serve_event(loop, &events[i]);
		if (s->host_wanted && !s->shutting_down)
			host_init(loop);
	}
	unlink(s->socket_path);
	exit(0);
}

_Noreturn void task_serve(struct task_server *s)
{
	struct loop loop = { .server = s };
	sigset_t all;

	openlog("containerd-shim-cshim-v2", LOG_PID, LOG_DAEMON);
	/* Every signal read from a signalfd (SIGPIPE too: a reader gone is
	 * an EPIPE): ours, or the core's while it runs here. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	s->signal_fd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->signal_fd < 0 || s->epoll_fd < 0) {
		syslog(LOG_ERR, "containerd shim %s: signalfd or epoll: %m", s->id);
		exit(1);
	}
	watch(s, EPOLL_CTL_ADD, s->listen_fd, EPOLLIN, WATCH_LISTEN);
	watch(s, EPOLL_CTL_ADD, s->signal_fd, EPOLLIN, WATCH_SIGNALS);
	serve(&loop);
}
