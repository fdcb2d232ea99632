/* containerd.h: containerd's front end (issue 11): the shim v2 task
 * service over ttrpc. containerd-main.c is its entry (the `start` and
 * `delete` commands containerd runs, and the long-lived server), task.c
 * the task service and its loop, events.c what it tells containerd,
 * rootfs.c an image's root filesystem.
 * The task's init runs under the core's daemon hosted in the server's own
 * process (shim_host), each exec under a daemon of its own (shim_launch):
 * the same five steps as for conman and podman. Nothing of the core
 * includes this. */
#ifndef SHIM_CONTAINERD_H
#define SHIM_CONTAINERD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ttrpc.h"

#define TASK_SERVICE "containerd.task.v2.Task"

/* One process of the task: the init ("" exec ID) or an exec. */
struct process {
	char *exec_id;         /* "" for the init */
	char name[80];         /* "init" or "exec-ID": its files in the bundle */
	enum process_state { PROCESS_CREATED, PROCESS_RUNNING, PROCESS_PAUSED, PROCESS_STOPPED } state;
	pid_t pid;             /* the process (the container's, or the exec'd one) */
	pid_t daemon_pid;      /* an exec's shim daemon, our child; 0 for the
	                        * init, whose daemon is hosted here */
	uint32_t exit_status;
	struct timespec exited_at;
	bool terminal;
	char *stdin_path, *stdout_path, *stderr_path;
	char *spec_path;       /* exec: its process JSON */
	int attach_fd;         /* the core daemon's attach socket (seqpacket) */
	int stdin_fd;          /* our reader of the stdin FIFO */
	int stdin_keep_fd;     /* our writer on it, so it never ends until CloseIO */
	char *stdin_held;      /* a packet the attach socket could not take yet */
	size_t stdin_held_len;
	int stdout_fd, stderr_fd; /* ours until the daemon has its copies (launch) */
	struct waiter {        /* Wait calls, answered at the exit */
		int conn_fd;
		uint32_t stream_id;
		struct waiter *next;
	} *waiters;
	struct process *next;
};

struct task_server {
	const char *namespace;
	const char *id;
	const char *bundle;     /* our working directory */
	const char *socket_path;
	char runc_root[256];   /* /run/containerd/runc/NAMESPACE, as runc-v2's */
	int listen_fd;
	int epoll_fd;
	int signal_fd;
	struct process *processes;
	bool init_deleted;
	bool shutting_down;
	/* events: a connection to containerd's TTRPC_ADDRESS, made when first needed */
	const char *events_address;
	int events_fd;
	uint32_t events_stream;
	/* The init's core daemon runs in this process (shim_host), from its
	 * Create until it has exited: one process a task, not two. */
	bool host_wanted;      /* Create asked for it; begun from the loop */
	bool hosting;          /* the core's loop is running, ours inside it */
	int report_fd;         /* its report on the init, for the Create; -1 */
	int create_conn_fd;    /* that Create's connection, -1 once gone */
	uint32_t create_stream;
};

/* rootfs.c: the task's root filesystem, given as mounts (an image's
 * snapshot), mounted on BUNDLE/rootfs before the init is created and
 * unmounted when it is deleted. mount_options_parse splits containerd's
 * options into mount(2) flags and the data string (E2BIG when that does
 * not fit in data_len). 0, or -1 (the reason in error). */
struct Task__Mount;
int mount_options_parse(char *const *options, size_t count, unsigned long *flags, char *data,
			size_t data_len);
/* containerd's way past the page: an overlay's lowerdir layers named
 * relative to their common parent directory (put in dir, with its final
 * slash), data rewritten in place. 1 if shortened, 0 if not. */
int overlay_lowerdir_compact(char *data, char *dir, size_t dir_len);
int rootfs_mount(const char *bundle, struct Task__Mount *const *mounts, size_t count, char *error,
		 size_t error_len);
int rootfs_unmount(const char *bundle);

/* task.c: serve the task on listen_fd until Shutdown; never returns. */
_Noreturn void task_serve(struct task_server *server);

/* events.c: publish one event (its topic, type name and packed message)
 * to containerd; failures are logged, never fatal. */
void events_publish(struct task_server *server, const char *topic, const char *type_name,
		    const uint8_t *event, size_t event_len);

#endif
