/* shim.h: the five steps, as front ends start them. A front end reads
 * its manager's command line into a shim_args and calls shim_launch with
 * the dialect its manager reads: main.c for conman (args.c, shimmy's
 * words), conmon.c for podman (conmon's). containerd's task server
 * (task.c) hosts its init's daemon with shim_host. */
#ifndef SHIM_SHIM_H
#define SHIM_SHIM_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "runtime.h"
#include "util.h"

struct shim_args {
	const char *shim_pidfile;   /* --shimmy-pidfile: where the parent writes the daemon's PID */
	const char *shim_logfile;   /* --shim-logfile: diagnostics here instead of syslog */
	enum diag_level log_level;  /* --shimmy-log-level */
	const char *runtime;        /* --runtime, default "runc" */
	char **runtime_args;        /* --runtime-arg..., NULL-terminated */
	size_t runtime_arg_count;
	unsigned runtime_timeout;   /* --runtime-timeout SECONDS; 0: none */
	const char *bundle;
	const char *container_id;
	const char *container_pidfile;
	const char *container_logfile;
	const char *container_exitfile;
	const char *container_attachfile;
	bool attach_seqpacket;      /* --attach-seqpacket: one frame per packet */
	enum log_format log_format; /* --container-log-format, default shimmy */
	unsigned long long log_size_max; /* --log-size-max: rotate past this; 0: never */
	bool stdin_enabled;         /* --stdin */
	bool stdin_once;            /* --stdin-once: close stdin when the first client is done
	                             * (without --stdin, nothing to close: conman sends it so) */
	bool terminal;              /* --terminal: the container's stdio is a pty */
	bool no_subreaper;          /* --no-subreaper: for the workshop's lab 5 only */
	const char *container_ctlfile; /* --container-ctlfile: control FIFO */
	int sync_fd;                /* --syncpipe-fd or $_OCI_SYNCPIPE; -1 if neither */

	/* What other managers' front ends ask for (conmon.c); conman's flags
	 * leave them unset. */
	char **runtime_command_args; /* placed after "create" or "exec" */
	size_t runtime_command_arg_count;
	const char *exec_process_spec; /* `runc exec` this process, not `runc create` */
	int go_fd;                  /* see struct runtime; -1: none */
	int ready_fd;               /* told (dialect->report_ready) once the attach
	                             * socket and control FIFO exist; -1: none */
	const char *oom_file;       /* made, empty, before the exit file if OOM-killed */
	char **exit_command;        /* run after the exit file, and waited for */
	unsigned exit_delay;        /* seconds to wait before running it */
	int stdout_sink_fd, stderr_sink_fd; /* the output as it is, to these
	                             * fds (containerd's FIFOs); -1: none */
	bool unblock_children;      /* runc and the container start with no
	                             * signal blocked, not with the caller's
	                             * mask (a front end that blocks them all) */
};

/* Step 1, once the flags are read: begin the pid file, block signals,
 * fork the daemon (which runs steps 2 to 5 and never returns here), write
 * its PID and return the parent's exit status: 0, or 1 with the reason
 * on stderr. */
int shim_launch(struct shim_args *args, const struct dialect *dialect);

/* A front end that serves its manager from the shim daemon's own process:
 * containerd's task server hosts the daemon of the task's init, so a task
 * costs one process, not two. The loop watches fd and calls ready when it
 * is readable; hands it every child that exits and is not the core's
 * (child_exited says whether it was its) and every signal but SIGCHLD and
 * SIGPIPE; and where the daemon would exit, calls leave instead, which
 * never returns. */
struct shim_guest {
	void *ctx;
	int fd;
	void (*ready)(void *ctx);
	bool (*child_exited)(void *ctx, pid_t pid, int status);
	void (*signalled)(void *ctx, int signo); /* a signal for the process,
	                                          * not passed to the container */
	void (*leave)(void *ctx, int status); /* must not return */
};

/* Steps 3 to 5 in this process, for a guest that is a daemon already
 * (step 2: its own session, stdio on /dev/null, no fd of its manager's
 * but its own, all of them close-on-exec). The daemon's failures and its
 * end go to guest->leave. */
_Noreturn void shim_host(struct shim_args *args, const struct dialect *dialect,
			 const struct shim_guest *guest);

#endif
