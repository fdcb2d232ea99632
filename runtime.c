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

#include "log.h"
#include "util.h"

/* The predecessor, between fork and exec. Any failure here is written to
 * its stderr, which is the pipe the shim reads runc's errors from, so the
 * manager sees it like any runtime error. */
static _Noreturn void exec_runtime(const struct runtime *rt, char **argv,
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
	/* A group of its own: a runtime that hangs is killed with every
	 * process it started (see --runtime-timeout). */
	if (setpgid(0, 0) < 0) {
		dprintf(STDERR_FILENO, "shim: setpgid: %s\n", strerror(errno));
		_exit(126);
	}
	if (sigprocmask(SIG_SETMASK, child_mask, NULL) < 0) {
		dprintf(STDERR_FILENO, "shim: restore signal mask: %s\n", strerror(errno));
		_exit(126);
	}
	if (rt->go_fd >= 0) {
		char go;
		ssize_t n;
		do
			n = read(rt->go_fd, &go, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1) {
			dprintf(STDERR_FILENO, "shim: the manager closed the start pipe before saying go%s%s\n",
				n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			_exit(126);
		}
	}
	execvp(rt->path, argv);
	dprintf(STDERR_FILENO, "shim: exec runtime %s: %s\n", rt->path, strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

int runtime_spawn(struct runtime *rt, const int stdio_fds[3], const sigset_t *child_mask)
{
	/* RUNTIME [args...] create [opts...] [--console-socket S] --bundle B --pid-file P ID NULL
	 * RUNTIME [args...] exec [opts...] [--console-socket S --tty] --process SPEC --detach
	 *	--pid-file P ID NULL */
	size_t argc = 0;
	char **argv = calloc(rt->arg_count + rt->command_arg_count + 14, sizeof(char *));
	pid_t shim_pid = getpid();

	if (!argv)
		return -1;
	argv[argc++] = (char *)rt->path;
	for (size_t i = 0; i < rt->arg_count; i++)
		argv[argc++] = rt->args[i];
	argv[argc++] = rt->exec_process_spec ? "exec" : "create";
	for (size_t i = 0; i < rt->command_arg_count; i++)
		argv[argc++] = rt->command_args[i];
	if (rt->console_fd >= 0) {
		argv[argc++] = "--console-socket";
		argv[argc++] = rt->console_path;
		/* exec's process spec also says so; runc checks they agree. */
		if (rt->exec_process_spec)
			argv[argc++] = "--tty";
	}
	if (rt->exec_process_spec) {
		argv[argc++] = "--process";
		argv[argc++] = (char *)rt->exec_process_spec;
		argv[argc++] = "--detach";
	} else {
		argv[argc++] = "--bundle";
		argv[argc++] = (char *)rt->bundle;
	}
	argv[argc++] = "--pid-file";
	argv[argc++] = (char *)rt->pidfile;
	argv[argc++] = (char *)rt->container_id;

	rt->pid = fork();
	if (rt->pid == 0)
		exec_runtime(rt, argv, stdio_fds, child_mask, shim_pid);
	/* The child does this too; whichever runs first, the group exists
	 * before we could need to kill it. (EACCES once it has exec'd.) */
	if (rt->pid > 0)
		setpgid(rt->pid, rt->pid);
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
	close_fd(&rt->console_fd);
	/* The directory may exist without the socket (socket() failed). */
	if (rt->console_dir[0] != '\0') {
		unlink(rt->console_path);
		rmdir(rt->console_dir);
		rt->console_dir[0] = '\0';
	}
}

/* ---- config.json's process.terminal, read as runc reads it ----------------
 *
 * runc decodes config.json with Go's encoding/json, so the answer must be
 * the one Go gives: keys match case-insensitively (with Go's folds: "ſ"
 * is an "s"), escapes in keys are decoded, a repeated key is applied again
 * (the last "terminal" wins, and a second "process" object updates the
 * first rather than replacing it), null leaves a value as it was, and a
 * null "process" clears it. A small reader, walking the text once. */

#define JSON_DEPTH_MAX 256
#define JSON_KEY_MAX 16 /* longer keys are neither "process" nor "terminal" */

static const char *skip_json_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at p, or -1. */
static long hex4(const char *p)
{
	long value = 0;

	for (int i = 0; i < 4; i++) {
		int digit = hex_value(p[i]);
		if (digit < 0)
			return -1;
		value = value * 16 + digit;
	}
	return value;
}

/* The string whose opening quote is at p: decoded into key (at most cap
 * bytes kept; *len may exceed cap, then the key is too long to matter),
 * or just skipped when key is NULL. Returns the byte after the closing
 * quote, or NULL if the string is malformed. */
static const char *read_json_string(const char *p, char *key, size_t cap, size_t *len)
{
	size_t n = 0;

	for (p++; *p != '"'; p++) {
		unsigned long cp;
		char utf8[4];
		size_t bytes = 1;

		if ((unsigned char)*p < 0x20)
			return NULL; /* the end of the text, or a raw control character */
		if (*p != '\\') {
			if (key && n < cap)
				key[n] = *p;
			n++;
			continue;
		}
		p++;
		switch (*p) {
		case '"': case '\\': case '/': utf8[0] = *p; break;
		case 'b': utf8[0] = '\b'; break;
		case 'f': utf8[0] = '\f'; break;
		case 'n': utf8[0] = '\n'; break;
		case 'r': utf8[0] = '\r'; break;
		case 't': utf8[0] = '\t'; break;
		case 'u':
			if (hex4(p + 1) < 0)
				return NULL;
			cp = (unsigned long)hex4(p + 1);
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && p[1] == '\\' && p[2] == 'u' && hex4(p + 3) >= 0xdc00 &&
			    hex4(p + 3) < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + ((unsigned long)hex4(p + 3) - 0xdc00);
				p += 6;
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd; /* a lone surrogate, as Go decodes it */
			}
			/* UTF-8, so "\u017f" compares like the byte sequence. */
			if (cp < 0x80) {
				utf8[0] = (char)cp;
			} else if (cp < 0x800) {
				utf8[0] = (char)(0xc0 | cp >> 6);
				utf8[1] = (char)(0x80 | (cp & 0x3f));
				bytes = 2;
			} else if (cp < 0x10000) {
				utf8[0] = (char)(0xe0 | cp >> 12);
				utf8[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
				utf8[2] = (char)(0x80 | (cp & 0x3f));
				bytes = 3;
			} else {
				utf8[0] = (char)(0xf0 | cp >> 18);
				utf8[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
				utf8[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
				utf8[3] = (char)(0x80 | (cp & 0x3f));
				bytes = 4;
			}
			break;
		default:
			return NULL;
		}
		for (size_t i = 0; i < bytes; i++, n++)
			if (key && n < cap)
				key[n] = utf8[i];
	}
	*len = n;
	return p + 1;
}

/* Does the decoded key name the field (lower-case ASCII), as Go matches
 * it: ASCII case folded, and the two non-ASCII letters that fold to ASCII
 * ones, U+017F to "s" and U+212A (the Kelvin sign) to "k". */
static bool key_matches(const char *key, size_t len, const char *field)
{
	size_t i = 0;

	for (; *field; field++) {
		if (i < len && (key[i] == *field || key[i] == *field - 'a' + 'A')) {
			i++;
		} else if (*field == 's' && i + 1 < len && memcmp(key + i, "\xc5\xbf", 2) == 0) {
			i += 2;
		} else if (*field == 'k' && i + 2 < len && memcmp(key + i, "\xe2\x84\xaa", 3) == 0) {
			i += 3;
		} else {
			return false;
		}
	}
	return i == len;
}

/* Skip one JSON value at p (after any space). The byte after it, or NULL
 * if it is malformed or nested deeper than JSON_DEPTH_MAX. */
static const char *skip_json_value(const char *p, int depth)
{
	size_t len;

	p = skip_json_space(p);
	if (*p == '"')
		return read_json_string(p, NULL, 0, &len);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		if (depth >= JSON_DEPTH_MAX)
			return NULL;
		p = skip_json_space(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				if (*p != '"' || !(p = read_json_string(p, NULL, 0, &len)))
					return NULL;
				p = skip_json_space(p);
				if (*p++ != ':')
					return NULL;
			}
			if (!(p = skip_json_value(p, depth + 1)))
				return NULL;
			p = skip_json_space(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
			p = skip_json_space(p);
		}
	}
	/* A number or a literal: its characters, up to what ends it. */
	len = strspn(p, "0123456789+-.eEtruefalsn");
	return len > 0 ? p + len : NULL;
}

/* Walk the object at p (after any space): for each key, call visit with
 * the decoded key and the position of its value; visit returns the byte
 * after the value, or NULL to stop. Returns the byte after the object. */
static const char *walk_json_object(const char *p, bool *terminal, int depth,
				    const char *(*visit)(const char *key, size_t len,
							 const char *value, bool *terminal,
							 int depth))
{
	char key[JSON_KEY_MAX];
	size_t len;

	p = skip_json_space(p);
	if (*p++ != '{')
		return NULL;
	p = skip_json_space(p);
	if (*p == '}')
		return p + 1;
	for (;;) {
		if (*p != '"' || !(p = read_json_string(p, key, sizeof(key), &len)))
			return NULL;
		p = skip_json_space(p);
		if (*p++ != ':')
			return NULL;
		if (!(p = visit(key, len, skip_json_space(p), terminal, depth)))
			return NULL;
		p = skip_json_space(p);
		if (*p == '}')
			return p + 1;
		if (*p++ != ',')
			return NULL;
		p = skip_json_space(p);
	}
}

/* A key of the process object. errno EINVAL: "terminal" is not a bool. */
static const char *visit_process_key(const char *key, size_t len, const char *value, bool *terminal,
				     int depth)
{
	if (len > JSON_KEY_MAX || !key_matches(key, len, "terminal"))
		return skip_json_value(value, depth + 1);
	if (strncmp(value, "true", 4) == 0) {
		*terminal = true;
		return value + 4;
	}
	if (strncmp(value, "false", 5) == 0) {
		*terminal = false;
		return value + 5;
	}
	if (strncmp(value, "null", 4) == 0)
		return value + 4; /* Go leaves a bool as it was */
	errno = EINVAL;
	return NULL;
}

/* A top-level key. */
static const char *visit_top_key(const char *key, size_t len, const char *value, bool *terminal,
				 int depth)
{
	if (len > JSON_KEY_MAX || !key_matches(key, len, "process"))
		return skip_json_value(value, depth + 1);
	if (strncmp(value, "null", 4) == 0) {
		*terminal = false; /* no process object any more */
		return value + 4;
	}
	if (*value != '{')
		return skip_json_value(value, depth + 1); /* runc will refuse it */
	return walk_json_object(value, terminal, depth + 1, visit_process_key);
}

int config_wants_terminal(const char *config_json, bool *terminal)
{
	const char *end;

	*terminal = false;
	errno = EBADMSG;
	end = walk_json_object(config_json, terminal, 0, visit_top_key);
	if (!end || *skip_json_space(end) != '\0') {
		if (errno != EINVAL)
			errno = EBADMSG;
		return -1;
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

char *report_runtime_failure(int wait_status, bool timed_out, unsigned timeout_seconds,
			     const char *runtime_stderr, size_t len)
{
	char status[64], *escaped, *json;

	if (timed_out)
		snprintf(status, sizeof(status), "Runtime timed out after %u s.", timeout_seconds);
	else if (WIFSIGNALED(wait_status))
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

char *format_exit_file(int wait_status, const struct timespec *at, bool oom_killed,
		       unsigned long long log_dropped_bytes)
{
	char at_text[RFC3339_LEN + 1], dropped[80] = "", *json;
	int ok;

	format_rfc3339(at_text, at);
	/* Only when true, and only when nonzero: the common exit file stays
	 * exactly what shimmy's readers expect. */
	snprintf(dropped, sizeof(dropped), "%s", oom_killed ? ",\"oomKilled\":true" : "");
	if (log_dropped_bytes > 0)
		snprintf(dropped + strlen(dropped), sizeof(dropped) - strlen(dropped),
			 ",\"logDroppedBytes\":%llu", log_dropped_bytes);
	if (wait_status == EXIT_STATUS_LOST)
		ok = asprintf(&json, "{\"at\":\"%s\",\"reason\":\"lost\"%s}", at_text, dropped);
	else if (WIFSIGNALED(wait_status))
		ok = asprintf(&json, "{\"at\":\"%s\",\"reason\":\"signaled\",\"signal\":%d%s}",
			      at_text, WTERMSIG(wait_status), dropped);
	else
		ok = asprintf(&json, "{\"at\":\"%s\",\"reason\":\"exited\",\"exitCode\":%d%s}",
			      at_text, WEXITSTATUS(wait_status), dropped);
	return ok < 0 ? NULL : json;
}

/* For --ready-fd: shimmy has no such message; this one is ours. */
static char *report_ready(void)
{
	return strdup("{\"kind\":\"ready\"}");
}

const struct dialect shimmy_dialect = {
	.report_ready = report_ready,
	.report_pid = report_container_pid,
	.report_failure = report_runtime_failure,
	.report_error = report_shim_error,
	.format_exit = format_exit_file,
	.stdout_frame_id = STREAM_STDOUT,
	.stderr_frame_id = STREAM_STDERR,
	.frame_data_max = 32 * 1024,
	.ctl_height_first = false,
};
