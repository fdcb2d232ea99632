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
 * One file per concern, each read top to bottom:
 *   shimctl.c         this file: what every command shares (fail, run,
 *                     the state directory, whether the container has
 *                     exited), the commands that are a runc command or
 *                     read what the shim wrote (start, state, logs, kill,
 *                     wait, delete), then the command table and main;
 *   shimctl-create.c  create: starting the shim and reading its report
 *                     (steps 1 and 4);
 *   shimctl-attach.c  attach and resize: the terminal client (raw mode,
 *                     SIGWINCH, detach keys) and the control FIFO;
 *   shimctl.h         what they share;
 *   jsonread.c        the shim's reports and exit files are flat JSON
 *                     objects, read there (its own file, so it can be
 *                     fuzzed alone).
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
 * attach_socket_path, in shimctl-create.c), so "s" is not a container ID.
 *
 * Errors go to stderr as "shimctl: <operation> <object>: <reason>"; the
 * exit status is 2 for a usage error and 1 for a failure. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jsonread.h" /* the reports and exit files: flat JSON objects */
#include "log.h" /* LOG_RECORD_MAX, the longest content of one log record */
#include "shimctl.h"
#include "util.h"

#define DEFAULT_ROOT "/run/shimctl"
#define DELETE_TIMEOUT_MS 10000     /* for the shim to write the exit file */
#define POLL_MS 50                  /* for logs -f, wait, delete and attach */

/* One log record: "<time> <stream> <F|P> <content>\n". */
#define LOG_LINE_MAX (RFC3339_LEN + sizeof(" stdout F ") + LOG_RECORD_MAX + 1)
#define LOG_BUFFER_SIZE (64 * 1024)
_Static_assert(LOG_BUFFER_SIZE > LOG_LINE_MAX, "the logs buffer must hold a whole record");

/* Print "shimctl: <message>" on stderr and return status, so a command can
 * end with `return fail(1, "start %s: ...", id);`. %m works. */
int fail(int status, const char *fmt, ...)
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

int state_file(char path[PATH_MAX], const char *dir, const char *name)
{
	if (snprintf(path, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Fill c for the container id and, with must_exist, check that its state
 * directory is there. Returns 0, or the exit status after saying why not. */
int open_container(struct container *c, const char *operation, const char *id, bool must_exist)
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
int remove_state(const struct container *c)
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
		/* An exec session left behind (shimctl-exec.c): its files. */
		if (entry->d_type == DT_DIR && strncmp(entry->d_name, "exec-", 5) == 0) {
			struct container session = *c;
			if (state_file(session.dir, c->dir, entry->d_name) < 0 ||
			    remove_state(&session) < 0)
				goto fail;
			continue;
		}
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
int fail_lost(const struct container *c, const char *operation)
{
	return fail(1, "%s %s: the shim is gone and wrote no %s; see %s", operation, c->id,
		    c->exit_path, c->shim_log_path);
}

/* Having failed to reach the shim (errno says how), say why: the
 * container's end, if that is the reason. Returns 1. */
int fail_unreachable(const struct container *c, const char *operation, const char *verb,
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
enum progress wait_for_exit(const struct container *c, int timeout_ms)
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
 * the pass_count fds of pass_fds left open. 127 when not found, 126
 * otherwise, as a shell does. */
static _Noreturn void exec_child(char *const argv[], int stdout_fd, const int *pass_fds,
				 size_t pass_count)
{
	if (stdout_fd >= 0 && dup2(stdout_fd, STDOUT_FILENO) < 0) {
		dprintf(STDERR_FILENO, "shimctl: run %s: dup2 stdout: %s\n", argv[0],
			strerror(errno));
		_exit(126);
	}
	/* The fds we pass on on purpose (the shim's sync pipe, and exec's
	 * start and ready pipes): made close-on-exec like every other. */
	for (size_t i = 0; i < pass_count; i++) {
		if (fcntl(pass_fds[i], F_SETFD, 0) < 0) {
			dprintf(STDERR_FILENO, "shimctl: run %s: keep fd %d open: %s\n", argv[0],
				pass_fds[i], strerror(errno));
			_exit(126);
		}
	}
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "shimctl: run %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Run argv (argv[0] a name or a path) to completion, with our stdin and
 * stderr, so its errors reach the user unchanged. The pass_count fds of
 * pass_fds are the child's: left open across its exec, and closed here
 * (set to -1) right after the fork. With captured_stdout non-NULL the child's stdout
 * is collected into a malloc'd, NUL-terminated string; otherwise it is
 * ours. Returns its exit status as a shell shows it (N, or 128+N when
 * killed by signal N), or -1 with errno set if it could not be run. */
int run(char *const argv[], int *pass_fds, size_t pass_count, char **captured_stdout)
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
		exec_child(argv, capture[1], pass_fds, pass_count);
	close_fd(&capture[1]);
	for (size_t i = 0; i < pass_count; i++)
		close_fd(&pass_fds[i]);
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

/* ---- The attach socket ---- */

/* The socket path recorded in STATE/attach at create. */
int read_attach_record(const struct container *c, char path[PATH_MAX])
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
int remove_attach_socket(const char *path)
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

/* ---- The commands: one function each, given the arguments after the
 * command's name, returning the exit status. ---- */

/* Run one runc command for start, kill or delete: runc's own error is on
 * stderr already, we add which command failed. */
static int simple_runtime_command(const struct container *c, const char *operation,
				  char *const argv[])
{
	int status = run(argv, NULL, 0, NULL);

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
	status = run(state_argv, NULL, 0, &runc_state);
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
int exit_file_status(const struct container *c, const char *operation, char *text, size_t cap)
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
	{ "exec", cmd_exec, "exec [--tty] [--stdin] [--detach-keys KEYS] ID COMMAND [ARG]...",
	  "run COMMAND in the running container, attached; exit with its code" },
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
