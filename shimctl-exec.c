/* shimctl-exec.c: shimctl exec, one more process in a running container.
 *
 * As podman does with conmon, each exec gets a shim of its own, started
 * with --exec-process: the same five steps, with `runc exec` in place of
 * `runc create`, and the exec'd process in place of the container. Its
 * state is a session directory inside the container's (ROOT/ID/exec-XXXXXX:
 * the process spec, the shim's files, the attach socket), removed when
 * the process has exited.
 *
 * The order matters, so that no output is lost: the shim makes its attach
 * socket and says so on the ready pipe; we connect; only then do we write
 * the byte on the start pipe that lets its predecessor exec runc. Then
 * the report (the process's PID, or runc's error) and the attach session
 * until the process exits, whose exit code is ours. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonread.h"
#include "shimctl.h"
#include "util.h"

#define EXEC_TIMEOUT_MS 30000 /* for the ready message, and for the report */
#define SHIM_EXIT_WAIT_MS 5000

/* The process spec runc exec runs: the command as root in /, with a PATH
 * and, on a terminal, a TERM. (podman copies more of the container's own
 * process: its environment, user and capabilities; this spec has none.) */
static char *process_spec(char **command, bool tty)
{
	size_t len = 256;
	char *spec, *p;

	for (char **arg = command; *arg; arg++)
		len += JSON_ESCAPED_MAX(strlen(*arg)) + 3;
	spec = malloc(len);
	if (!spec)
		return NULL;
	p = spec + sprintf(spec, "{\"terminal\":%s,\"user\":{\"uid\":0,\"gid\":0},\"args\":[",
			   tty ? "true" : "false");
	for (char **arg = command; *arg; arg++) {
		*p++ = '"';
		p += json_escape(p, *arg, strlen(*arg));
		*p++ = '"';
		if (arg[1])
			*p++ = ',';
	}
	sprintf(p, "],\"env\":[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"%s],"
		   "\"cwd\":\"/\"}\n",
		tty ? ",\"TERM=xterm\"" : "");
	return spec;
}

/* The session's paths, as open_container gives a container's. */
static int open_session(struct container *session, const struct container *c, const char *dir)
{
	*session = *c;
	if (snprintf(session->dir, sizeof(session->dir), "%s", dir) >= (int)sizeof(session->dir) ||
	    state_file(session->shim_pid_path, dir, "shim.pid") < 0 ||
	    state_file(session->shim_log_path, dir, "shim.log") < 0 ||
	    state_file(session->pid_path, dir, "process.pid") < 0 ||
	    state_file(session->log_path, dir, "process.log") < 0 ||
	    state_file(session->exit_path, dir, "exit.json") < 0 ||
	    state_file(session->attach_path, dir, "attach") < 0 ||
	    state_file(session->tty_path, dir, "tty") < 0 ||
	    state_file(session->ctl_path, dir, "ctl") < 0 ||
	    state_file(session->bundle_path, dir, "process.json") < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* What the report says: 0 for the process's PID, else the exit status
 * after saying why there is no process (127 when runc could not find the
 * command, as a shell and podman say). */
static int check_report(const struct container *session, const char *report)
{
	const struct json_field *stderr_field;
	struct flat_json obj;
	const char *kind;
	int status = 1;

	if (flat_json_parse(report, &obj) < 0)
		return fail(1, "exec %s: unreadable report from the shim: %s", session->id, report);
	kind = flat_json_string(&obj, "kind");
	if (kind && strcmp(kind, "container_pid") == 0) {
		status = 0;
	} else if (kind && strcmp(kind, "runtime_abnormal_termination") == 0) {
		stderr_field = flat_json_get(&obj, "stderr");
		fail(1, "exec %s: the runtime failed:", session->id);
		if (stderr_field && stderr_field->string && stderr_field->len > 0) {
			fwrite(stderr_field->string, 1, stderr_field->len, stderr);
			if (stderr_field->string[stderr_field->len - 1] != '\n')
				fputc('\n', stderr);
			if (memmem(stderr_field->string, stderr_field->len, "no such file or directory", 25) ||
			    memmem(stderr_field->string, stderr_field->len, "executable file not found", 25))
				status = 127;
		}
	} else if (kind && strcmp(kind, "shim_error") == 0) {
		const char *message = flat_json_string(&obj, "message");
		fail(1, "exec %s: shim failed: %s", session->id, message ? message : "(no message)");
	} else {
		fail(1, "exec %s: unknown report from the shim: %s", session->id, report);
	}
	free(obj.text);
	return status;
}

/* Remove the session once its shim is gone: it removes its socket and
 * FIFO on the way out. */
static void remove_session(const struct container *session)
{
	pid_t shim_pid;

	for (int waited = 0; waited < SHIM_EXIT_WAIT_MS; waited += 10) {
		if (read_pid_file(session->shim_pid_path, &shim_pid) < 0 || kill(shim_pid, 0) < 0)
			break;
		usleep(10 * 1000);
	}
	if (remove_state(session) < 0 && errno != ENOENT)
		fail(0, "exec %s: remove %s: %m", session->id, session->dir);
}

/* shimctl exec [--tty] [--stdin] [--detach-keys KEYS] ID COMMAND [ARG]... */
int cmd_exec(int argc, char **argv)
{
	const char *id = NULL, *keys = DEFAULT_DETACH_KEYS;
	bool tty = false, with_stdin = false, remove = false;
	char dir[PATH_MAX], shim_path[PATH_MAX], fds[3][16], *spec = NULL, *report = NULL;
	int sync_pipe[2] = { -1, -1 }, start_pipe[2] = { -1, -1 }, ready_pipe[2] = { -1, -1 };
	int status, shim_status, sock = -1, i;
	struct container c, session;

	for (i = 0; i < argc && !id; i++) {
		if (strcmp(argv[i], "--tty") == 0 || strcmp(argv[i], "-t") == 0)
			tty = true;
		else if (strcmp(argv[i], "--stdin") == 0 || strcmp(argv[i], "-i") == 0)
			with_stdin = true;
		else if (strcmp(argv[i], "--detach-keys") == 0 && i + 1 < argc)
			keys = argv[++i];
		else if (argv[i][0] == '-')
			return fail(2, "exec: unexpected argument %s; see shimctl help", argv[i]);
		else
			id = argv[i];
	}
	if (!id || i >= argc)
		return fail(2, "exec: usage: shimctl exec [--tty] [--stdin] [--detach-keys KEYS] ID COMMAND [ARG]...");
	status = check_detach_keys("exec", id, keys);
	if (status == 0)
		status = open_container(&c, "exec", id, true);
	if (status != 0)
		return status;
	if (wait_for_exit(&c, 0) != CONTAINER_RUNNING)
		return fail(1, "exec %s: the container is not running", id);

	if (snprintf(dir, sizeof(dir), "%s/exec-XXXXXX", c.dir) >= (int)sizeof(dir) || !mkdtemp(dir))
		return fail(1, "exec %s: make a session directory in %s: %m", id, c.dir);
	status = 1;
	if (open_session(&session, &c, dir) < 0) {
		fail(1, "exec %s: session paths under %s: %m", id, dir);
		rmdir(dir);
		return 1;
	}
	remove = true;
	spec = process_spec(argv + i, tty);
	if (!spec || write_file_atomic(session.bundle_path, spec, strlen(spec), 0600) < 0 ||
	    (tty && write_file_atomic(session.tty_path, "", 0, 0600) < 0)) {
		fail(1, "exec %s: write %s: %m", id, session.bundle_path);
		goto out;
	}
	if (pipe2(sync_pipe, O_CLOEXEC) < 0 || pipe2(start_pipe, O_CLOEXEC) < 0 ||
	    pipe2(ready_pipe, O_CLOEXEC) < 0) {
		fail(1, "exec %s: make pipes: %m", id);
		goto out;
	}
	snprintf(fds[0], sizeof(fds[0]), "%d", sync_pipe[1]);
	snprintf(fds[1], sizeof(fds[1]), "%d", start_pipe[0]);
	snprintf(fds[2], sizeof(fds[2]), "%d", ready_pipe[1]);
	find_shim(shim_path);
	char *shim_argv[] = {
		shim_path,
		"--exec-process", session.bundle_path,
		"--container-id", (char *)id,
		"--container-pidfile", session.pid_path,
		"--container-logfile", session.log_path,
		"--container-log-format", "k8s-file",
		"--container-exitfile", session.exit_path,
		"--shimmy-pidfile", session.shim_pid_path,
		"--shim-logfile", session.shim_log_path,
		"--shimmy-log-level", "DEBUG",
		"--syncpipe-fd", fds[0],
		"--start-fd", fds[1],
		"--ready-fd", fds[2],
		"--runtime", (char *)c.runtime,
		"--container-attachfile", session.attach_path,
		"--attach-seqpacket",
		/* Room for --terminal --container-ctlfile PATH --stdin, or
		 * --stdin --stdin-once, and the NULL that ends the list. */
		NULL, NULL, NULL, NULL, NULL,
	};
	size_t shim_argc = sizeof(shim_argv) / sizeof(shim_argv[0]) - 5;
	if (tty) {
		/* A terminal is for typing into: its input never closes. */
		shim_argv[shim_argc++] = "--terminal";
		shim_argv[shim_argc++] = "--container-ctlfile";
		shim_argv[shim_argc++] = session.ctl_path;
		shim_argv[shim_argc++] = "--stdin";
	} else if (with_stdin) {
		shim_argv[shim_argc++] = "--stdin";
		shim_argv[shim_argc++] = "--stdin-once";
	}
	int passed[] = { sync_pipe[1], start_pipe[0], ready_pipe[1] };
	shim_status = run(shim_argv, passed, 3, NULL);
	sync_pipe[1] = start_pipe[0] = ready_pipe[1] = -1; /* run closed ours */
	if (shim_status != 0) {
		if (shim_status < 0)
			fail(1, "exec %s: run shim %s: %m", id, shim_path);
		else
			fail(1, "exec %s: shim %s exited with status %d (see its error above)", id,
			     shim_path, shim_status);
		goto out;
	}
	/* Ready: the attach socket is there. EOF instead: the shim failed
	 * first, and its report says why. */
	if (read_until_eof(ready_pipe[0], EXEC_TIMEOUT_MS, &report) < 0) {
		fail(1, "exec %s: wait for the shim to be ready: %m (see %s)", id, session.shim_log_path);
		goto out;
	}
	if (report[0] != '\0') {
		sock = attach_socket_connect(&session, "exec", session.attach_path);
		if (sock < 0)
			goto out;
		if (write_all(start_pipe[1], "", 1) < 0) {
			fail(1, "exec %s: tell the shim to start: %m", id);
			goto out;
		}
	}
	close_fd(&start_pipe[1]);
	free(report);
	report = NULL;
	if (read_until_eof(sync_pipe[0], EXEC_TIMEOUT_MS, &report) < 0) {
		fail(1, "exec %s: read the report: %m (see %s)", id, session.shim_log_path);
		goto out;
	}
	if (report[0] == '\0') {
		fail(1, "exec %s: the shim exited without a report; see %s", id, session.shim_log_path);
		remove = false;
		goto out;
	}
	status = check_report(&session, report);
	if (status != 0)
		goto out;
	status = attach_connected(&session, "exec", sock, tty, keys);
	sock = -1;
	/* Detached: the process runs on, and its session stays for it. */
	remove = access(session.exit_path, F_OK) == 0;
out:
	close_fd(&sock);
	close_fd(&sync_pipe[0]);
	close_fd(&sync_pipe[1]);
	close_fd(&start_pipe[0]);
	close_fd(&start_pipe[1]);
	close_fd(&ready_pipe[0]);
	close_fd(&ready_pipe[1]);
	free(spec);
	free(report);
	if (remove)
		remove_session(&session);
	return status;
}
