/* tests/unit-conmon.c: Check unit tests for podman's front end (conmon.c):
 * conmon's flags read by GOption's rules, starting from podman 4.3.1's own
 * invocations word for word (../shared/reference/conmon-protocol.md, 1.2
 * and 1.3), and conmon's words to the byte. Linked into tests/unit. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conmon.h"
#include "runtime.h"

Suite *conmon_suite(void);

#define CID "d39080012991f846ac888cc0c51815a42a59514367a7b13ee54b40d032903403"
#define USERDATA "/var/lib/containers/storage/overlay-containers/" CID "/userdata"
#define RUNDATA "/run/containers/storage/overlay-containers/" CID "/userdata"

struct parsed {
	struct conmon_args args;
	char error[512];
	int result;
};

static void parse(struct parsed *p, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	unsetenv("_OCI_SYNCPIPE");
	unsetenv("_OCI_STARTPIPE");
	unsetenv("_OCI_ATTACHPIPE");
	p->result = conmon_args_parse(&p->args, argc, argv, p->error, sizeof(p->error));
}

/* podman run --rm, as captured: every flag, in podman's order. */
START_TEST(test_podman_run_invocation)
{
	char *argv[] = {
		"/usr/bin/conmon", "--api-version", "1", "-c", CID, "-u", CID, "-r", "/usr/bin/runc",
		"-b", USERDATA, "-p", RUNDATA "/pidfile", "-n", "magical_ritchie",
		"--exit-dir", "/run/libpod/exits", "--full-attach", "-l", "k8s-file:" USERDATA "/ctr.log",
		"--log-level", "warning", "--runtime-arg", "--log-format=json", "--runtime-arg", "--log",
		"--runtime-arg=" RUNDATA "/oci-log", "--conmon-pidfile", RUNDATA "/conmon.pid",
		"--exit-command", "/usr/bin/podman",
		"--exit-command-arg", "--root", "--exit-command-arg", "/var/lib/containers/storage",
		"--exit-command-arg", "--runroot", "--exit-command-arg", "/run/containers/storage",
		"--exit-command-arg", "--log-level", "--exit-command-arg", "warning",
		"--exit-command-arg", "--cgroup-manager", "--exit-command-arg", "cgroupfs",
		"--exit-command-arg", "--tmpdir", "--exit-command-arg", "/run/libpod",
		"--exit-command-arg", "--network-config-dir", "--exit-command-arg", "",
		"--exit-command-arg", "--network-backend", "--exit-command-arg", "netavark",
		"--exit-command-arg", "--volumepath", "--exit-command-arg", "/var/lib/containers/storage/volumes",
		"--exit-command-arg", "--runtime", "--exit-command-arg", "runc",
		"--exit-command-arg", "--events-backend", "--exit-command-arg", "file",
		"--exit-command-arg", "container", "--exit-command-arg", "cleanup",
		"--exit-command-arg", "--rm", "--exit-command-arg", CID, NULL,
	};
	struct parsed p;
	struct shim_args *shim = &p.args.shim;

	parse(&p, argv);
	ck_assert_msg(p.result == 0, "refused: %s", p.error);
	ck_assert_str_eq(shim->container_id, CID);
	ck_assert_str_eq(shim->runtime, "/usr/bin/runc");
	ck_assert_str_eq(shim->bundle, USERDATA);
	ck_assert_str_eq(shim->container_pidfile, RUNDATA "/pidfile");
	ck_assert_str_eq(shim->container_logfile, USERDATA "/ctr.log");
	ck_assert_int_eq(shim->log_format, LOG_FORMAT_K8S_FILE);
	ck_assert_str_eq(shim->container_exitfile, "/run/libpod/exits/" CID);
	ck_assert_str_eq(shim->container_attachfile, USERDATA "/attach");
	ck_assert_str_eq(shim->container_ctlfile, USERDATA "/ctl");
	ck_assert_str_eq(shim->oom_file, USERDATA "/oom");
	ck_assert_str_eq(shim->shim_pidfile, RUNDATA "/conmon.pid");
	ck_assert(shim->attach_seqpacket);
	ck_assert(!shim->stdin_enabled && !shim->terminal);
	ck_assert_int_eq(shim->log_level, DIAG_WARN);
	ck_assert_uint_eq(shim->runtime_arg_count, 3);
	ck_assert_str_eq(shim->runtime_args[0], "--log-format=json");
	ck_assert_str_eq(shim->runtime_args[1], "--log");
	ck_assert_str_eq(shim->runtime_args[2], RUNDATA "/oci-log");
	ck_assert_ptr_null(shim->runtime_args[3]);
	ck_assert_uint_eq(shim->runtime_command_arg_count, 0);
	ck_assert_ptr_null(shim->exec_process_spec);
	/* The exit command: kept exactly, the empty value too. */
	ck_assert_str_eq(shim->exit_command[0], "/usr/bin/podman");
	ck_assert_str_eq(shim->exit_command[11], "--network-config-dir");
	ck_assert_str_eq(shim->exit_command[12], "");
	ck_assert_str_eq(shim->exit_command[23], "--rm");
	ck_assert_str_eq(shim->exit_command[24], CID);
	ck_assert_ptr_null(shim->exit_command[25]);
	conmon_args_free(&p.args);
}
END_TEST

/* podman exec -it, as captured: -t -i -e --exec-attach, a session's bundle. */
START_TEST(test_podman_exec_invocation)
{
	char *argv[] = {
		"/usr/bin/conmon", "--api-version", "1", "-c", CID, "-u", "7c53cd85a2", "-r", "/usr/bin/runc",
		"-b", USERDATA "/7c53cd85a2", "-p", USERDATA "/7c53cd85a2/exec_pid", "-n", "tB",
		"--exit-dir", USERDATA "/7c53cd85a2/exit", "--full-attach", "-l", "none",
		"--log-level", "warning", "--runtime-arg", "--log-format=json", "--runtime-arg", "--log",
		"--runtime-arg=" USERDATA "/7c53cd85a2/oci-log", "-t", "-i", "-e", "--exec-attach",
		"--exec-process-spec", USERDATA "/7c53cd85a2/exec-process-39646208",
		"--exit-command", "/usr/bin/podman", "--exit-command-arg", "container",
		"--exit-command-arg", "cleanup", "--exit-command-arg", "--exec",
		"--exit-command-arg", "7c53cd85a2", "--exit-command-arg", CID, NULL,
	};
	struct parsed p;
	struct shim_args *shim = &p.args.shim;
	int attach_pipe[2];
	char fd_text[16];

	ck_assert_int_eq(pipe(attach_pipe), 0);
	parse(&p, argv);
	/* --exec-attach without _OCI_ATTACHPIPE is refused, as conmon does. */
	ck_assert_int_eq(p.result, -1);
	ck_assert_str_eq(p.error, "--exec-attach needs _OCI_ATTACHPIPE in the environment");
	conmon_args_free(&p.args);

	snprintf(fd_text, sizeof(fd_text), "%d", attach_pipe[1]);
	unsetenv("_OCI_SYNCPIPE");
	setenv("_OCI_ATTACHPIPE", fd_text, 1);
	p.result = conmon_args_parse(&p.args, (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv,
				     p.error, sizeof(p.error));
	ck_assert_msg(p.result == 0, "refused: %s", p.error);
	ck_assert(p.args.exec && p.args.exec_attach);
	ck_assert_int_eq(shim->ready_fd, attach_pipe[1]);
	ck_assert_str_eq(shim->exec_process_spec, USERDATA "/7c53cd85a2/exec-process-39646208");
	ck_assert_ptr_null(shim->container_logfile); /* -l none */
	ck_assert_str_eq(shim->container_exitfile, USERDATA "/7c53cd85a2/exit/" CID);
	ck_assert_str_eq(shim->container_attachfile, USERDATA "/7c53cd85a2/attach");
	ck_assert_ptr_null(shim->oom_file); /* an exec's end says nothing of the container */
	/* A terminal carries stdin, and a client's EOF does not close it. */
	ck_assert(shim->terminal && shim->stdin_enabled && !shim->stdin_once);
	ck_assert_str_eq(shim->exit_command[3], "--exec");
	conmon_args_free(&p.args);
}
END_TEST

/* GOption's rules, one each. */
START_TEST(test_goption_rules)
{
	char *grouped[] = { "conmon", "-tic", "id", "-b", "/b", "-p", "/p", "--exit-dir=/e", NULL };
	char *value_like_flag[] = { "conmon", "-c", "id", "-b", "/b", "-p", "/p", "--exit-dir", "/e",
				    "--runtime-arg", "--root", "--runtime-opt", "-x", "-s", NULL };
	char *stray[] = { "conmon", "1", "-c", "id", "-", "-b", "/b", "-p", "/p", "--exit-dir", "/e",
			  "--", "-z", NULL };
	char *last_wins[] = { "conmon", "-c", "a", "-c", "b", "-b", "/b", "-p", "/p", "--exit-dir", "/e", NULL };
	struct parsed p;

	parse(&p, grouped);
	ck_assert_msg(p.result == 0, "%s", p.error);
	ck_assert(p.args.shim.terminal && p.args.shim.stdin_enabled);
	ck_assert_str_eq(p.args.shim.container_id, "id");
	ck_assert_str_eq(p.args.shim.container_exitfile, "/e/id");
	conmon_args_free(&p.args);

	parse(&p, value_like_flag);
	ck_assert_msg(p.result == 0, "%s", p.error);
	/* -s puts --systemd-cgroup before the runtime args, as conmon does. */
	ck_assert_str_eq(p.args.shim.runtime_args[0], "--systemd-cgroup");
	ck_assert_str_eq(p.args.shim.runtime_args[1], "--root");
	ck_assert_str_eq(p.args.shim.runtime_command_args[0], "-x");
	conmon_args_free(&p.args);

	parse(&p, stray);
	ck_assert_msg(p.result == 0, "%s", p.error);
	conmon_args_free(&p.args);

	parse(&p, last_wins);
	ck_assert_msg(p.result == 0, "%s", p.error);
	ck_assert_str_eq(p.args.shim.container_id, "b");
	conmon_args_free(&p.args);
}
END_TEST

static const struct {
	const char *flag, *value, *error;
} refusals[] = {
	{ "--restore", "/cp", "--restore: checkpoint and restore are not supported by this shim; use conmon for it" },
	{ "--timeout=5", NULL, "--timeout: a time limit on the container (podman run --timeout) is not supported by this shim; use conmon for it" },
	{ "--sdnotify-socket", "/s", "--sdnotify-socket: sd_notify passthrough (podman run --sdnotify=container) is not supported by this shim; use conmon for it" },
	{ "-l", "journald", "--log-path journald: the journald log driver is not supported; use k8s-file (podman --log-driver k8s-file)" },
	{ "-l", "passthrough", "--log-path passthrough: the passthrough log driver is not supported; use k8s-file (podman --log-driver k8s-file)" },
	{ "-l", "syslog:x", "--log-path syslog:x: unknown log driver; use k8s-file:PATH or none" },
	{ "--frobnicate", NULL, "unknown option --frobnicate; this shim reads conmon 2.1.6's flags (see docs/podman.md)" },
	{ "-Z", NULL, "unknown option -Z in -Z" },
	{ "--terminal=yes", NULL, "--terminal takes no value: --terminal=yes" },
	{ "--exit-delay", "soon", "--exit-delay soon: not a number of seconds (0 to 3600)" },
	{ "--log-level", "loud", "--log-level loud: unknown level; use trace, debug, info, warning or error" },
	{ "--cid", "-h", "--cid -h: an ID may not begin with '-' (the runtime would take it for a flag)" },
};

START_TEST(test_refused_by_name)
{
	char *argv[] = { "conmon", "-b", "/b", "-p", "/p", "--exit-dir", "/e", "-c", "id",
			 (char *)refusals[_i].flag, (char *)refusals[_i].value, NULL };
	struct parsed p;

	parse(&p, argv);
	ck_assert_int_eq(p.result, -1);
	ck_assert_str_eq(p.error, refusals[_i].error);
	conmon_args_free(&p.args);
}
END_TEST

START_TEST(test_required_and_version)
{
	char *version[] = { "conmon", "--version", NULL };
	char *no_cid[] = { "conmon", "-b", "/b", NULL };
	char *no_exit_dir[] = { "conmon", "-c", "id", "-b", "/b", "-p", "/p", NULL };
	char *exec_no_spec[] = { "conmon", "-c", "id", "-b", "/b", "-p", "/p", "--exit-dir", "/e", "-e", NULL };
	struct parsed p;

	parse(&p, version); /* the probe: no other flag needed */
	ck_assert_int_eq(p.result, 0);
	ck_assert(p.args.version);
	conmon_args_free(&p.args);
	parse(&p, no_cid);
	ck_assert_str_eq(p.error, "Container ID not provided. Use --cid");
	conmon_args_free(&p.args);
	parse(&p, no_exit_dir);
	ck_assert_str_eq(p.error, "--exit-dir not provided: podman learns the exit status from <exit-dir>/<cid>");
	conmon_args_free(&p.args);
	parse(&p, exec_no_spec);
	ck_assert_str_eq(p.error, "Exec process spec path not provided. Use --exec-process-spec");
	conmon_args_free(&p.args);
}
END_TEST

static void assert_words(char *got, const char *expected)
{
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, expected);
	free(got);
}

/* The bytes podman parses: {"data": N}\n lines and the bare exit code. */
START_TEST(test_conmon_words)
{
	const char runc_error[] = "runc create failed: exec: \"/nonexistent\": stat\tx\n";
	struct timespec at = { 0 };

	assert_words(conmon_dialect.report_pid(14018), "{\"data\": 14018}\n");
	assert_words(conmon_dialect.report_ready(), "{\"data\": 0}\n");
	assert_words(conmon_dialect.report_failure(1 << 8, false, 0, runc_error, strlen(runc_error)),
		     "{\"data\": -1, \"message\": \"runc create failed: exec: \\\"/nonexistent\\\": stat\\tx\\n\"}\n");
	assert_words(conmon_dialect.report_failure(9, false, 0, "", 0),
		     "{\"data\": -1, \"message\": \"runtime killed by signal 9\"}\n");
	assert_words(conmon_dialect.report_error("no \"bundle\""),
		     "{\"data\": -1, \"message\": \"no \\\"bundle\\\"\"}\n");
	assert_words(conmon_dialect.format_exit(3 << 8, &at, false, 0), "3");
	assert_words(conmon_dialect.format_exit(SIGKILL, &at, true, 0), "137");
	assert_words(conmon_dialect.format_exit(SIGINT, &at, false, 7), "130");
	assert_words(conmon_dialect.format_exit(EXIT_STATUS_LOST, &at, false, 0), "-1");
	ck_assert_int_eq(conmon_dialect.stdout_frame_id, 2);
	ck_assert_int_eq(conmon_dialect.stderr_frame_id, 3);
	ck_assert_uint_eq(conmon_dialect.frame_data_max, 8192);
	ck_assert(conmon_dialect.ctl_height_first);
}
END_TEST

Suite *conmon_suite(void)
{
	Suite *suite = suite_create("conmon front end");
	TCase *tc = tcase_create("flags");

	tcase_add_test(tc, test_podman_run_invocation);
	tcase_add_test(tc, test_podman_exec_invocation);
	tcase_add_test(tc, test_goption_rules);
	tcase_add_loop_test(tc, test_refused_by_name, 0, (int)(sizeof(refusals) / sizeof(refusals[0])));
	tcase_add_test(tc, test_required_and_version);
	suite_add_tcase(suite, tc);
	tc = tcase_create("words");
	tcase_add_test(tc, test_conmon_words);
	suite_add_tcase(suite, tc);
	return suite;
}
