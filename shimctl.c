/* shimctl.c: the reference manager for the shim, like iximiuz's conman.
 *
 * It is the protocol's worked example, meant to be read top to bottom:
 *   create   forks the shim with a sync pipe (step 1), waits for the shim's
 *            short-lived parent, then reads the one JSON report that says
 *            the container exists or why it does not (step 4);
 *   start, kill, state, delete
 *            are plain runc commands on the same container ID;
 *   logs     decodes the k8s-file log the shim writes (step 5);
 *   wait     waits for the exit file the shim writes last (step 5).
 *
 * Each container's state is one directory, $SHIMCTL_ROOT/ID (default
 * /run/shimctl/ID), holding what we, the shim and runc write there:
 *   bundle          the bundle's absolute path (us)
 *   shim.pid        the shim daemon's PID (the shim's parent)
 *   shim.log        the shim's own diagnostics (the shim)
 *   container.pid   the container's PID (runc create)
 *   container.log   the container's output, CRI k8s-file format (the shim)
 *   exit.json       how the container ended (the shim, when it exits)
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
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h" /* LOG_RECORD_MAX, the longest content of one log record */
#include "util.h"

#define DEFAULT_ROOT "/run/shimctl"
#define ID_MAX 64                   /* runc's IDs have no limit; ours fit a file name */
#define CREATE_TIMEOUT_MS 30000     /* for the shim's report on the sync pipe */
#define DELETE_TIMEOUT_MS 10000     /* for the shim to write the exit file */
#define REPORT_MAX (1024 * 1024)    /* runc's stderr, JSON-escaped, fits easily */
#define LOGS_POLL_MS 100
#define WAIT_POLL_MS 50

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

static int sleep_ms(long ms)
{
	struct timespec left = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&left, &left) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* The exit status a shell would show for a wait status: N, or 128+N when
 * killed by signal N. */
static int exit_code_of(int wait_status)
{
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return WEXITSTATUS(wait_status);
}

static int wait_for_child(pid_t pid, int *wait_status)
{
	while (waitpid(pid, wait_status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Read fd until EOF into a malloc'd, NUL-terminated buffer. With
 * timeout_ms >= 0, give up after that long (ETIMEDOUT). More than max
 * bytes is EMSGSIZE. */
static int read_until_eof(int fd, int timeout_ms, size_t max, char **out, size_t *out_len)
{
	long long deadline = monotonic_ms() + timeout_ms;
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int saved_errno;

	if (!buf)
		return -1;
	for (;;) {
		ssize_t n;

		if (timeout_ms >= 0) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			long long left = deadline - monotonic_ms();
			int ready = left > 0 ? poll(&pfd, 1, (int)left) : 0;

			if (ready < 0 && errno == EINTR)
				continue;
			if (ready < 0)
				goto fail;
			if (ready == 0) {
				errno = ETIMEDOUT;
				goto fail;
			}
		}
		if (len + 1 == cap) { /* full, but for the NUL */
			char *bigger;

			if (cap >= max) {
				errno = EMSGSIZE;
				goto fail;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger)
				goto fail;
			buf = bigger;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
fail:
	saved_errno = errno;
	free(buf);
	errno = saved_errno;
	return -1;
}

/* Drop trailing newlines and spaces, so a file's text can be embedded. */
static void trim_end(char *text)
{
	size_t len = strlen(text);

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r'))
		text[--len] = '\0';
}

/* ---- A tiny reader for flat JSON objects ----
 * The sync-pipe report and the exit file are flat objects whose values are
 * strings or integers, e.g. {"kind":"container_pid","pid":42}. This reads
 * exactly that and nothing more: no nesting, no floats, no true/false/null. */

#define FLAT_FIELDS_MAX 8

struct flat_field {
	char *key;
	char *string;      /* decoded, NUL-terminated; NULL for an integer */
	size_t string_len; /* may contain a NUL, from \u0000 */
	long long number;
};

struct flat_json {
	struct flat_field fields[FLAT_FIELDS_MAX];
	size_t count;
};

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* Four hex digits at p. Stops at the first non-digit, so never reads past
 * a NUL. */
static int parse_hex4(const char *p, unsigned *value)
{
	*value = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		unsigned digit;

		if (c >= '0' && c <= '9')
			digit = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			digit = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			digit = (unsigned)(c - 'A' + 10);
		else
			return -1;
		*value = *value << 4 | digit;
	}
	return 0;
}

static char *put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		*out++ = (char)cp;
	} else if (cp < 0x800) {
		*out++ = (char)(0xc0 | cp >> 6);
		*out++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*out++ = (char)(0xe0 | cp >> 12);
		*out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*out++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*out++ = (char)(0xf0 | cp >> 18);
		*out++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*out++ = (char)(0x80 | (cp & 0x3f));
	}
	return out;
}

/* Decode the JSON string whose opening quote is at *p into a malloc'd
 * buffer, and move *p past its closing quote. \uXXXX becomes UTF-8; a
 * surrogate pair becomes one code point, a lone surrogate U+FFFD. */
static int parse_string(const char **p, char **out, size_t *out_len)
{
	const char *s = *p;
	char *buf, *o;

	if (*s++ != '"') {
		errno = EINVAL;
		return -1;
	}
	/* Decoding never makes a string longer: \uXXXX (6 bytes) becomes at
	 * most 3 bytes, a surrogate pair (12 bytes) 4. */
	buf = malloc(strlen(s) + 1);
	if (!buf)
		return -1;
	o = buf;
	while (*s != '"') {
		unsigned cp, low;

		if ((unsigned char)*s < 0x20) /* a control character, or the end: unterminated */
			goto invalid;
		if (*s != '\\') {
			*o++ = *s++;
			continue;
		}
		s++;
		switch (*s++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (parse_hex4(s, &cp) < 0)
				goto invalid;
			s += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && s[0] == '\\' && s[1] == 'u' &&
			    parse_hex4(s + 2, &low) == 0 && low >= 0xdc00 && low <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
				s += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd;
			}
			o = put_utf8(o, cp);
			break;
		default:
			goto invalid;
		}
	}
	*o = '\0';
	*out = buf;
	*out_len = (size_t)(o - buf);
	*p = s + 1;
	return 0;
invalid:
	free(buf);
	errno = EINVAL;
	return -1;
}

static int parse_integer(const char **p, long long *value)
{
	char *end;

	errno = 0;
	*value = strtoll(*p, &end, 10);
	if (errno != 0 || end == *p || *end == '.' || *end == 'e' || *end == 'E') {
		errno = EINVAL;
		return -1;
	}
	*p = end;
	return 0;
}

static void flat_json_free(struct flat_json *obj)
{
	for (size_t i = 0; i < obj->count; i++) {
		free(obj->fields[i].key);
		free(obj->fields[i].string);
	}
	obj->count = 0;
}

/* Parse text, which must be one flat object and nothing else. Returns -1
 * with errno EINVAL if it is not (or ENOMEM). */
static int flat_json_parse(const char *text, struct flat_json *obj)
{
	const char *p = skip_space(text);
	size_t key_len;

	obj->count = 0;
	if (*p != '{')
		goto invalid;
	p = skip_space(p + 1);
	if (*p == '}') {
		p++;
	} else {
		for (;;) {
			struct flat_field *field = &obj->fields[obj->count];

			if (obj->count == FLAT_FIELDS_MAX)
				goto invalid;
			*field = (struct flat_field){ 0 };
			if (parse_string(&p, &field->key, &key_len) < 0)
				goto fail;
			obj->count++;
			p = skip_space(p);
			if (*p != ':')
				goto invalid;
			p = skip_space(p + 1);
			if (*p == '"') {
				if (parse_string(&p, &field->string, &field->string_len) < 0)
					goto fail;
			} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
				if (parse_integer(&p, &field->number) < 0)
					goto fail;
			} else {
				goto invalid;
			}
			p = skip_space(p);
			if (*p == '}') {
				p++;
				break;
			}
			if (*p != ',')
				goto invalid;
			p = skip_space(p + 1);
		}
	}
	if (*skip_space(p) != '\0')
		goto invalid;
	return 0;
invalid:
	errno = EINVAL;
fail:
	flat_json_free(obj);
	return -1;
}

static const struct flat_field *flat_json_get(const struct flat_json *obj, const char *key)
{
	for (size_t i = 0; i < obj->count; i++) {
		if (strcmp(obj->fields[i].key, key) == 0)
			return &obj->fields[i];
	}
	return NULL;
}

/* The string value of key, or NULL if it is missing or not a string. */
static const char *flat_json_string(const struct flat_json *obj, const char *key)
{
	const struct flat_field *field = flat_json_get(obj, key);

	return field ? field->string : NULL;
}

static bool flat_json_number(const struct flat_json *obj, const char *key, long long *value)
{
	const struct flat_field *field = flat_json_get(obj, key);

	if (!field || field->string)
		return false;
	*value = field->number;
	return true;
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
	    state_file(c->exit_path, c->dir, "exit.json") < 0)
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
static pid_t read_pid_file(const char *path)
{
	char text[32], *end;
	long value;

	if (read_small_file(path, text, sizeof(text)) < 0)
		return -1;
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\0' && *end != '\n') || value <= 0 ||
	    value > INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	return (pid_t)value;
}

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
	shim_pid = read_pid_file(c->shim_pid_path);
	if (shim_pid > 0 && (kill(shim_pid, 0) == 0 || errno == EPERM))
		return CONTAINER_RUNNING;
	/* The shim writes the exit file and then exits: look once more. */
	if (access(c->exit_path, F_OK) == 0)
		return CONTAINER_EXITED;
	return CONTAINER_LOST;
}

/* ---- Running programs: the runtime and the shim ---- */

/* The child side of run_runtime: stdout to the capture pipe if there is
 * one, then exec. 127 when not found, 126 otherwise, as a shell does. */
static _Noreturn void exec_runtime(char *const argv[], int stdout_fd)
{
	if (stdout_fd >= 0 && dup2(stdout_fd, STDOUT_FILENO) < 0) {
		dprintf(STDERR_FILENO, "shimctl: run %s: dup2 stdout: %s\n", argv[0],
			strerror(errno));
		_exit(126);
	}
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "shimctl: run %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* Run the runtime (argv[0] is its name or path) to completion, with our
 * stdin and stderr, so its errors reach the user unchanged. With
 * captured_stdout non-NULL its stdout is collected into a malloc'd,
 * NUL-terminated string; otherwise it is ours. Returns its exit status
 * (see exit_code_of), or -1 with errno set if it could not be run. */
static int run_runtime(char *const argv[], char **captured_stdout)
{
	int capture[2] = { -1, -1 }, wait_status, saved_errno;
	char *output = NULL;
	size_t output_len;
	pid_t pid;

	if (captured_stdout && pipe2(capture, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0)
		exec_runtime(argv, capture[1]);
	close_fd(&capture[1]);
	if (captured_stdout &&
	    read_until_eof(capture[0], -1, REPORT_MAX, &output, &output_len) < 0) {
		saved_errno = errno;
		kill(pid, SIGKILL); /* so that the wait below cannot hang */
		wait_for_child(pid, &wait_status);
		errno = saved_errno;
		goto fail;
	}
	close_fd(&capture[0]);
	if (wait_for_child(pid, &wait_status) < 0)
		goto fail;
	if (captured_stdout)
		*captured_stdout = output;
	return exit_code_of(wait_status);
fail:
	saved_errno = errno;
	close_fd(&capture[0]);
	close_fd(&capture[1]);
	free(output);
	errno = saved_errno;
	return -1;
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

/* The child side of create's fork: exec the shim, keeping the sync pipe's
 * write end open across the exec. */
static _Noreturn void exec_shim(char *const argv[], int sync_fd)
{
	/* The one fd we pass on on purpose: pipe2 made it close-on-exec like
	 * every other, and the shim must inherit it to report to us. */
	if (fcntl(sync_fd, F_SETFD, 0) < 0) {
		dprintf(STDERR_FILENO, "shimctl: keep sync pipe fd %d open: %s\n", sync_fd,
			strerror(errno));
		_exit(126);
	}
	execvp(argv[0], argv);
	dprintf(STDERR_FILENO, "shimctl: run shim %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
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

/* ---- The commands: one function each, given the arguments after the
 * command's name, returning the exit status. ---- */

/* What the shim's report says, as our exit status; runs on the report read
 * from the sync pipe. Sets *discard when the state directory should go. */
static int handle_report(const struct container *c, const char *report, bool *discard)
{
	struct flat_json obj;
	const struct flat_field *field;
	const char *kind;
	int status = 1;

	if (flat_json_parse(report, &obj) < 0)
		return fail(1, "create %s: unreadable report from the shim: %s", c->id, report);
	kind = flat_json_string(&obj, "kind");
	if (!kind) {
		fail(1, "create %s: report from the shim has no kind: %s", c->id, report);
	} else if (strcmp(kind, "container_pid") == 0) {
		/* Created: the container waits in runc init for `start`. */
		char line[ID_MAX + 2];
		int len = snprintf(line, sizeof(line), "%s\n", c->id);

		if (write_all(STDOUT_FILENO, line, (size_t)len) < 0)
			fail(1, "create %s: write stdout: %m", c->id);
		else
			status = 0;
	} else if (strcmp(kind, "runtime_abnormal_termination") == 0) {
		/* runc create failed and cleaned up after itself; its stderr
		 * says why, word for word. */
		field = flat_json_get(&obj, "status");
		if (field && field->string)
			fail(1, "create %s: runtime failed: %s", c->id, field->string);
		else
			fail(1, "create %s: runtime failed: %lld", c->id,
			     field ? field->number : -1LL);
		field = flat_json_get(&obj, "stderr");
		if (field && field->string && field->string_len > 0) {
			fwrite(field->string, 1, field->string_len, stderr);
			if (field->string[field->string_len - 1] != '\n')
				fputc('\n', stderr);
		}
		*discard = true;
	} else if (strcmp(kind, "shim_error") == 0) {
		const char *message = flat_json_string(&obj, "message");

		fail(1, "create %s: shim failed: %s", c->id, message ? message : "(no message)");
		/* The shim may have failed after runc created the container:
		 * make sure runc forgets it too (a no-op if it never knew it). */
		char *delete_argv[] = { (char *)c->runtime, "delete", "--force", (char *)c->id,
					NULL };
		if (run_runtime(delete_argv, NULL) < 0)
			fail(1, "create %s: run %s delete: %m", c->id, c->runtime);
		*discard = true;
	} else {
		fail(1, "create %s: unknown report from the shim: %s", c->id, report);
	}
	flat_json_free(&obj);
	return status;
}

/* shimctl create [ID] --bundle DIR [--stdin [--stdin-once]]
 * Prints the container's ID, once the container is created. */
static int cmd_create(int argc, char **argv)
{
	const char *id = NULL, *bundle_arg = NULL;
	bool with_stdin = false, stdin_once = false, discard = false;
	char generated_id[ID_MAX + 1], shim_path[PATH_MAX], sync_fd_text[16];
	char *bundle = NULL, *bundle_line = NULL, *report = NULL;
	int sync_pipe[2] = { -1, -1 }, status, wait_status;
	size_t report_len;
	struct container c;
	pid_t shim_pid;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--bundle") == 0 && i + 1 < argc)
			bundle_arg = argv[++i];
		else if (strcmp(argv[i], "--stdin") == 0)
			with_stdin = true;
		else if (strcmp(argv[i], "--stdin-once") == 0)
			stdin_once = true;
		else if (argv[i][0] == '-' || id)
			return fail(2, "create: unexpected argument %s; see shimctl help", argv[i]);
		else
			id = argv[i];
	}
	if (!bundle_arg)
		return fail(2, "create: --bundle DIR is required; see shimctl help");
	if (stdin_once && !with_stdin)
		return fail(2, "create: --stdin-once needs --stdin");
	if (!id) {
		if (random_id(generated_id) < 0)
			return fail(1, "create: random ID: sodium_init failed");
		id = generated_id;
	}
	status = open_container(&c, "create", id, false);
	if (status != 0)
		return status;

	/* The shim and runc must find the bundle whatever their directory. */
	bundle = realpath(bundle_arg, NULL);
	if (!bundle)
		return fail(1, "create %s: bundle %s: %m", id, bundle_arg);
	status = 1;
	if (mkdir(c.root, 0700) < 0 && errno != EEXIST) {
		fail(1, "create %s: make state root %s: %m", id, c.root);
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
	discard = true; /* until the shim has reported success, or left its log to read */
	if (asprintf(&bundle_line, "%s\n", bundle) < 0) {
		bundle_line = NULL;
		fail(1, "create %s: out of memory", id);
		goto out;
	}
	if (write_file_atomic(c.bundle_path, bundle_line, strlen(bundle_line), 0600) < 0) {
		fail(1, "create %s: write %s: %m", id, c.bundle_path);
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
		with_stdin ? "--stdin" : NULL,
		stdin_once ? "--stdin-once" : NULL,
		NULL,
	};
	shim_pid = fork();
	if (shim_pid < 0) {
		fail(1, "create %s: fork: %m", id);
		goto out;
	}
	if (shim_pid == 0)
		exec_shim(shim_argv, sync_pipe[1]);
	/* Only the shim may hold the write end, or we would never see EOF. */
	close_fd(&sync_pipe[1]);

	/* The shim's parent forks the daemon, writes shim.pid and exits at
	 * once; a non-zero exit is a usage error it has already printed. */
	if (wait_for_child(shim_pid, &wait_status) < 0) {
		fail(1, "create %s: wait for shim %s: %m", id, shim_path);
		goto out;
	}
	if (exit_code_of(wait_status) != 0) {
		fail(1, "create %s: shim %s exited with status %d (see its error above)", id,
		     shim_path, exit_code_of(wait_status));
		goto out;
	}

	/* Step 4: the daemon reports once, then closes the pipe. */
	if (read_until_eof(sync_pipe[0], CREATE_TIMEOUT_MS, REPORT_MAX, &report, &report_len) < 0) {
		if (errno == ETIMEDOUT)
			fail(1, "create %s: no report from the shim within %d s; "
				"see %s, then shimctl delete %s",
			     id, CREATE_TIMEOUT_MS / 1000, c.shim_log_path, id);
		else
			fail(1, "create %s: read sync pipe: %m", id);
		discard = false;
		goto out;
	}
	if (report_len == 0) {
		fail(1, "create %s: shim exited without a report; see %s, then shimctl delete %s",
		     id, c.shim_log_path, id);
		discard = false;
		goto out;
	}
	discard = false;
	status = handle_report(&c, report, &discard);
out:
	if (discard && remove_state(&c) < 0 && errno != ENOENT)
		fail(1, "create %s: remove %s: %m", id, c.dir);
	close_fd(&sync_pipe[0]);
	close_fd(&sync_pipe[1]);
	free(report);
	free(bundle_line);
	free(bundle);
	return status;
}

/* Run one `runc COMMAND ID [ARG]` for start and kill: runc's own error
 * is on stderr already, we add which command failed. */
static int simple_runtime_command(const struct container *c, const char *operation,
				  char *const argv[])
{
	int status = run_runtime(argv, NULL);

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
	char exit_text[1024], shim_pid_text[32], *runc_state = NULL, *json = NULL;
	bool have_exit;
	struct container c;
	int status, runc_status, len;
	pid_t shim_pid;

	if (argc != 1)
		return fail(2, "state: usage: shimctl state ID");
	status = open_container(&c, "state", argv[0], true);
	if (status != 0)
		return status;

	status = 1;
	char *state_argv[] = { (char *)c.runtime, "state", (char *)c.id, NULL };
	runc_status = run_runtime(state_argv, &runc_state);
	if (runc_status < 0)
		return fail(1, "state %s: run %s: %m", c.id, c.runtime);
	if (runc_status != 0) { /* deleted behind our back: runc said so on stderr */
		free(runc_state);
		runc_state = NULL;
	} else {
		trim_end(runc_state);
	}

	shim_pid = read_pid_file(c.shim_pid_path);
	if (shim_pid > 0)
		snprintf(shim_pid_text, sizeof(shim_pid_text), "%d", (int)shim_pid);
	else
		strcpy(shim_pid_text, "null");

	have_exit = read_small_file(c.exit_path, exit_text, sizeof(exit_text)) >= 0;
	if (!have_exit && errno != ENOENT) {
		fail(1, "state %s: read %s: %m", c.id, c.exit_path);
		goto out;
	}
	if (have_exit)
		trim_end(exit_text);

	/* The ID needs no JSON escaping: valid_id allows no special characters. */
	len = asprintf(&json, "{\"id\":\"%s\",\"shimPid\":%s,\"runc\":%s,\"exit\":%s}\n", c.id,
		       shim_pid_text, runc_state ? runc_state : "null",
		       have_exit ? exit_text : "null");
	if (len < 0) {
		json = NULL;
		fail(1, "state %s: out of memory", c.id);
		goto out;
	}
	if (write_all(STDOUT_FILENO, json, (size_t)len) < 0) {
		fail(1, "state %s: write stdout: %m", c.id);
		goto out;
	}
	status = 0;
out:
	free(json);
	free(runc_state);
	return status;
}

/* Write out the complete records at the front of buf[0, len): stdout
 * records to our stdout, stderr records to our stderr; a P record is part
 * of a longer line, so it gets no newline. *consumed says how far we got.
 * Returns -1 with errno EBADMSG for a malformed record, or the write's. */
static int write_log_records(const char *buf, size_t len, size_t *consumed)
{
	size_t pos = 0;

	for (;;) {
		const char *line = buf + pos, *newline = memchr(line, '\n', len - pos);
		const char *stream, *tag, *content;
		int fd;

		if (!newline)
			break;
		/* "<time> <stream> <F|P> <content>\n" */
		stream = memchr(line, ' ', (size_t)(newline - line));
		if (!stream)
			goto malformed;
		stream++;
		if (newline - stream >= 9 && memcmp(stream, "stdout ", 7) == 0)
			fd = STDOUT_FILENO;
		else if (newline - stream >= 9 && memcmp(stream, "stderr ", 7) == 0)
			fd = STDERR_FILENO;
		else
			goto malformed;
		tag = stream + 7;
		if ((tag[0] != 'F' && tag[0] != 'P') || tag[1] != ' ')
			goto malformed;
		content = tag + 2;
		/* An F record's content is written with the newline ending it. */
		if (write_all(fd, content, (size_t)(newline - content) + (tag[0] == 'F')) < 0)
			return -1;
		pos = (size_t)(newline + 1 - buf);
		*consumed = pos;
	}
	return 0;
malformed:
	*consumed = pos;
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
	size_t len = 0, consumed;
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
			consumed = 0;
			if (write_log_records(buf, len, &consumed) < 0) {
				if (errno == EBADMSG)
					fail(1, "logs %s: %s: malformed record", id, c.log_path);
				else
					fail(1, "logs %s: write output: %m", id);
				goto out;
			}
			memmove(buf, buf + consumed, len - consumed);
			len -= consumed;
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
			fail(1, "logs %s: the shim is gone and wrote no %s; see %s", id,
			     c.exit_path, c.shim_log_path);
			goto out;
		case CONTAINER_RUNNING:
			break;
		}
		if (sleep_ms(LOGS_POLL_MS) < 0) {
			fail(1, "logs %s: sleep: %m", id);
			goto out;
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

/* shimctl wait ID: wait for the exit file, print it, and exit as the
 * container did: its exit code, or 128+N when killed by signal N. */
static int cmd_wait(int argc, char **argv)
{
	char exit_text[1024];
	struct flat_json obj;
	const char *reason;
	long long value;
	struct container c;
	int status;

	if (argc != 1)
		return fail(2, "wait: usage: shimctl wait ID");
	status = open_container(&c, "wait", argv[0], true);
	if (status != 0)
		return status;

	for (;;) {
		enum progress progress = container_progress(&c);

		if (progress == CONTAINER_EXITED)
			break;
		if (progress == CONTAINER_LOST)
			return fail(1, "wait %s: the shim is gone and wrote no %s; see %s", c.id,
				    c.exit_path, c.shim_log_path);
		if (sleep_ms(WAIT_POLL_MS) < 0)
			return fail(1, "wait %s: sleep: %m", c.id);
	}
	if (read_small_file(c.exit_path, exit_text, sizeof(exit_text)) < 0)
		return fail(1, "wait %s: read %s: %m", c.id, c.exit_path);
	trim_end(exit_text);
	if (flat_json_parse(exit_text, &obj) < 0)
		return fail(1, "wait %s: %s: not a flat JSON object: %s", c.id, c.exit_path,
			    exit_text);

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
	flat_json_free(&obj);
	if (status < 0)
		return fail(1, "wait %s: %s: no exit code or signal in %s", c.id, c.exit_path,
			    exit_text);

	if (dprintf(STDOUT_FILENO, "%s\n", exit_text) < 0)
		return fail(1, "wait %s: write stdout: %m", c.id);
	return status;
}

/* shimctl delete ID: runc forgets the container (killing it if need be),
 * the shim writes the exit file and exits, and we remove the state. */
static int cmd_delete(int argc, char **argv)
{
	struct container c;
	long long deadline;
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
	deadline = monotonic_ms() + DELETE_TIMEOUT_MS;
	while (container_progress(&c) == CONTAINER_RUNNING) {
		if (monotonic_ms() >= deadline) {
			fail(1, "delete %s: the shim is still running after %d s; "
				"removing its state anyway",
			     c.id, DELETE_TIMEOUT_MS / 1000);
			break;
		}
		if (sleep_ms(WAIT_POLL_MS) < 0)
			return fail(1, "delete %s: sleep: %m", c.id);
	}
	if (remove_state(&c) < 0)
		return fail(1, "delete %s: remove %s: %m", c.id, c.dir);
	return 0;
}

/* ---- attach and resize go here (later) ----
 * They will talk to the shim's attach socket (--container-attachfile) and
 * its control pipe; add their functions above this line and their rows to
 * the table below. */

static int cmd_help(int argc, char **argv);

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
	const char *description;
} commands[] = {
	{ "create", cmd_create, "create [ID] --bundle DIR [--stdin [--stdin-once]]",
	  "create a container; print its ID" },
	{ "start", cmd_start, "start ID", "start the created container's process" },
	{ "state", cmd_state, "state ID", "print {\"id\",\"shimPid\",\"runc\",\"exit\"} as JSON" },
	{ "logs", cmd_logs, "logs [-f] ID", "print its output; -f follows until it has exited" },
	{ "kill", cmd_kill, "kill ID [SIGNAL]", "send SIGNAL (default TERM) to the container" },
	{ "wait", cmd_wait, "wait ID", "wait for the exit; print exit.json, exit with its code" },
	{ "delete", cmd_delete, "delete ID", "kill it if need be; remove it and its state" },
	/* attach and resize: their rows go here. */
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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  shimctl %-50s %s\n", commands[i].synopsis, commands[i].description);
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
