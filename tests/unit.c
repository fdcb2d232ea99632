/* tests/unit.c: Check unit tests for the shim's pure logic: the flags
 * (step 1), the sync-pipe reports and the exit file (steps 3 and 4), the
 * log framing (step 5) and the helpers in util.c they all share.
 *
 * Check forks every test, so a test may change its umask, environment or
 * signal dispositions freely. Each test gets a fresh directory, test_dir,
 * under one root that main removes at the end, whatever failed. The
 * expectations are exact bytes: a record, a JSON message or an error line
 * either matches to the byte or the test fails. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "io.h"
#include "log.h"
#include "runtime.h"
#include "util.h"

Suite *conmon_suite(void);
Suite *ttrpc_suite(void);

/* Every test gets this long before Check gives up on it. */
#define TEST_TIMEOUT_SECONDS 60

static char test_root[PATH_MAX]; /* made by main, removed by main */
static char test_dir[PATH_MAX];  /* made fresh for each test */

/* ---- helpers shared by the suites ---- */

/* Checked fixture: runs in the forked child before each test. */
static void make_test_dir(void)
{
	int len = snprintf(test_dir, sizeof(test_dir), "%s/test.XXXXXX", test_root);

	ck_assert_int_lt(len, (int)sizeof(test_dir));
	ck_assert_msg(mkdtemp(test_dir) != NULL, "mkdtemp %s: %s", test_dir, strerror(errno));
}

/* name inside test_dir, in one of a few rotating buffers so that a test
 * can hold several paths at once without freeing them. */
static const char *test_path(const char *name)
{
	static char paths[8][PATH_MAX];
	static unsigned next;
	char *path = paths[next++ % 8];
	int len = snprintf(path, PATH_MAX, "%s/%s", test_dir, name);

	ck_assert_int_lt(len, PATH_MAX);
	return path;
}

/* The whole file, malloc'd, with a NUL after it; *len gets its size. */
static char *read_file_bytes(const char *path, size_t *len)
{
	FILE *file = fopen(path, "re");
	char *data;
	long size;

	ck_assert_msg(file != NULL, "open %s: %s", path, strerror(errno));
	ck_assert_int_eq(fseek(file, 0, SEEK_END), 0);
	size = ftell(file);
	ck_assert_int_ge(size, 0);
	rewind(file);
	data = malloc((size_t)size + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)size, file), (size_t)size);
	data[size] = '\0';
	fclose(file);
	*len = (size_t)size;
	return data;
}

/* A text file as a malloc'd string; fails the test if it holds a NUL. */
static char *read_file_text(const char *path)
{
	size_t len;
	char *text = read_file_bytes(path, &len);

	ck_assert_uint_eq(strlen(text), len);
	return text;
}

static void write_file_text(const char *path, const char *text)
{
	FILE *file = fopen(path, "we");

	ck_assert_msg(file != NULL, "open %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(text, 1, strlen(text), file), strlen(text));
	ck_assert_int_eq(fclose(file), 0);
}

static int count_dir_entries(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *entry;
	int count = 0;

	ck_assert_msg(dir != NULL, "opendir %s: %s", path, strerror(errno));
	while ((entry = readdir(dir)) != NULL)
		if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
			count++;
	closedir(dir);
	return count;
}

/* ck_assert_str_eq for texts of megabytes: instead of printing both, name
 * the first byte that differs and show a little of each side from there. */
#define assert_long_text_eq(actual, expected) assert_long_text_eq_at(actual, expected, __LINE__)
static void assert_long_text_eq_at(const char *actual, const char *expected, int line)
{
	size_t at = 0;

	while (actual[at] != '\0' && actual[at] == expected[at])
		at++;
	if (actual[at] == expected[at])
		return;
	ck_abort_msg("line %d: texts differ at byte %zu (lengths %zu, expected %zu): "
		     "got \"%.40s\", expected \"%.40s\"",
		     line, at, strlen(actual), strlen(expected), actual + at, expected + at);
}

/* ---- 1. args_parse ---- */

static char bundle_dir[PATH_MAX]; /* test_dir/bundle, holding a config.json */

/* Checked fixture for the args tests, after make_test_dir. */
static void make_bundle(void)
{
	int len = snprintf(bundle_dir, sizeof(bundle_dir), "%s/bundle", test_dir);

	ck_assert_int_lt(len, (int)sizeof(bundle_dir));
	ck_assert_int_eq(mkdir(bundle_dir, 0700), 0);
	write_file_text(test_path("bundle/config.json"), "{}\n");
}

/* One call of args_parse. argv holds copies: getopt_long permutes argv and
 * strip_quotes edits it in place, and the parsed args point into it, so
 * the copies live until parse_run_free. */
struct parse_run {
	int argc;
	char *argv[64];
	struct shim_args args;
	char error[256];
};

static const struct {
	const char *flag;
	const char *value; /* NULL: bundle_dir */
} required_flags[] = {
	{ "--bundle", NULL },
	{ "--container-id", "ctr" },
	{ "--container-pidfile", "/run/ctr/pid" },
	{ "--container-logfile", "/run/ctr/log" },
	{ "--container-exitfile", "/run/ctr/exit" },
};
#define REQUIRED_FLAG_COUNT (int)(sizeof(required_flags) / sizeof(required_flags[0]))

static void push_arg(struct parse_run *run, const char *arg)
{
	ck_assert_int_lt(run->argc, 62);
	run->argv[run->argc] = strdup(arg);
	ck_assert_ptr_nonnull(run->argv[run->argc]);
	run->argc++;
	run->argv[run->argc] = NULL;
}

static void push_args_v(struct parse_run *run, va_list ap)
{
	const char *arg;

	while ((arg = va_arg(ap, const char *)) != NULL)
		push_arg(run, arg);
}

/* The required flags as `--flag value`, all but `omitted` (NULL: all). */
static void push_required_flags_except(struct parse_run *run, const char *omitted)
{
	for (int i = 0; i < REQUIRED_FLAG_COUNT; i++) {
		if (omitted && strcmp(required_flags[i].flag, omitted) == 0)
			continue;
		push_arg(run, required_flags[i].flag);
		push_arg(run, required_flags[i].value ? required_flags[i].value : bundle_dir);
	}
}

static enum args_result finish_parse(struct parse_run *run)
{
	run->error[0] = '\0';
	return args_parse(&run->args, run->argc, run->argv, run->error, sizeof(run->error));
}

/* `shim FLAGS...`, exactly the flags given (NULL-terminated). */
__attribute__((sentinel)) static enum args_result parse_flags(struct parse_run *run, ...)
{
	va_list ap;

	push_arg(run, "shim");
	va_start(ap, run);
	push_args_v(run, ap);
	va_end(ap);
	return finish_parse(run);
}

/* `shim REQUIRED-FLAGS FLAGS...`: the five required flags (the bundle
 * being bundle_dir), then the flags given (NULL-terminated). */
__attribute__((sentinel)) static enum args_result parse_with_required(struct parse_run *run, ...)
{
	va_list ap;

	push_arg(run, "shim");
	push_required_flags_except(run, NULL);
	va_start(ap, run);
	push_args_v(run, ap);
	va_end(ap);
	return finish_parse(run);
}

static void parse_run_free(struct parse_run *run)
{
	args_free(&run->args);
	for (int i = 0; i < run->argc; i++)
		free(run->argv[i]);
	*run = (struct parse_run){ 0 };
}

/* The result of parsing every flag with the values the two tests below
 * give them, in whichever form. */
static void assert_every_flag_parsed(const struct shim_args *args, int sync_fd)
{
	ck_assert_str_eq(args->shim_pidfile, "/run/shim.pid");
	ck_assert_str_eq(args->shim_logfile, "/run/shim.log");
	ck_assert_int_eq(args->log_level, DIAG_DEBUG);
	ck_assert_str_eq(args->runtime, "/usr/bin/crun");
	ck_assert_uint_eq(args->runtime_arg_count, 2);
	ck_assert_str_eq(args->runtime_args[0], "--debug");
	ck_assert_str_eq(args->runtime_args[1], "--root=/run/x");
	ck_assert_ptr_null(args->runtime_args[2]);
	ck_assert_str_eq(args->bundle, bundle_dir);
	ck_assert_str_eq(args->container_id, "ctr");
	ck_assert_str_eq(args->container_pidfile, "/run/ctr/pid");
	ck_assert_str_eq(args->container_logfile, "/run/ctr/log");
	ck_assert_str_eq(args->container_exitfile, "/run/ctr/exit");
	ck_assert_str_eq(args->container_attachfile, "/run/ctr/attach");
	ck_assert(args->attach_seqpacket);
	ck_assert_int_eq(args->log_format, LOG_FORMAT_K8S_FILE);
	ck_assert_uint_eq(args->log_size_max, 1048576);
	ck_assert(args->stdin_enabled);
	ck_assert(args->stdin_once);
	ck_assert(args->terminal);
	ck_assert_str_eq(args->container_ctlfile, "/run/ctr/ctl");
	ck_assert_int_eq(args->sync_fd, sync_fd);
}

static void open_pipe(int fds[2])
{
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
}

START_TEST(test_every_flag_as_separate_value)
{
	struct parse_run run = { 0 };
	char sync_fd_text[16];
	int fds[2];

	unsetenv("_OCI_SYNCPIPE");
	open_pipe(fds);
	snprintf(sync_fd_text, sizeof(sync_fd_text), "%d", fds[1]);
	ck_assert_int_eq(parse_flags(&run, "--shimmy-pidfile", "/run/shim.pid", "--shim-logfile",
				     "/run/shim.log", "--shimmy-log-level", "debug", "--runtime",
				     "/usr/bin/crun", "--runtime-arg", "--debug", "--runtime-arg",
				     "'--root=/run/x'", "--bundle", bundle_dir, "--container-id", "ctr",
				     "--container-pidfile", "/run/ctr/pid", "--container-logfile",
				     "/run/ctr/log", "--container-exitfile", "/run/ctr/exit",
				     "--container-attachfile", "/run/ctr/attach", "--attach-seqpacket",
				     "--container-log-format", "k8s-file", "--log-size-max", "1048576",
				     "--stdin", "--stdin-once", "--terminal", "--container-ctlfile",
				     "/run/ctr/ctl", "--syncpipe-fd", sync_fd_text, NULL),
			 ARGS_RUN);
	ck_assert_str_eq(run.error, "");
	assert_every_flag_parsed(&run.args, fds[1]);
	parse_run_free(&run);
}
END_TEST

START_TEST(test_every_flag_with_equals_sign)
{
	struct parse_run run = { 0 };
	char bundle_flag[PATH_MAX + 16], sync_fd_flag[32];
	int fds[2];

	unsetenv("_OCI_SYNCPIPE");
	open_pipe(fds);
	snprintf(bundle_flag, sizeof(bundle_flag), "--bundle=%s", bundle_dir);
	snprintf(sync_fd_flag, sizeof(sync_fd_flag), "--syncpipe-fd=%d", fds[1]);
	ck_assert_int_eq(parse_flags(&run, "--shimmy-pidfile=/run/shim.pid",
				     "--shim-logfile=/run/shim.log", "--shimmy-log-level=debug",
				     "--runtime=/usr/bin/crun", "--runtime-arg=--debug",
				     "--runtime-arg='--root=/run/x'", bundle_flag, "--container-id=ctr",
				     "--container-pidfile=/run/ctr/pid",
				     "--container-logfile=/run/ctr/log",
				     "--container-exitfile=/run/ctr/exit",
				     "--container-attachfile=/run/ctr/attach", "--attach-seqpacket",
				     "--container-log-format=k8s-file", "--log-size-max=1048576",
				     "--stdin", "--stdin-once", "--terminal",
				     "--container-ctlfile=/run/ctr/ctl", sync_fd_flag, NULL),
			 ARGS_RUN);
	ck_assert_str_eq(run.error, "");
	assert_every_flag_parsed(&run.args, fds[1]);
	parse_run_free(&run);
}
END_TEST

START_TEST(test_defaults)
{
	struct parse_run run = { 0 };

	unsetenv("_OCI_SYNCPIPE");
	ck_assert_int_eq(parse_with_required(&run, NULL), ARGS_RUN);
	ck_assert_str_eq(run.args.runtime, "runc");
	ck_assert_int_eq(run.args.log_level, DIAG_INFO);
	ck_assert_int_eq(run.args.log_format, LOG_FORMAT_SHIMMY);
	ck_assert_int_eq(run.args.sync_fd, -1);
	ck_assert_uint_eq(run.args.log_size_max, 0);
	ck_assert(!run.args.stdin_enabled);
	ck_assert(!run.args.stdin_once);
	ck_assert(!run.args.terminal);
	ck_assert(!run.args.attach_seqpacket);
	ck_assert_ptr_null(run.args.container_ctlfile);
	ck_assert_uint_eq(run.args.runtime_arg_count, 0);
	ck_assert_ptr_nonnull(run.args.runtime_args);
	ck_assert_ptr_null(run.args.runtime_args[0]);
	ck_assert_ptr_null(run.args.shim_pidfile);
	ck_assert_ptr_null(run.args.shim_logfile);
	ck_assert_ptr_null(run.args.container_attachfile);
	parse_run_free(&run);
}
END_TEST

START_TEST(test_runtime_args_keep_their_order)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "--runtime-arg", "--root=/a", "--runtime-arg=b",
					     "--stdin", "--runtime-arg", "c", "--runtime-arg", "a",
					     NULL),
			 ARGS_RUN);
	ck_assert_uint_eq(run.args.runtime_arg_count, 4);
	ck_assert_str_eq(run.args.runtime_args[0], "--root=/a");
	ck_assert_str_eq(run.args.runtime_args[1], "b");
	ck_assert_str_eq(run.args.runtime_args[2], "c");
	ck_assert_str_eq(run.args.runtime_args[3], "a");
	ck_assert_ptr_null(run.args.runtime_args[4]);
	parse_run_free(&run);
}
END_TEST

/* conman quotes runtime args; exactly one surrounding pair comes off. */
START_TEST(test_runtime_arg_quote_stripping)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "--runtime-arg", "'--root=/run/x'",
					     "--runtime-arg", "''x''", "--runtime-arg", "'",
					     "--runtime-arg", "'abc", "--runtime-arg", "abc'",
					     "--runtime-arg", "''", "--runtime-arg", "a'b'c", NULL),
			 ARGS_RUN);
	ck_assert_uint_eq(run.args.runtime_arg_count, 7);
	ck_assert_str_eq(run.args.runtime_args[0], "--root=/run/x");
	ck_assert_str_eq(run.args.runtime_args[1], "'x'");
	ck_assert_str_eq(run.args.runtime_args[2], "'");
	ck_assert_str_eq(run.args.runtime_args[3], "'abc");
	ck_assert_str_eq(run.args.runtime_args[4], "abc'");
	ck_assert_str_eq(run.args.runtime_args[5], "");
	ck_assert_str_eq(run.args.runtime_args[6], "a'b'c");
	parse_run_free(&run);
}
END_TEST

/* A loop test: _i is the index of the required flag left out. */
START_TEST(test_each_required_flag_is_required)
{
	struct parse_run run = { 0 };
	char expected[128];

	push_arg(&run, "shim");
	push_required_flags_except(&run, required_flags[_i].flag);
	ck_assert_int_eq(finish_parse(&run), ARGS_USAGE_ERROR);
	snprintf(expected, sizeof(expected), "%s is required; see shim --help",
		 required_flags[_i].flag);
	ck_assert_str_eq(run.error, expected);
	parse_run_free(&run);
}
END_TEST

START_TEST(test_unknown_flag_is_named)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "--bogus", NULL), ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error, "unknown flag --bogus; see shim --help");
	parse_run_free(&run);

	ck_assert_int_eq(parse_with_required(&run, "--bogus=1", NULL), ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error, "unknown flag --bogus=1; see shim --help");
	parse_run_free(&run);

	ck_assert_int_eq(parse_with_required(&run, "-x", NULL), ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error, "unknown flag -x; see shim --help");
	parse_run_free(&run);
}
END_TEST

/* A long flag typed with one dash is the likeliest typo of all. getopt
 * reads "-bundle" as the short options b, u, n, ... and does not advance
 * optind past it after the first, so the message must not take the flag
 * from argv[optind - 1]. */
START_TEST(test_single_dash_long_flag_is_named)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_flags(&run, "-bundle", bundle_dir, NULL), ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error, "unknown flag -bundle; see shim --help");
	parse_run_free(&run);
}
END_TEST

START_TEST(test_flag_missing_its_value_is_named)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "--runtime", NULL), ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error, "--runtime needs a value; see shim --help");
	parse_run_free(&run);

	ck_assert_int_eq(parse_flags(&run, "--stdin", "--container-exitfile", NULL),
			 ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error, "--container-exitfile needs a value; see shim --help");
	parse_run_free(&run);
}
END_TEST

START_TEST(test_stray_argument_is_named)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "extra", NULL), ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error,
			 "unexpected argument extra; every value follows its flag, see shim --help");
	parse_run_free(&run);
}
END_TEST

START_TEST(test_bad_log_level)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "--shimmy-log-level", "WARNING", NULL),
			 ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error, "--shimmy-log-level WARNING: unknown level; "
				    "use TRACE, DEBUG, INFO, WARN or ERROR");
	parse_run_free(&run);
}
END_TEST

START_TEST(test_bad_log_format)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "--container-log-format=json-file", NULL),
			 ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error,
			 "--container-log-format json-file: unknown format; use shimmy or k8s-file");
	parse_run_free(&run);
}
END_TEST

START_TEST(test_bad_log_size_max)
{
	static const char *const bad[] = { "4095", "1k", "-4096", "", "99999999999999999999999",
					   " -1", " 8192", "+8192" };
	struct parse_run run = { 0 };
	char expected[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse_with_required(&run, "--log-size-max", bad[i], NULL),
				 ARGS_USAGE_ERROR);
		snprintf(expected, sizeof(expected),
			 "--log-size-max %s: give a number of bytes, at least 4096", bad[i]);
		ck_assert_str_eq(run.error, expected);
		parse_run_free(&run);
	}
	ck_assert_int_eq(parse_with_required(&run, "--log-size-max", "4096", NULL), ARGS_RUN);
	ck_assert_uint_eq(run.args.log_size_max, 4096);
	parse_run_free(&run);
}
END_TEST

/* A usage error quoting the caller's text stays one line: control
 * characters in it are escaped. */
START_TEST(test_usage_error_escapes_what_it_quotes)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "--container-log-format", "xml\n\x1b[2J", NULL),
			 ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error,
			 "--container-log-format xml\\n\\x1b[2J: unknown format; use shimmy or k8s-file");
	parse_run_free(&run);
}
END_TEST

/* conman sends --stdin-once without --stdin: there is nothing to close. */
START_TEST(test_stdin_once_without_stdin_accepted)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "--stdin-once", NULL), ARGS_RUN);
	ck_assert(run.args.stdin_once);
	ck_assert(!run.args.stdin_enabled);
	parse_run_free(&run);
}
END_TEST

START_TEST(test_empty_runtime_rejected)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "--runtime=", NULL), ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error, "--runtime is empty; give a path or a name in PATH");
	parse_run_free(&run);
}
END_TEST

/* The bundle is runc's to judge (conman's own test passes a missing one
 * and expects runc's error in the report): not even looked at. */
/* --exec-process: runc exec needs no bundle; the go and ready fds must
 * be open, and each is kept. */
START_TEST(test_exec_process_flags)
{
	struct parse_run run = { 0 };
	int go[2], ready[2];
	char go_text[16], ready_text[16];

	open_pipe(go);
	open_pipe(ready);
	snprintf(go_text, sizeof(go_text), "%d", go[0]);
	snprintf(ready_text, sizeof(ready_text), "%d", ready[1]);
	ck_assert_int_eq(parse_flags(&run, "--exec-process", "/s/process.json", "--container-id", "ctr",
				     "--container-pidfile", "/p", "--container-logfile", "/l",
				     "--container-exitfile", "/e", "--start-fd", go_text, "--ready-fd",
				     ready_text, NULL),
			 ARGS_RUN);
	ck_assert_str_eq(run.args.exec_process_spec, "/s/process.json");
	ck_assert_ptr_null(run.args.bundle);
	ck_assert_int_eq(run.args.go_fd, go[0]);
	ck_assert_int_eq(run.args.ready_fd, ready[1]);
	parse_run_free(&run);
	/* Without --exec-process the bundle is required, as ever. */
	ck_assert_int_eq(parse_flags(&run, "--container-id", "ctr", "--container-pidfile", "/p",
				     "--container-logfile", "/l", "--container-exitfile", "/e", NULL),
			 ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error, "--bundle is required; see shim --help");
	parse_run_free(&run);
	close(go[1]);
	close(go[0]);
	ck_assert_int_eq(parse_with_required(&run, "--start-fd", go_text, NULL), ARGS_USAGE_ERROR);
	ck_assert_msg(strncmp(run.error, "--start-fd ", 11) == 0 &&
			      strstr(run.error, ": not an open file descriptor (Bad file descriptor)"),
		      "error: %s", run.error);
	parse_run_free(&run);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

START_TEST(test_bundle_not_checked)
{
	static const char *const bundles[] = { "/not/used/folder", "relative/missing", "" };
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_with_required(&run, "--bundle", bundles[0], NULL), ARGS_RUN);
	ck_assert_str_eq(run.args.bundle, bundles[0]);
	parse_run_free(&run);
	ck_assert_int_eq(parse_with_required(&run, "--bundle", bundles[1], NULL), ARGS_RUN);
	parse_run_free(&run);
	/* Empty is still a missing required flag. */
	ck_assert_int_eq(parse_with_required(&run, "--bundle", bundles[2], NULL), ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error, "--bundle is required; see shim --help");
	parse_run_free(&run);
}
END_TEST

/* An ID runc would read as a flag is refused; the rest is runc's. */
START_TEST(test_container_id_starting_with_dash)
{
	static const char *const refused[] = { "-h", "--help", "-", "--root=/tmp" };
	static const char *const passed[] = { "a-b", "<not-used-id>", "x--", "_1" };
	struct parse_run run = { 0 };
	char expected[128];

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ck_assert_int_eq(parse_with_required(&run, "--container-id", refused[i], NULL),
				 ARGS_USAGE_ERROR);
		snprintf(expected, sizeof(expected),
			 "--container-id %s: an ID may not begin with '-' (the runtime would take it for a flag)",
			 refused[i]);
		ck_assert_str_eq(run.error, expected);
		parse_run_free(&run);
	}
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		ck_assert_int_eq(parse_with_required(&run, "--container-id", passed[i], NULL), ARGS_RUN);
		ck_assert_str_eq(run.args.container_id, passed[i]);
		parse_run_free(&run);
	}
}
END_TEST

START_TEST(test_runtime_timeout)
{
	static const char *const bad[] = { "0", "-1", " 5", "5s", "86401", "", "1.5" };
	struct parse_run run = { 0 };
	char expected[128];

	ck_assert_int_eq(parse_with_required(&run, NULL), ARGS_RUN);
	ck_assert_uint_eq(run.args.runtime_timeout, 0);
	parse_run_free(&run);
	ck_assert_int_eq(parse_with_required(&run, "--runtime-timeout", "30", NULL), ARGS_RUN);
	ck_assert_uint_eq(run.args.runtime_timeout, 30);
	parse_run_free(&run);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse_with_required(&run, "--runtime-timeout", bad[i], NULL),
				 ARGS_USAGE_ERROR);
		snprintf(expected, sizeof(expected),
			 "--runtime-timeout %s: give a whole number of seconds, 1 to 86400", bad[i]);
		ck_assert_str_eq(run.error, expected);
		parse_run_free(&run);
	}
}
END_TEST

START_TEST(test_syncpipe_fd_not_a_number)
{
	static const char *const bad[] = { "abc", "12abc", "-1", "99999999999" };
	struct parse_run run = { 0 };
	char expected[128];

	unsetenv("_OCI_SYNCPIPE");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse_with_required(&run, "--syncpipe-fd", bad[i], NULL),
				 ARGS_USAGE_ERROR);
		snprintf(expected, sizeof(expected),
			 "--syncpipe-fd %s: not an open file descriptor (Invalid argument)", bad[i]);
		ck_assert_str_eq(run.error, expected);
		parse_run_free(&run);
	}
}
END_TEST

START_TEST(test_syncpipe_fd_closed)
{
	struct parse_run run = { 0 };
	char fd_text[16], expected[128];
	int fds[2];

	open_pipe(fds);
	close(fds[0]);
	close(fds[1]);
	snprintf(fd_text, sizeof(fd_text), "%d", fds[1]);
	ck_assert_int_eq(parse_with_required(&run, "--syncpipe-fd", fd_text, NULL),
			 ARGS_USAGE_ERROR);
	snprintf(expected, sizeof(expected),
		 "--syncpipe-fd %s: not an open file descriptor (Bad file descriptor)", fd_text);
	ck_assert_str_eq(run.error, expected);
	parse_run_free(&run);
}
END_TEST

START_TEST(test_syncpipe_fd_open)
{
	struct parse_run run = { 0 };
	char fd_text[16];
	int fds[2];

	unsetenv("_OCI_SYNCPIPE");
	open_pipe(fds);
	snprintf(fd_text, sizeof(fd_text), "%d", fds[1]);
	ck_assert_int_eq(parse_with_required(&run, "--syncpipe-fd", fd_text, NULL), ARGS_RUN);
	ck_assert_int_eq(run.args.sync_fd, fds[1]);
	parse_run_free(&run);
}
END_TEST

START_TEST(test_syncpipe_from_environment)
{
	struct parse_run run = { 0 };
	char fd_text[16];
	int fds[2];

	open_pipe(fds);
	snprintf(fd_text, sizeof(fd_text), "%d", fds[0]);
	ck_assert_int_eq(setenv("_OCI_SYNCPIPE", fd_text, 1), 0);
	ck_assert_int_eq(parse_with_required(&run, NULL), ARGS_RUN);
	ck_assert_int_eq(run.args.sync_fd, fds[0]);
	parse_run_free(&run);

	/* A bad value in the environment is reported under its own name. */
	ck_assert_int_eq(setenv("_OCI_SYNCPIPE", "nope", 1), 0);
	ck_assert_int_eq(parse_with_required(&run, NULL), ARGS_USAGE_ERROR);
	ck_assert_str_eq(run.error,
			 "_OCI_SYNCPIPE nope: not an open file descriptor (Invalid argument)");
	parse_run_free(&run);
}
END_TEST

START_TEST(test_syncpipe_flag_wins_over_environment)
{
	struct parse_run run = { 0 };
	char env_fd_text[16], flag_fd_text[16];
	int fds[2];

	open_pipe(fds);
	snprintf(env_fd_text, sizeof(env_fd_text), "%d", fds[0]);
	snprintf(flag_fd_text, sizeof(flag_fd_text), "%d", fds[1]);
	ck_assert_int_eq(setenv("_OCI_SYNCPIPE", env_fd_text, 1), 0);
	ck_assert_int_eq(parse_with_required(&run, "--syncpipe-fd", flag_fd_text, NULL), ARGS_RUN);
	ck_assert_int_eq(run.args.sync_fd, fds[1]);
	parse_run_free(&run);

	/* The environment is not even looked at when the flag is given. */
	ck_assert_int_eq(setenv("_OCI_SYNCPIPE", "nope", 1), 0);
	ck_assert_int_eq(parse_with_required(&run, "--syncpipe-fd", flag_fd_text, NULL), ARGS_RUN);
	ck_assert_int_eq(run.args.sync_fd, fds[1]);
	parse_run_free(&run);
}
END_TEST

START_TEST(test_help_and_version)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_flags(&run, "--help", NULL), ARGS_HELP);
	parse_run_free(&run);
	ck_assert_int_eq(parse_flags(&run, "--version", NULL), ARGS_VERSION);
	parse_run_free(&run);
	ck_assert_int_eq(parse_with_required(&run, "--help", NULL), ARGS_HELP);
	parse_run_free(&run);
}
END_TEST

/* args_parse resets getopt, so a second call parses from the start even
 * after the first stopped half-way: after --help, or inside "-xy", where
 * getopt keeps a pointer into the old (now freed) argv. */
START_TEST(test_parse_twice)
{
	struct parse_run run = { 0 };

	ck_assert_int_eq(parse_flags(&run, "--stdin", "--help", "--bogus", NULL), ARGS_HELP);
	parse_run_free(&run);
	ck_assert_int_eq(parse_flags(&run, "--runtime", NULL), ARGS_USAGE_ERROR);
	parse_run_free(&run);
	ck_assert_int_eq(parse_flags(&run, "-xy", NULL), ARGS_USAGE_ERROR);
	parse_run_free(&run);
	ck_assert_int_eq(parse_with_required(&run, "--runtime", "crun", NULL), ARGS_RUN);
	ck_assert_str_eq(run.args.runtime, "crun");
	ck_assert_str_eq(run.args.container_id, "ctr");
	ck_assert(!run.args.stdin_enabled);
	parse_run_free(&run);
}
END_TEST

/* ---- 2. json_escape ---- */

#define REPLACEMENT "\\ufffd" /* U+FFFD as json_escape writes it */

/* json_escape from a copy of src[0, len) with nothing after it, into a
 * buffer of exactly JSON_ESCAPED_MAX(len) bytes, so ASan catches a read
 * past len or a write past the documented bound; and check that the
 * returned length is the string's. Returns the malloc'd text. */
static char *escape(const char *src, size_t len)
{
	char *input = malloc(len > 0 ? len : 1), *out = malloc(JSON_ESCAPED_MAX(len));
	size_t out_len;

	ck_assert_ptr_nonnull(input);
	ck_assert_ptr_nonnull(out);
	memcpy(input, src, len);
	out_len = json_escape(out, input, len);
	free(input);
	ck_assert_uint_eq(out_len, strlen(out));
	return out;
}

/* literal may hold NULs: its length comes from sizeof, not strlen. */
#define assert_escapes_to(literal, expected)                                   \
	do {                                                                   \
		char *escaped_ = escape((literal), sizeof(literal) - 1);       \
		ck_assert_str_eq(escaped_, (expected));                        \
		free(escaped_);                                                \
	} while (0)

START_TEST(test_escape_plain_ascii)
{
	assert_escapes_to("", "");
	assert_escapes_to("runc create: ok / 100% {}[]", "runc create: ok / 100% {}[]");
}
END_TEST

START_TEST(test_escape_quote_and_backslash)
{
	assert_escapes_to("say \"hi\" \\ bye", "say \\\"hi\\\" \\\\ bye");
	assert_escapes_to("\\\"", "\\\\\\\"");
}
END_TEST

START_TEST(test_escape_short_control_escapes)
{
	assert_escapes_to("a\nb\rc\td\be\ff", "a\\nb\\rc\\td\\be\\ff");
}
END_TEST

START_TEST(test_escape_other_controls_as_u00xx)
{
	assert_escapes_to("\x01", "\\u0001");
	assert_escapes_to("\x1f", "\\u001f");
	assert_escapes_to("\x0b" "a\x1b" "[0m", "\\u000ba\\u001b[0m");
}
END_TEST

START_TEST(test_escape_nul)
{
	assert_escapes_to("a\0b", "a\\u0000b");
	assert_escapes_to("\0", "\\u0000");
}
END_TEST

START_TEST(test_escape_del_passes_through)
{
	assert_escapes_to("\x7f", "\x7f");
}
END_TEST

START_TEST(test_escape_valid_utf8_passes_through)
{
	assert_escapes_to("é", "é");                 /* 2 bytes */
	assert_escapes_to("€", "€");                 /* 3 bytes */
	assert_escapes_to("😀", "😀");               /* 4 bytes */
	assert_escapes_to("café € 😀!", "café € 😀!");
	/* The edges of the valid ranges. */
	assert_escapes_to("\xc2\x80", "\xc2\x80");         /* U+0080 */
	assert_escapes_to("\xed\x9f\xbf", "\xed\x9f\xbf"); /* U+D7FF, below the surrogates */
	assert_escapes_to("\xee\x80\x80", "\xee\x80\x80"); /* U+E000, above them */
	assert_escapes_to("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
}
END_TEST

/* Every byte that does not start a valid sequence becomes one U+FFFD and
 * the scan resumes at the next byte, so a bad sequence of n bytes whose
 * tail bytes are continuation bytes gives n replacements. */
START_TEST(test_escape_invalid_utf8_replaced)
{
	assert_escapes_to("\xff", REPLACEMENT);
	assert_escapes_to("\x80", REPLACEMENT);                      /* lone continuation */
	assert_escapes_to("ab\xe2\x82", "ab" REPLACEMENT REPLACEMENT); /* truncated € at the end */
	assert_escapes_to("\xe2\x82" "z", REPLACEMENT REPLACEMENT "z"); /* truncated in the middle */
	assert_escapes_to("\xc0\xaf", REPLACEMENT REPLACEMENT);        /* overlong '/' */
	assert_escapes_to("\xe0\x80\xaf", REPLACEMENT REPLACEMENT REPLACEMENT); /* overlong, 3 */
	assert_escapes_to("\xed\xa0\x80", REPLACEMENT REPLACEMENT REPLACEMENT); /* U+D800 */
	assert_escapes_to("\xf4\x90\x80\x80",
			  REPLACEMENT REPLACEMENT REPLACEMENT REPLACEMENT); /* U+110000 */
	assert_escapes_to("\xff" "é\"", REPLACEMENT "é\\\"");   /* good bytes after a bad one */
}
END_TEST

/* The length ends the input: the bytes after it are not looked at, even
 * when they would complete a sequence. */
START_TEST(test_escape_stops_at_length)
{
	char *out = escape("\xe2\x82\xac", 2); /* € cut after two bytes */

	ck_assert_str_eq(out, REPLACEMENT REPLACEMENT);
	free(out);
	out = escape("ab\"cd", 2);
	ck_assert_str_eq(out, "ab");
	free(out);
}
END_TEST

START_TEST(test_escape_worst_case_fits_bound)
{
	enum { INPUT_LEN = 1000 };
	char input[INPUT_LEN];
	char *out;

	memset(input, 0x01, sizeof(input));
	out = escape(input, sizeof(input));
	ck_assert_uint_eq(strlen(out), 6 * INPUT_LEN);
	for (size_t i = 0; i < INPUT_LEN; i++)
		ck_assert_int_eq(memcmp(out + 6 * i, "\\u0001", 6), 0);
	free(out);

	memset(input, 0xff, sizeof(input));
	out = escape(input, sizeof(input));
	ck_assert_uint_eq(strlen(out), 6 * INPUT_LEN);
	free(out);
}
END_TEST

/* ---- 3. format_rfc3339 ---- */

/* date -u -d @1795321781 +%Y-%m-%dT%H:%M:%S */
#define FIXED_TIME_TEXT "2026-11-22T04:29:41.473641854Z"
static const struct timespec fixed_time = { .tv_sec = 1795321781, .tv_nsec = 473641854 };

#define assert_rfc3339(sec, nsec, expected)                                    \
	do {                                                                   \
		struct timespec ts_ = { .tv_sec = (sec), .tv_nsec = (nsec) };  \
		char text_[RFC3339_LEN + 1];                                   \
		memset(text_, 'x', sizeof(text_));                             \
		format_rfc3339(text_, &ts_);                                   \
		ck_assert_str_eq(text_, (expected));                           \
		ck_assert_uint_eq(strlen(text_), RFC3339_LEN);                 \
	} while (0)

START_TEST(test_rfc3339_fixed_time)
{
	assert_rfc3339(1795321781, 473641854, FIXED_TIME_TEXT);
}
END_TEST

START_TEST(test_rfc3339_nanoseconds_zero_padded)
{
	assert_rfc3339(1795321781, 5, "2026-11-22T04:29:41.000000005Z");
	assert_rfc3339(1795321781, 0, "2026-11-22T04:29:41.000000000Z");
	assert_rfc3339(1795321781, 999999999, "2026-11-22T04:29:41.999999999Z");
}
END_TEST

START_TEST(test_rfc3339_epoch_and_leap_day)
{
	assert_rfc3339(0, 0, "1970-01-01T00:00:00.000000000Z");
	assert_rfc3339(951782400, 10, "2000-02-29T00:00:00.000000010Z");
}
END_TEST

/* ---- 4. the sync-pipe reports and the exit file ---- */

/* Wait statuses as Linux encodes them, built without the W macros. */
#define EXITED_WITH(code) ((code) << 8)
#define KILLED_BY(signal) (signal)

/* Check a malloc'd JSON text from the code under test, then free it. */
#define assert_json_eq(json_expr, expected)                                    \
	do {                                                                   \
		char *json_ = (json_expr);                                     \
		ck_assert_ptr_nonnull(json_);                                  \
		ck_assert_str_eq(json_, (expected));                           \
		free(json_);                                                   \
	} while (0)

START_TEST(test_report_container_pid)
{
	assert_json_eq(report_container_pid(1234), "{\"kind\":\"container_pid\",\"pid\":1234}");
}
END_TEST

START_TEST(test_report_runtime_exited)
{
	const char message[] = "container_linux.go: \"exec\" failed\n\xff";

	assert_json_eq(report_runtime_failure(EXITED_WITH(3), false, 0, message, sizeof(message) - 1),
		       "{\"kind\":\"runtime_abnormal_termination\","
		       "\"status\":\"Runtime Exited with code 3.\","
		       "\"stderr\":\"container_linux.go: \\\"exec\\\" failed\\n" REPLACEMENT "\"}");
}
END_TEST

START_TEST(test_report_runtime_signaled)
{
	assert_json_eq(report_runtime_failure(KILLED_BY(9), false, 0, "", 0),
		       "{\"kind\":\"runtime_abnormal_termination\","
		       "\"status\":\"Runtime Received signal 9.\",\"stderr\":\"\"}");
}
END_TEST

/* The length, not a NUL, ends runc's stderr. */
START_TEST(test_report_runtime_stderr_by_length)
{
	assert_json_eq(report_runtime_failure(EXITED_WITH(1), false, 0, "a\0b-not-this", 3),
		       "{\"kind\":\"runtime_abnormal_termination\","
		       "\"status\":\"Runtime Exited with code 1.\",\"stderr\":\"a\\u0000b\"}");
}
END_TEST

/* Killed by us after --runtime-timeout: the status says so, whatever the
 * wait status. */
START_TEST(test_report_runtime_timed_out)
{
	assert_json_eq(report_runtime_failure(KILLED_BY(9), true, 7, "slow\n", 5),
		       "{\"kind\":\"runtime_abnormal_termination\","
		       "\"status\":\"Runtime timed out after 7 s.\",\"stderr\":\"slow\\n\"}");
}
END_TEST

START_TEST(test_report_shim_error)
{
	assert_json_eq(report_shim_error("open \"/run/x\": No such file\tor directory\n"),
		       "{\"kind\":\"shim_error\","
		       "\"message\":\"open \\\"/run/x\\\": No such file\\tor directory\\n\"}");
}
END_TEST

START_TEST(test_exit_file_exited)
{
	assert_json_eq(format_exit_file(EXITED_WITH(7), &fixed_time, false, 0),
		       "{\"at\":\"" FIXED_TIME_TEXT "\",\"reason\":\"exited\",\"exitCode\":7}");
	assert_json_eq(format_exit_file(EXITED_WITH(0), &fixed_time, false, 0),
		       "{\"at\":\"" FIXED_TIME_TEXT "\",\"reason\":\"exited\",\"exitCode\":0}");
	assert_json_eq(format_exit_file(EXITED_WITH(255), &fixed_time, false, 0),
		       "{\"at\":\"" FIXED_TIME_TEXT "\",\"reason\":\"exited\",\"exitCode\":255}");
}
END_TEST

START_TEST(test_exit_file_signaled)
{
	assert_json_eq(format_exit_file(KILLED_BY(9), &fixed_time, false, 0),
		       "{\"at\":\"" FIXED_TIME_TEXT "\",\"reason\":\"signaled\",\"signal\":9}");
	/* With the core-dump bit set, still signal 11. */
	assert_json_eq(format_exit_file(KILLED_BY(11) | 0x80, &fixed_time, false, 0),
		       "{\"at\":\"" FIXED_TIME_TEXT "\",\"reason\":\"signaled\",\"signal\":11}");
}
END_TEST

/* The OOM killer struck in the container's cgroup: said only when so. */
START_TEST(test_exit_file_oom_killed)
{
	assert_json_eq(format_exit_file(KILLED_BY(9), &fixed_time, true, 0),
		       "{\"at\":\"" FIXED_TIME_TEXT "\",\"reason\":\"signaled\",\"signal\":9,"
		       "\"oomKilled\":true}");
	assert_json_eq(format_exit_file(EXITED_WITH(1), &fixed_time, true, 42),
		       "{\"at\":\"" FIXED_TIME_TEXT "\",\"reason\":\"exited\",\"exitCode\":1,"
		       "\"oomKilled\":true,\"logDroppedBytes\":42}");
}
END_TEST

/* --no-subreaper (lab 5): the shim saw the container go, not how. */
START_TEST(test_exit_file_lost)
{
	assert_json_eq(format_exit_file(EXIT_STATUS_LOST, &fixed_time, false, 0),
		       "{\"at\":\"" FIXED_TIME_TEXT "\",\"reason\":\"lost\"}");
}
END_TEST

/* Output lost to a full disk is told in the exit file too. */
START_TEST(test_exit_file_dropped_log_bytes)
{
	assert_json_eq(format_exit_file(EXITED_WITH(7), &fixed_time, false, 1234),
		       "{\"at\":\"" FIXED_TIME_TEXT "\",\"reason\":\"exited\",\"exitCode\":7,"
		       "\"logDroppedBytes\":1234}");
	assert_json_eq(format_exit_file(KILLED_BY(9), &fixed_time, false, 18446744073709551615ULL),
		       "{\"at\":\"" FIXED_TIME_TEXT "\",\"reason\":\"signaled\",\"signal\":9,"
		       "\"logDroppedBytes\":18446744073709551615}");
}
END_TEST

/* ---- 5. read_pid_file ---- */

START_TEST(test_pid_file_accepted)
{
	const char *path = test_path("pid");
	pid_t pid = -1;

	write_file_text(path, "1234");
	ck_assert_int_eq(read_pid_file(path, &pid), 0);
	ck_assert_int_eq(pid, 1234);

	pid = -1;
	write_file_text(path, "1234\n");
	ck_assert_int_eq(read_pid_file(path, &pid), 0);
	ck_assert_int_eq(pid, 1234);
}
END_TEST

START_TEST(test_pid_file_rejected)
{
	static const char *const bad[] = { "", "abc", "12x", "-5", "0", "\n", "12 34" };
	const char *path = test_path("pid");

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pid_t pid = -1;

		write_file_text(path, bad[i]);
		errno = 0;
		ck_assert_msg(read_pid_file(path, &pid) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_msg(errno == EINVAL, "\"%s\": errno %d, not EINVAL", bad[i], errno);
		ck_assert_msg(pid == -1, "\"%s\": pid set to %d", bad[i], (int)pid);
	}
}
END_TEST

START_TEST(test_pid_file_missing)
{
	pid_t pid = -1;

	errno = 0;
	ck_assert_int_eq(read_pid_file(test_path("no-such-pid"), &pid), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(pid, -1);
}
END_TEST

/* What a runtime does not write: refused at once, never waited on. */
START_TEST(test_pid_file_not_a_regular_file)
{
	pid_t pid = -1;

	write_file_text(test_path("real"), "42\n");
	ck_assert_int_eq(symlink(test_path("real"), test_path("link")), 0);
	ck_assert_int_eq(read_pid_file(test_path("link"), &pid), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(mkfifo(test_path("fifo"), 0600), 0);
	ck_assert_int_eq(read_pid_file(test_path("fifo"), &pid), -1); /* no writer: would block */
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(read_pid_file("/dev/null", &pid), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(pid, -1);
}
END_TEST

/* ---- 6. write_file_atomic ---- */

static void assert_file_is(const char *path, const void *data, size_t len, mode_t mode)
{
	struct stat st;
	size_t actual_len;
	char *actual = read_file_bytes(path, &actual_len);

	ck_assert_uint_eq(actual_len, len);
	ck_assert_mem_eq(actual, data, len);
	free(actual);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_msg((st.st_mode & 0777) == mode, "%s: mode %o, expected %o", path,
		      (unsigned)(st.st_mode & 0777), (unsigned)mode);
}

START_TEST(test_atomic_exact_bytes_and_mode)
{
	const char data[] = "{\"a\":1}\0tail\n";
	const char *path = test_path("exit");

	umask(0); /* so the mode asked for is the mode the file gets */
	ck_assert_int_eq(write_file_atomic(path, data, sizeof(data) - 1, 0640), 0);
	assert_file_is(path, data, sizeof(data) - 1, 0640);

	path = test_path("pid");
	ck_assert_int_eq(write_file_atomic(path, "1", 1, 0604), 0);
	assert_file_is(path, "1", 1, 0604);

	path = test_path("empty");
	ck_assert_int_eq(write_file_atomic(path, "", 0, 0600), 0);
	assert_file_is(path, "", 0, 0600);
}
END_TEST

START_TEST(test_atomic_replaces_existing_file)
{
	const char *path = test_path("exit");

	umask(0);
	ck_assert_int_eq(write_file_atomic(path, "a much longer old text", 22, 0666), 0);
	ck_assert_int_eq(write_file_atomic(path, "new", 3, 0644), 0);
	assert_file_is(path, "new", 3, 0644);
	ck_assert_int_eq(count_dir_entries(test_dir), 1);
}
END_TEST

START_TEST(test_atomic_leaves_no_tmp)
{
	const char *path = test_path("exit");

	umask(0);
	ck_assert_int_eq(write_file_atomic(path, "x", 1, 0644), 0);
	ck_assert_int_eq(access(test_path("exit.tmp"), F_OK), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(count_dir_entries(test_dir), 1);
}
END_TEST

/* A shim that died between open and rename left path.tmp behind. */
START_TEST(test_atomic_stale_tmp)
{
	const char *path = test_path("exit");

	umask(0);
	write_file_text(test_path("exit.tmp"), "stale half-written text");
	ck_assert_int_eq(chmod(test_path("exit.tmp"), 0600), 0);
	ck_assert_int_eq(write_file_atomic(path, "fresh", 5, 0644), 0);
	assert_file_is(path, "fresh", 5, 0644);
	ck_assert_int_eq(count_dir_entries(test_dir), 1);
}
END_TEST

START_TEST(test_atomic_missing_directory)
{
	errno = 0;
	ck_assert_int_eq(write_file_atomic(test_path("missing/exit"), "x", 1, 0644), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(count_dir_entries(test_dir), 0);
}
END_TEST

/* The exit file's temporary is made at once: a directory that cannot take
 * it, or a name too long for NAME.tmp, is found before the file is due. */
START_TEST(test_status_file_begun_early)
{
	char long_name[NAME_MAX + 1];
	struct status_file status;
	const char *path = test_path("exit");

	umask(0);
	ck_assert_int_eq(status_file_begin(&status, path, 0644), 0);
	/* Unnamed until commit: nothing in the directory to swap or remove. */
	ck_assert_int_eq(count_dir_entries(test_dir), 0);
	ck_assert_int_eq(status_file_commit(&status, "done", 4), 0);
	assert_file_is(path, "done", 4, 0644);
	ck_assert_int_eq(count_dir_entries(test_dir), 1);

	ck_assert_int_eq(status_file_begin(&status, test_path("missing/exit"), 0644), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* NAME fits, NAME.tmp does not. */
	memset(long_name, 'x', NAME_MAX - 2);
	long_name[NAME_MAX - 2] = '\0';
	ck_assert_int_eq(status_file_begin(&status, test_path(long_name), 0644), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	ck_assert_int_eq(mkdir(test_path("ro"), 0500), 0);
	if (geteuid() != 0) { /* root writes anywhere but on a read-only mount */
		ck_assert_int_eq(status_file_begin(&status, test_path("ro/exit"), 0644), -1);
		ck_assert_int_eq(errno, EACCES);
	}
	ck_assert_int_eq(count_dir_entries(test_dir), 2); /* exit, ro */
}
END_TEST

/* The directory is held: swapping it for a symlink later changes nothing. */
START_TEST(test_status_file_stays_in_its_directory)
{
	struct status_file status;

	ck_assert_int_eq(mkdir(test_path("dir"), 0700), 0);
	ck_assert_int_eq(mkdir(test_path("elsewhere"), 0700), 0);
	ck_assert_int_eq(status_file_begin(&status, test_path("dir/exit"), 0644), 0);
	ck_assert_int_eq(rename(test_path("dir"), test_path("moved")), 0);
	ck_assert_int_eq(symlink(test_path("elsewhere"), test_path("dir")), 0);
	ck_assert_int_eq(status_file_commit(&status, "x", 1), 0);
	ck_assert_int_eq(access(test_path("moved/exit"), F_OK), 0);
	ck_assert_int_eq(count_dir_entries(test_path("elsewhere")), 0);
}
END_TEST

/* A file planted at NAME.tmp, or at NAME, while the status file is open,
 * is replaced by the real content: it cannot forge the status. */
START_TEST(test_status_file_not_forged)
{
	struct status_file status;
	char *text;

	umask(0);
	ck_assert_int_eq(status_file_begin(&status, test_path("exit"), 0644), 0);
	write_file_text(test_path("exit.tmp"), "{\"exitCode\":99}");
	write_file_text(test_path("exit"), "{\"exitCode\":98}");
	ck_assert_int_eq(status_file_commit(&status, "{\"exitCode\":0}", 14), 0);
	text = read_file_text(test_path("exit"));
	ck_assert_str_eq(text, "{\"exitCode\":0}");
	free(text);
	ck_assert_int_eq(count_dir_entries(test_dir), 1);
}
END_TEST

START_TEST(test_status_file_abandoned)
{
	struct status_file status;

	ck_assert_int_eq(status_file_begin(&status, test_path("exit"), 0644), 0);
	status_file_abandon(&status);
	ck_assert_int_eq(count_dir_entries(test_dir), 0);
	/* Safe to call again, and on one never begun. */
	status_file_abandon(&status);
}
END_TEST

/* A log path is never followed through a symlink, never blocks on a
 * FIFO, and must be a regular file. */
START_TEST(test_open_regular_append_refuses)
{
	unsigned long long size = 1;
	struct dir_file dir;
	char *text;
	int fd;

	ck_assert_int_eq(dir_file_open(&dir, test_path("log")), 0);
	write_file_text(test_path("target"), "secret\n");
	ck_assert_int_eq(symlink(test_path("target"), test_path("log")), 0);
	ck_assert_int_eq(open_regular_append(dir.dir_fd, dir.name, &size), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_str_eq(file_error(ELOOP),
			 "it is a symbolic link, which the shim never follows; give the real path");
	ck_assert_int_eq(unlink(test_path("log")), 0);
	/* A dangling symlink is not created through either. */
	ck_assert_int_eq(symlink(test_path("nowhere"), test_path("log")), 0);
	ck_assert_int_eq(open_regular_append(dir.dir_fd, dir.name, &size), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(access(test_path("nowhere"), F_OK), -1);
	ck_assert_int_eq(unlink(test_path("log")), 0);
	/* A FIFO with no reader: refused at once, not waited on. */
	ck_assert_int_eq(mkfifo(test_path("log"), 0600), 0);
	ck_assert_int_eq(open_regular_append(dir.dir_fd, dir.name, &size), -1);
	ck_assert_str_eq(file_error(errno), "not a regular file");
	ck_assert_int_eq(unlink(test_path("log")), 0);
	ck_assert_int_eq(mkdir(test_path("log"), 0700), 0);
	ck_assert_int_eq(open_regular_append(dir.dir_fd, dir.name, &size), -1);
	ck_assert_int_eq(rmdir(test_path("log")), 0);

	/* A second name of another file (a hard link), another user's file. */
	write_file_text(test_path("elsewhere"), "x");
	ck_assert_int_eq(link(test_path("elsewhere"), test_path("log")), 0);
	ck_assert_int_eq(open_regular_append(dir.dir_fd, dir.name, &size), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(unlink(test_path("log")), 0);
	if (geteuid() == 0) {
		write_file_text(test_path("log"), "");
		ck_assert_int_eq(chown(test_path("log"), 65534, 65534), 0);
		ck_assert_int_eq(open_regular_append(dir.dir_fd, dir.name, &size), -1);
		ck_assert_int_eq(errno, EPERM);
		ck_assert_int_eq(unlink(test_path("log")), 0);
	}

	write_file_text(test_path("log"), "12345");
	fd = open_regular_append(dir.dir_fd, dir.name, &size);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(size, 5);
	close(fd);
	dir_file_close(&dir);
	ck_assert_int_eq(dir.dir_fd, -1);
	text = read_file_text(test_path("target"));
	ck_assert_str_eq(text, "secret\n");
	free(text);
}
END_TEST

/* A FIFO with a reader is opened, then refused as not a regular file. */
START_TEST(test_open_regular_append_fifo_with_reader)
{
	unsigned long long size;
	struct dir_file dir;
	int reader;

	ck_assert_int_eq(mkfifo(test_path("log"), 0600), 0);
	reader = open(test_path("log"), O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(reader, 0);
	ck_assert_int_eq(dir_file_open(&dir, test_path("log")), 0);
	ck_assert_int_eq(open_regular_append(dir.dir_fd, dir.name, &size), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(reader);
	dir_file_close(&dir);
}
END_TEST

START_TEST(test_dir_file_names)
{
	struct dir_file dir;

	ck_assert_int_eq(dir_file_open(&dir, "relative-name"), 0);
	ck_assert_str_eq(dir.name, "relative-name");
	dir_file_close(&dir);
	ck_assert_int_eq(dir_file_open(&dir, "/top-level"), 0);
	ck_assert_str_eq(dir.name, "top-level");
	dir_file_close(&dir);
	ck_assert_int_eq(dir_file_open(&dir, "/tmp/"), -1);
	ck_assert_int_eq(errno, EISDIR);
	ck_assert_int_eq(dir_file_open(&dir, "/tmp/.."), -1);
	ck_assert_int_eq(dir_file_open(&dir, "/no/such/dir/x"), -1);
	ck_assert_int_eq(errno, ENOENT);
	dir_file_close(&dir);
}
END_TEST

/* ---- 6b. the runtime's output, captured ---- */

static char *render(const struct capture *capture, size_t *len)
{
	char *text = capture_render(capture, len);

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), *len);
	return text;
}

START_TEST(test_capture_small_is_whole)
{
	struct capture capture = { 0 };
	size_t len;
	char *text;

	text = render(&capture, &len);
	ck_assert_str_eq(text, "");
	ck_assert_ptr_null(capture.buf); /* nothing arrived: no memory taken */
	free(text);
	capture_append(&capture, "No help topic ", 14);
	capture_append(&capture, "for 'foobar=123'\n", 17);
	text = render(&capture, &len);
	ck_assert_str_eq(text, "No help topic for 'foobar=123'\n");
	free(text);
	capture_free(&capture);
}
END_TEST

/* Past CAPTURE_HEAD + CAPTURE_TAIL bytes: the first and the last, in
 * order, and the count of those between. Fed in uneven pieces. */
START_TEST(test_capture_keeps_head_and_tail)
{
	enum { TOTAL = 3 * 1024 * 1024 + 7 };
	struct capture capture = { 0 };
	char *input = malloc(TOTAL), *text, marker[80];
	size_t len, pos = 0, piece = 1, marker_len;

	ck_assert_ptr_nonnull(input);
	for (size_t i = 0; i < TOTAL; i++)
		input[i] = (char)('a' + (i * 7 + i / 13) % 26);
	while (pos < TOTAL) {
		size_t n = TOTAL - pos < piece ? TOTAL - pos : piece;
		capture_append(&capture, input + pos, n);
		pos += n;
		piece = piece * 3 % 70001 + 1;
	}
	text = render(&capture, &len);
	marker_len = (size_t)snprintf(marker, sizeof(marker), "\n[... %d bytes not shown ...]\n",
				      TOTAL - CAPTURE_HEAD - CAPTURE_TAIL);
	ck_assert_uint_eq(len, CAPTURE_HEAD + marker_len + CAPTURE_TAIL);
	ck_assert_mem_eq(text, input, CAPTURE_HEAD);
	ck_assert_mem_eq(text + CAPTURE_HEAD, marker, marker_len);
	ck_assert_mem_eq(text + CAPTURE_HEAD + marker_len, input + TOTAL - CAPTURE_TAIL, CAPTURE_TAIL);
	free(text);
	capture_free(&capture);
	free(input);
}
END_TEST

/* Exactly full: nothing dropped, no marker. */
START_TEST(test_capture_exactly_full)
{
	struct capture capture = { 0 };
	size_t len;
	char *text, *input = malloc(CAPTURE_HEAD + CAPTURE_TAIL);

	ck_assert_ptr_nonnull(input);
	for (size_t i = 0; i < CAPTURE_HEAD + CAPTURE_TAIL; i++)
		input[i] = (char)('0' + i % 10);
	capture_append(&capture, input, CAPTURE_HEAD + CAPTURE_TAIL);
	text = render(&capture, &len);
	ck_assert_uint_eq(len, CAPTURE_HEAD + CAPTURE_TAIL);
	ck_assert_mem_eq(text, input, len);
	free(text);
	capture_free(&capture);
	free(input);
}
END_TEST

/* ---- 6c. the shim's own log: text from others is escaped ---- */

START_TEST(test_escape_control)
{
	char out[64];

	ck_assert_uint_eq(escape_control(out, sizeof(out), "plain text"), 10);
	ck_assert_str_eq(out, "plain text");
	escape_control(out, sizeof(out), "a\nforged line\r\t\x1b[31mred\x7f\x01");
	ck_assert_str_eq(out, "a\\nforged line\\r\\t\\x1b[31mred\\x7f\\x01");
	/* UTF-8 passes as it is; C1 controls (raw or as UTF-8), bytes that
	 * are not UTF-8 and the backslash itself do not. */
	escape_control(out, sizeof(out), "caf\xc3\xa9");
	ck_assert_str_eq(out, "caf\xc3\xa9");
	escape_control(out, sizeof(out), "csi \xc2\x9b" "2J raw \x9b \\n");
	ck_assert_str_eq(out, "csi \\xc2\\x9b2J raw \\x9b \\\\n");
	/* Cut to fit, never past the buffer, never half an escape. */
	ck_assert_uint_le(escape_control(out, 8, "\x1b\x1b\x1b\x1b"), 7);
	ck_assert_str_eq(out, "\\x1b");
}
END_TEST

/* diag_log writes one line per message, whatever the message holds. */
START_TEST(test_diag_log_escapes)
{
	struct diag diag;
	char *text;

	ck_assert_int_eq(diag_open(&diag, test_path("shim.log"), DIAG_DEBUG), 0);
	diag_log(&diag, DIAG_WARN, "control line \"%s\"", "1 2\n2026-01-01 shim[1] ERROR: forged\x1b[2J");
	close(diag.fd);
	text = read_file_text(test_path("shim.log"));
	ck_assert_ptr_nonnull(strstr(text, "WARN: control line \"1 2\\n2026-01-01 shim[1] ERROR: forged\\x1b[2J\"\n"));
	ck_assert_ptr_eq(strchr(text, '\n'), text + strlen(text) - 1); /* one line */
	free(text);
}
END_TEST

/* The shim's own log is refused through a symlink: syslog instead. */
START_TEST(test_diag_open_refuses_symlink)
{
	struct diag diag;

	write_file_text(test_path("target"), "");
	ck_assert_int_eq(symlink(test_path("target"), test_path("shim.log")), 0);
	ck_assert_int_eq(diag_open(&diag, test_path("shim.log"), DIAG_DEBUG), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_int_eq(diag.fd, -1);
}
END_TEST

/* ---- 7. log framing ---- */

/* Most log tests are loop tests run once per format: _i is the format. */
#define tcase_add_test_per_format(tc, test)                                    \
	tcase_add_loop_test((tc), test, LOG_FORMAT_SHIMMY, LOG_FORMAT_K8S_FILE + 1)

/* Append the record the writer makes for content[0, len) stamped with
 * fixed_time; tag is 'F' or 'P', which only k8s-file writes. */
static void append_record(FILE *out, enum log_format format, const char *stream, char tag,
			  const char *content, size_t len)
{
	fputs(FIXED_TIME_TEXT " ", out);
	fputs(stream, out);
	if (format == LOG_FORMAT_K8S_FILE)
		fprintf(out, " %c", tag);
	fputc(' ', out);
	fwrite(content, 1, len, out);
	fputc('\n', out);
}

/* The expected log text for records written as "stream TAG content",
 * e.g. expected_log(format, "stdout F hello", "stderr P ", NULL). */
__attribute__((sentinel)) static char *expected_log(enum log_format format, ...)
{
	const char *record;
	char *text;
	size_t size;
	FILE *out = open_memstream(&text, &size);
	va_list ap;

	ck_assert_ptr_nonnull(out);
	va_start(ap, format);
	while ((record = va_arg(ap, const char *)) != NULL) {
		const char *space = strchr(record, ' ');
		char stream[16];

		ck_assert(space && (size_t)(space - record) < sizeof(stream) && space[1] != '\0' &&
			  space[2] == ' ');
		snprintf(stream, sizeof(stream), "%.*s", (int)(space - record), record);
		append_record(out, format, stream, space[1], space + 3, strlen(space + 3));
	}
	va_end(ap);
	fclose(out);
	return text;
}

static void open_test_log(struct log_writer *log, enum log_format format)
{
	ck_assert_int_eq(log_writer_open(log, test_path("ctr.log"), format, 0), 0);
}

static char *read_test_log(void)
{
	return read_file_text(test_path("ctr.log"));
}

/* Frame data (a string) in one call into a fresh log, and return what
 * the file then holds; *consumed gets log_writer_frame's result. */
static char *frame_and_read(enum log_format format, enum stream_id stream, const char *data,
			    bool at_eof, size_t *consumed)
{
	struct log_writer log;

	unlink(test_path("ctr.log")); /* the writer appends: start from nothing */
	open_test_log(&log, format);
	*consumed = log_writer_frame(&log, stream, data, strlen(data), at_eof, &fixed_time);
	ck_assert_int_eq(log.write_errno, 0);
	ck_assert_uint_eq(log.dropped_bytes, 0);
	log_writer_close(&log);
	return read_test_log();
}

/* len bytes of a-z repeating, then the newline if asked for, as a string:
 * content where a cut in the wrong place shows. */
static char *make_line(size_t len, bool newline)
{
	char *line = malloc(len + 2);

	ck_assert_ptr_nonnull(line);
	for (size_t i = 0; i < len; i++)
		line[i] = (char)('a' + i % 26);
	line[len] = newline ? '\n' : '\0';
	line[len + 1] = '\0';
	return line;
}

/* "0\n1\n...": count numbered lines, and the log they make. */
static char *numbered_lines(int count)
{
	char *text;
	size_t size;
	FILE *out = open_memstream(&text, &size);

	ck_assert_ptr_nonnull(out);
	for (int i = 0; i < count; i++)
		fprintf(out, "%d\n", i);
	fclose(out);
	return text;
}

static char *numbered_lines_log(enum log_format format, int count)
{
	char *text, number[16];
	size_t size;
	FILE *out = open_memstream(&text, &size);

	ck_assert_ptr_nonnull(out);
	for (int i = 0; i < count; i++) {
		int len = snprintf(number, sizeof(number), "%d", i);
		append_record(out, format, "stdout", 'F', number, (size_t)len);
	}
	fclose(out);
	return text;
}

/* The record layout spelled out literally, once per format, so that the
 * expected_log helper the other tests use is itself checked. */
START_TEST(test_record_layout)
{
	size_t consumed;
	char *text;

	text = frame_and_read(LOG_FORMAT_K8S_FILE, STREAM_STDOUT, "hi\n", false, &consumed);
	ck_assert_str_eq(text, "2026-11-22T04:29:41.473641854Z stdout F hi\n");
	free(text);

	text = frame_and_read(LOG_FORMAT_K8S_FILE, STREAM_STDERR, "oops", true, &consumed);
	ck_assert_str_eq(text, "2026-11-22T04:29:41.473641854Z stderr P oops\n");
	free(text);

	text = frame_and_read(LOG_FORMAT_SHIMMY, STREAM_STDOUT, "hi\n", false, &consumed);
	ck_assert_str_eq(text, "2026-11-22T04:29:41.473641854Z stdout hi\n");
	free(text);

	text = frame_and_read(LOG_FORMAT_SHIMMY, STREAM_STDERR, "oops", true, &consumed);
	ck_assert_str_eq(text, "2026-11-22T04:29:41.473641854Z stderr oops\n");
	free(text);
}
END_TEST

START_TEST(test_full_lines)
{
	size_t consumed;
	char *text = frame_and_read(_i, STREAM_STDOUT, "a\nbb\n", false, &consumed);
	char *expected = expected_log(_i, "stdout F a", "stdout F bb", NULL);

	ck_assert_uint_eq(consumed, 5);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

START_TEST(test_line_in_pieces)
{
	struct log_writer log;
	char *text, *expected;

	open_test_log(&log, _i);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "hel", 3, false, &fixed_time), 0);
	text = read_test_log();
	ck_assert_str_eq(text, "");
	free(text);

	/* The caller presents the kept bytes again, with the new ones. */
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "hello\n", 6, false, &fixed_time),
			  6);
	log_writer_close(&log);
	text = read_test_log();
	expected = expected_log(_i, "stdout F hello", NULL);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

START_TEST(test_unfinished_tail_kept)
{
	size_t consumed;
	char *text = frame_and_read(_i, STREAM_STDOUT, "a\nbc", false, &consumed);
	char *expected = expected_log(_i, "stdout F a", NULL);

	ck_assert_uint_eq(consumed, 2);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

START_TEST(test_many_records_in_one_call)
{
	size_t consumed;
	char *text = frame_and_read(_i, STREAM_STDERR, "one\ntwo\n\nfour four\n", false, &consumed);
	char *expected = expected_log(_i, "stderr F one", "stderr F two", "stderr F ",
				      "stderr F four four", NULL);

	ck_assert_uint_eq(consumed, 19);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

START_TEST(test_empty_line)
{
	size_t consumed;
	char *text = frame_and_read(_i, STREAM_STDOUT, "\n", false, &consumed);
	char *expected = expected_log(_i, "stdout F ", NULL);

	ck_assert_uint_eq(consumed, 1);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

/* A read that ends exactly at a newline leaves nothing to keep. */
START_TEST(test_data_ending_at_newline_all_consumed)
{
	const char data[] = "0123456\n89abcde\n"; /* 16 bytes, as a 16-byte read buffer */
	size_t consumed;
	char *text = frame_and_read(_i, STREAM_STDOUT, data, false, &consumed);
	char *expected = expected_log(_i, "stdout F 0123456", "stdout F 89abcde", NULL);

	ck_assert_uint_eq(consumed, sizeof(data) - 1);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

START_TEST(test_line_of_exactly_record_max)
{
	char *line = make_line(LOG_RECORD_MAX, true), *text, *expected;
	size_t consumed, size;
	FILE *out = open_memstream(&expected, &size);

	append_record(out, _i, "stdout", 'F', line, LOG_RECORD_MAX);
	fclose(out);
	text = frame_and_read(_i, STREAM_STDOUT, line, false, &consumed);
	ck_assert_uint_eq(consumed, LOG_RECORD_MAX + 1);
	assert_long_text_eq(text, expected);
	free(line);
	free(text);
	free(expected);
}
END_TEST

/* k8s-file: a P record of LOG_RECORD_MAX bytes, then an F of the last
 * byte; shimmy: the same two pieces as plain records. */
START_TEST(test_line_one_past_record_max)
{
	char *line = make_line(LOG_RECORD_MAX + 1, true), *text, *expected;
	size_t consumed, size;
	FILE *out = open_memstream(&expected, &size);

	append_record(out, _i, "stdout", 'P', line, LOG_RECORD_MAX);
	append_record(out, _i, "stdout", 'F', line + LOG_RECORD_MAX, 1);
	fclose(out);
	text = frame_and_read(_i, STREAM_STDOUT, line, false, &consumed);
	ck_assert_uint_eq(consumed, LOG_RECORD_MAX + 2);
	assert_long_text_eq(text, expected);
	free(line);
	free(text);
	free(expected);
}
END_TEST

/* Without a newline, every full LOG_RECORD_MAX goes out as a P record,
 * even before the end of the stream; a shorter rest is kept. */
START_TEST(test_long_run_without_newline_cut)
{
	char *run = make_line(3 * LOG_RECORD_MAX + 10, false), *text, *expected;
	size_t size;
	FILE *out = open_memstream(&expected, &size);
	struct log_writer log;

	for (int piece = 0; piece < 3; piece++)
		append_record(out, _i, "stdout", 'P', run + piece * LOG_RECORD_MAX,
			      LOG_RECORD_MAX);
	fclose(out);

	open_test_log(&log, _i);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, run, 3 * LOG_RECORD_MAX, false,
					   &fixed_time),
			  3 * LOG_RECORD_MAX);
	log_writer_close(&log);
	text = read_test_log();
	assert_long_text_eq(text, expected);
	free(text);
	ck_assert_int_eq(unlink(test_path("ctr.log")), 0);

	/* Ten bytes more: the same three records, and the ten are kept. */
	open_test_log(&log, _i);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, run, 3 * LOG_RECORD_MAX + 10,
					   false, &fixed_time),
			  3 * LOG_RECORD_MAX);
	log_writer_close(&log);
	text = read_test_log();
	assert_long_text_eq(text, expected);
	free(text);

	free(run);
	free(expected);
}
END_TEST

START_TEST(test_eof_writes_unfinished_line)
{
	size_t consumed;
	char *text = frame_and_read(_i, STREAM_STDOUT, "a\nlast", true, &consumed);
	char *expected = expected_log(_i, "stdout F a", "stdout P last", NULL);

	ck_assert_uint_eq(consumed, 6);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

START_TEST(test_eof_with_no_data)
{
	size_t consumed;
	char *text = frame_and_read(_i, STREAM_STDOUT, "", true, &consumed);

	ck_assert_uint_eq(consumed, 0);
	ck_assert_str_eq(text, "");
	free(text);
}
END_TEST

START_TEST(test_streams_interleaved)
{
	struct log_writer log;
	char *text, *expected;

	open_test_log(&log, _i);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "out 1\n", 6, false, &fixed_time), 6);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDERR, "err 1\nerr 2\n", 12, false,
					   &fixed_time),
			  12);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "out 2\n", 6, false, &fixed_time), 6);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDERR, "err 3", 5, true, &fixed_time), 5);
	log_writer_close(&log);
	text = read_test_log();
	expected = expected_log(_i, "stdout F out 1", "stderr F err 1", "stderr F err 2",
				"stdout F out 2", "stderr P err 3", NULL);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

/* Far more records than IOV_MAX/3, and more short-record bytes than the
 * writer's stage holds (LOG_STAGE_SIZE): several writevs, in order. */
START_TEST(test_more_records_than_one_writev)
{
	enum { LINES = 20000 };
	char *data = numbered_lines(LINES), *expected = numbered_lines_log(_i, LINES), *text;
	size_t consumed;

	text = frame_and_read(_i, STREAM_STDOUT, data, false, &consumed);
	ck_assert_uint_eq(consumed, strlen(data));
	assert_long_text_eq(text, expected);
	free(data);
	free(expected);
	free(text);
}
END_TEST

/* A refused write still consumes the lines; dropped_bytes counts the
 * container output the records held (log.h), not our prefixes or the
 * newline we add to a P record. */
/* Lines longer than LOG_COPY_MAX are written from the caller's buffer, an
 * iovec each: 2000 of them need more iovecs than one writev takes. */
START_TEST(test_many_long_lines)
{
	enum { LINES = 2000, LINE_LEN = LOG_COPY_MAX + 88 };
	char *data = malloc(LINES * (LINE_LEN + 1) + 1), *text, *expected;
	size_t consumed, size;
	FILE *out = open_memstream(&expected, &size);

	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_nonnull(out);
	for (int line = 0; line < LINES; line++) {
		char *start = data + line * (LINE_LEN + 1), number[8];

		/* Each line starts with its number, so a misordering shows. */
		memset(start, 'a' + line % 26, LINE_LEN);
		snprintf(number, sizeof(number), "%06d", line);
		memcpy(start, number, 6);
		start[LINE_LEN] = '\n';
		append_record(out, _i, "stdout", 'F', start, LINE_LEN);
	}
	data[LINES * (LINE_LEN + 1)] = '\0';
	fclose(out);

	text = frame_and_read(_i, STREAM_STDOUT, data, false, &consumed);
	ck_assert_uint_eq(consumed, LINES * (LINE_LEN + 1));
	assert_long_text_eq(text, expected);
	free(data);
	free(text);
	free(expected);
}
END_TEST

/* A record needs up to three iovecs (prefix, line, added newline), and a
 * batch must make room for all three before it starts one. Lines longer
 * than LOG_COPY_MAX take an iovec of their own, so a run of them followed
 * by a piece of an over-long line lands, at one of these counts, a
 * three-iovec record on the last free slots of a full batch. */
START_TEST(test_record_at_iovec_limit)
{
	enum { LINE_LEN = LOG_COPY_MAX + 88 };
	char *line = make_line(LINE_LEN, true), *tail = make_line(LOG_RECORD_MAX + 10, false);

	for (int lines = IOV_MAX / 2 - 8; lines <= IOV_MAX / 2 + 8; lines++) {
		size_t data_len = (size_t)lines * (LINE_LEN + 1) + LOG_RECORD_MAX + 10, size, consumed;
		char *data = malloc(data_len + 1), *text, *expected;
		FILE *out = open_memstream(&expected, &size);

		ck_assert_ptr_nonnull(data);
		ck_assert_ptr_nonnull(out);
		for (int i = 0; i < lines; i++) {
			memcpy(data + (size_t)i * (LINE_LEN + 1), line, LINE_LEN + 1);
			append_record(out, _i, "stdout", 'F', line, LINE_LEN);
		}
		memcpy(data + (size_t)lines * (LINE_LEN + 1), tail, LOG_RECORD_MAX + 11);
		append_record(out, _i, "stdout", 'P', tail, LOG_RECORD_MAX);
		append_record(out, _i, "stdout", 'P', tail + LOG_RECORD_MAX, 10);
		fclose(out);

		text = frame_and_read(_i, STREAM_STDOUT, data, true, &consumed);
		ck_assert_uint_eq(consumed, data_len);
		assert_long_text_eq(text, expected);
		free(data);
		free(text);
		free(expected);
	}
	free(line);
	free(tail);
}
END_TEST

/* A refused record counts whole: our prefix, its content, its newline.
 * Every record here has the same prefix length ("stderr" is as long as
 * "stdout"). */
static size_t record_len(enum log_format format, size_t content_with_newline)
{
	return strlen(FIXED_TIME_TEXT " stdout ") + (format == LOG_FORMAT_K8S_FILE ? 2 : 0) +
	       content_with_newline;
}

/* A log on a full disk: the writer's fd made a copy of /dev/full (the
 * writer itself opens regular files only). */
static void open_full_test_log(struct log_writer *log, enum log_format format)
{
	int full_fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

	ck_assert_int_ge(full_fd, 0);
	open_test_log(log, format);
	ck_assert_int_eq(dup2(full_fd, log->fd), log->fd);
	close(full_fd);
}

START_TEST(test_write_failure_dev_full)
{
	struct log_writer log;

	open_full_test_log(&log, _i);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "a\nbb\n", 5, false, &fixed_time),
			  5);
	ck_assert_uint_eq(log.dropped_bytes, record_len(_i, 2) + record_len(_i, 3));
	ck_assert_int_eq(log.write_errno, ENOSPC);

	/* It keeps counting ("d" gets our newline); the refused notice in
	 * front of this batch is not counted. */
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "ccc\nd", 5, true, &fixed_time), 5);
	ck_assert_uint_eq(log.dropped_bytes, record_len(_i, 2) + record_len(_i, 3) +
						     record_len(_i, 4) + record_len(_i, 2));
	log_writer_close(&log);
}
END_TEST

START_TEST(test_write_failure_counted_across_writevs)
{
	enum { LINES = 5000 };
	char *data = numbered_lines(LINES);
	struct log_writer log;

	open_full_test_log(&log, _i);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, data, strlen(data), false,
					   &fixed_time),
			  strlen(data));
	ck_assert_uint_eq(log.dropped_bytes, record_len(_i, 0) * LINES + strlen(data));
	ck_assert_int_eq(log.write_errno, ENOSPC);
	log_writer_close(&log);
	free(data);
}
END_TEST

START_TEST(test_write_failure_closed_pipe)
{
	struct log_writer log;
	int fds[2];

	signal(SIGPIPE, SIG_IGN);
	open_test_log(&log, _i);
	open_pipe(fds);
	close(fds[0]);
	ck_assert_int_eq(dup2(fds[1], log.fd), log.fd); /* the writer now writes to the pipe */
	close(fds[1]);
	/* Records "a\n" and "bb" (a P record; its newline is ours). */
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDERR, "a\nbb", 4, true, &fixed_time), 4);
	ck_assert_uint_eq(log.dropped_bytes, record_len(_i, 2) + record_len(_i, 3));
	ck_assert_int_eq(log.write_errno, EPIPE);
	log_writer_close(&log);
}
END_TEST

/* Frame "0123456789\nabc\n" into a fresh log as if the disk filled in the
 * middle of the first record: RLIMIT_FSIZE leaves room for the first
 * prefix and "01234" only, so the first writev is short and the next one
 * fails with EFBIG. Returns log_writer_frame's result. */
static size_t frame_into_filling_disk(struct log_writer *log, enum log_format format)
{
	const size_t prefix_len = strlen(FIXED_TIME_TEXT " stdout ") +
				  (format == LOG_FORMAT_K8S_FILE ? strlen("F ") : 0);
	struct rlimit unlimited, limited;
	int limit_set, limit_lifted;
	size_t consumed;

	signal(SIGXFSZ, SIG_IGN);
	open_test_log(log, format);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &unlimited), 0);
	limited = unlimited;
	limited.rlim_cur = prefix_len + 5;

	/* No ck_assert until the limit is lifted: Check's own message file
	 * is subject to it too. */
	limit_set = setrlimit(RLIMIT_FSIZE, &limited);
	consumed = log_writer_frame(log, STREAM_STDOUT, "0123456789\nabc\n", 15, false,
				    &fixed_time);
	limit_lifted = setrlimit(RLIMIT_FSIZE, &unlimited);
	ck_assert_int_eq(limit_set, 0);
	ck_assert_int_eq(limit_lifted, 0);
	return consumed;
}

/* What reached the file before the disk filled is not dropped. */
START_TEST(test_write_failure_mid_record_counts_only_refused_output)
{
	struct log_writer log;

	ck_assert_uint_eq(frame_into_filling_disk(&log, _i), 15);
	ck_assert_int_eq(log.write_errno, EFBIG);
	ck_assert_uint_eq(log.dropped_bytes, strlen("56789\n") + record_len(_i, strlen("abc\n")));
	ck_assert_uint_eq(log.dropped_unreported, log.dropped_bytes);
	log_writer_close(&log);
}
END_TEST

/* Once writing works again, the torn record is ended before the notice,
 * which tells the writer's count. */
START_TEST(test_torn_record_ended_before_notice)
{
	struct log_writer log;
	char *text, *expected, notice[128];
	size_t size;
	FILE *out;

	ck_assert_uint_eq(frame_into_filling_disk(&log, _i), 15);
	snprintf(notice, sizeof(notice),
		 "[shim] %llu bytes of log were dropped: File too large",
		 log.dropped_bytes);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "ok\n", 3, false, &fixed_time), 3);
	ck_assert_uint_eq(log.dropped_unreported, 0);
	log_writer_close(&log);

	out = open_memstream(&expected, &size);
	ck_assert_ptr_nonnull(out);
	append_record(out, _i, "stdout", 'F', "01234", 5); /* torn; ended by the shim */
	append_record(out, _i, "stderr", 'F', notice, strlen(notice));
	append_record(out, _i, "stdout", 'F', "ok", 2);
	fclose(out);
	text = read_test_log();
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

/* Once writing works again, the next frame first says what was lost. */
START_TEST(test_dropped_output_reported_once_writing_works)
{
	struct log_writer log;
	char *text, *expected, notice[128];

	open_full_test_log(&log, _i);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "a\nbb\n", 5, false, &fixed_time),
			  5);
	ck_assert_uint_eq(log.dropped_unreported, record_len(_i, 2) + record_len(_i, 3));

	/* The disk has room again: the file (still empty) is opened anew. */
	ck_assert_int_eq(log_writer_reopen(&log), 0);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "ok\n", 3, false, &fixed_time), 3);
	log_writer_close(&log);
	ck_assert_uint_eq(log.dropped_bytes, record_len(_i, 2) + record_len(_i, 3));
	ck_assert_uint_eq(log.dropped_unreported, 0);
	text = read_test_log();
	snprintf(notice, sizeof(notice),
		 "stderr F [shim] %zu bytes of log were dropped: No space left on device",
		 record_len(_i, 2) + record_len(_i, 3));
	expected = expected_log(_i, notice, "stdout F ok", NULL);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

/* Open appends, creates with mode 0600 and never truncates. */
START_TEST(test_log_open_appends)
{
	struct log_writer log;
	struct stat st;
	char *text, *expected;

	umask(0);
	open_test_log(&log, _i);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "1\n", 2, false, &fixed_time), 2);
	log_writer_close(&log);
	ck_assert_int_eq(stat(test_path("ctr.log"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);

	open_test_log(&log, _i);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, "2\n", 2, false, &fixed_time), 2);
	log_writer_close(&log);
	text = read_test_log();
	expected = expected_log(_i, "stdout F 1", "stdout F 2", NULL);
	ck_assert_str_eq(text, expected);
	free(text);
	free(expected);
}
END_TEST

START_TEST(test_log_format_parse)
{
	static const char *const bad[] = { "", "k8s", "json-file", "shimmy ", "k8s-file-x" };
	enum log_format format = LOG_FORMAT_SHIMMY;

	ck_assert_int_eq(log_format_parse("k8s-file", &format), 0);
	ck_assert_int_eq(format, LOG_FORMAT_K8S_FILE);
	ck_assert_int_eq(log_format_parse("shimmy", &format), 0);
	ck_assert_int_eq(format, LOG_FORMAT_SHIMMY);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		format = (enum log_format)-1;
		errno = 0;
		ck_assert_msg(log_format_parse(bad[i], &format) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(format, (enum log_format)-1);
	}
}
END_TEST

/* ---- 8. diag_level_parse ---- */

START_TEST(test_diag_levels_case_insensitive)
{
	static const struct {
		const char *name;
		enum diag_level level;
	} good[] = {
		{ "TRACE", DIAG_TRACE }, { "trace", DIAG_TRACE }, { "DEBUG", DIAG_DEBUG },
		{ "Debug", DIAG_DEBUG }, { "INFO", DIAG_INFO },   { "info", DIAG_INFO },
		{ "WARN", DIAG_WARN },   { "wArN", DIAG_WARN },   { "ERROR", DIAG_ERROR },
		{ "error", DIAG_ERROR },
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		enum diag_level level = (enum diag_level)-1;

		ck_assert_msg(diag_level_parse(good[i].name, &level) == 0, "rejected %s",
			      good[i].name);
		ck_assert_int_eq(level, good[i].level);
	}
}
END_TEST

START_TEST(test_diag_levels_rejected)
{
	static const char *const bad[] = { "WARNING", "", "INF", "ERRORS", "FATAL", "info " };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum diag_level level = DIAG_INFO;

		errno = 0;
		ck_assert_msg(diag_level_parse(bad[i], &level) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_int_eq(level, DIAG_INFO);
	}
}
END_TEST

/* ---- suites ---- */

/* A test case with a fresh test_dir per test and a timeout for loops. */
/* ---- log rotation (--log-size-max) ---------------------------------- */

/* 3000 numbered lines into a log limited to 8 KiB: the writer rotates to
 * ctr.log.1 whenever the next record would pass the limit. Only the last
 * rotation's files remain, and between them they hold a run of whole
 * records, in order, ending with the last line: nothing split, nothing
 * truncated within the two files. */
START_TEST(test_rotation_keeps_records_whole)
{
	enum { LINES = 3000, LIMIT = 8192 };
	char *data = numbered_lines(LINES), *current, *previous, *both, *all;
	struct log_writer log;
	struct stat info;

	ck_assert_int_eq(log_writer_open(&log, test_path("ctr.log"), _i, LIMIT), 0);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, data, strlen(data), false,
					   &fixed_time),
			  strlen(data));
	ck_assert_int_eq(log.write_errno, 0);
	log_writer_close(&log);

	ck_assert_int_eq(stat(test_path("ctr.log"), &info), 0);
	ck_assert_int_le(info.st_size, LIMIT);
	ck_assert_int_eq(stat(test_path("ctr.log.1"), &info), 0);
	ck_assert_int_le(info.st_size, LIMIT);
	/* The older file was full: the next record would not have fitted. */
	ck_assert_int_gt(info.st_size, LIMIT - 64);

	previous = read_file_text(test_path("ctr.log.1"));
	current = read_file_text(test_path("ctr.log"));
	ck_assert_int_eq(asprintf(&both, "%s%s", previous, current) > 0, 1);
	all = numbered_lines_log(_i, LINES);
	/* Whole records only: both files start a record and end with one. */
	ck_assert_int_eq(previous[strlen(previous) - 1], '\n');
	ck_assert_int_eq(current[strlen(current) - 1], '\n');
	ck_assert_int_eq(strncmp(previous, FIXED_TIME_TEXT, strlen(FIXED_TIME_TEXT)), 0);
	ck_assert_int_eq(strncmp(current, FIXED_TIME_TEXT, strlen(FIXED_TIME_TEXT)), 0);
	/* ... and together they are exactly the tail of the whole log. */
	ck_assert_uint_le(strlen(both), strlen(all));
	ck_assert_str_eq(all + strlen(all) - strlen(both), both);
	ck_assert_uint_gt(strlen(both), LIMIT); /* both files were used */
	free(data);
	free(current);
	free(previous);
	free(both);
	free(all);
}
END_TEST

/* The log file moved away by someone else (and no reopen asked for):
 * rotating finds no file to rename and simply starts a fresh one, instead
 * of failing for ever and writing on past the limit. */
START_TEST(test_rotation_after_the_file_was_moved)
{
	enum { LIMIT = 4096 };
	char *data = numbered_lines(1000), *current;
	struct log_writer log;
	struct stat info;

	ck_assert_int_eq(log_writer_open(&log, test_path("ctr.log"), _i, LIMIT), 0);
	ck_assert_int_eq(rename(test_path("ctr.log"), test_path("moved.log")), 0);
	ck_assert_uint_eq(log_writer_frame(&log, STREAM_STDOUT, data, strlen(data), false,
					   &fixed_time),
			  strlen(data));
	ck_assert_int_eq(log.rotate_errno, 0);
	ck_assert_int_eq(log.write_errno, 0);
	log_writer_close(&log);
	ck_assert_int_eq(stat(test_path("ctr.log"), &info), 0);
	ck_assert_int_le(info.st_size, LIMIT);
	ck_assert_int_eq(stat(test_path("moved.log"), &info), 0);
	ck_assert_int_le(info.st_size, LIMIT);
	current = read_file_text(test_path("ctr.log"));
	ck_assert_ptr_nonnull(strstr(current, " 999\n")); /* the newest line is in the new file */
	free(current);
	free(data);
}
END_TEST

/* ---- the control FIFO's lines and the bundle's "terminal" ----------- */

START_TEST(test_ctl_lines)
{
	unsigned width = 0, height = 0;
	int type = -1;

	ck_assert_int_eq(parse_ctl_line("1 100 40", &type, &width, &height), 0);
	ck_assert_int_eq(type, CTL_RESIZE);
	ck_assert_uint_eq(width, 100);
	ck_assert_uint_eq(height, 40);
	ck_assert_int_eq(parse_ctl_line("0 0 0", &type, &width, &height), 0);
	ck_assert_int_eq(type, CTL_CLOSE_STDIN);
	ck_assert_int_eq(parse_ctl_line("2 0 0\r", &type, &width, &height), 0);
	ck_assert_int_eq(type, CTL_REOPEN_LOG);
	ck_assert_int_eq(parse_ctl_line("  1   80 24 ", &type, &width, &height), 0);
	ck_assert_uint_eq(width, 80);
	ck_assert_uint_eq(height, 24);

	static const char *const malformed[] = {
		"", "hello", "1 80", "1 80 24 5", "3 0 0", "-1 0 0", "1 -80 24", "1 80x24 0",
		"1 65536 24", "1 80 24x", "1 99999999999999999999 1",
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		errno = 0;
		ck_assert_msg(parse_ctl_line(malformed[i], &type, &width, &height) == -1,
			      "accepted \"%s\"", malformed[i]);
		ck_assert_int_eq(errno, EINVAL);
	}
}
END_TEST

START_TEST(test_config_terminal)
{
	bool terminal = true;

	ck_assert_int_eq(config_wants_terminal("{\"process\":{\"terminal\": true}}", &terminal), 0);
	ck_assert(terminal);
	ck_assert_int_eq(config_wants_terminal("{\"process\": {\n  \"terminal\"\t:\n false}}",
						&terminal),
			 0);
	ck_assert(!terminal);
	/* Absent: false, as the OCI spec defaults. */
	terminal = true;
	ck_assert_int_eq(config_wants_terminal("{\"process\":{\"args\":[\"sh\"]}}", &terminal), 0);
	ck_assert(!terminal);
	/* "terminal" as a string value, not a key, is not the setting. */
	terminal = true;
	ck_assert_int_eq(config_wants_terminal("{\"process\":{\"args\":[\"terminal\", \"true\"],"
						"\"x\":\"say \\\"terminal\\\": true\"}}",
						&terminal),
			 0);
	ck_assert(!terminal);
	/* Only process.terminal counts: not a "terminal" key elsewhere, before
	 * or after it, nor one nested deeper inside process. */
	ck_assert_int_eq(config_wants_terminal("{\"annotations\":{\"terminal\":\"vt100\"},"
						"\"process\":{\"env\":{\"terminal\":false},"
						"\"terminal\":true}}",
						&terminal),
			 0);
	ck_assert(terminal);
	ck_assert_int_eq(config_wants_terminal("{\"process\":{\"cwd\":\"/\"},"
						"\"annotations\":{\"terminal\":true}}",
						&terminal),
			 0);
	ck_assert(!terminal);
	errno = 0;
	ck_assert_int_eq(config_wants_terminal("{\"process\":{\"terminal\": \"yes\"}}", &terminal),
			 -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* The answer runc's Go decoder gives, where a plain scan would differ. */
START_TEST(test_config_terminal_as_go_reads_it)
{
	static const struct {
		const char *json;
		bool terminal;
	} cases[] = {
		/* the last of repeated keys wins */
		{ "{\"process\":{\"terminal\":false,\"terminal\":true}}", true },
		{ "{\"process\":{\"terminal\":true,\"terminal\":false}}", false },
		/* escapes in keys are decoded; keys match case-insensitively */
		{ "{\"process\":{\"termin\\u0061l\":true}}", true },
		{ "{\"PROCESS\":{\"Terminal\":true}}", true },
		{ "{\"proce\\u017fs\":{\"terminal\":true}}", true }, /* U+017F folds to s */
		{ "{\"process\":{\"terminals\":true}}", false },
		/* a second process object updates the first */
		{ "{\"process\":{\"cwd\":\"/\"},\"process\":{\"terminal\":true}}", true },
		{ "{\"process\":{\"terminal\":true},\"process\":{\"cwd\":\"/\"}}", true },
		/* null leaves a bool as it was; a null process clears it */
		{ "{\"process\":{\"terminal\":true,\"terminal\":null}}", true },
		{ "{\"process\":{\"terminal\":true},\"process\":null}", false },
	};
	bool terminal;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		terminal = !cases[i].terminal;
		ck_assert_msg(config_wants_terminal(cases[i].json, &terminal) == 0, "refused %s",
			      cases[i].json);
		ck_assert_msg(terminal == cases[i].terminal, "%s: said %d", cases[i].json, terminal);
	}
	/* Not JSON: for runc to say so, not us. */
	errno = 0;
	ck_assert_int_eq(config_wants_terminal("{\"process\":{\"terminal\":true}", &terminal), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_eq(config_wants_terminal("not json", &terminal), -1);
	ck_assert_int_eq(errno, EBADMSG);
}
END_TEST

static TCase *new_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, make_test_dir, NULL);
	tcase_set_timeout(tc, TEST_TIMEOUT_SECONDS);
	return tc;
}

static Suite *args_suite(void)
{
	Suite *suite = suite_create("args_parse");
	TCase *tc = new_tcase("flags");

	tcase_add_checked_fixture(tc, make_bundle, NULL);
	tcase_add_test(tc, test_every_flag_as_separate_value);
	tcase_add_test(tc, test_every_flag_with_equals_sign);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_runtime_args_keep_their_order);
	tcase_add_test(tc, test_runtime_arg_quote_stripping);
	tcase_add_test(tc, test_help_and_version);
	tcase_add_test(tc, test_parse_twice);
	suite_add_tcase(suite, tc);

	tc = new_tcase("usage errors");
	tcase_add_checked_fixture(tc, make_bundle, NULL);
	tcase_add_loop_test(tc, test_each_required_flag_is_required, 0, REQUIRED_FLAG_COUNT);
	tcase_add_test(tc, test_unknown_flag_is_named);
	tcase_add_test(tc, test_single_dash_long_flag_is_named);
	tcase_add_test(tc, test_flag_missing_its_value_is_named);
	tcase_add_test(tc, test_stray_argument_is_named);
	tcase_add_test(tc, test_bad_log_level);
	tcase_add_test(tc, test_bad_log_format);
	tcase_add_test(tc, test_bad_log_size_max);
	tcase_add_test(tc, test_stdin_once_without_stdin_accepted);
	tcase_add_test(tc, test_usage_error_escapes_what_it_quotes);
	tcase_add_test(tc, test_empty_runtime_rejected);
	tcase_add_test(tc, test_bundle_not_checked);
	tcase_add_test(tc, test_exec_process_flags);
	tcase_add_test(tc, test_container_id_starting_with_dash);
	tcase_add_test(tc, test_runtime_timeout);
	suite_add_tcase(suite, tc);

	tc = new_tcase("sync pipe");
	tcase_add_checked_fixture(tc, make_bundle, NULL);
	tcase_add_test(tc, test_syncpipe_fd_not_a_number);
	tcase_add_test(tc, test_syncpipe_fd_closed);
	tcase_add_test(tc, test_syncpipe_fd_open);
	tcase_add_test(tc, test_syncpipe_from_environment);
	tcase_add_test(tc, test_syncpipe_flag_wins_over_environment);
	suite_add_tcase(suite, tc);
	return suite;
}

static Suite *json_escape_suite(void)
{
	Suite *suite = suite_create("json_escape");
	TCase *tc = new_tcase("escape");

	tcase_add_test(tc, test_escape_plain_ascii);
	tcase_add_test(tc, test_escape_quote_and_backslash);
	tcase_add_test(tc, test_escape_short_control_escapes);
	tcase_add_test(tc, test_escape_other_controls_as_u00xx);
	tcase_add_test(tc, test_escape_nul);
	tcase_add_test(tc, test_escape_del_passes_through);
	tcase_add_test(tc, test_escape_valid_utf8_passes_through);
	tcase_add_test(tc, test_escape_invalid_utf8_replaced);
	tcase_add_test(tc, test_escape_stops_at_length);
	tcase_add_test(tc, test_escape_worst_case_fits_bound);
	suite_add_tcase(suite, tc);
	return suite;
}

static Suite *rfc3339_suite(void)
{
	Suite *suite = suite_create("format_rfc3339");
	TCase *tc = new_tcase("time");

	tcase_add_test(tc, test_rfc3339_fixed_time);
	tcase_add_test(tc, test_rfc3339_nanoseconds_zero_padded);
	tcase_add_test(tc, test_rfc3339_epoch_and_leap_day);
	suite_add_tcase(suite, tc);
	return suite;
}

static Suite *reports_suite(void)
{
	Suite *suite = suite_create("reports");
	TCase *tc = new_tcase("sync pipe");

	tcase_add_test(tc, test_report_container_pid);
	tcase_add_test(tc, test_report_runtime_exited);
	tcase_add_test(tc, test_report_runtime_signaled);
	tcase_add_test(tc, test_report_runtime_stderr_by_length);
	tcase_add_test(tc, test_report_runtime_timed_out);
	tcase_add_test(tc, test_report_shim_error);
	suite_add_tcase(suite, tc);

	tc = new_tcase("exit file");
	tcase_add_test(tc, test_exit_file_exited);
	tcase_add_test(tc, test_exit_file_signaled);
	tcase_add_test(tc, test_exit_file_lost);
	tcase_add_test(tc, test_exit_file_oom_killed);
	tcase_add_test(tc, test_exit_file_dropped_log_bytes);
	suite_add_tcase(suite, tc);
	return suite;
}

static Suite *pid_file_suite(void)
{
	Suite *suite = suite_create("read_pid_file");
	TCase *tc = new_tcase("pid file");

	tcase_add_test(tc, test_pid_file_accepted);
	tcase_add_test(tc, test_pid_file_rejected);
	tcase_add_test(tc, test_pid_file_missing);
	tcase_add_test(tc, test_pid_file_not_a_regular_file);
	suite_add_tcase(suite, tc);
	return suite;
}

static Suite *atomic_file_suite(void)
{
	Suite *suite = suite_create("files, captures and diagnostics");
	TCase *tc = new_tcase("atomic");

	tcase_add_test(tc, test_atomic_exact_bytes_and_mode);
	tcase_add_test(tc, test_atomic_replaces_existing_file);
	tcase_add_test(tc, test_atomic_leaves_no_tmp);
	tcase_add_test(tc, test_atomic_stale_tmp);
	tcase_add_test(tc, test_atomic_missing_directory);
	suite_add_tcase(suite, tc);

	tc = new_tcase("held directories");
	tcase_add_test(tc, test_status_file_begun_early);
	tcase_add_test(tc, test_status_file_stays_in_its_directory);
	tcase_add_test(tc, test_status_file_not_forged);
	tcase_add_test(tc, test_status_file_abandoned);
	tcase_add_test(tc, test_open_regular_append_refuses);
	tcase_add_test(tc, test_open_regular_append_fifo_with_reader);
	tcase_add_test(tc, test_dir_file_names);
	suite_add_tcase(suite, tc);

	tc = new_tcase("capture");
	tcase_add_test(tc, test_capture_small_is_whole);
	tcase_add_test(tc, test_capture_keeps_head_and_tail);
	tcase_add_test(tc, test_capture_exactly_full);
	suite_add_tcase(suite, tc);

	tc = new_tcase("diagnostics");
	tcase_add_test(tc, test_escape_control);
	tcase_add_test(tc, test_diag_log_escapes);
	tcase_add_test(tc, test_diag_open_refuses_symlink);
	suite_add_tcase(suite, tc);
	return suite;
}

static Suite *log_suite(void)
{
	Suite *suite = suite_create("log framing");
	TCase *tc = new_tcase("records");

	tcase_add_test(tc, test_record_layout);
	tcase_add_test_per_format(tc, test_full_lines);
	tcase_add_test_per_format(tc, test_line_in_pieces);
	tcase_add_test_per_format(tc, test_unfinished_tail_kept);
	tcase_add_test_per_format(tc, test_many_records_in_one_call);
	tcase_add_test_per_format(tc, test_empty_line);
	tcase_add_test_per_format(tc, test_data_ending_at_newline_all_consumed);
	tcase_add_test_per_format(tc, test_eof_writes_unfinished_line);
	tcase_add_test_per_format(tc, test_eof_with_no_data);
	tcase_add_test_per_format(tc, test_streams_interleaved);
	tcase_add_test_per_format(tc, test_log_open_appends);
	tcase_add_test(tc, test_log_format_parse);
	suite_add_tcase(suite, tc);

	tc = new_tcase("long lines and batches");
	tcase_add_test_per_format(tc, test_line_of_exactly_record_max);
	tcase_add_test_per_format(tc, test_line_one_past_record_max);
	tcase_add_test_per_format(tc, test_long_run_without_newline_cut);
	tcase_add_test_per_format(tc, test_more_records_than_one_writev);
	tcase_add_test_per_format(tc, test_many_long_lines);
	tcase_add_test_per_format(tc, test_record_at_iovec_limit);
	suite_add_tcase(suite, tc);

	tc = new_tcase("write failures");
	tcase_add_test_per_format(tc, test_write_failure_dev_full);
	tcase_add_test_per_format(tc, test_write_failure_counted_across_writevs);
	tcase_add_test_per_format(tc, test_write_failure_closed_pipe);
	tcase_add_test_per_format(tc, test_write_failure_mid_record_counts_only_refused_output);
	tcase_add_test_per_format(tc, test_torn_record_ended_before_notice);
	tcase_add_test_per_format(tc, test_dropped_output_reported_once_writing_works);
	suite_add_tcase(suite, tc);
	return suite;
}

static Suite *diag_level_suite(void)
{
	Suite *suite = suite_create("diag_level_parse");
	TCase *tc = new_tcase("levels");

	tcase_add_test(tc, test_diag_levels_case_insensitive);
	tcase_add_test(tc, test_diag_levels_rejected);
	suite_add_tcase(suite, tc);
	return suite;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static Suite *control_suite(void)
{
	Suite *suite = suite_create("control");
	TCase *tc = new_tcase("rotation");

	tcase_add_loop_test(tc, test_rotation_keeps_records_whole, LOG_FORMAT_SHIMMY,
			    LOG_FORMAT_K8S_FILE + 1);
	tcase_add_loop_test(tc, test_rotation_after_the_file_was_moved, LOG_FORMAT_SHIMMY,
			    LOG_FORMAT_K8S_FILE + 1);
	suite_add_tcase(suite, tc);
	tc = new_tcase("ctl and config");
	tcase_add_test(tc, test_ctl_lines);
	tcase_add_test(tc, test_config_terminal);
	tcase_add_test(tc, test_config_terminal_as_go_reads_it);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	SRunner *runner;
	int failed;

	if (snprintf(test_root, sizeof(test_root), "%s/unit-tests-shim.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
	    (int)sizeof(test_root)) {
		fprintf(stderr, "TMPDIR too long\n");
		return EXIT_FAILURE;
	}
	if (!mkdtemp(test_root)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}

	runner = srunner_create(args_suite());
	srunner_add_suite(runner, json_escape_suite());
	srunner_add_suite(runner, rfc3339_suite());
	srunner_add_suite(runner, reports_suite());
	srunner_add_suite(runner, pid_file_suite());
	srunner_add_suite(runner, atomic_file_suite());
	srunner_add_suite(runner, log_suite());
	srunner_add_suite(runner, diag_level_suite());
	srunner_add_suite(runner, control_suite());
	srunner_add_suite(runner, conmon_suite()); /* tests/unit-conmon.c */
	srunner_add_suite(runner, ttrpc_suite());  /* tests/unit-ttrpc.c */
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);

	nftw(test_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
