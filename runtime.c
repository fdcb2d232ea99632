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
#include <sys/socket.h>
#include <sys/un.h>
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
	/* RUNTIME [args...] create [--console-socket S] --bundle B --pid-file P ID NULL */
	size_t argc = 0;
	char **argv = calloc(rt->arg_count + 10, sizeof(char *));
	pid_t shim_pid = getpid();

	if (!argv)
		return -1;
	argv[argc++] = (char *)rt->path;
	for (size_t i = 0; i < rt->arg_count; i++)
		argv[argc++] = rt->args[i];
	argv[argc++] = "create";
	if (rt->console_fd >= 0) {
		argv[argc++] = "--console-socket";
		argv[argc++] = rt->console_path;
	}
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

/* How runc hands over a terminal (runc's docs/terminals.md): we listen
 * on a unix socket and pass its path with --console-socket. runc creates
 * the pty inside the container, connects, and sends the master fd as
 * SCM_RIGHTS ancillary data on one message (whose bytes name the pty).
 * The slave stays in the container as its stdin, stdout and stderr. */
int console_socket_listen(struct runtime *rt)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };

	/* mkdtemp makes it 0700: only root and we can reach the socket. */
	snprintf(rt->console_dir, sizeof(rt->console_dir), "/tmp/shim-console-XXXXXX");
	if (!mkdtemp(rt->console_dir))
		return -1;
	snprintf(rt->console_path, sizeof(rt->console_path), "%s/console.sock", rt->console_dir);
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", rt->console_path);
	rt->console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (rt->console_fd < 0 ||
	    bind(rt->console_fd, (struct sockaddr *)&address, sizeof(address)) < 0 ||
	    listen(rt->console_fd, 1) < 0) {
		int saved_errno = errno;
		console_socket_close(rt);
		errno = saved_errno;
		return -1;
	}
	return 0;
}

int console_socket_receive(struct runtime *rt, int *master_fd)
{
	char name[256];
	union { /* aligned room for one control message carrying one fd */
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { name, sizeof(name) };
	struct msghdr message = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;
	int conn_fd = accept4(rt->console_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (conn_fd < 0)
		return -1;
	do
		n = recvmsg(conn_fd, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	close_fd(&conn_fd);
	if (n < 0)
		return -1;
	cmsg = CMSG_FIRSTHDR(&message);
	/* Exactly one SCM_RIGHTS message with exactly one fd, or we refuse:
	 * a truncated message would have closed fds we never saw. */
	if ((message.msg_flags & MSG_CTRUNC) || !cmsg || cmsg->cmsg_level != SOL_SOCKET ||
	    cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = EBADMSG;
		return -1;
	}
	memcpy(master_fd, CMSG_DATA(cmsg), sizeof(int));
	return 0;
}

void console_socket_close(struct runtime *rt)
{
	if (rt->console_fd < 0)
		return;
	close_fd(&rt->console_fd);
	unlink(rt->console_path);
	rmdir(rt->console_dir);
}

/* The JSON string starting at the quote at p: its end (the closing quote),
 * or NULL if it never ends. */
static const char *json_string_end(const char *p)
{
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p ? p : NULL;
}

static const char *skip_json_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

int config_wants_terminal(const char *config_json, bool *terminal)
{
	/* We want process.terminal: the key "terminal" one level inside the
	 * object that is the value of the top-level key "process". Walk the
	 * text as JSON tokens, counting depth, so the same word elsewhere (an
	 * annotation, an argument) is not mistaken for it. */
	int depth = 0, process_depth = -1;
	const char *p = config_json;

	*terminal = false;
	while (*p) {
		const char *end, *value;

		if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (depth == process_depth)
				return 0; /* the process object ended without it */
			depth--;
		} else if (*p == '"') {
			end = json_string_end(p);
			if (!end)
				break;
			value = skip_json_space(end + 1);
			if (*value == ':') { /* a key */
				size_t len = (size_t)(end - p - 1);
				value = skip_json_space(value + 1);
				if (depth == 1 && len == 7 && memcmp(p + 1, "process", 7) == 0 &&
				    *value == '{') {
					process_depth = 2;
				} else if (depth == process_depth && len == 8 &&
					   memcmp(p + 1, "terminal", 8) == 0) {
					if (strncmp(value, "true", 4) == 0) {
						*terminal = true;
						return 0;
					}
					if (strncmp(value, "false", 5) == 0)
						return 0;
					errno = EINVAL;
					return -1;
				}
			}
			p = end;
		}
		p++;
	}
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

char *format_exit_file(int wait_status, const struct timespec *at,
		       unsigned long long log_dropped_bytes)
{
	char at_text[RFC3339_LEN + 1], dropped[48] = "", *json;
	int ok;

	format_rfc3339(at_text, at);
	if (log_dropped_bytes > 0)
		snprintf(dropped, sizeof(dropped), ",\"logDroppedBytes\":%llu", log_dropped_bytes);
	if (WIFSIGNALED(wait_status))
		ok = asprintf(&json, "{\"at\":\"%s\",\"reason\":\"signaled\",\"signal\":%d%s}",
			      at_text, WTERMSIG(wait_status), dropped);
	else
		ok = asprintf(&json, "{\"at\":\"%s\",\"reason\":\"exited\",\"exitCode\":%d%s}",
			      at_text, WEXITSTATUS(wait_status), dropped);
	return ok < 0 ? NULL : json;
}
