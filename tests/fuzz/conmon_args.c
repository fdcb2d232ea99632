/* tests/fuzz/conmon_args.c: conmon.c's conmon_args_parse, podman's
 * command line (step 1 for podman): the input split on NUL bytes into
 * argv[1..], after argv[0] "conmon", each argument its own allocation of
 * exactly its size. Beyond not crashing or leaking:
 * - a refusal: the error is NUL-terminated inside its buffer, not empty,
 *   and one line without control characters, whatever it quotes;
 * - --version: an argument said so (as --version, not inside a value);
 * - accepted: the ID, bundle, pid file and exit file are set and not
 *   empty, the ID does not begin with '-', the exit file is
 *   <exit-dir>/<ID>, the attach socket and control FIFO are in the
 *   bundle; every list holds its count and then NULL, never more entries
 *   than there were arguments; every string is an argument's (or a path
 *   made from them, or a default). */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conmon.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERROR_LEN 512

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The same input must mean the same whatever the environment. */
	unsetenv("_OCI_SYNCPIPE");
	unsetenv("_OCI_STARTPIPE");
	unsetenv("_OCI_ATTACHPIPE");
	return 0;
}

static bool from_argv(char **argv, int argc, const char *text)
{
	for (int i = 0; i < argc; i++)
		if (text >= argv[i] && text <= argv[i] + strlen(argv[i]))
			return true;
	return false;
}

static void check_list(char **argv, int argc, char **list, size_t count, size_t first)
{
	FUZZ_CHECK(list != NULL, "no list");
	FUZZ_CHECK(count <= (size_t)argc, "%zu entries from %d arguments", count, argc);
	for (size_t i = first; i < count; i++)
		FUZZ_CHECK(list[i] && (from_argv(argv, argc, list[i]) || list[i][0] == '-'),
			   "entry %zu is not from argv", i);
	FUZZ_CHECK(list[count] == NULL, "list not NULL-terminated after %zu", count);
}

static void check_accepted(char **argv, int argc, const struct conmon_args *a)
{
	const struct shim_args *s = &a->shim;
	char *expected;

	FUZZ_CHECK(s->container_id && s->container_id[0] && s->container_id[0] != '-',
		   "bad container ID accepted");
	FUZZ_CHECK(s->bundle && s->container_pidfile && a->exit_dir, "a required value missing");
	FUZZ_CHECK(from_argv(argv, argc, s->container_id) && from_argv(argv, argc, s->bundle) &&
			   from_argv(argv, argc, s->container_pidfile),
		   "a required value not from argv");
	FUZZ_CHECK(asprintf(&expected, "%s/%s", a->exit_dir, s->container_id) >= 0, "out of memory");
	FUZZ_CHECK(strcmp(s->container_exitfile, expected) == 0, "exit file %s", s->container_exitfile);
	free(expected);
	FUZZ_CHECK(strncmp(s->container_attachfile, s->bundle, strlen(s->bundle)) == 0 &&
			   strncmp(s->container_ctlfile, s->bundle, strlen(s->bundle)) == 0,
		   "attach socket or FIFO outside the bundle");
	FUZZ_CHECK(!s->container_logfile || from_argv(argv, argc, s->container_logfile),
		   "log path not from argv");
	check_list(argv, argc, a->runtime_args, a->runtime_arg_count, 0);
	check_list(argv, argc, a->runtime_opts, a->runtime_opt_count, 0);
	check_list(argv, argc, a->exit_command, a->exit_command_count, 1);
	FUZZ_CHECK(s->exec_process_spec == NULL || a->exec, "an exec spec without -e");
	FUZZ_CHECK(!s->terminal || (s->stdin_enabled && !s->stdin_once), "a terminal without stdin");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *error = malloc(ERROR_LEN), **argv = calloc(size + 3, sizeof(char *));
	struct conmon_args args;
	size_t start = 0;
	int argc = 0;

	FUZZ_CHECK(error && argv, "out of memory");
	argv[argc++] = strdup("conmon");
	for (size_t i = 0; size > 0 && i <= size; i++) {
		if (i == size || data[i] == '\0') {
			argv[argc] = malloc(i - start + 1);
			FUZZ_CHECK(argv[argc] != NULL, "out of memory");
			memcpy(argv[argc], data + start, i - start);
			argv[argc++][i - start] = '\0';
			start = i + 1;
		}
	}
	memset(error, 'x', ERROR_LEN);
	if (conmon_args_parse(&args, argc, argv, error, ERROR_LEN) < 0) {
		FUZZ_CHECK(memchr(error, '\0', ERROR_LEN) != NULL, "error not NUL-terminated");
		FUZZ_CHECK(error[0] != '\0', "empty error");
		for (const char *c = error; *c; c++)
			FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f,
				   "a control character (%#x) in the error: %s", (unsigned char)*c, error);
	} else if (args.version) {
		bool asked = false;
		for (int i = 1; i < argc; i++)
			asked |= strcmp(argv[i], "--version") == 0;
		FUZZ_CHECK(asked, "version, but no one asked");
	} else {
		check_accepted(argv, argc, &args);
	}
	conmon_args_free(&args);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	free(error);
	return 0;
}
