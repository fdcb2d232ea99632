/* shimctl.c: the reference manager for the shim, like iximiuz's conman.
 *
 * It is the protocol's worked example, meant to be read top to bottom:
 *   create   forks the shim with a sync pipe (step 1), waits for the shim's
 *            short-lived parent, then reads the one JSON report that says
 *            the container exists or why it does not (step 4);
 *   start, kill, state, delete
 *            are plain runc commands on the same container ID;
 *   logs     decodes the k8s-file log the shim writes (step 5);
 *   wait     waits for the exit file the shim writes last (step 5);
 *   attach   talks to the shim's attach socket (step 5, docs/attach.md),
 *            in raw mode when the container has a terminal;
 *   resize   writes one line to the shim's control FIFO (docs/terminal.md).
 *
 * Each container's state is one directory, $SHIMCTL_ROOT/ID (default
 * /run/shimctl/ID), holding what we, the shim and runc write there:
 *   bundle          the bundle's absolute path (us)
 *   shim.pid        the shim daemon's PID (the shim's parent)
 *   shim.log        the shim's own diagnostics (the shim)
 *   container.pid   the container's PID (runc create)
 *   container.log   the container's output, CRI k8s-file format (the shim)
 *   exit.json       how the container ended (the shim, when it exits)
 *   attach          the attach socket's path, one line (us)
 *   tty             present if created with --tty (us)
 *   ctl             the control FIFO, with --tty (the shim; gone when it exits)
 * The attach sockets themselves live in $SHIMCTL_ROOT/s (see
 * attach_socket_path), so "s" is not a container ID.
 *
 * The shim's reports and exit files are flat JSON objects, read by
 * jsonread.c (its own file, so it can be fuzzed alone).
 *
 * Errors go to stderr as "shimctl: <operation> <object>: <reason>"; the
 * exit status is 2 for a usage error and 1 for a failure. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "jsonread.h" /* the reports and exit files: flat JSON objects */
#include "log.h" /* LOG_RECORD_MAX, the longest content of one log record */
#include "util.h"

#define DEFAULT_ROOT "/run/shimctl"
#define ID_MAX 64                   /* runc's IDs have no limit; ours fit a file name */
#define CREATE_TIMEOUT_MS 30000     /* for the shim's report on the sync pipe */
#define DELETE_TIMEOUT_MS 10000     /* for the shim to write the exit file */
#define REPORT_MAX (1024 * 1024)    /* runc's stderr, JSON-escaped, fits easily */
#define POLL_MS 50                  /* for logs -f, wait, delete and attach */
#define SOCKET_DIR "s"              /* ROOT/s holds the attach sockets */
/* The attach protocol (docs/attach.md): one stream-id byte, then at most
 * 32 KiB of data, one frame per SOCK_SEQPACKET packet. */
#define FRAME_DATA_MAX (32 * 1024)
#define ATTACH_INPUT_MAX (32 * 1024) /* one read of our stdin, one packet */
#define ATTACH_EXIT_WAIT_MS 5000     /* for the exit file, once the shim hangs up */
#define DETACH_KEYS_MAX 16
#define DEFAULT_DETACH_KEYS "ctrl-p,ctrl-q" /* docker's */

/* One log record: "<time> <stream> <F|P> <content>\n". */
#define LOG_LINE_MAX (RFC3339_LEN + sizeof(" stdout F ") + LOG_RECORD_MAX + 1)
#define LOG_BUFFER_SIZE (64 * 1024)
_Static_assert(LOG_BUFFER_SIZE > LOG_LINE_MAX, "the logs buffer must hold a whole record");

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

/* Print "shimctl: <message>" on stderr and return status, so a command can
 * end with `return fail(1, "start %s: ...", id);`. %m works. */
static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int status, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	fputs("shimctl: ", stderr);
	va_start(ap, fmt);
	errno = saved_errno; /* so that %m names the caller's error */
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	errno = saved_errno;
	return status;
}

/* Milliseconds on the monotonic clock, for deadlines. clock_gettime(2)
 * fails only for a bad clock id or pointer, neither possible here. */
static long long monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* nanosleep(2) fails only when a signal interrupts it, and then it says
 * how long is left, or for a bad argument, impossible here. */
static void sleep_ms(long ms)
{
	struct timespec left = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}

/* Read fd until EOF into a malloc'd, NUL-terminated string; more than
 * REPORT_MAX bytes is EMSGSIZE. With timeout_ms >= 0, give up after that
 * long (ETIMEDOUT). */
static int read_until_eof(int fd, int timeout_ms, char **out)
{
	long long deadline = monotonic_ms() + timeout_ms;
	char *buf = malloc(REPORT_MAX + 1);
	size_t len = 0;

	if (!buf)
		return -1;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - monotonic_ms();
		int ready = poll(&pfd, 1, timeout_ms < 0 ? -1 : left > 0 ? (int)left : 0);
		ssize_t n;

		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0)
			errno = ETIMEDOUT;
		if (ready <= 0)
			break;
		if (len == REPORT_MAX) {
			errno = EMSGSIZE;
			break;
		}
		n = read(fd, buf + len, REPORT_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			buf[len] = '\0';
			*out = buf;
			return 0;
		}
		len += (size_t)n;
	}
	free(buf); /* keeps errno (glibc since 2.33, POSIX.1-2024) */
	return -1;
}

/* Drop trailing newlines and spaces, so a file's text can be embedded. */
static void trim_end(char *text)
{
	size_t len = strlen(text);

	while (len > 0 && strchr(" \r\n", text[len - 1])) /* never the NUL: len is strlen */
		text[--len] = '\0';
}

/* ---- Containers and their state directories ---- */

/* As runc: letters, digits, '_', '.' and '-', but not "." or "..", which
 * would name a directory other than the container's own. */
static bool valid_id(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > ID_MAX || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789_.-") == len;
}

static int state_file(char path[PATH_MAX], const char *dir, const char *name)
{
	if (snprintf(path, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Fill c for the container id and, with must_exist, check that its state
 * directory is there. Returns 0, or the exit status after saying why not. */
static int open_container(struct container *c, const char *operation, const char *id,
			  bool must_exist)
{
	struct stat st;

	c->id = id;
	c->root = getenv("SHIMCTL_ROOT");
	if (!c->root || c->root[0] == '\0')
		c->root = DEFAULT_ROOT;
	c->runtime = getenv("SHIMCTL_RUNTIME");
	if (!c->runtime || c->runtime[0] == '\0')
		c->runtime = "runc";

	if (!valid_id(id))
		return fail(2, "%s %s: invalid container ID; "
			       "use 1 to %d letters, digits, '_', '.' or '-'",
			    operation, id, ID_MAX);
	/* ROOT/s is the directory of attach sockets: "delete s" would empty it. */
	if (strcmp(id, SOCKET_DIR) == 0)
		return fail(2, "%s %s: reserved container ID (%s/%s holds the attach sockets)",
			    operation, id, c->root, SOCKET_DIR);
	/* The shim and runc run with our working directory, but a state path
	 * that depends on it would surprise the next shimctl. */
	if (c->root[0] != '/')
		return fail(2, "%s %s: SHIMCTL_ROOT %s is not an absolute path", operation, id,
			    c->root);
	if (state_file(c->dir, c->root, id) < 0 ||
	    state_file(c->bundle_path, c->dir, "bundle") < 0 ||
	    state_file(c->shim_pid_path, c->dir, "shim.pid") < 0 ||
	    state_file(c->shim_log_path, c->dir, "shim.log") < 0 ||
	    state_file(c->pid_path, c->dir, "container.pid") < 0 ||
	    state_file(c->log_path, c->dir, "container.log") < 0 ||
	    state_file(c->exit_path, c->dir, "exit.json") < 0 ||
	    state_file(c->attach_path, c->dir, "attach") < 0 ||
	    state_file(c->tty_path, c->dir, "tty") < 0 ||
	    state_file(c->ctl_path, c->dir, "ctl") < 0)
		return fail(2, "%s %s: state directory under %s: %m", operation, id, c->root);

	if (must_exist && stat(c->dir, &st) < 0) {
		if (errno == ENOENT)
			return fail(1, "%s %s: no such container (%s does not exist)", operation,
				    id, c->dir);
		return fail(1, "%s %s: stat %s: %m", operation, id, c->dir);
	}
	return 0;
}

/* Remove every file in the state directory, then the directory. */
static int remove_state(const struct container *c)
{
	DIR *dir = opendir(c->dir);
	struct dirent *entry;
	int saved_errno;

	if (!dir)
		return -1;
	for (;;) {
		errno = 0;
		entry = readdir(dir);
		if (!entry)
			break;
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(dir), entry->d_name, 0) < 0)
			goto fail;
	}
	if (errno != 0) /* readdir failed, rather than reached the end */
		goto fail;
	if (closedir(dir) < 0)
		return -1;
	return rmdir(c->dir);
fail:
	saved_errno = errno;
	closedir(dir);
	errno = saved_errno;
	return -1;
}

/* The PID in one of the pid files, or -1 with errno set. */
enum progress {
	CONTAINER_RUNNING, /* no exit file yet, and the shim is there to write it */
	CONTAINER_EXITED,  /* the exit file exists: the log is complete too */
	CONTAINER_LOST,    /* no exit file, and nobody left to write one */
};

/* Has the container exited? The shim writes the exit file last, after the
 * log is drained, so once it exists there is nothing more to wait for. */
static enum progress container_progress(const struct container *c)
{
	pid_t shim_pid;

	if (access(c->exit_path, F_OK) == 0)
		return CONTAINER_EXITED;
	/* kill(pid, 0) tests that the shim is there (a reused PID can fool
	 * it, which only means we keep waiting). */
	if (read_pid_file(c->shim_pid_path, &shim_pid) == 0 &&
	    (kill(shim_pid, 0) == 0 || errno == EPERM))
		return CONTAINER_RUNNING;
	/* The shim writes the exit file and then exits: look once more. */
	if (access(c->exit_path, F_OK) == 0)
		return CONTAINER_EXITED;
	return CONTAINER_LOST;
}

/* Say that the shim is gone and left no exit file (it was killed, or the
 * machine rebooted): nobody will ever say how the container ended. */
static int fail_lost(const struct container *c, const char *operation)
{
	return fail(1, "%s %s: the shim is gone and wrote no %s; see %s", operation, c->id,
		    c->exit_path, c->shim_log_path);
}

/* Having failed to reach the shim (errno says how), say why: the
 * container's end, if that is the reason. Returns 1. */
static int fail_unreachable(const struct container *c, const char *operation, const char *verb,
			    const char *path)
{
	int saved_errno = errno;
	enum progress progress = container_progress(c);

	errno = saved_errno;
	if (progress == CONTAINER_EXITED)
		return fail(1, "%s %s: the container has exited; see shimctl logs %s", operation,
			    c->id, c->id);
	if (progress == CONTAINER_LOST)
		return fail_lost(c, operation);
	return fail(1, "%s %s: %s %s: %m", operation, c->id, verb, path);
}

/* Poll until the container is no longer CONTAINER_RUNNING or timeout_ms
 * has passed (-1: no limit); returns how it is then. */
static enum progress wait_for_exit(const struct container *c, int timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms;
	enum progress progress;

	while ((progress = container_progress(c)) == CONTAINER_RUNNING &&
	       (timeout_ms < 0 || monotonic_ms() < deadline))
		sleep_ms(POLL_MS);
	return progress;
}

/* ---- Running programs: the runtime and the shim ---- */

/* The child side of run: exec argv with stdout_fd (if >= 0) as stdout and
 * pass_fd (if >= 0) left open. 127 when not found, 126 otherwise, as a
 * shell does. */
static _Noreturn void exec_child(char *const argv[], int stdout_fd, int pass_fd)
{
	if (stdout_fd >= 0 && dup2(stdout_fd, STDOUT_FILENO) < 0) {
		dprintf(STDERR_FILENO, "shimctl: run %s: dup2 stdout: %s\n", argv[0],
			strerror(errno));
		_exit(126);
	}
	/* The one fd we pass on on purpose (the shim's sync pipe): it was
	 * made close-on-exec like every other. */
	if (pass_fd >= 0 && fcntl(pass_fd, F_SETFD, 0) < 0) {
		dprintf(STDERR_FILENO, "shimctl: run %s: keep fd %d open: %s\n", argv[0], pass_fd,
			strerror(errno));
		_exit(126);
	}
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "shimctl: run %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Run argv (argv[0] a name or a path) to completion, with our stdin and
 * stderr, so its errors reach the user unchanged. *pass_fd, if pass_fd is
 * not NULL, is the child's: left open across its exec, and closed here
 * right after the fork. With captured_stdout non-NULL the child's stdout
 * is collected into a malloc'd, NUL-terminated string; otherwise it is
 * ours. Returns its exit status as a shell shows it (N, or 128+N when
 * killed by signal N), or -1 with errno set if it could not be run. */
static int run(char *const argv[], int *pass_fd, char **captured_stdout)
{
	int capture[2] = { -1, -1 }, wait_status, status = -1, read_errno = 0;
	char *output = NULL;
	pid_t pid;

	if (captured_stdout && pipe2(capture, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0)
		exec_child(argv, capture[1], pass_fd ? *pass_fd : -1);
	close_fd(&capture[1]);
	if (pass_fd)
		close_fd(pass_fd);
	if (captured_stdout && read_until_eof(capture[0], -1, &output) < 0) {
		read_errno = errno;
		kill(pid, SIGKILL); /* so that the wait below cannot hang */
	}
	while (waitpid(pid, &wait_status, 0) < 0) {
		if (errno != EINTR)
			goto out;
	}
	if (read_errno != 0) {
		errno = read_errno;
		goto out;
	}
	status = WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status) : WEXITSTATUS(wait_status);
	if (captured_stdout) {
		*captured_stdout = output;
		output = NULL;
	}
out:
	close_fd(&capture[0]); /* both keep errno */
	close_fd(&capture[1]);
	free(output);
	return status;
}

/* The shim binary: $SHIMCTL_SHIM, else the `shim` next to this executable
 * (so ./shimctl runs ./shim and build/asan/shimctl runs build/asan/shim),
 * else `shim` from PATH. */
static void find_shim(char path[PATH_MAX])
{
	const char *from_env = getenv("SHIMCTL_SHIM");
	ssize_t len;
	char *slash;

	if (from_env && from_env[0] != '\0' && strlen(from_env) < PATH_MAX) {
		strcpy(path, from_env);
		return;
	}
	len = readlink("/proc/self/exe", path, PATH_MAX - 1);
	if (len > 0) {
		path[len] = '\0';
		slash = strrchr(path, '/');
		if (slash && (size_t)(slash + 1 - path) + sizeof("shim") <= PATH_MAX) {
			strcpy(slash + 1, "shim");
			if (access(path, X_OK) == 0)
				return;
		}
	}
	strcpy(path, "shim");
}

/* 64 random hex digits, like the IDs docker and podman make. */
static int random_id(char id[ID_MAX + 1])
{
	unsigned char bytes[ID_MAX / 2];

	if (sodium_init() < 0)
		return -1;
	randombytes_buf(bytes, sizeof(bytes));
	sodium_bin2hex(id, ID_MAX + 1, bytes, sizeof(bytes));
	return 0;
}

/* Write text and a newline to path, atomically: a later shimctl reads it. */
static int write_line_file(const char *path, const char *text)
{
	char line[PATH_MAX + 1];
	int len = snprintf(line, sizeof(line), "%s\n", text);

	if (len >= (int)sizeof(line)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return write_file_atomic(path, line, (size_t)len, 0600);
}

/* ---- The attach socket ---- */

/* The attach socket's path: ROOT/s/<sha256 of the ID in hex>, containerd's
 * scheme for shim sockets. It is always 64 characters after ROOT/s/,
 * whatever the ID, so it fits sun_path (108 bytes) unless ROOT is long,
 * and then connect_unix still reaches it. */
static int attach_socket_path(const struct container *c, char path[PATH_MAX])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];

	if (sodium_init() < 0) {
		errno = EIO;
		return -1;
	}
	crypto_hash_sha256(digest, (const unsigned char *)c->id, strlen(c->id));
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	if (snprintf(path, PATH_MAX, "%s/%s/%s", c->root, SOCKET_DIR, hex) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The socket path recorded in STATE/attach at create. */
static int read_attach_record(const struct container *c, char path[PATH_MAX])
{
	if (read_small_file(c->attach_path, path, PATH_MAX) < 0)
		return -1;
	trim_end(path);
	if (path[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Remove the attach socket at path if one is still there: the shim removes
 * it when it exits, but not if it died. Anything but a socket is left. */
static int remove_attach_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode))
		return 0;
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Connect fd to the unix socket at path. sun_path holds 108 bytes; a
 * longer path is reached as /proc/self/fd/N/NAME, N being an O_PATH fd of
 * its directory, which the kernel resolves like any other path (the shim
 * binds the same way, see io_attach_listen). */
static int connect_unix(int fd, const char *path)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	const char *name = strrchr(path, '/');
	size_t len = strlen(path), dir_len;
	char directory[PATH_MAX];
	int dir_fd, result;

	if (len < sizeof(address.sun_path)) {
		memcpy(address.sun_path, path, len + 1);
		return connect(fd, (struct sockaddr *)&address, sizeof(address));
	}
	if (!name || name[1] == '\0' || len >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	dir_len = name == path ? 1 : (size_t)(name - path); /* "/name" is in "/" */
	memcpy(directory, path, dir_len);
	directory[dir_len] = '\0';
	dir_fd = open(directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -1;
	if (snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d/%s", dir_fd,
		     name + 1) >= (int)sizeof(address.sun_path)) {
		errno = ENAMETOOLONG;
		result = -1;
	} else {
		result = connect(fd, (struct sockaddr *)&address, sizeof(address));
	}
	close_fd(&dir_fd); /* connect has resolved the path: the fd may go */
	return result;
}

/* ---- The commands: one function each, given the arguments after the
 * command's name, returning the exit status. ---- */

/* What the shim's report says, as our exit status; runs on the report read
 * from the sync pipe. Sets *discard when the state directory should go. */
static int handle_report(const struct container *c, const char *report, bool *discard)
{
	const struct json_field *stderr_field;
	const char *kind, *text;
	struct flat_json obj;
	int status = 1;

	if (flat_json_parse(report, &obj) < 0)
		return fail(1, "create %s: unreadable report from the shim: %s", c->id, report);
	kind = flat_json_string(&obj, "kind");
	if (!kind) {
		fail(1, "create %s: report from the shim has no kind: %s", c->id, report);
	} else if (strcmp(kind, "container_pid") == 0) {
		/* Created: the container waits in runc init for `start`. One
		 * line, "ID PID": the ID matters when we made it up. */
		long long pid;
		if (!flat_json_number(&obj, "pid", &pid) || pid <= 0)
			fail(1, "create %s: report from the shim has no pid: %s", c->id, report);
		else if (dprintf(STDOUT_FILENO, "%s %lld\n", c->id, pid) < 0)
			fail(1, "create %s: write stdout: %m", c->id);
		else
			status = 0;
	} else if (strcmp(kind, "runtime_abnormal_termination") == 0) {
		/* runc create failed and cleaned up after itself; its stderr
		 * says why, word for word. */
		text = flat_json_string(&obj, "status");
		fail(1, "create %s: runtime failed: %s", c->id, text ? text : "(no status)");
		stderr_field = flat_json_get(&obj, "stderr");
		if (stderr_field && stderr_field->string && stderr_field->len > 0) {
			fwrite(stderr_field->string, 1, stderr_field->len, stderr);
			if (stderr_field->string[stderr_field->len - 1] != '\n')
				fputc('\n', stderr);
		}
		*discard = true;
	} else if (strcmp(kind, "shim_error") == 0) {
		text = flat_json_string(&obj, "message");
		fail(1, "create %s: shim failed: %s", c->id, text ? text : "(no message)");
		/* The shim may have failed after runc created the container:
		 * make sure runc forgets it too (a no-op if it never knew it). */
		char *delete_argv[] = { (char *)c->runtime, "delete", "--force", (char *)c->id,
					NULL };
		if (run(delete_argv, NULL, NULL) < 0)
			fail(1, "create %s: run %s delete: %m", c->id, c->runtime);
		*discard = true;
	} else {
		fail(1, "create %s: unknown report from the shim: %s", c->id, report);
	}
	free(obj.text);
	return status;
}

/* shimctl create [ID] --bundle DIR [--tty] [--stdin [--stdin-once]]
 * Prints "ID PID" once the container is created. The shim
 * always listens on an attach socket (SOCK_SEQPACKET); --tty gives the
 * container a terminal, a stdin and a control FIFO. The bundle's
 * process.terminal must agree with --tty: the shim checks, and its
 * message is printed as it is. */
static int cmd_create(int argc, char **argv)
{
	const char *id = NULL, *bundle_arg = NULL;
	bool with_stdin = false, stdin_once = false, tty = false, discard = false;
	char generated_id[ID_MAX + 1], shim_path[PATH_MAX], sync_fd_text[16];
	char socket_dir[PATH_MAX], socket_path[PATH_MAX];
	char *bundle = NULL, *report = NULL;
	int sync_pipe[2] = { -1, -1 }, status, shim_status;
	struct container c;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--bundle") == 0 && i + 1 < argc)
			bundle_arg = argv[++i];
		else if (strcmp(argv[i], "--stdin") == 0)
			with_stdin = true;
		else if (strcmp(argv[i], "--stdin-once") == 0)
			stdin_once = true;
		else if (strcmp(argv[i], "--tty") == 0)
			tty = true;
		else if (argv[i][0] == '-' || id)
			return fail(2, "create: unexpected argument %s; see shimctl help", argv[i]);
		else
			id = argv[i];
	}
	if (!bundle_arg)
		return fail(2, "create: --bundle DIR is required; see shimctl help");
	if (tty)
		with_stdin = true; /* a terminal is for typing into */
	if (stdin_once && !with_stdin)
		return fail(2, "create: --stdin-once needs --stdin (or --tty)");
	if (!id) {
		if (random_id(generated_id) < 0)
			return fail(1, "create: random ID: sodium_init failed");
		id = generated_id;
	}
	status = open_container(&c, "create", id, false);
	if (status != 0)
		return status;
	if (state_file(socket_dir, c.root, SOCKET_DIR) < 0 ||
	    attach_socket_path(&c, socket_path) < 0)
		return fail(1, "create %s: attach socket path under %s: %m", id, c.root);

	/* The shim and runc must find the bundle whatever their directory. */
	bundle = realpath(bundle_arg, NULL);
	if (!bundle)
		return fail(1, "create %s: bundle %s: %m", id, bundle_arg);
	status = 1;
	if (mkdir(c.root, 0700) < 0 && errno != EEXIST) {
		fail(1, "create %s: make state root %s: %m", id, c.root);
		goto out;
	}
	if (mkdir(socket_dir, 0700) < 0 && errno != EEXIST) {
		fail(1, "create %s: make socket directory %s: %m", id, socket_dir);
		goto out;
	}
	if (mkdir(c.dir, 0700) < 0) {
		if (errno == EEXIST)
			fail(1, "create %s: container ID already exists; shimctl delete %s first",
			     id, id);
		else
			fail(1, "create %s: make state directory %s: %m", id, c.dir);
		goto out;
	}
	discard = true; /* until the shim's daemon runs, with its log in there */
	/* attach reads the tty marker to know the container has a terminal. */
	if (write_line_file(c.bundle_path, bundle) < 0 ||
	    write_line_file(c.attach_path, socket_path) < 0 ||
	    (tty && write_file_atomic(c.tty_path, "", 0, 0600) < 0)) {
		fail(1, "create %s: write state files in %s: %m", id, c.dir);
		goto out;
	}

	/* Step 1: start the shim with the write end of a sync pipe. */
	find_shim(shim_path);
	if (pipe2(sync_pipe, O_CLOEXEC) < 0) {
		fail(1, "create %s: make sync pipe: %m", id);
		goto out;
	}
	snprintf(sync_fd_text, sizeof(sync_fd_text), "%d", sync_pipe[1]);
	char *shim_argv[] = {
		shim_path,
		"--bundle", bundle,
		"--container-id", (char *)id,
		"--container-pidfile", c.pid_path,
		"--container-logfile", c.log_path,
		"--container-log-format", "k8s-file",
		"--container-exitfile", c.exit_path,
		"--shimmy-pidfile", c.shim_pid_path,
		"--shim-logfile", c.shim_log_path,
		"--shimmy-log-level", "DEBUG",
		"--syncpipe-fd", sync_fd_text,
		"--runtime", (char *)c.runtime,
		"--container-attachfile", socket_path,
		"--attach-seqpacket",
		/* Room for the optional flags, filled in below, and the NULL
		 * that ends the list: --terminal --container-ctlfile PATH
		 * --stdin --stdin-once. */
		NULL, NULL, NULL, NULL, NULL, NULL,
	};
	size_t shim_argc = sizeof(shim_argv) / sizeof(shim_argv[0]) - 6;

	if (tty) {
		shim_argv[shim_argc++] = "--terminal";
		shim_argv[shim_argc++] = "--container-ctlfile";
		shim_argv[shim_argc++] = c.ctl_path;
	}
	if (with_stdin)
		shim_argv[shim_argc++] = "--stdin";
	if (stdin_once)
		shim_argv[shim_argc++] = "--stdin-once";
	/* The shim's parent forks the daemon, writes shim.pid and exits at
	 * once; a non-zero exit is a usage error it has already printed. run
	 * closes our write end: only the shim may hold one, or we would never
	 * see EOF. */
	shim_status = run(shim_argv, &sync_pipe[1], NULL);
	if (shim_status < 0) {
		fail(1, "create %s: run shim %s: %m", id, shim_path);
		goto out;
	}
	if (shim_status != 0) {
		fail(1, "create %s: shim %s exited with status %d (see its error above)", id,
		     shim_path, shim_status);
		goto out;
	}

	/* Step 4: the daemon reports once, then closes the pipe. Its log is
	 * in the state directory now: keep it, unless the report says the
	 * container never came to be. */
	discard = false;
	if (read_until_eof(sync_pipe[0], CREATE_TIMEOUT_MS, &report) < 0) {
		if (errno == ETIMEDOUT)
			fail(1, "create %s: no report from the shim within %d s; "
				"see %s, then shimctl delete %s",
			     id, CREATE_TIMEOUT_MS / 1000, c.shim_log_path, id);
		else
			fail(1, "create %s: read sync pipe: %m", id);
		goto out;
	}
	if (report[0] == '\0') {
		fail(1, "create %s: shim exited without a report; see %s, then shimctl delete %s",
		     id, c.shim_log_path, id);
		goto out;
	}
	status = handle_report(&c, report, &discard);
out:
	/* A shim that failed after listening may have left its socket. */
	if (discard && remove_attach_socket(socket_path) < 0)
		fail(1, "create %s: remove attach socket %s: %m", id, socket_path);
	if (discard && remove_state(&c) < 0 && errno != ENOENT)
		fail(1, "create %s: remove %s: %m", id, c.dir);
	close_fd(&sync_pipe[0]);
	close_fd(&sync_pipe[1]);
	free(report);
	free(bundle);
	return status;
}

/* Run one runc command for start, kill or delete: runc's own error is on
 * stderr already, we add which command failed. */
static int simple_runtime_command(const struct container *c, const char *operation,
				  char *const argv[])
{
	int status = run(argv, NULL, NULL);

	if (status < 0)
		return fail(1, "%s %s: run %s: %m", operation, c->id, c->runtime);
	if (status != 0)
		return fail(1, "%s %s: %s %s exited with status %d", operation, c->id, c->runtime,
			    argv[1], status);
	return 0;
}

/* shimctl start ID: the container's process leaves runc init and runs. */
static int cmd_start(int argc, char **argv)
{
	struct container c;
	int status;

	if (argc != 1)
		return fail(2, "start: usage: shimctl start ID");
	status = open_container(&c, "start", argv[0], true);
	if (status != 0)
		return status;
	char *start_argv[] = { (char *)c.runtime, "start", (char *)c.id, NULL };
	return simple_runtime_command(&c, "start", start_argv);
}

/* shimctl state ID: one JSON object on one line (but for runc's part,
 * which is runc's pretty-printed state, verbatim):
 *   {"id":ID,"shimPid":N|null,"runc":{...}|null,"exit":{...}|null} */
static int cmd_state(int argc, char **argv)
{
	char exit_text[1024], shim_pid_text[32] = "null", *runc_state = NULL;
	struct container c;
	pid_t shim_pid;
	int status;

	if (argc != 1)
		return fail(2, "state: usage: shimctl state ID");
	status = open_container(&c, "state", argv[0], true);
	if (status != 0)
		return status;

	char *state_argv[] = { (char *)c.runtime, "state", (char *)c.id, NULL };
	status = run(state_argv, NULL, &runc_state);
	if (status < 0)
		return fail(1, "state %s: run %s: %m", c.id, c.runtime);
	if (status == 0) {
		trim_end(runc_state);
	} else { /* deleted behind our back: runc said so on stderr */
		free(runc_state);
		runc_state = NULL;
	}
	if (read_pid_file(c.shim_pid_path, &shim_pid) == 0)
		snprintf(shim_pid_text, sizeof(shim_pid_text), "%d", (int)shim_pid);
	status = 1;
	if (read_small_file(c.exit_path, exit_text, sizeof(exit_text)) >= 0) {
		trim_end(exit_text);
	} else if (errno == ENOENT) {
		strcpy(exit_text, "null");
	} else {
		fail(1, "state %s: read %s: %m", c.id, c.exit_path);
		goto out;
	}
	/* The ID needs no JSON escaping: valid_id allows no special characters. */
	if (dprintf(STDOUT_FILENO, "{\"id\":\"%s\",\"shimPid\":%s,\"runc\":%s,\"exit\":%s}\n", c.id,
		    shim_pid_text, runc_state ? runc_state : "null", exit_text) < 0) {
		fail(1, "state %s: write stdout: %m", c.id);
		goto out;
	}
	status = 0;
out:
	free(runc_state);
	return status;
}

/* Write out the complete records at the front of buf[0, len): stdout
 * records to our stdout, stderr records to our stderr; a P record is part
 * of a longer line, so it gets no newline. Returns how many bytes that
 * was, or -1 with errno EBADMSG for a malformed record, or the write's. */
static ssize_t write_log_records(const char *buf, size_t len)
{
	const char *line = buf, *newline, *stream, *content;
	int fd;

	while ((newline = memchr(line, '\n', len - (size_t)(line - buf))) != NULL) {
		/* "<time> <stream> <F|P> <content>\n" */
		stream = memchr(line, ' ', (size_t)(newline - line));
		if (!stream || newline - stream < 10)
			goto malformed;
		if (memcmp(stream, " stdout ", 8) == 0)
			fd = STDOUT_FILENO;
		else if (memcmp(stream, " stderr ", 8) == 0)
			fd = STDERR_FILENO;
		else
			goto malformed;
		if ((stream[8] != 'F' && stream[8] != 'P') || stream[9] != ' ')
			goto malformed;
		content = stream + 10;
		/* An F record's content is written with the newline ending it. */
		if (write_all(fd, content, (size_t)(newline - content) + (stream[8] == 'F')) < 0)
			return -1;
		line = newline + 1;
	}
	return line - buf;
malformed:
	errno = EBADMSG;
	return -1;
}

/* shimctl logs [-f] ID: the container's output, decoded from its log.
 * With -f, follow it until the container has exited and all is read. */
static int cmd_logs(int argc, char **argv)
{
	const char *id = NULL;
	bool follow = false, exited = false;
	struct container c;
	size_t len = 0;
	ssize_t written;
	char *buf = NULL;
	int status, fd = -1;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--follow") == 0)
			follow = true;
		else if (argv[i][0] == '-' || id)
			return fail(2, "logs: unexpected argument %s; usage: shimctl logs [-f] ID",
				    argv[i]);
		else
			id = argv[i];
	}
	if (!id)
		return fail(2, "logs: usage: shimctl logs [-f] ID");
	status = open_container(&c, "logs", id, true);
	if (status != 0)
		return status;
	status = 1;

	fd = open(c.log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail(1, "logs %s: open %s: %m", id, c.log_path);
		goto out;
	}
	buf = malloc(LOG_BUFFER_SIZE);
	if (!buf) {
		fail(1, "logs %s: out of memory", id);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, LOG_BUFFER_SIZE - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail(1, "logs %s: read %s: %m", id, c.log_path);
			goto out;
		}
		if (n > 0) {
			/* A read may end inside a record: keep its start for the
			 * next round. */
			len += (size_t)n;
			written = write_log_records(buf, len);
			if (written < 0) {
				if (errno == EBADMSG)
					fail(1, "logs %s: %s: malformed record", id, c.log_path);
				else
					fail(1, "logs %s: write output: %m", id);
				goto out;
			}
			memmove(buf, buf + written, len - (size_t)written);
			len -= (size_t)written;
			if (len == LOG_BUFFER_SIZE) {
				fail(1, "logs %s: %s: a record longer than %d bytes", id,
				     c.log_path, LOG_BUFFER_SIZE);
				goto out;
			}
			continue;
		}
		/* At the end of the log, for now. Once the exit file exists the
		 * shim has written everything: one more pass reads the rest. */
		if (!follow || exited)
			break;
		switch (container_progress(&c)) {
		case CONTAINER_EXITED:
			exited = true;
			continue;
		case CONTAINER_LOST:
			fail_lost(&c, "logs");
			goto out;
		case CONTAINER_RUNNING:
			sleep_ms(POLL_MS);
			break;
		}
	}
	if (len > 0) {
		fail(1, "logs %s: %s ends inside a record", id, c.log_path);
		goto out;
	}
	status = 0;
out:
	free(buf);
	close_fd(&fd);
	return status;
}

/* shimctl kill ID [SIGNAL]: SIGNAL as runc takes it: TERM, SIGTERM or 15. */
static int cmd_kill(int argc, char **argv)
{
	struct container c;
	int status;

	if (argc < 1 || argc > 2)
		return fail(2, "kill: usage: shimctl kill ID [SIGNAL]");
	status = open_container(&c, "kill", argv[0], true);
	if (status != 0)
		return status;
	char *kill_argv[] = { (char *)c.runtime, "kill", (char *)c.id, argc == 2 ? argv[1] : "TERM",
			      NULL };
	return simple_runtime_command(&c, "kill", kill_argv);
}

/* How the container ended, from its exit file, as a shell shows it: its
 * exit code, or 128+N when killed by signal N. The file's text, trimmed,
 * is left in text (cap bytes). Returns -1 after saying why, as operation,
 * if the file cannot be read or holds neither. */
static int exit_file_status(const struct container *c, const char *operation, char *text,
			    size_t cap)
{
	struct flat_json obj;
	const char *reason;
	long long value;
	int status;

	if (read_small_file(c->exit_path, text, cap) < 0)
		return fail(-1, "%s %s: read %s: %m", operation, c->id, c->exit_path);
	trim_end(text);
	if (flat_json_parse(text, &obj) < 0)
		return fail(-1, "%s %s: %s: not a flat JSON object: %s", operation, c->id,
			    c->exit_path, text);

	/* {"at":...,"reason":"exited","exitCode":N} or {...,"reason":"signaled","signal":N} */
	reason = flat_json_string(&obj, "reason");
	if (reason && strcmp(reason, "exited") == 0 && flat_json_number(&obj, "exitCode", &value) &&
	    value >= 0 && value <= 255)
		status = (int)value;
	else if (reason && strcmp(reason, "signaled") == 0 &&
		 flat_json_number(&obj, "signal", &value) && value > 0 && value < 128)
		status = 128 + (int)value;
	else
		status = -1;
	free(obj.text);
	if (status < 0)
		return fail(-1, "%s %s: %s: no exit code or signal in %s", operation, c->id,
			    c->exit_path, text);
	return status;
}

/* shimctl wait ID: wait for the exit file, print it, and exit as the
 * container did: its exit code, or 128+N when killed by signal N. */
static int cmd_wait(int argc, char **argv)
{
	char exit_text[1024];
	struct container c;
	int status;

	if (argc != 1)
		return fail(2, "wait: usage: shimctl wait ID");
	status = open_container(&c, "wait", argv[0], true);
	if (status != 0)
		return status;

	if (wait_for_exit(&c, -1) == CONTAINER_LOST)
		return fail_lost(&c, "wait");
	status = exit_file_status(&c, "wait", exit_text, sizeof(exit_text));
	if (status < 0)
		return 1;
	if (dprintf(STDOUT_FILENO, "%s\n", exit_text) < 0)
		return fail(1, "wait %s: write stdout: %m", c.id);
	return status;
}

/* shimctl delete ID: runc forgets the container (killing it if need be),
 * the shim writes the exit file and exits, and we remove the state. */
static int cmd_delete(int argc, char **argv)
{
	char socket_path[PATH_MAX];
	struct container c;
	int status;

	if (argc != 1)
		return fail(2, "delete: usage: shimctl delete ID");
	status = open_container(&c, "delete", argv[0], true);
	if (status != 0)
		return status;

	/* --force kills a running container first, and succeeds quietly
	 * when runc does not know the ID (a failed create, a second delete). */
	char *delete_argv[] = { (char *)c.runtime, "delete", "--force", (char *)c.id, NULL };
	status = simple_runtime_command(&c, "delete", delete_argv);
	if (status != 0)
		return status;

	/* The container is dead, but its shim may still be draining the log
	 * and writing the exit file: removing the directory under it would
	 * race with that, so give it a moment. */
	if (wait_for_exit(&c, DELETE_TIMEOUT_MS) == CONTAINER_RUNNING)
		fail(1, "delete %s: the shim is still running after %d s; "
			"removing its state anyway",
		     c.id, DELETE_TIMEOUT_MS / 1000);
	/* The shim removes its socket when it exits; one that died did not.
	 * Either failure is reported, but the state still goes. */
	if (read_attach_record(&c, socket_path) < 0) {
		if (errno != ENOENT) /* ENOENT: created without one */
			status = fail(1, "delete %s: read %s: %m", c.id, c.attach_path);
	} else if (remove_attach_socket(socket_path) < 0) {
		status = fail(1, "delete %s: remove attach socket %s: %m", c.id, socket_path);
	}
	if (remove_state(&c) < 0)
		return fail(1, "delete %s: remove %s: %m", c.id, c.dir);
	return status;
}

/* ---- attach and resize ----
 * Both talk to the shim, not to runc: attach to its attach socket
 * (--container-attachfile, SOCK_SEQPACKET), resize to its control FIFO
 * (--container-ctlfile). docs/attach.md and docs/terminal.md. */

/* Detach keys, as docker has them: a short byte sequence that, typed on a
 * terminal, ends the attach and leaves the container running. */
struct detach_keys {
	unsigned char keys[DETACH_KEYS_MAX];
	size_t len;     /* 0: detaching is off */
	size_t matched; /* keys[0, matched) have been typed and are held back */
};

/* Parse docker's --detach-keys syntax: comma-separated keys, each a single
 * character, "ctrl-X" with X one of a-z @ [ \ ] ^ _, or "DEL". "" turns
 * detaching off, as in podman. Returns -1 with errno EINVAL. */
static int detach_keys_parse(const char *text, struct detach_keys *detach)
{
	/* ctrl-@ is byte 0, ctrl-a 1, ..., ctrl-z 26, ctrl-[ 27, ..., ctrl-_ 31. */
	static const char ctrl_names[] = "@abcdefghijklmnopqrstuvwxyz[\\]^_";
	const char *key = text;

	detach->len = detach->matched = 0;
	if (text[0] == '\0')
		return 0;
	for (;;) {
		const char *comma = strchr(key, ',');
		size_t len = comma ? (size_t)(comma - key) : strlen(key);
		const char *ctrl;

		if (detach->len == DETACH_KEYS_MAX)
			goto invalid;
		if (len == 1)
			detach->keys[detach->len++] = (unsigned char)key[0];
		else if (len == 6 && strncmp(key, "ctrl-", 5) == 0 &&
			 (ctrl = strchr(ctrl_names, key[5])) != NULL)
			detach->keys[detach->len++] = (unsigned char)(ctrl - ctrl_names);
		else if (len == 3 && strncmp(key, "DEL", 3) == 0)
			detach->keys[detach->len++] = 127;
		else
			goto invalid;
		if (!comma)
			return 0;
		key = comma + 1;
	}
invalid:
	errno = EINVAL;
	return -1;
}

/* Pass n bytes typed on the terminal through the detach-key matcher: the
 * bytes for the container are put in out (room for n + DETACH_KEYS_MAX)
 * and counted in *out_len. Bytes that may start the sequence are held
 * back. When the sequence breaks, the held bytes and the breaking one are
 * let go, all but their longest tail that may still start it (so with
 * ctrl-p,ctrl-q, typing ctrl-p ctrl-p ctrl-q sends one ctrl-p, then
 * detaches). Returns true once the whole sequence is typed; the bytes
 * after it are dropped. Pure: no I/O, only *detach changes. */
static bool detach_keys_feed(struct detach_keys *detach, const unsigned char *in, size_t n,
			     unsigned char *out, size_t *out_len)
{
	*out_len = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char typed[DETACH_KEYS_MAX];
		size_t typed_len, keep;

		if (detach->len == 0) {
			out[(*out_len)++] = in[i];
			continue;
		}
		if (in[i] == detach->keys[detach->matched]) {
			if (++detach->matched == detach->len) {
				detach->matched = 0;
				return true;
			}
			continue;
		}
		/* The held bytes are keys[0, matched); matched < len, so
		 * they and in[i] fit in typed. */
		memcpy(typed, detach->keys, detach->matched);
		typed[detach->matched] = in[i];
		typed_len = detach->matched + 1;
		/* All of typed is not a start of the sequence (in[i] broke
		 * it); find the longest tail that is. */
		keep = typed_len - 1;
		while (keep > 0 && memcmp(typed + typed_len - keep, detach->keys, keep) != 0)
			keep--;
		memcpy(out + *out_len, typed, typed_len - keep);
		*out_len += typed_len - keep;
		detach->matched = keep;
	}
	return false;
}

/* Let go of the held bytes (at the end of input): they go to out, which
 * has room for DETACH_KEYS_MAX; returns how many. */
static size_t detach_keys_release(struct detach_keys *detach, unsigned char *out)
{
	size_t len = detach->matched;

	memcpy(out, detach->keys, len);
	detach->matched = 0;
	return len;
}

/* Write one "1 COLS ROWS" line to the shim's control FIFO. Opened anew
 * each time and non-blocking: with nobody reading (the shim is gone) open
 * fails with ENXIO instead of hanging (fifo(7)); a line this short is
 * written whole (PIPE_BUF). */
static int write_resize_line(const struct container *c, unsigned cols, unsigned rows)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "1 %u %u\n", cols, rows);
	int fd = open(c->ctl_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write_all(fd, line, (size_t)len) < 0) {
		close_fd(&fd);
		return -1;
	}
	return close(fd);
}

/* How an attach session goes: on, or why it ended. */
enum attach_end {
	ATTACH_ONGOING,  /* not over yet */
	ATTACH_CLOSED,   /* the shim closed the connection */
	ATTACH_DETACHED, /* the detach keys were typed */
	ATTACH_SIGNALED, /* SIGINT, SIGTERM, SIGHUP or SIGQUIT */
	ATTACH_FAILED,   /* failed: what and error say why */
};

/* One attach session: the connection, our stdin and, when both ends are
 * terminals, our terminal and the signals that concern it. */
struct attach {
	const struct container *c;
	int sock;            /* SOCK_SEQPACKET, connected to the shim's socket */
	int signal_fd;       /* terminal mode only; -1 otherwise */
	bool raw;            /* fd 0 is in raw mode; saved_termios undoes it */
	struct termios saved_termios;
	bool signals_blocked;
	sigset_t saved_mask;
	struct detach_keys detach; /* terminal mode only; off otherwise */
	/* Read from stdin, waiting for room in the socket: one packet. */
	unsigned char input[ATTACH_INPUT_MAX + DETACH_KEYS_MAX];
	char frame[FRAME_DATA_MAX + 1]; /* one frame per recv, always */
	size_t input_len;
	bool stdin_done;     /* EOF on stdin, or the shim takes no more input */
	bool write_shut;     /* our write side is shut down */
	bool warned_stream;  /* said once that a frame named an unknown stream */
	bool warned_resize;  /* said once that resizing failed */
	int end_signal;      /* ATTACH_SIGNALED: which */
	const char *what;    /* ATTACH_FAILED: the operation, e.g. "read stdin" */
	int error;           /* ATTACH_FAILED: its errno */
};

/* Record a failure to report once the terminal is back to normal (a
 * message in raw mode would come out as a staircase). */
static enum attach_end attach_failed(struct attach *a, const char *what)
{
	a->what = what;
	a->error = errno;
	return ATTACH_FAILED;
}

/* A warning in mid-session: in raw mode, "\n" no longer returns the
 * carriage (cfmakeraw turns off OPOST), so end the line with "\r\n". */
static void attach_warn(const struct attach *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void attach_warn(const struct attach *a, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shimctl: attach %s: ", a->c->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(a->raw ? "\r\n" : "\n", stderr);
}

/* Leave terminal mode, on every way out: the terminal as it was, then the
 * signals. A SIGPIPE that a failed write left pending is dropped first,
 * so that the failure ends in its message and status 1, not in death by
 * SIGPIPE. Any other signal still pending is delivered on unblocking;
 * the terminal is already fine by then. Safe to call more than once. */
static void attach_end_terminal(struct attach *a)
{
	static const struct timespec no_wait = { 0, 0 };
	sigset_t pipe_only;

	if (a->raw && tcsetattr(STDIN_FILENO, TCSANOW, &a->saved_termios) < 0)
		fail(0, "attach %s: restore the terminal: %m", a->c->id);
	a->raw = false;
	close_fd(&a->signal_fd);
	if (!a->signals_blocked)
		return;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	while (sigtimedwait(&pipe_only, NULL, &no_wait) == SIGPIPE)
		;
	sigprocmask(SIG_SETMASK, &a->saved_mask, NULL);
	a->signals_blocked = false;
}

/* Tell the shim our terminal's size, as it is now. Failing is worth a
 * warning, not the end of the session. */
static void attach_send_size(struct attach *a)
{
	struct winsize size;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &size) < 0) {
		if (!a->warned_resize)
			attach_warn(a, "get the terminal size: %s", strerror(errno));
		a->warned_resize = true;
		return;
	}
	if (size.ws_col == 0 && size.ws_row == 0)
		return; /* a terminal that does not know its size, as docker skips */
	if (write_resize_line(a->c, size.ws_col, size.ws_row) < 0) {
		if (!a->warned_resize)
			attach_warn(a, "resize through %s: %s", a->c->ctl_path, strerror(errno));
		a->warned_resize = true;
	}
}

/* Terminal mode: block the signals we handle and read them from a
 * signalfd, then put our terminal in raw mode, so that every key (ctrl-c,
 * ctrl-z, ctrl-d too) goes to the container's terminal, which does the
 * line editing and the echo. */
static enum attach_end attach_terminal_setup(struct attach *a)
{
	struct termios raw;
	sigset_t handled;

	sigemptyset(&handled);
	sigaddset(&handled, SIGWINCH);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGHUP);
	sigaddset(&handled, SIGQUIT);
	/* Also SIGPIPE: a closed stdout must be an EPIPE we report after
	 * restoring the terminal, not a death that leaves it raw. */
	sigaddset(&handled, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &handled, &a->saved_mask) < 0)
		return attach_failed(a, "block signals");
	a->signals_blocked = true;
	a->signal_fd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
	if (a->signal_fd < 0)
		return attach_failed(a, "signalfd");

	if (tcgetattr(STDIN_FILENO, &a->saved_termios) < 0)
		return attach_failed(a, "get the terminal's settings");
	raw = a->saved_termios;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return attach_failed(a, "put the terminal in raw mode");
	a->raw = true;
	attach_send_size(a);
	return ATTACH_ONGOING;
}

/* Signals, in terminal mode. Returns ATTACH_SIGNALED for one that ends
 * the session. */
static enum attach_end attach_read_signals(struct attach *a)
{
	struct signalfd_siginfo info;

	for (;;) {
		ssize_t n = read(a->signal_fd, &info, sizeof(info));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return ATTACH_ONGOING;
		if (n != (ssize_t)sizeof(info))
			return attach_failed(a, "read signalfd");
		switch (info.ssi_signo) {
		case SIGWINCH:
			attach_send_size(a);
			break;
		case SIGPIPE:
			break; /* the write itself fails with EPIPE */
		default:
			a->end_signal = (int)info.ssi_signo;
			return ATTACH_SIGNALED;
		}
	}
}

/* Once stdin is done and all it gave is sent, tell the shim so: it then
 * closes the container's stdin if the container has --stdin-once. */
static void attach_shut_input(struct attach *a)
{
	if (!a->stdin_done || a->input_len > 0 || a->write_shut)
		return;
	/* ENOTCONN: the shim is gone already; recv will say so. */
	shutdown(a->sock, SHUT_WR);
	a->write_shut = true;
}

/* Send the pending input as one packet, without blocking: when the
 * container does not read its stdin, the shim stops reading us, and we
 * must keep receiving its output meanwhile (else it drops us at 4 MiB). */
static enum attach_end attach_send(struct attach *a)
{
	ssize_t n = send(a->sock, a->input, a->input_len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return ATTACH_ONGOING;
	if (n < 0 && errno != EPIPE && errno != ECONNRESET)
		return attach_failed(a, "send to the shim");
	/* Sent (a SOCK_SEQPACKET send is all or nothing), or the shim takes
	 * no more input, though its output may still come. */
	if (n < 0)
		a->stdin_done = a->write_shut = true;
	a->input_len = 0;
	attach_shut_input(a);
	return ATTACH_ONGOING;
}

/* Read what stdin has (poll said so), through the detach-key matcher
 * (which passes everything when detaching is off). */
static enum attach_end attach_read_stdin(struct attach *a)
{
	unsigned char buf[ATTACH_INPUT_MAX];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return ATTACH_ONGOING;
	if (n < 0)
		return attach_failed(a, "read stdin");
	if (n == 0) {
		a->input_len = detach_keys_release(&a->detach, a->input);
		a->stdin_done = true;
	} else if (detach_keys_feed(&a->detach, buf, (size_t)n, a->input, &a->input_len)) {
		/* What came before the keys in the same read: one try. */
		if (a->input_len > 0 && attach_send(a) == ATTACH_FAILED)
			return ATTACH_FAILED;
		return ATTACH_DETACHED;
	}
	if (a->input_len > 0)
		return attach_send(a);
	attach_shut_input(a);
	return ATTACH_ONGOING;
}

/* Take what the shim sent. Each packet is one frame: a stream byte (1
 * stdout, 2 stderr), then the data. */
static enum attach_end attach_receive(struct attach *a)
{
	char *frame = a->frame;

	/* A bounded number per wake-up, so stdin and signals get their turn. */
	for (int round = 0; round < 16; round++) {
		ssize_t n = recv(a->sock, frame, FRAME_DATA_MAX + 1, MSG_DONTWAIT);
		int fd;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return ATTACH_ONGOING;
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return ATTACH_CLOSED;
		if (n < 0)
			return attach_failed(a, "receive from the shim");
		if (frame[0] == 1) {
			fd = STDOUT_FILENO;
		} else if (frame[0] == 2) {
			fd = STDERR_FILENO;
		} else {
			if (!a->warned_stream)
				attach_warn(a, "ignoring output for unknown stream %d",
					    (unsigned char)frame[0]);
			a->warned_stream = true;
			continue;
		}
		if (write_all(fd, frame + 1, (size_t)n - 1) < 0)
			return attach_failed(a, fd == STDOUT_FILENO ? "write stdout" : "write stderr");
	}
	return ATTACH_ONGOING;
}

/* The session: one poll loop over the socket, stdin and the signalfd,
 * until the shim hangs up, the detach keys, a signal or a failure. */
static enum attach_end attach_loop(struct attach *a)
{
	enum attach_end end;

	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = a->sock, .events = POLLIN | (a->input_len > 0 ? POLLOUT : 0) },
			/* Read stdin only when the last read is sent: the socket's
			 * back-pressure reaches whoever writes to us. */
			{ .fd = !a->stdin_done && a->input_len == 0 ? STDIN_FILENO : -1,
			  .events = POLLIN },
			{ .fd = a->signal_fd, .events = POLLIN }, /* -1: ignored */
		};

		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return attach_failed(a, "poll");
		}
		if (fds[2].revents) {
			end = attach_read_signals(a);
			if (end != ATTACH_ONGOING)
				return end;
		}
		/* Output before hang-up: the last frames come with it. */
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			end = attach_receive(a);
			if (end != ATTACH_ONGOING)
				return end;
		}
		if ((fds[0].revents & POLLOUT) && a->input_len > 0) {
			end = attach_send(a);
			if (end != ATTACH_ONGOING)
				return end;
		}
		/* POLLHUP: a pipe's writer is gone, maybe with data left;
		 * POLLNVAL: no stdin at all. read says which: data, 0 or EBADF. */
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			end = attach_read_stdin(a);
			if (end != ATTACH_ONGOING)
				return end;
		} else if (fds[1].revents & POLLNVAL) {
			a->stdin_done = true;
			attach_shut_input(a);
		}
	}
}

/* shimctl attach [--detach-keys KEYS] ID: copy our stdin to the
 * container's, its stdout and stderr to ours, until the shim hangs up;
 * then exit as the container did, once the exit file says how. When the
 * container has a terminal and so do we, our terminal goes raw and
 * follows the size of ours; the detach keys leave it running. */
static int cmd_attach(int argc, char **argv)
{
	const char *id = NULL, *keys = DEFAULT_DETACH_KEYS;
	char socket_path[PATH_MAX], exit_text[1024];
	struct detach_keys detach;
	struct attach *a = NULL;
	enum attach_end end;
	struct container c;
	int status;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--detach-keys") == 0 && i + 1 < argc)
			keys = argv[++i];
		else if (strncmp(argv[i], "--detach-keys=", 14) == 0)
			keys = argv[i] + 14;
		else if (argv[i][0] == '-' || id)
			return fail(2, "attach: unexpected argument %s; "
				       "usage: shimctl attach [--detach-keys KEYS] ID",
				    argv[i]);
		else
			id = argv[i];
	}
	if (!id)
		return fail(2, "attach: usage: shimctl attach [--detach-keys KEYS] ID");
	if (detach_keys_parse(keys, &detach) < 0)
		return fail(2, "attach %s: --detach-keys %s: use comma-separated keys, each "
			       "one character, ctrl-X (X in a-z @ [ \\ ] ^ _) or DEL, "
			       "e.g. ctrl-p,ctrl-q",
			    id, keys);
	status = open_container(&c, "attach", id, true);
	if (status != 0)
		return status;

	a = calloc(1, sizeof(*a)); /* 64 KiB of buffers: not on the stack */
	if (!a)
		return fail(1, "attach %s: out of memory", id);
	a->c = &c;
	a->sock = a->signal_fd = -1;
	status = 1;
	if (read_attach_record(&c, socket_path) < 0) {
		if (errno == ENOENT)
			fail(1, "attach %s: no attach socket recorded in %s "
				"(created by an older shimctl?)",
			     id, c.attach_path);
		else
			fail(1, "attach %s: read %s: %m", id, c.attach_path);
		goto out;
	}
	a->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (a->sock < 0) {
		fail(1, "attach %s: socket: %m", id);
		goto out;
	}
	/* The shim removes its socket when it exits; a shim that died
	 * leaves one that refuses. */
	if (connect_unix(a->sock, socket_path) < 0) {
		fail_unreachable(&c, "attach", "connect to", socket_path);
		goto out;
	}

	/* Raw mode only when both ends are terminals: the container's (the
	 * marker) and ours. Otherwise the bytes are copied as they are. */
	end = ATTACH_ONGOING;
	if (access(c.tty_path, F_OK) == 0 && isatty(STDIN_FILENO)) {
		a->detach = detach; /* calloc left detaching off */
		end = attach_terminal_setup(a);
	}
	if (end == ATTACH_ONGOING)
		end = attach_loop(a);
	/* Every way out of the session goes through here: the terminal first. */
	attach_end_terminal(a);

	switch (end) {
	case ATTACH_FAILED:
		errno = a->error;
		fail(1, "attach %s: %s: %m", id, a->what);
		goto out;
	case ATTACH_SIGNALED:
		status = 128 + a->end_signal; /* as if the signal had killed us */
		goto out;
	case ATTACH_DETACHED:
		fprintf(stderr, "\ndetached from %s\n", id);
		status = 0;
		goto out;
	case ATTACH_ONGOING: /* not returned by attach_loop */
	case ATTACH_CLOSED:
		break;
	}

	/* The shim closes its clients after writing the exit file, so it is
	 * normally there already. If it does not come, the shim dropped us
	 * (a client too far behind) and the container runs on. */
	close_fd(&a->sock);
	switch (wait_for_exit(&c, ATTACH_EXIT_WAIT_MS)) {
	case CONTAINER_EXITED:
		status = exit_file_status(&c, "attach", exit_text, sizeof(exit_text));
		if (status < 0)
			status = 1;
		break;
	case CONTAINER_RUNNING:
		fail(0, "attach %s: the shim closed the connection; the container is still "
			"running (see %s)",
		     id, c.shim_log_path);
		status = 0;
		break;
	case CONTAINER_LOST:
		fail_lost(&c, "attach");
		break;
	}
out:
	if (a) {
		attach_end_terminal(a);
		close_fd(&a->sock);
		free(a);
	}
	return status;
}

/* A terminal dimension for resize: 1 to 65535, digits only. (Too many
 * digits make strtoul return ULONG_MAX, which is out of range too.) */
static bool parse_dimension(const char *text, unsigned *value)
{
	char *end;
	unsigned long number = strtoul(text, &end, 10);

	*value = (unsigned)number;
	return isdigit((unsigned char)text[0]) && *end == '\0' && number >= 1 && number <= 65535;
}

/* shimctl resize ID COLS ROWS: set the size of a --tty container's
 * terminal; the kernel sends SIGWINCH to its foreground process group. */
static int cmd_resize(int argc, char **argv)
{
	unsigned cols, rows;
	struct container c;
	int status;

	if (argc != 3)
		return fail(2, "resize: usage: shimctl resize ID COLS ROWS");
	status = open_container(&c, "resize", argv[0], true);
	if (status != 0)
		return status;
	if (!parse_dimension(argv[1], &cols) || !parse_dimension(argv[2], &rows))
		return fail(2, "resize %s: COLS %s and ROWS %s must be numbers from 1 to 65535",
			    c.id, argv[1], argv[2]);
	if (access(c.tty_path, F_OK) < 0)
		return fail(1, "resize %s: container %s has no terminal (created without --tty)",
			    c.id, c.id);
	/* The shim removes the FIFO when it exits (ENOENT); one that died
	 * leaves a FIFO nobody reads (ENXIO). */
	if (write_resize_line(&c, cols, rows) < 0)
		return fail_unreachable(&c, "resize", "write", c.ctl_path);
	return 0;
}

static int cmd_help(int argc, char **argv);

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
	const char *description;
} commands[] = {
	{ "create", cmd_create, "create [ID] --bundle DIR [--tty] [--stdin [--stdin-once]]",
	  "create a container; print \"ID PID\"" },
	{ "start", cmd_start, "start ID", "start the created container's process" },
	{ "state", cmd_state, "state ID", "print {\"id\",\"shimPid\",\"runc\",\"exit\"} as JSON" },
	{ "logs", cmd_logs, "logs [-f] ID", "print its output; -f follows until it has exited" },
	{ "kill", cmd_kill, "kill ID [SIGNAL]", "send SIGNAL (default TERM) to the container" },
	{ "wait", cmd_wait, "wait ID", "wait for the exit; print exit.json, exit with its code" },
	{ "delete", cmd_delete, "delete ID", "kill it if need be; remove it and its state" },
	{ "attach", cmd_attach, "attach [--detach-keys KEYS] ID",
	  "connect to its stdin, stdout and stderr (see below)" },
	{ "resize", cmd_resize, "resize ID COLS ROWS", "resize a --tty container's terminal" },
	{ "help", cmd_help, "help", "show this help" },
};

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("Usage: shimctl COMMAND [ARG]...\n"
	       "Run containers through the shim. State: $SHIMCTL_ROOT/ID (default " DEFAULT_ROOT
	       "/ID);\n"
	       "shim: $SHIMCTL_SHIM (default: next to shimctl, else PATH); runtime: "
	       "$SHIMCTL_RUNTIME (default runc).\n\n");
	/* A synopsis too long for the column gets its description below. */
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strlen(commands[i].synopsis) > 34)
			printf("  shimctl %s\n  %-42s %s\n", commands[i].synopsis, "",
			       commands[i].description);
		else
			printf("  shimctl %-34s %s\n", commands[i].synopsis, commands[i].description);
	}
	printf("\nattach copies stdin to the container and its output back, and exits with\n"
	       "the container's exit code once it has exited. For a --tty container, on a\n"
	       "terminal, it works in raw mode, follows the window size, and the detach\n"
	       "keys (docker's default " DEFAULT_DETACH_KEYS ") leave it running;\n"
	       "--detach-keys takes docker's syntax, e.g. ctrl-a,d (\"\" turns them off).\n");
	if (fflush(stdout) != 0)
		return fail(1, "help: write stdout: %m");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return fail(2, "no command; see shimctl help");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(0, NULL);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 2, argv + 2);
	}
	return fail(2, "unknown command %s; see shimctl help", argv[1]);
}
