/* runtime.h: talking to the OCI runtime (steps 3 and 4) and reporting to
 * the manager: the sync-pipe messages and the exit file. */
#ifndef SHIM_RUNTIME_H
#define SHIM_RUNTIME_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "util.h"

struct runtime {
	const char *path;          /* "runc", or a path */
	char **args;               /* runtime flags placed before "create" */
	size_t arg_count;
	char **command_args;       /* flags placed after "create" or "exec" */
	size_t command_arg_count;
	/* Set: `runc exec --process SPEC --detach` into the running container
	 * ID, and the "container" we report and wait for is that process. */
	const char *exec_process_spec;
	/* >= 0: the predecessor reads one byte here before it execs runc (a
	 * manager that must attach first says when; see conmon.c). */
	int go_fd;
	const char *bundle;
	const char *container_id;
	const char *pidfile;       /* where runc writes the container's PID */
	pid_t pid;                 /* the predecessor running `runc create`; 0 once reaped */
	/* What runc writes to the container's pipes while it creates: its
	 * errors for the report, kept bounded (see io_capture). */
	struct capture stdout_capture, stderr_capture;
	unsigned timeout_seconds;  /* --runtime-timeout; 0: wait as long as it takes */
	bool timed_out;            /* we killed it when the timeout passed */
	/* --terminal: runc connects here and sends the pty master. */
	int console_fd;            /* listening socket, -1 without --terminal */
	char console_dir[64];      /* its private 0700 directory */
	char console_path[96];
};

/* Fork the predecessor: it puts stdio_fds on 0, 1 and 2, restores
 * child_mask and execs `RUNTIME [args...] create --bundle B --pid-file P ID`
 * (or, with exec_process_spec, `RUNTIME [args...] exec --process SPEC
 * --detach --pid-file P ID`) in a process group of its own (so a runtime
 * that times out is killed with whatever it started). Returns 0 with
 * rt->pid set, or -1 if the fork failed. */
int runtime_spawn(struct runtime *rt, const int stdio_fds[3], const sigset_t *child_mask);

/* --terminal: make the private directory and socket that runc is told
 * about with --console-socket. */
int console_socket_listen(struct runtime *rt);

/* Take the pty master that runc sent. Never blocks: runc sends it before
 * `create` exits, so when this is called (after runc exited 0) it is
 * either waiting in the socket or never coming (-1, errno EAGAIN). */
int console_socket_receive(struct runtime *rt, int *master_fd);
void console_socket_close(struct runtime *rt);

/* Does the bundle's config.json say process.terminal is true? Read as
 * runc reads it (Go's encoding/json: keys matched case-insensitively, the
 * last of repeated keys wins, null changes nothing); false if absent, as
 * the OCI spec defaults. -1 with EINVAL if the value is not a bool, with
 * EBADMSG if the text is not JSON (for runc to report). */
int config_wants_terminal(const char *config_json, bool *terminal);

/* How a manager reads what the shim tells it. The five steps are the
 * same for every manager; the words differ. shimmy_dialect (below) is
 * conman's; a front end for another manager brings its own (conmon.c). */
struct dialect {
	/* The sync pipe's one message: the container's PID, runc's failure,
	 * or the shim's own error. Each returns a malloc'd string, or NULL
	 * when out of memory. */
	char *(*report_pid)(pid_t container_pid);
	char *(*report_failure)(int wait_status, bool timed_out, unsigned timeout_seconds,
				const char *runtime_stderr, size_t len);
	char *(*report_error)(const char *message);
	/* For a manager that attaches before the process starts (conmon's
	 * exec): the attach socket and control FIFO are there. NULL: never. */
	char *(*report_ready)(void);
	/* The exit file's content (see format_exit_file). */
	char *(*format_exit)(int wait_status, const struct timespec *at, bool oom_killed,
			     unsigned long long log_dropped_bytes);
	/* Attach frames: the byte naming each stream, and the most data one
	 * frame carries. */
	unsigned char stdout_frame_id, stderr_frame_id;
	size_t frame_data_max;
	bool ctl_height_first;   /* control lines say "TYPE HEIGHT WIDTH" */
};

extern const struct dialect shimmy_dialect;

/* The sync-pipe messages, as shimmy words them. Each returns a malloc'd
 * NUL-terminated JSON object, or NULL when out of memory. */
char *report_container_pid(pid_t container_pid);
/* runc exited non-zero, was killed by a signal, or (timed_out) was killed
 * by us after --runtime-timeout; runtime_stderr is what it wrote. */
char *report_runtime_failure(int wait_status, bool timed_out, unsigned timeout_seconds,
			     const char *runtime_stderr, size_t len);
char *report_shim_error(const char *message);

/* The exit file: {"at":...,"reason":"exited","exitCode":N} or
 * {"at":...,"reason":"signaled","signal":N} (or "lost", below), with
 * "oomKilled":true added when the OOM killer struck in its cgroup, and "logDroppedBytes":N
 * added when output was lost to a full disk. The one place a wait status
 * becomes what we record. */
char *format_exit_file(int wait_status, const struct timespec *at, bool oom_killed,
		       unsigned long long log_dropped_bytes);

/* The wait status of a container the shim saw go but could not reap
 * (--no-subreaper): {"at":...,"reason":"lost"}. */
#define EXIT_STATUS_LOST (-1)

#endif
