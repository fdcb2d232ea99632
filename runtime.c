/* runtime.c: steps 3 and 4. Forks the predecessor that execs
 * `runc create`, reads back the container's PID, and words what the shim
 * tells its manager: the sync-pipe report and the exit file. All the
 * formats a manager parses live here, so the protocol reads in one place. */
#define _GNU_SOURCE
#include "runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* The predecessor, between fork and exec. Any failure here is written to
 * its stderr, which is the pipe the shim reads runc's errors from, so the
 * manager sees it like any runtime error. */
static _Noreturn void exec_runtime_create(const struct runtime *rt, char **argv,
					  const int stdio_fds[3], const sigset_t *child_mask,
					  pid_t shim_pid)
{
	/* If the shim dies while runc is still creating, nobody is left to
	 * report or to reap: take runc down with it. The death signal fires
	 * when the forking *thread* exits (prctl(2)); the shim has only one.
	 * The parent may already be gone before prctl took effect: check. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != shim_pid)
		_exit(126);

	for (int target = 0; target < 3; target++) {
		/* dup2 clears FD_CLOEXEC on the copy: these three, and only
		 * these, reach runc. The shim's own 0-2 are /dev/null, so a
		 * pipe end is never already in place. */
		if (dup2(stdio_fds[target], target) < 0) {
			dprintf(STDERR_FILENO, "shim: dup2 for fd %d: %s\n", target, strerror(errno));
			_exit(126);
		}
	}
	if (sigprocmask(SIG_SETMASK, child_mask, NULL) < 0) {
		dprintf(STDERR_FILENO, "shim: restore signal mask: %s\n", strerror(errno));
		_exit(126);
	}
	execvp(rt->path, argv);
	dprintf(STDERR_FILENO, "shim: exec runtime %s: %s\n", rt->path, strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

int runtime_spawn_create(struct runtime *rt, const int stdio_fds[3], const sigset_t *child_mask)
{
	/* RUNTIME [args...] create --bundle B --pid-file P ID NULL */
	size_t argc = 0;
	char **argv = calloc(rt->arg_count + 8, sizeof(char *));
	pid_t shim_pid = getpid();

	if (!argv)
		return -1;
	argv[argc++] = (char *)rt->path;
	for (size_t i = 0; i < rt->arg_count; i++)
		argv[argc++] = rt->args[i];
	argv[argc++] = "create";
	argv[argc++] = "--bundle";
	argv[argc++] = (char *)rt->bundle;
	argv[argc++] = "--pid-file";
	argv[argc++] = (char *)rt->pidfile;
	argv[argc++] = (char *)rt->container_id;

	rt->pid = fork();
	if (rt->pid == 0)
		exec_runtime_create(rt, argv, stdio_fds, child_mask, shim_pid);
	free(argv);
	return rt->pid < 0 ? -1 : 0;
}

int read_container_pid(const char *path, pid_t *pid)
{
	char text[32], *end;
	long value;

	if (read_small_file(path, text, sizeof(text)) < 0)
		return -1;
	errno = 0;
	value = strtol(text, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno != 0 || end == text || *end != '\0' || value <= 0 || value > 4194304) {
		errno = EINVAL;
		return -1;
	}
	*pid = (pid_t)value;
	return 0;
}

char *report_container_pid(pid_t container_pid)
{
	char *json;

	if (asprintf(&json, "{\"kind\":\"container_pid\",\"pid\":%d}", (int)container_pid) < 0)
		return NULL;
	return json;
}

char *report_runtime_failure(int wait_status, const char *runtime_stderr, size_t len)
{
	char status[64], *escaped, *json;

	if (WIFSIGNALED(wait_status))
		snprintf(status, sizeof(status), "Runtime Received signal %d.", WTERMSIG(wait_status));
	else
		snprintf(status, sizeof(status), "Runtime Exited with code %d.",
			 WEXITSTATUS(wait_status));

	escaped = malloc(JSON_ESCAPED_MAX(len));
	if (!escaped)
		return NULL;
	json_escape(escaped, runtime_stderr, len);
	if (asprintf(&json,
		     "{\"kind\":\"runtime_abnormal_termination\",\"status\":\"%s\",\"stderr\":\"%s\"}",
		     status, escaped) < 0)
		json = NULL;
	free(escaped);
	return json;
}

char *report_shim_error(const char *message)
{
	size_t len = strlen(message);
	char *escaped = malloc(JSON_ESCAPED_MAX(len)), *json;

	if (!escaped)
		return NULL;
	json_escape(escaped, message, len);
	if (asprintf(&json, "{\"kind\":\"shim_error\",\"message\":\"%s\"}", escaped) < 0)
		json = NULL;
	free(escaped);
	return json;
}

char *format_exit_file(int wait_status, const struct timespec *at)
{
	char at_text[RFC3339_LEN + 1], *json;
	int ok;

	format_rfc3339(at_text, at);
	if (WIFSIGNALED(wait_status))
		ok = asprintf(&json, "{\"at\":\"%s\",\"reason\":\"signaled\",\"signal\":%d}", at_text,
			      WTERMSIG(wait_status));
	else
		ok = asprintf(&json, "{\"at\":\"%s\",\"reason\":\"exited\",\"exitCode\":%d}", at_text,
			      WEXITSTATUS(wait_status));
	return ok < 0 ? NULL : json;
}
