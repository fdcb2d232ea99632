/* shimctl.h: what shimctl's files share: a container's state paths, how
 * far it has got, and the helpers shimctl.c defines for every command
 * (each one's contract is above its definition there). shimctl.c holds
 * main and the command table; shimctl-create.c and shimctl-attach.c
 * each hold commands of their own. */
#ifndef SHIMCTL_H
#define SHIMCTL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define ID_MAX 64                   /* runc's IDs have no limit; ours fit a file name */
#define SOCKET_DIR "s"              /* ROOT/s holds the attach sockets */
#define DEFAULT_DETACH_KEYS "ctrl-p,ctrl-q" /* docker's */

/* Everything a command knows about one container: its ID and the paths of
 * its state files. */
struct container {
	const char *id;
	const char *root;     /* $SHIMCTL_ROOT or DEFAULT_ROOT */
	const char *runtime;  /* $SHIMCTL_RUNTIME or "runc" */
	char dir[PATH_MAX];   /* ROOT/ID */
	char bundle_path[PATH_MAX];
	char shim_pid_path[PATH_MAX];
	char shim_log_path[PATH_MAX];
	char pid_path[PATH_MAX];
	char log_path[PATH_MAX];
	char exit_path[PATH_MAX];
	char attach_path[PATH_MAX]; /* holds the attach socket's path */
	char tty_path[PATH_MAX];    /* the marker of a --tty container */
	char ctl_path[PATH_MAX];    /* the shim's control FIFO */
};

/* Where a container is, as its files tell: the exit file, and whether
 * the shim that would write it is still alive. */
enum progress {
	CONTAINER_RUNNING, /* no exit file yet, and the shim is there to write it */
	CONTAINER_EXITED,  /* the exit file exists: the log is complete too */
	CONTAINER_LOST,    /* no exit file, and nobody left to write one */
};

/* In shimctl.c. */
int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int read_until_eof(int fd, int timeout_ms, char **out);
int state_file(char path[PATH_MAX], const char *dir, const char *name);
int open_container(struct container *c, const char *operation, const char *id, bool must_exist);
int remove_state(const struct container *c);
int fail_lost(const struct container *c, const char *operation);
int fail_unreachable(const struct container *c, const char *operation, const char *verb,
		     const char *path);
enum progress wait_for_exit(const struct container *c, int timeout_ms);
int run(char *const argv[], int *pass_fds, size_t pass_count, char **captured_stdout);
int read_attach_record(const struct container *c, char path[PATH_MAX]);
int remove_attach_socket(const char *path);
int exit_file_status(const struct container *c, const char *operation, char *text, size_t cap);

/* The commands in their own files, for the command table. */
int cmd_create(int argc, char **argv); /* shimctl-create.c */
int cmd_attach(int argc, char **argv); /* shimctl-attach.c */
int cmd_resize(int argc, char **argv); /* shimctl-attach.c */
int cmd_exec(int argc, char **argv);   /* shimctl-exec.c */

/* In shimctl-create.c, for exec too: the shim binary to run. */
void find_shim(char path[PATH_MAX]);

/* In shimctl-attach.c, for exec too. */
int check_detach_keys(const char *operation, const char *id, const char *keys);
int attach_socket_connect(const struct container *c, const char *operation, const char *path);
int attach_connected(const struct container *c, const char *operation, int sock, bool terminal,
		     const char *keys);

#endif
