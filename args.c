/* args.c: parses and validates the shim's flags (step 1). Runs in the
 * short-lived parent, before anything is forked, so a usage error costs
 * nothing: one line naming the flag, exit 2. */
#define _GNU_SOURCE
#include "args.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char shim_usage[] =
	"Usage: shim --bundle DIR --container-id ID --container-pidfile PATH\n"
	"            --container-logfile PATH --container-exitfile PATH [OPTION]...\n"
	"       shim --exec-process SPEC --container-id ID --container-pidfile PATH\n"
	"            --container-logfile PATH --container-exitfile PATH [OPTION]...\n"
	"Launch a container with `RUNTIME create` and stay with it as its shim;\n"
	"or, with --exec-process, run one more process in the running container ID\n"
	"with `RUNTIME exec` and stay with that process.\n"
	"\n"
	"  --bundle DIR                  OCI bundle (directory holding config.json)\n"
	"  --container-id ID             container id passed to the runtime\n"
	"  --container-pidfile PATH      where the runtime writes the container's PID\n"
	"  --container-logfile PATH      container stdout/stderr log\n"
	"  --container-log-format FMT    shimmy (default) or k8s-file\n"
	"  --log-size-max BYTES          rotate the log to PATH.1 before it passes BYTES (>= 4096)\n"
	"  --container-exitfile PATH     JSON exit status, written when the container exits\n"
	"  --container-attachfile PATH   unix socket for attach clients\n"
	"  --attach-seqpacket            make it SOCK_SEQPACKET: one frame per packet\n"
	"  --runtime PATH                OCI runtime binary (default: runc from PATH)\n"
	"  --runtime-arg ARG             runtime flag placed before `create` (repeatable)\n"
	"  --runtime-timeout SECONDS     kill the runtime if `create` takes longer (1 to 86400;\n"
	"                                default: wait)\n"
	"  --stdin                       give the container a stdin (attach clients write to it)\n"
	"  --stdin-once                  close the container's stdin when the first client is done\n"
	"  --terminal                    the container's stdio is a pty (config.json must agree)\n"
	"  --container-ctlfile PATH      control FIFO: \"TYPE WIDTH HEIGHT\" lines (see docs)\n"
	"  --syncpipe-fd N               report the container PID or the error on fd N\n"
	"                                (default: $_OCI_SYNCPIPE, if set)\n"
	"  --shimmy-pidfile PATH         where to write the shim daemon's PID\n"
	"  --shimmy-log-level LEVEL      TRACE, DEBUG, INFO (default), WARN or ERROR\n"
	"  --shim-logfile PATH           shim diagnostics to PATH instead of syslog\n"
	"  --exec-process SPEC           `RUNTIME exec --process SPEC` into container ID, not\n"
	"                                `create` (SPEC: an OCI process JSON); --bundle unused\n"
	"  --start-fd N                  wait for one byte on fd N before starting the runtime\n"
	"  --ready-fd N                  write {\"kind\":\"ready\"} on fd N once the attach socket\n"
	"                                and control FIFO exist, before the runtime starts\n"
	"  --no-subreaper                for the workshop's lab 5 only: do not become a child\n"
	"                                subreaper, so the container is reparented to PID 1 and\n"
	"                                its exit status is lost (the exit file says \"lost\")\n"
	"  --help                        show this help and exit\n"
	"  --version                     show the version and exit\n";

enum {
	OPT_SHIM_PIDFILE = 256,
	OPT_LOG_LEVEL,
	OPT_SHIM_LOGFILE,
	OPT_RUNTIME,
	OPT_RUNTIME_ARG,
	OPT_RUNTIME_TIMEOUT,
	OPT_BUNDLE,
	OPT_CONTAINER_ID,
	OPT_CONTAINER_PIDFILE,
	OPT_CONTAINER_LOGFILE,
	OPT_CONTAINER_EXITFILE,
	OPT_CONTAINER_ATTACHFILE,
	OPT_ATTACH_SEQPACKET,
	OPT_LOG_FORMAT,
	OPT_LOG_SIZE_MAX,
	OPT_STDIN,
	OPT_STDIN_ONCE,
	OPT_SYNCPIPE_FD,
	OPT_TERMINAL,
	OPT_CONTAINER_CTLFILE,
	OPT_NO_SUBREAPER,
	OPT_EXEC_PROCESS,
	OPT_START_FD,
	OPT_READY_FD,
	OPT_HELP,
	OPT_VERSION,
};

static const struct option long_options[] = {
	{ "shimmy-pidfile", required_argument, NULL, OPT_SHIM_PIDFILE },
	{ "shimmy-log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "shim-logfile", required_argument, NULL, OPT_SHIM_LOGFILE },
	{ "runtime", required_argument, NULL, OPT_RUNTIME },
	{ "runtime-arg", required_argument, NULL, OPT_RUNTIME_ARG },
	{ "runtime-timeout", required_argument, NULL, OPT_RUNTIME_TIMEOUT },
	{ "bundle", required_argument, NULL, OPT_BUNDLE },
	{ "container-id", required_argument, NULL, OPT_CONTAINER_ID },
	{ "container-pidfile", required_argument, NULL, OPT_CONTAINER_PIDFILE },
	{ "container-logfile", required_argument, NULL, OPT_CONTAINER_LOGFILE },
	{ "container-exitfile", required_argument, NULL, OPT_CONTAINER_EXITFILE },
	{ "container-attachfile", required_argument, NULL, OPT_CONTAINER_ATTACHFILE },
	{ "attach-seqpacket", no_argument, NULL, OPT_ATTACH_SEQPACKET },
	{ "container-log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "log-size-max", required_argument, NULL, OPT_LOG_SIZE_MAX },
	{ "stdin", no_argument, NULL, OPT_STDIN },
	{ "stdin-once", no_argument, NULL, OPT_STDIN_ONCE },
	{ "syncpipe-fd", required_argument, NULL, OPT_SYNCPIPE_FD },
	{ "terminal", no_argument, NULL, OPT_TERMINAL },
	{ "container-ctlfile", required_argument, NULL, OPT_CONTAINER_CTLFILE },
	{ "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
	{ "exec-process", required_argument, NULL, OPT_EXEC_PROCESS },
	{ "start-fd", required_argument, NULL, OPT_START_FD },
	{ "ready-fd", required_argument, NULL, OPT_READY_FD },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

char *strip_quotes(char *arg)
{
	size_t len = strlen(arg);

	if (len >= 2 && arg[0] == '\'' && arg[len - 1] == '\'') {
		arg[len - 1] = '\0';
		return arg + 1;
	}
	return arg;
}

static enum args_result usage_error(char *error, size_t error_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The message quotes what the caller passed: control characters in it
 * are escaped, so it stays one line and sends no escape sequences. */
static enum args_result usage_error(char *error, size_t error_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	escape_vformat(error, error_len, fmt, ap);
	va_end(ap);
	return ARGS_USAGE_ERROR;
}

/* A whole number in [min, max], digits only: strtoull would skip blanks
 * and accept a sign (" -1" wraps to the largest value). */
static int parse_number(const char *text, unsigned long long min, unsigned long long max,
			unsigned long long *value)
{
	char *end;

	errno = 0;
	*value = strtoull(text, &end, 10);
	if (errno != 0 || text[0] < '0' || text[0] > '9' || *end != '\0' || *value < min ||
	    *value > max) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

enum args_result args_parse(struct shim_args *args, int argc, char **argv, char *error,
			    size_t error_len)
{
	const char *sync_fd_text = NULL, *sync_fd_source = "--syncpipe-fd";
	int option;

	*args = (struct shim_args){
		.runtime = "runc",
		.log_level = DIAG_INFO,
		.sync_fd = -1,
		.go_fd = -1,
		.ready_fd = -1,
		.stdout_sink_fd = -1,
		.stderr_sink_fd = -1,
	};
	args->runtime_args = calloc((size_t)argc + 1, sizeof(char *));
	if (!args->runtime_args)
		return usage_error(error, error_len, "out of memory");

	optind = 0; /* GNU: reinitialise, so args_parse may be called again */
	opterr = 0; /* we word the errors ourselves */
	while ((option = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
		switch (option) {
		case OPT_SHIM_PIDFILE: args->shim_pidfile = optarg; break;
		case OPT_SHIM_LOGFILE: args->shim_logfile = optarg; break;
		case OPT_RUNTIME: args->runtime = optarg; break;
		case OPT_BUNDLE: args->bundle = optarg; break;
		case OPT_CONTAINER_ID: args->container_id = optarg; break;
		case OPT_CONTAINER_PIDFILE: args->container_pidfile = optarg; break;
		case OPT_CONTAINER_LOGFILE: args->container_logfile = optarg; break;
		case OPT_CONTAINER_EXITFILE: args->container_exitfile = optarg; break;
		case OPT_CONTAINER_ATTACHFILE: args->container_attachfile = optarg; break;
		case OPT_ATTACH_SEQPACKET: args->attach_seqpacket = true; break;
		case OPT_STDIN: args->stdin_enabled = true; break;
		case OPT_STDIN_ONCE: args->stdin_once = true; break;
		case OPT_SYNCPIPE_FD: sync_fd_text = optarg; break;
		case OPT_TERMINAL: args->terminal = true; break;
		case OPT_CONTAINER_CTLFILE: args->container_ctlfile = optarg; break;
		case OPT_NO_SUBREAPER: args->no_subreaper = true; break;
		case OPT_EXEC_PROCESS: args->exec_process_spec = optarg; break;
		case OPT_START_FD:
		case OPT_READY_FD:
			if (parse_open_fd(optarg, option == OPT_START_FD ? &args->go_fd : &args->ready_fd) < 0)
				return usage_error(error, error_len, "%s %s: not an open file descriptor (%m)",
						   option == OPT_START_FD ? "--start-fd" : "--ready-fd", optarg);
			break;
		case OPT_HELP: return ARGS_HELP;
		case OPT_VERSION: return ARGS_VERSION;
		case OPT_RUNTIME_ARG:
			args->runtime_args[args->runtime_arg_count++] = strip_quotes(optarg);
			break;
		case OPT_LOG_LEVEL:
			if (diag_level_parse(optarg, &args->log_level) < 0)
				return usage_error(error, error_len,
						   "--shimmy-log-level %s: unknown level; use TRACE, DEBUG, INFO, WARN or ERROR",
						   optarg);
			break;
		case OPT_LOG_FORMAT:
			if (log_format_parse(optarg, &args->log_format) < 0)
				return usage_error(error, error_len,
						   "--container-log-format %s: unknown format; use shimmy or k8s-file",
						   optarg);
			break;
		case OPT_LOG_SIZE_MAX:
			if (parse_number(optarg, 4096, ULLONG_MAX, &args->log_size_max) < 0)
				return usage_error(error, error_len,
						   "--log-size-max %s: give a number of bytes, at least 4096",
						   optarg);
			break;
		case OPT_RUNTIME_TIMEOUT: {
			unsigned long long seconds;
			/* A day at most: beyond that a "timeout" is a typo. */
			if (parse_number(optarg, 1, 86400, &seconds) < 0)
				return usage_error(error, error_len,
						   "--runtime-timeout %s: give a whole number of seconds, 1 to 86400",
						   optarg);
			args->runtime_timeout = (unsigned)seconds;
			break;
		}
		case ':':
			return usage_error(error, error_len, "%s needs a value; see shim --help",
					   argv[optind - 1]);
		default:
			/* "-bundle" reaches getopt as short options, of which we
			 * have none; until the last of them, optind still points
			 * at it. */
			if (optopt != 0 && optind < argc && argv[optind][0] == '-' &&
			    argv[optind][1] == optopt)
				optind++;
			return usage_error(error, error_len, "unknown flag %s; see shim --help",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(error, error_len,
				   "unexpected argument %s; every value follows its flag, see shim --help",
				   argv[optind]);

	static const struct {
		const char *flag;
		size_t offset;
	} required[] = {
		{ "--bundle", offsetof(struct shim_args, bundle) },
		{ "--container-id", offsetof(struct shim_args, container_id) },
		{ "--container-pidfile", offsetof(struct shim_args, container_pidfile) },
		{ "--container-logfile", offsetof(struct shim_args, container_logfile) },
		{ "--container-exitfile", offsetof(struct shim_args, container_exitfile) },
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const char *value = *(const char **)((char *)args + required[i].offset);
		/* runc exec needs no bundle: the container has one already. */
		if (i == 0 && args->exec_process_spec)
			continue;
		if (!value || value[0] == '\0')
			return usage_error(error, error_len, "%s is required; see shim --help",
					   required[i].flag);
	}
	if (args->runtime[0] == '\0')
		return usage_error(error, error_len, "--runtime is empty; give a path or a name in PATH");
	/* We place the ID last on runc's command line, where runc would take
	 * "-h" or "--help" for a flag (and print its help and exit 0): only
	 * we can see that, so only we can refuse it. Everything else about
	 * the ID, and the bundle, is runc's to judge and report. */
	if (args->container_id[0] == '-')
		return usage_error(error, error_len,
				   "--container-id %s: an ID may not begin with '-' (the runtime would take it for a flag)",
				   args->container_id);

	if (!sync_fd_text) {
		sync_fd_text = getenv("_OCI_SYNCPIPE");
		sync_fd_source = "_OCI_SYNCPIPE";
	}
	if (sync_fd_text && parse_open_fd(sync_fd_text, &args->sync_fd) < 0)
		return usage_error(error, error_len, "%s %s: not an open file descriptor (%m)",
				   sync_fd_source, sync_fd_text);
	return ARGS_RUN;
}

void args_free(struct shim_args *args)
{
	free(args->runtime_args);
	args->runtime_args = NULL;
}
