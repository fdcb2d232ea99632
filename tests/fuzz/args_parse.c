/* tests/fuzz/args_parse.c: args.c's args_parse, the shim's command line
 * (step 1): what a manager (conman, shimctl, a person) passes.
 *
 * Each argument is its own allocation of exactly its size, and argv one
 * of argc + 1 pointers, so ASan sees any read past an argument or past
 * argv. Two kinds of input:
 * - raw (any first byte but 0x01): the input split on NUL bytes into
 *   argv[1..], after argv[0] "shim": anything at all;
 * - built (first byte 0x01): a command line of the shim's own flags made
 *   from the input, as --FLAG=VALUE or --FLAG VALUE, in any order,
 *   repeated or not, some values wrong on purpose (an unknown level, a
 *   size below 4096, an ID beginning with '-'). The answer is worked out
 *   here flag by flag: the last value of a flag counts, runtime args add
 *   up with one pair of single quotes stripped. It must be ARGS_USAGE_ERROR
 *   when a value is wrong or a required flag missing, and otherwise
 *   ARGS_RUN with exactly those values: a parser that drops a flag,
 *   stores it in the wrong field or accepts a wrong value is caught.
 * For both, beyond not crashing or leaking:
 * - ARGS_USAGE_ERROR: the error is NUL-terminated inside its buffer and
 *   not empty, and it is one line without control characters, whatever
 *   the arguments it quotes hold (they are escaped);
 * - ARGS_HELP, ARGS_VERSION: an argument asked for it (--help, --version,
 *   or a prefix getopt accepts for them);
 * - ARGS_RUN: every required field is set and not empty, the runtime too;
 *   runtime_args holds runtime_arg_count arguments and then NULL; every
 *   string points into argv (or is the default "runc"); the log size is 0
 *   or at least 4096; the sync fd is -1 or open;
 * - and ARGS_RUN round trips: the parsed values written back as a
 *   canonical command line (--flag=VALUE, each once) parse again to
 *   ARGS_RUN with the same values. (Fields args.c gains later are not
 *   compared until this target learns them.) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "args.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As big as shim.c's; errors longer than this are cut, still one line. */
#define ERROR_LEN 512

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* args_parse falls back to $_OCI_SYNCPIPE: the same input must mean
	 * the same thing whatever the environment the fuzzer runs in. */
	unsetenv("_OCI_SYNCPIPE");
	return 0;
}

/* An argv of exactly argc + 1 pointers, each argument allocated alone. */
struct arg_vector {
	int argc;
	char **argv;
	char **given; /* the same pointers, in the order given: getopt permutes argv */
};

static char *copy_arg(const void *data, size_t len)
{
	char *arg = malloc(len + 1);

	FUZZ_CHECK(arg != NULL, "out of memory for an argument of %zu bytes", len);
	memcpy(arg, data, len);
	arg[len] = '\0';
	return arg;
}

static void vector_add(struct arg_vector *v, char *arg)
{
	/* Grown one at a time, so the array is always exactly argc + 1. */
	char **argv = realloc(v->argv, ((size_t)v->argc + 2) * sizeof(char *));
	char **given = realloc(v->given, ((size_t)v->argc + 2) * sizeof(char *));

	FUZZ_CHECK(argv && given, "out of memory for %d arguments", v->argc + 1);
	v->argv = argv;
	v->given = given;
	v->argv[v->argc] = v->given[v->argc] = arg;
	v->argc++;
	v->argv[v->argc] = v->given[v->argc] = NULL;
}

static void vector_addf(struct arg_vector *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vector_addf(struct arg_vector *v, const char *fmt, ...)
{
	va_list ap;
	char *arg;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&arg, fmt, ap);
	va_end(ap);
	FUZZ_CHECK(len >= 0, "out of memory formatting %s", fmt);
	vector_add(v, arg);
}

static void vector_free(struct arg_vector *v)
{
	for (int i = 0; i < v->argc; i++)
		free(v->given[i]);
	free(v->argv);
	free(v->given);
	*v = (struct arg_vector){ 0 };
}

/* Does text lie inside one of the arguments (their bytes or their NUL)? */
static bool points_into(const struct arg_vector *v, const char *text)
{
	for (int i = 0; i < v->argc; i++) {
		const char *arg = v->given[i];
		if (text >= arg && text <= arg + strlen(arg))
			return true;
	}
	return false;
}

/* Was there an argument that getopt_long takes for --NAME: itself, or a
 * prefix of it naming no other flag (at least "--h", "--v" here)? */
static bool asked_for(const struct arg_vector *v, const char *flag)
{
	for (int i = 1; i < v->argc; i++) {
		size_t len = strlen(v->given[i]);
		if (len >= 3 && len <= strlen(flag) && memcmp(v->given[i], flag, len) == 0)
			return true;
	}
	return false;
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const char *const level_names[] = { "TRACE", "DEBUG", "INFO", "WARN", "ERROR" };

/* The parsed values as a canonical command line, every value after '='
 * so that one beginning with '-' stays a value; each runtime argument in
 * the one pair of single quotes that args_parse strips. */
static void write_back(struct arg_vector *v, const struct shim_args *a)
{
	static const struct {
		const char *flag;
		size_t offset;
	} strings[] = {
		{ "--bundle", offsetof(struct shim_args, bundle) },
		{ "--container-id", offsetof(struct shim_args, container_id) },
		{ "--container-pidfile", offsetof(struct shim_args, container_pidfile) },
		{ "--container-logfile", offsetof(struct shim_args, container_logfile) },
		{ "--container-exitfile", offsetof(struct shim_args, container_exitfile) },
		{ "--container-attachfile", offsetof(struct shim_args, container_attachfile) },
		{ "--container-ctlfile", offsetof(struct shim_args, container_ctlfile) },
		{ "--shimmy-pidfile", offsetof(struct shim_args, shim_pidfile) },
		{ "--shim-logfile", offsetof(struct shim_args, shim_logfile) },
		{ "--runtime", offsetof(struct shim_args, runtime) },
	};

	vector_addf(v, "shim");
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		const char *value = *(const char *const *)((const char *)a + strings[i].offset);
		if (value)
			vector_addf(v, "%s=%s", strings[i].flag, value);
	}
	for (size_t i = 0; i < a->runtime_arg_count; i++)
		vector_addf(v, "--runtime-arg='%s'", a->runtime_args[i]);
	vector_addf(v, "--container-log-format=%s",
		    a->log_format == LOG_FORMAT_K8S_FILE ? "k8s-file" : "shimmy");
	vector_addf(v, "--shimmy-log-level=%s", level_names[a->log_level]);
	if (a->log_size_max > 0)
		vector_addf(v, "--log-size-max=%llu", a->log_size_max);
	if (a->runtime_timeout > 0)
		vector_addf(v, "--runtime-timeout=%u", a->runtime_timeout);
	if (a->sync_fd >= 0)
		vector_addf(v, "--syncpipe-fd=%d", a->sync_fd);
	if (a->attach_seqpacket)
		vector_addf(v, "--attach-seqpacket");
	if (a->stdin_enabled)
		vector_addf(v, "--stdin");
	if (a->stdin_once)
		vector_addf(v, "--stdin-once");
	if (a->terminal)
		vector_addf(v, "--terminal");
}

static void check_run(const struct arg_vector *v, const struct shim_args *a)
{
	const char *required[] = { a->bundle, a->container_id, a->container_pidfile,
				   a->container_logfile, a->container_exitfile, a->runtime };
	const char *optional[] = { a->container_attachfile, a->container_ctlfile,
				   a->shim_pidfile, a->shim_logfile };

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		FUZZ_CHECK(required[i] && required[i][0], "required value %zu missing or empty", i);
		FUZZ_CHECK(points_into(v, required[i]) || strcmp(required[i], "runc") == 0,
			   "value \"%s\" is not from argv", required[i]);
	}
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		FUZZ_CHECK(!optional[i] || points_into(v, optional[i]),
			   "value \"%s\" is not from argv", optional[i]);
	FUZZ_CHECK(a->runtime_args != NULL, "no runtime_args array");
	FUZZ_CHECK(a->runtime_arg_count < (size_t)v->argc, "%zu runtime args from %d arguments",
		   a->runtime_arg_count, v->argc);
	for (size_t i = 0; i < a->runtime_arg_count; i++)
		FUZZ_CHECK(a->runtime_args[i] && points_into(v, a->runtime_args[i]),
			   "runtime arg %zu is not from argv", i);
	FUZZ_CHECK(a->runtime_args[a->runtime_arg_count] == NULL,
		   "runtime_args not NULL-terminated");
	FUZZ_CHECK(a->log_size_max == 0 || a->log_size_max >= 4096, "--log-size-max %llu",
		   a->log_size_max);
	FUZZ_CHECK(a->sync_fd == -1 || fcntl(a->sync_fd, F_GETFD) >= 0, "sync fd %d not open",
		   a->sync_fd);
	FUZZ_CHECK(a->log_format == LOG_FORMAT_SHIMMY || a->log_format == LOG_FORMAT_K8S_FILE,
		   "log format %d", (int)a->log_format);
	FUZZ_CHECK(a->log_level >= DIAG_TRACE && a->log_level <= DIAG_ERROR, "log level %d",
		   (int)a->log_level);
}

static void check_round_trip(const struct shim_args *a)
{
	struct arg_vector again = { 0 };
	struct shim_args b;
	char error[ERROR_LEN] = "";
	enum args_result result;

	write_back(&again, a);
	result = args_parse(&b, again.argc, again.argv, error, sizeof(error));
	FUZZ_CHECK(result == ARGS_RUN, "written back, the command line gives %d: %s", (int)result,
		   error);
	FUZZ_CHECK(same_string(a->bundle, b.bundle) && same_string(a->container_id, b.container_id) &&
			   same_string(a->container_pidfile, b.container_pidfile) &&
			   same_string(a->container_logfile, b.container_logfile) &&
			   same_string(a->container_exitfile, b.container_exitfile) &&
			   same_string(a->container_attachfile, b.container_attachfile) &&
			   same_string(a->container_ctlfile, b.container_ctlfile) &&
			   same_string(a->shim_pidfile, b.shim_pidfile) &&
			   same_string(a->shim_logfile, b.shim_logfile) &&
			   same_string(a->runtime, b.runtime),
		   "a path, the ID or the runtime changed when written back");
	FUZZ_CHECK(a->log_format == b.log_format && a->log_level == b.log_level &&
			   a->log_size_max == b.log_size_max && a->sync_fd == b.sync_fd &&
			   a->runtime_timeout == b.runtime_timeout &&
			   a->attach_seqpacket == b.attach_seqpacket &&
			   a->stdin_enabled == b.stdin_enabled && a->stdin_once == b.stdin_once &&
			   a->terminal == b.terminal,
		   "a setting changed when written back");
	FUZZ_CHECK(a->runtime_arg_count == b.runtime_arg_count, "%zu runtime args, then %zu",
		   a->runtime_arg_count, b.runtime_arg_count);
	for (size_t i = 0; i < a->runtime_arg_count; i++)
		FUZZ_CHECK(strcmp(a->runtime_args[i], b.runtime_args[i]) == 0,
			   "runtime arg \"%s\" came back as \"%s\"", a->runtime_args[i],
			   b.runtime_args[i]);
	args_free(&b);
	vector_free(&again);
}

/* args_parse, and the properties every result must have whatever the
 * arguments. The caller frees args. */
static enum args_result parse_checked(struct arg_vector *v, struct shim_args *args, char *error)
{
	enum args_result result;

	memset(error, 'x', ERROR_LEN); /* so a missing NUL shows */
	result = args_parse(args, v->argc, v->argv, error, ERROR_LEN);
	switch (result) {
	case ARGS_USAGE_ERROR:
		FUZZ_CHECK(memchr(error, '\0', ERROR_LEN) != NULL, "error not NUL-terminated");
		FUZZ_CHECK(error[0] != '\0', "empty error");
		for (const char *c = error; *c; c++)
			FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f,
				   "a control character (%#x) in the error: %s", (unsigned char)*c, error);
		break;
	case ARGS_HELP:
		FUZZ_CHECK(asked_for(v, "--help"), "help, but no one asked");
		break;
	case ARGS_VERSION:
		FUZZ_CHECK(asked_for(v, "--version"), "version, but no one asked");
		break;
	case ARGS_RUN:
		check_run(v, args);
		check_round_trip(args);
		break;
	default:
		FUZZ_CHECK(false, "unknown result %d", (int)result);
	}
	return result;
}

/* ---- built command lines, with the answer known ---- */

enum flag_kind { STRING, RUNTIME_ARG, BOOL, FORMAT, LEVEL, SIZE, TIMEOUT, SYNC_FD };

static const struct flag_spec {
	const char *flag;
	enum flag_kind kind;
	size_t offset; /* of the field, for STRING and BOOL */
} flag_specs[] = {
	/* The five required ones first: see check_built. */
	{ "--bundle", STRING, offsetof(struct shim_args, bundle) },
	{ "--container-id", STRING, offsetof(struct shim_args, container_id) },
	{ "--container-pidfile", STRING, offsetof(struct shim_args, container_pidfile) },
	{ "--container-logfile", STRING, offsetof(struct shim_args, container_logfile) },
	{ "--container-exitfile", STRING, offsetof(struct shim_args, container_exitfile) },
	{ "--container-attachfile", STRING, offsetof(struct shim_args, container_attachfile) },
	{ "--container-ctlfile", STRING, offsetof(struct shim_args, container_ctlfile) },
	{ "--shimmy-pidfile", STRING, offsetof(struct shim_args, shim_pidfile) },
	{ "--shim-logfile", STRING, offsetof(struct shim_args, shim_logfile) },
	{ "--runtime", STRING, offsetof(struct shim_args, runtime) },
	{ "--runtime-arg", RUNTIME_ARG, 0 },
	{ "--attach-seqpacket", BOOL, offsetof(struct shim_args, attach_seqpacket) },
	{ "--stdin", BOOL, offsetof(struct shim_args, stdin_enabled) },
	{ "--stdin-once", BOOL, offsetof(struct shim_args, stdin_once) },
	{ "--terminal", BOOL, offsetof(struct shim_args, terminal) },
	{ "--container-log-format", FORMAT, 0 },
	{ "--shimmy-log-level", LEVEL, 0 },
	{ "--log-size-max", SIZE, 0 },
	{ "--runtime-timeout", TIMEOUT, 0 },
	{ "--syncpipe-fd", SYNC_FD, 0 },
};
#define FLAG_COUNT (sizeof(flag_specs) / sizeof(flag_specs[0]))
#define REQUIRED_COUNT 5
#define RUNTIME_SPEC 9 /* --runtime, which has a default */
#define OPS_MAX 48

/* What args_parse must make of the built command line. */
struct expected {
	bool refused;                  /* a value no reading can accept */
	const char *strings[FLAG_COUNT]; /* the last value given of each STRING flag */
	bool bools[FLAG_COUNT];
	const char *runtime_args[OPS_MAX];
	size_t runtime_arg_count;
	enum log_format format;
	enum diag_level level;
	unsigned long long size_max;
	unsigned timeout;
	const char *sync_fd_text;
	int sync_fd;
};

/* A value: one of a few that matter to the flag's kind, or bytes from
 * the input (up to a NUL: an argument is a C string). */
static char *pick_value(struct fuzz_bytes *in, enum flag_kind kind)
{
	static const char *const strings[] = { "bundle-example", "ID", "/run/x/y", "-h", "",
					       "'--root=/run/x'", "'", "a=b", "--stdin" };
	static const char *const formats[] = { "shimmy", "k8s-file", "K8S-FILE", "json", "" };
	static const char *const levels[] = { "TRACE", "debug", "Info", "WARN", "error",
					      "verbose", "" };
	static const char *const sizes[] = { "4096", "4095", "1048576", "18446744073709551615",
					     "18446744073709551616", "-1", " 4096", "4096k", "",
					     "0" };
	/* Only plain cases: the range is args.c's choice, not this test's. */
	static const char *const timeouts[] = { "1", "30", "3600", "abc", "", "-5", "5s" };
	static const char *const sync_fds[] = { "2", "1", "abc", "-1", "2147483647", "" };
	static const struct {
		const char *const *values;
		size_t count;
	} sets[] = {
		[STRING] = { strings, sizeof(strings) / sizeof(strings[0]) },
		[RUNTIME_ARG] = { strings, sizeof(strings) / sizeof(strings[0]) },
		[FORMAT] = { formats, sizeof(formats) / sizeof(formats[0]) },
		[LEVEL] = { levels, sizeof(levels) / sizeof(levels[0]) },
		[SIZE] = { sizes, sizeof(sizes) / sizeof(sizes[0]) },
		[TIMEOUT] = { timeouts, sizeof(timeouts) / sizeof(timeouts[0]) },
		[SYNC_FD] = { sync_fds, sizeof(sync_fds) / sizeof(sync_fds[0]) },
	};
	uint8_t choice = fuzz_byte(in);
	const uint8_t *raw;
	size_t len;

	if ((choice & 1) || kind == TIMEOUT || kind == SYNC_FD) {
		const char *value = sets[kind].values[(choice >> 1) % sets[kind].count];
		return copy_arg(value, strlen(value));
	}
	len = fuzz_take(in, (choice >> 1) % 32, &raw);
	return copy_arg(raw, strnlen((const char *)raw, len));
}

static bool valid_size(const char *text, unsigned long long *value)
{
	unsigned long long n = 0;

	if (!*text)
		return false;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9' || n > (ULLONG_MAX - (unsigned)(*p - '0')) / 10)
			return false;
		n = n * 10 + (unsigned)(*p - '0');
	}
	*value = n;
	return n >= 4096;
}

/* The flag and its value, as args_parse must read them. */
static void expect_flag(struct expected *e, size_t spec, const char *value)
{
	const char *const levels[] = { "TRACE", "DEBUG", "INFO", "WARN", "ERROR" };
	bool known = false;

	switch (flag_specs[spec].kind) {
	case STRING:
		e->strings[spec] = value;
		break;
	case RUNTIME_ARG: {
		/* One pair of surrounding single quotes comes off (conman's). */
		size_t len = strlen(value);
		if (len >= 2 && value[0] == '\'' && value[len - 1] == '\'') {
			char *inner = copy_arg(value + 1, len - 2);
			e->runtime_args[e->runtime_arg_count++] = inner;
		} else {
			e->runtime_args[e->runtime_arg_count++] = copy_arg(value, len);
		}
		break;
	}
	case BOOL:
		e->bools[spec] = true;
		break;
	case FORMAT:
		if (strcmp(value, "shimmy") == 0)
			e->format = LOG_FORMAT_SHIMMY;
		else if (strcmp(value, "k8s-file") == 0)
			e->format = LOG_FORMAT_K8S_FILE;
		else
			e->refused = true;
		break;
	case LEVEL:
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
			if (strcasecmp(value, levels[i]) == 0) {
				e->level = (enum diag_level)i;
				known = true;
			}
		}
		e->refused |= !known;
		break;
	case SIZE:
		e->refused |= !valid_size(value, &e->size_max);
		break;
	case TIMEOUT:
		e->timeout = (unsigned)strtoul(value, NULL, 10);
		e->refused |= !(value[0] >= '1' && value[0] <= '9' && strspn(value, "0123456789") ==
								       strlen(value));
		break;
	case SYNC_FD:
		/* Checked once the line is read: only the last one matters. */
		e->sync_fd_text = value;
		break;
	}
}

/* A command line made of the shim's own flags, each as --FLAG=VALUE or
 * --FLAG VALUE, in any order, repeated or not, some values wrong: the
 * answer is known flag by flag (the last value counts; runtime args add
 * up), so a parser that drops a flag, reads the wrong one or accepts a
 * wrong value is caught. */
static void check_built(struct fuzz_bytes *in, char *error)
{
	struct expected e = { .format = LOG_FORMAT_SHIMMY, .level = DIAG_INFO, .sync_fd = -1 };
	struct arg_vector v = { 0 };
	struct shim_args args;
	uint8_t omit = fuzz_byte(in);
	enum args_result result;
	size_t ops = 0;

	e.strings[RUNTIME_SPEC] = "runc";
	vector_add(&v, copy_arg("shim", 4));
	/* Usually every required flag, with a plain value; the fuzzer's own
	 * may follow and replace it. */
	for (size_t spec = 0; spec < REQUIRED_COUNT; spec++) {
		if ((omit & 0x80) && (omit >> spec & 1))
			continue;
		vector_addf(&v, "%s=%s", flag_specs[spec].flag, spec == 0 ? "bundle-example" : "x");
		expect_flag(&e, spec, v.given[v.argc - 1] + strlen(flag_specs[spec].flag) + 1);
	}
	while (in->len > 0 && ops++ < OPS_MAX) {
		uint8_t op = fuzz_byte(in);
		size_t spec = (op & 0x7f) % FLAG_COUNT;
		char *value;

		if (flag_specs[spec].kind == BOOL) {
			vector_addf(&v, "%s", flag_specs[spec].flag);
			expect_flag(&e, spec, NULL);
			continue;
		}
		value = pick_value(in, flag_specs[spec].kind);
		if (op & 0x80) { /* --FLAG VALUE */
			vector_addf(&v, "%s", flag_specs[spec].flag);
			vector_add(&v, value);
			expect_flag(&e, spec, value);
		} else { /* --FLAG=VALUE */
			vector_addf(&v, "%s=%s", flag_specs[spec].flag, value);
			free(value);
			expect_flag(&e, spec, strchr(v.given[v.argc - 1], '=') + 1);
		}
	}
	/* Then what only the whole line can say. */
	for (size_t spec = 0; spec < REQUIRED_COUNT; spec++)
		e.refused |= !e.strings[spec] || !e.strings[spec][0];
	e.refused |= !e.strings[RUNTIME_SPEC][0] || (e.strings[1] && e.strings[1][0] == '-');
	if (e.sync_fd_text) {
		/* Only these two of pick_value's are open fds. */
		e.sync_fd = (int)strtol(e.sync_fd_text, NULL, 10);
		e.refused |= strcmp(e.sync_fd_text, "1") != 0 && strcmp(e.sync_fd_text, "2") != 0;
	}

	result = parse_checked(&v, &args, error);
	if (e.refused) {
		FUZZ_CHECK(result == ARGS_USAGE_ERROR, "accepted (%d) a command line with a wrong value",
			   (int)result);
	} else {
		FUZZ_CHECK(result == ARGS_RUN, "refused (%d) a good command line: %s", (int)result,
			   result == ARGS_USAGE_ERROR ? error : "");
		for (size_t spec = 0; spec < FLAG_COUNT; spec++) {
			const char *field = (const char *)&args + flag_specs[spec].offset;
			if (flag_specs[spec].kind == STRING)
				FUZZ_CHECK(same_string(*(const char *const *)field, e.strings[spec]),
					   "%s: \"%s\", given \"%s\"", flag_specs[spec].flag,
					   *(const char *const *)field, e.strings[spec]);
			else if (flag_specs[spec].kind == BOOL)
				FUZZ_CHECK(*(const bool *)field == e.bools[spec], "%s: %d",
					   flag_specs[spec].flag, *(const bool *)field);
		}
		FUZZ_CHECK(args.runtime_arg_count == e.runtime_arg_count, "%zu runtime args, given %zu",
			   args.runtime_arg_count, e.runtime_arg_count);
		for (size_t i = 0; i < e.runtime_arg_count; i++)
			FUZZ_CHECK(strcmp(args.runtime_args[i], e.runtime_args[i]) == 0,
				   "runtime arg %zu: \"%s\", expected \"%s\"", i, args.runtime_args[i],
				   e.runtime_args[i]);
		FUZZ_CHECK(args.log_format == e.format && args.log_level == e.level &&
				   args.log_size_max == e.size_max && args.runtime_timeout == e.timeout &&
				   args.sync_fd == e.sync_fd,
			   "format %d level %d size %llu timeout %u sync fd %d; expected %d %d %llu %u %d",
			   (int)args.log_format, (int)args.log_level, args.log_size_max,
			   args.runtime_timeout, args.sync_fd, (int)e.format, (int)e.level, e.size_max,
			   e.timeout, e.sync_fd);
	}
	args_free(&args);
	for (size_t i = 0; i < e.runtime_arg_count; i++)
		free((char *)e.runtime_args[i]);
	vector_free(&v);
}

/* ---- any command line ---- */

/* The input split on NUL bytes into arguments: whatever a manager or a
 * person could type. */
static void check_raw(const uint8_t *data, size_t size, char *error)
{
	struct arg_vector v = { 0 };
	struct shim_args args;
	size_t start = 0;

	vector_add(&v, copy_arg("shim", 4));
	for (size_t i = 0; size > 0 && i <= size; i++) {
		if (i == size || data[i] == '\0') {
			vector_add(&v, copy_arg(data + start, i - start));
			start = i + 1;
		}
	}
	parse_checked(&v, &args, error);
	args_free(&args);
	vector_free(&v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *error = malloc(ERROR_LEN); /* exactly, so ASan sees a write past it */

	FUZZ_CHECK(error != NULL, "out of memory");
	/* A first byte 0x01 (no flag begins so) asks for a built line. */
	if (size > 0 && data[0] == 0x01)
		check_built(&(struct fuzz_bytes){ data + 1, size - 1 }, error);
	else
		check_raw(data, size, error);
	free(error);
	return 0;
}
