/* conmon.c: podman's front end: conmon's flags and conmon's words.
 * Podman runs conmon; pointed at shim-conmon instead (containers.conf's
 * conmon_path), it gets the same five steps as conman does (shim.c),
 * worded as conmon words them:
 *
 *   step 1  conmon's flags, read by GOption's rules (conmon_args_parse);
 *           podman's start byte is read before the fork (conmon-main.c).
 *   step 4  one line on the sync socket: {"data": PID}, or
 *           {"data": -1, "message": "..."} with runc's error.
 *   step 5  attach frames 2 (stdout) and 3 (stderr) of at most 8192
 *           bytes, control lines "TYPE HEIGHT WIDTH", <bundle>/oom, the
 *           exit file <exit-dir>/<cid> holding the bare exit code, then
 *           podman's exit command, waited for.
 *
 * For exec (-e), runc exec instead of runc create, with podman's second
 * start byte read by the predecessor once podman has attached.
 * ../shared/reference/conmon-protocol.md has the byte-level facts;
 * docs/podman.md has what differs from conman's dialect, side by side. */
#define _GNU_SOURCE
#include "conmon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "runtime.h"
#include "util.h"

/* ---- conmon's flags ---------------------------------------------------- */

/* Every flag conmon 2.1.6 has is known here: what the shim does is mapped
 * onto shim_args, what changes nothing for us (a name for journald,
 * syslog) is accepted, and what asks for a feature we lack is refused by
 * name. docs/podman.md lists which is which. */
enum flag {
	F_API_VERSION, F_BUNDLE, F_CID, F_CONMON_PIDFILE, F_CONTAINER_PIDFILE, F_CUUID,
	F_EXEC, F_EXEC_ATTACH, F_EXEC_PROCESS_SPEC, F_EXIT_COMMAND, F_EXIT_COMMAND_ARG,
	F_EXIT_DELAY, F_EXIT_DIR, F_FULL_ATTACH, F_LEAVE_STDIN_OPEN, F_LOG_LEVEL, F_LOG_PATH,
	F_LOG_SIZE_MAX, F_LOG_TAG, F_NAME, F_NO_NEW_KEYRING, F_NO_PIVOT, F_NO_SYNC_LOG,
	F_RUNTIME, F_RUNTIME_ARG, F_RUNTIME_OPT, F_SOCKET_DIR_PATH, F_STDIN, F_SYSLOG,
	F_SYSTEMD_CGROUP, F_TERMINAL, F_VERSION, F_UNSUPPORTED,
};

struct flag_spec {
	const char *name;
	char short_name;  /* 0: none */
	bool takes_value;
	enum flag flag;
	const char *unsupported; /* F_UNSUPPORTED: what to say */
};

static const struct flag_spec flags[] = {
	{ "api-version", 0, false, F_API_VERSION, NULL },
	{ "bundle", 'b', true, F_BUNDLE, NULL },
	{ "cid", 'c', true, F_CID, NULL },
	{ "conmon-pidfile", 'P', true, F_CONMON_PIDFILE, NULL },
	{ "container-pidfile", 'p', true, F_CONTAINER_PIDFILE, NULL },
	{ "pidfile", 0, true, F_CONTAINER_PIDFILE, NULL },
	{ "cuuid", 'u', true, F_CUUID, NULL },
	{ "exec", 'e', false, F_EXEC, NULL },
	{ "exec-attach", 0, false, F_EXEC_ATTACH, NULL },
	{ "exec-process-spec", 0, true, F_EXEC_PROCESS_SPEC, NULL },
	{ "exit-command", 0, true, F_EXIT_COMMAND, NULL },
	{ "exit-command-arg", 0, true, F_EXIT_COMMAND_ARG, NULL },
	{ "exit-delay", 0, true, F_EXIT_DELAY, NULL },
	{ "exit-dir", 0, true, F_EXIT_DIR, NULL },
	{ "full-attach", 0, false, F_FULL_ATTACH, NULL },
	{ "leave-stdin-open", 0, false, F_LEAVE_STDIN_OPEN, NULL },
	{ "log-level", 0, true, F_LOG_LEVEL, NULL },
	{ "log-path", 'l', true, F_LOG_PATH, NULL },
	{ "log-size-max", 0, true, F_LOG_SIZE_MAX, NULL },
	{ "log-tag", 0, true, F_LOG_TAG, NULL },
	{ "name", 'n', true, F_NAME, NULL },
	{ "no-new-keyring", 0, false, F_NO_NEW_KEYRING, NULL },
	{ "no-pivot", 0, false, F_NO_PIVOT, NULL },
	{ "no-sync-log", 0, false, F_NO_SYNC_LOG, NULL },
	{ "runtime", 'r', true, F_RUNTIME, NULL },
	{ "runtime-arg", 0, true, F_RUNTIME_ARG, NULL },
	{ "runtime-opt", 0, true, F_RUNTIME_OPT, NULL },
	{ "socket-dir-path", 0, true, F_SOCKET_DIR_PATH, NULL },
	{ "stdin", 'i', false, F_STDIN, NULL },
	{ "syslog", 0, false, F_SYSLOG, NULL },
	{ "systemd-cgroup", 's', false, F_SYSTEMD_CGROUP, NULL },
	{ "terminal", 't', false, F_TERMINAL, NULL },
	{ "version", 0, false, F_VERSION, NULL },
	/* Features podman can ask for that this shim does not have. */
	{ "restore", 0, true, F_UNSUPPORTED, "checkpoint and restore are not supported" },
	{ "restore-arg", 0, true, F_UNSUPPORTED, "checkpoint and restore are not supported" },
	{ "timeout", 'T', true, F_UNSUPPORTED,
	  "a time limit on the container (podman run --timeout) is not supported" },
	{ "sdnotify-socket", 0, true, F_UNSUPPORTED,
	  "sd_notify passthrough (podman run --sdnotify=container) is not supported" },
	{ "seccomp-notify-socket", 0, true, F_UNSUPPORTED, "seccomp notification is not supported" },
	{ "seccomp-notify-plugins", 0, true, F_UNSUPPORTED, "seccomp notification is not supported" },
	{ "replace-listen-pid", 0, false, F_UNSUPPORTED,
	  "socket activation (LISTEN_PID) is not supported" },
	{ "persist-dir", '0', true, F_UNSUPPORTED, "a persist directory is not supported" },
	{ "log-global-size-max", 0, true, F_UNSUPPORTED, "a global log size limit is not supported" },
	{ "sync", 0, false, F_UNSUPPORTED,
	  "running in the foreground (--sync) is not supported: this shim always daemonizes" },
};

static int fail(char *error, size_t error_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *error, size_t error_len, const char *fmt, ...)
{
	va_list ap;

	/* It names what was given: printed safely whatever the bytes. */
	va_start(ap, fmt);
	escape_vformat(error, error_len, fmt, ap);
	va_end(ap);
	return -1;
}

/* Append to a NULL-terminated list that has room: argc + 2 entries, as
 * each append uses up an argument of its own (long flags, or a value). */
static void append(char **list, size_t *count, char *value)
{
	list[(*count)++] = value;
	list[*count] = NULL;
}

/* The pipes podman passes by number in the environment. */
static int env_fd(const char *name, int *fd, char *error, size_t error_len)
{
	const char *text = getenv(name);

	*fd = -1;
	if (text && parse_open_fd(text, fd) < 0)
		return fail(error, error_len, "%s=%s: not an open file descriptor (%s)", name, text,
			    strerror(errno));
	return 0;
}

/* -l VALUE: k8s-file:PATH, a bare PATH (k8s-file too), or none. */
static int log_path(struct conmon_args *args, char *value, char *error, size_t error_len)
{
	char *path = value;

	if (strcmp(value, "none") == 0 || strcmp(value, "off") == 0 || strcmp(value, "null") == 0)
		return 0;
	if (strncmp(value, "journald", 8) == 0 && (value[8] == '\0' || value[8] == ':'))
		return fail(error, error_len,
			    "--log-path %s: the journald log driver is not supported; use k8s-file (podman --log-driver k8s-file)",
			    value);
	if (strncmp(value, "passthrough", 11) == 0 && (value[11] == '\0' || value[11] == ':'))
		return fail(error, error_len,
			    "--log-path %s: the passthrough log driver is not supported; use k8s-file (podman --log-driver k8s-file)",
			    value);
	if (strncmp(value, "k8s-file:", 9) == 0)
		path = value + 9;
	else if (strchr(value, ':') && value[0] != '/')
		return fail(error, error_len,
			    "--log-path %s: unknown log driver; use k8s-file:PATH or none", value);
	if (path[0] == '\0')
		return fail(error, error_len, "--log-path %s: no path given", value);
	if (args->shim.container_logfile && strcmp(args->shim.container_logfile, path) != 0)
		return fail(error, error_len, "--log-path %s: only one k8s-file log is supported", value);
	args->shim.container_logfile = path;
	return 0;
}

static int apply(struct conmon_args *args, const struct flag_spec *spec, char *value,
		 char *error, size_t error_len)
{
	struct shim_args *shim = &args->shim;
	char *end;

	switch (spec->flag) {
	case F_API_VERSION: /* conmon takes no value; "1" follows as a stray argument */
	case F_CUUID:
	case F_FULL_ATTACH: /* the attach socket is always <bundle>/attach */
	case F_LOG_TAG:     /* for journald only */
	case F_NAME:        /* the same */
	case F_NO_SYNC_LOG: /* the log is never fsync'ed anyway */
	case F_SOCKET_DIR_PATH:
	case F_SYSLOG:      /* diagnostics go to syslog already */
		return 0;
	case F_BUNDLE:
		shim->bundle = value;
		return 0;
	case F_CID:
		shim->container_id = value;
		return 0;
	case F_CONMON_PIDFILE:
		shim->shim_pidfile = value;
		return 0;
	case F_CONTAINER_PIDFILE:
		shim->container_pidfile = value;
		return 0;
	case F_EXEC:
		args->exec = true;
		return 0;
	case F_EXEC_ATTACH:
		args->exec_attach = true;
		return 0;
	case F_EXEC_PROCESS_SPEC:
		shim->exec_process_spec = value;
		return 0;
	case F_EXIT_COMMAND:
		/* The command first, whenever it comes: its args may come before it. */
		args->exit_command[0] = value;
		return 0;
	case F_EXIT_COMMAND_ARG:
		append(args->exit_command, &args->exit_command_count, value);
		return 0;
	case F_EXIT_DELAY: {
		unsigned long delay;
		errno = 0;
		delay = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || delay > 3600)
			return fail(error, error_len, "--exit-delay %s: not a number of seconds (0 to 3600)",
				    value);
		shim->exit_delay = (unsigned)delay;
		return 0;
	}
	case F_EXIT_DIR:
		args->exit_dir = value;
		return 0;
	case F_LEAVE_STDIN_OPEN:
		shim->stdin_once = false;
		return 0;
	case F_LOG_LEVEL:
		/* conmon's names; ours for the rest. */
		if (strcmp(value, "warning") == 0)
			value = "warn";
		else if (strcmp(value, "fatal") == 0 || strcmp(value, "panic") == 0)
			value = "error";
		if (diag_level_parse(value, &shim->log_level) < 0)
			return fail(error, error_len,
				    "--log-level %s: unknown level; use trace, debug, info, warning or error",
				    value);
		return 0;
	case F_LOG_PATH:
		return log_path(args, value, error, error_len);
	case F_LOG_SIZE_MAX: {
		long long max;
		errno = 0;
		max = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0')
			return fail(error, error_len, "--log-size-max %s: not a number of bytes", value);
		shim->log_size_max = max > 0 ? (unsigned long long)max : 0; /* <= 0: no limit */
		return 0;
	}
	case F_NO_NEW_KEYRING:
		append(args->runtime_opts, &args->runtime_opt_count, "--no-new-keyring");
		return 0;
	case F_NO_PIVOT:
		append(args->runtime_opts, &args->runtime_opt_count, "--no-pivot");
		return 0;
	case F_RUNTIME:
		shim->runtime = value;
		return 0;
	case F_RUNTIME_ARG:
		append(args->runtime_args, &args->runtime_arg_count, value);
		return 0;
	case F_RUNTIME_OPT:
		append(args->runtime_opts, &args->runtime_opt_count, value);
		return 0;
	case F_STDIN:
		shim->stdin_enabled = true;
		return 0;
	case F_SYSTEMD_CGROUP:
		args->systemd_cgroup = true;
		return 0;
	case F_TERMINAL:
		shim->terminal = true;
		return 0;
	case F_VERSION:
		args->version = true;
		return 0;
	case F_UNSUPPORTED:
		return fail(error, error_len, "--%s: %s by this shim; use conmon for it", spec->name,
			    spec->unsupported);
	}
	return 0;
}

static const struct flag_spec *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0)
			return &flags[i];
	return NULL;
}

static const struct flag_spec *find_short(char c)
{
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (flags[i].short_name == c)
			return &flags[i];
	return NULL;
}

static int parse_argv(struct conmon_args *args, int argc, char **argv, char *error,
		      size_t error_len)
{
	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];

		if (strcmp(arg, "--") == 0)
			return 0; /* the rest are not flags; conmon takes none */
		if (strncmp(arg, "--", 2) == 0) {
			char *name = arg + 2, *equals = strchr(name, '=');
			const struct flag_spec *spec =
				find_long(name, equals ? (size_t)(equals - name) : strlen(name));
			char *value = NULL;

			if (!spec)
				return fail(error, error_len,
					    "unknown option %s; this shim reads conmon 2.1.6's flags (see docs/podman.md)",
					    arg);
			if (spec->takes_value) {
				if (equals)
					value = equals + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				else
					return fail(error, error_len, "missing value for --%s", spec->name);
			} else if (equals) {
				return fail(error, error_len, "--%s takes no value: %s", spec->name, arg);
			}
			if (apply(args, spec, value, error, error_len) < 0)
				return -1;
			continue;
		}
		if (arg[0] != '-' || arg[1] == '\0')
			continue; /* not a flag: ignored, as GOption leaves it */
		/* Short flags, perhaps grouped; one that takes a value takes
		 * the next argument. */
		for (char *c = arg + 1; *c; c++) {
			const struct flag_spec *spec = find_short(*c);
			char *value = NULL;

			if (!spec)
				return fail(error, error_len, "unknown option -%c in %s", *c, arg);
			if (spec->takes_value) {
				if (i + 1 >= argc)
					return fail(error, error_len, "missing value for -%c", *c);
				value = argv[++i];
			}
			if (apply(args, spec, value, error, error_len) < 0)
				return -1;
		}
	}
	return 0;
}

static char *path_in(const char *dir, const char *name)
{
	char *path;

	return asprintf(&path, "%s/%s", dir, name) < 0 ? NULL : path;
}

int conmon_args_parse(struct conmon_args *args, int argc, char **argv, char *error,
		      size_t error_len)
{
	struct shim_args *shim = &args->shim;
	size_t room = (size_t)argc + 2;

	*args = (struct conmon_args){ .start_fd = -1 };
	*shim = (struct shim_args){
		.runtime = "runc",
		.log_level = DIAG_WARN, /* podman's default, --log-level warning */
		.log_format = LOG_FORMAT_K8S_FILE,
		.attach_seqpacket = true,
		.sync_fd = -1,
		.go_fd = -1,
		.ready_fd = -1,
		.stdout_sink_fd = -1,
		.stderr_sink_fd = -1,
	};
	args->runtime_args = calloc(room, sizeof(char *));
	args->runtime_opts = calloc(room, sizeof(char *));
	args->exit_command = calloc(room, sizeof(char *));
	if (!args->runtime_args || !args->runtime_opts || !args->exit_command)
		return fail(error, error_len, "out of memory");
	args->exit_command_count = 1; /* [0] is --exit-command */
	/* -i without -t: the container's stdin closes when a client is done
	 * with it, as conmon does (--leave-stdin-open keeps it). */
	shim->stdin_once = true;

	/* The sync socket first: a refusal below is told on it too. */
	if (env_fd("_OCI_SYNCPIPE", &shim->sync_fd, error, error_len) < 0)
		return -1;
	if (parse_argv(args, argc, argv, error, error_len) < 0)
		return -1;
	if (args->systemd_cgroup) {
		/* conmon puts it before the runtime args. */
		memmove(args->runtime_args + 1, args->runtime_args,
			(args->runtime_arg_count + 1) * sizeof(char *));
		args->runtime_args[0] = "--systemd-cgroup";
		args->runtime_arg_count++;
	}
	if (args->version)
		return 0; /* podman's probe: nothing else matters */

	if (!shim->container_id)
		return fail(error, error_len, "Container ID not provided. Use --cid");
	/* Empty, these would name the exit directory itself as the exit
	 * file, or the root as the bundle: ours to refuse, not runc's. */
	if (!shim->container_id[0] || (shim->bundle && !shim->bundle[0]) ||
	    (shim->container_pidfile && !shim->container_pidfile[0]) || (args->exit_dir && !args->exit_dir[0]))
		return fail(error, error_len,
			    "an empty --cid, --bundle, --container-pidfile or --exit-dir; podman passes none");
	if (shim->container_id[0] == '-')
		return fail(error, error_len,
			    "--cid %s: an ID may not begin with '-' (the runtime would take it for a flag)",
			    shim->container_id);
	if (!shim->bundle)
		return fail(error, error_len, "Bundle path not provided. Use --bundle");
	if (!shim->container_pidfile)
		return fail(error, error_len, "Container PID file not provided. Use --container-pidfile");
	if (!args->exit_dir)
		return fail(error, error_len,
			    "--exit-dir not provided: podman learns the exit status from <exit-dir>/<cid>");
	if (args->exec && !shim->exec_process_spec)
		return fail(error, error_len,
			    "Exec process spec path not provided. Use --exec-process-spec");
	if (!args->exec && shim->exec_process_spec)
		return fail(error, error_len, "--exec-process-spec needs --exec");
	if (args->exec_attach && !args->exec)
		return fail(error, error_len, "Attach can only be specified with exec");
	if (args->exit_command_count > 1 && !args->exit_command[0])
		return fail(error, error_len, "--exit-command-arg without --exit-command");

	/* A terminal carries stdin itself, and a client's EOF never closes
	 * it (podman passes -t without -i). */
	if (shim->terminal) {
		shim->stdin_enabled = true;
		shim->stdin_once = false;
	}
	args->exit_file = path_in(args->exit_dir, shim->container_id);
	args->attach_path = path_in(shim->bundle, "attach");
	args->ctl_path = path_in(shim->bundle, "ctl");
	args->oom_path = path_in(shim->bundle, "oom");
	if (!args->exit_file || !args->attach_path || !args->ctl_path || !args->oom_path)
		return fail(error, error_len, "out of memory");
	shim->container_exitfile = args->exit_file;
	shim->container_attachfile = args->attach_path;
	shim->container_ctlfile = args->ctl_path;
	/* conmon 2.1.6 wrote it into its working directory, where podman
	 * never looked (fixed in 2.1.13): here it is where podman looks. */
	shim->oom_file = args->exec ? NULL : args->oom_path;
	shim->runtime_args = args->runtime_args;
	shim->runtime_arg_count = args->runtime_arg_count;
	shim->runtime_command_args = args->runtime_opts;
	shim->runtime_command_arg_count = args->runtime_opt_count;
	shim->exit_command = args->exit_command[0] ? args->exit_command : NULL;

	if (env_fd("_OCI_STARTPIPE", &args->start_fd, error, error_len) < 0)
		return -1;
	if (args->exec_attach) {
		if (env_fd("_OCI_ATTACHPIPE", &shim->ready_fd, error, error_len) < 0)
			return -1;
		if (shim->ready_fd < 0)
			return fail(error, error_len, "--exec-attach needs _OCI_ATTACHPIPE in the environment");
	}
	return 0;
}

void conmon_args_free(struct conmon_args *args)
{
	free(args->runtime_args);
	free(args->runtime_opts);
	free(args->exit_command);
	free(args->exit_file);
	free(args->attach_path);
	free(args->ctl_path);
	free(args->oom_path);
	args->runtime_args = args->runtime_opts = args->exit_command = NULL;
	args->exit_file = args->attach_path = args->ctl_path = args->oom_path = NULL;
}

/* ---- conmon's words ---------------------------------------------------- */

static char *data_line(int data, const char *message, size_t len)
{
	char *escaped, *line;

	if (!message) {
		if (asprintf(&line, "{\"data\": %d}\n", data) < 0)
			return NULL;
		return line;
	}
	escaped = malloc(JSON_ESCAPED_MAX(len));
	if (!escaped)
		return NULL;
	json_escape(escaped, message, len);
	if (asprintf(&line, "{\"data\": %d, \"message\": \"%s\"}\n", data, escaped) < 0)
		line = NULL;
	free(escaped);
	return line;
}

static char *conmon_report_pid(pid_t container_pid)
{
	return data_line((int)container_pid, NULL, 0);
}

/* Podman reads runc's own words from its --log file first, and ours only
 * when that is empty; either goes through its error-to-exit-code rules
 * ("no such file or directory": 127). */
static char *conmon_report_failure(int wait_status, bool timed_out, unsigned timeout_seconds,
				   const char *runtime_stderr, size_t len)
{
	char status[96];

	if (len > 0)
		return data_line(-1, runtime_stderr, len);
	if (timed_out)
		snprintf(status, sizeof(status), "runtime timed out after %u s", timeout_seconds);
	else if (WIFSIGNALED(wait_status))
		snprintf(status, sizeof(status), "runtime killed by signal %d", WTERMSIG(wait_status));
	else
		snprintf(status, sizeof(status), "runtime exited with code %d", WEXITSTATUS(wait_status));
	return data_line(-1, status, strlen(status));
}

char *conmon_report_error(const char *message)
{
	return data_line(-1, message, strlen(message));
}

static char *conmon_report_ready(void)
{
	return data_line(0, NULL, 0);
}

/* The bare exit code, no newline (podman parses it with Atoi): the
 * status, or 128 + the signal; -1 when it could not be known. */
static char *conmon_format_exit(int wait_status, const struct timespec *at, bool oom_killed,
				unsigned long long log_dropped_bytes)
{
	char *text;
	int code = wait_status == EXIT_STATUS_LOST ? -1
		   : WIFSIGNALED(wait_status)      ? 128 + WTERMSIG(wait_status)
						   : WEXITSTATUS(wait_status);

	(void)at;                /* podman takes the time from the file's ctime */
	(void)oom_killed;        /* said by <bundle>/oom */
	(void)log_dropped_bytes; /* told in the log itself */
	return asprintf(&text, "%d", code) < 0 ? NULL : text;
}

const struct dialect conmon_dialect = {
	.report_pid = conmon_report_pid,
	.report_failure = conmon_report_failure,
	.report_error = conmon_report_error,
	.report_ready = conmon_report_ready,
	.format_exit = conmon_format_exit,
	.stdout_frame_id = 2,
	.stderr_frame_id = 3,
	.frame_data_max = 8192, /* podman reads 8193 bytes a packet: one more is lost */
	.ctl_height_first = true,
};

