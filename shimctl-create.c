/* shimctl-create.c: shimctl create, the manager's half of steps 1 and 4.
 *
 * It makes the container's state directory, starts the shim with the
 * write end of a sync pipe and the paths of every file it is to write
 * (step 1), waits for the shim's short-lived parent, then reads the one
 * JSON report the daemon sends once runc create has finished (step 4):
 * the container's PID, or why there is no container. Read it beside
 * shim.c's main and runtime.c's reports.
 *
 * It uses what shimctl.h declares (fail, run, read_until_eof, the state
 * directory); the other commands are in shimctl.c and shimctl-attach.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonread.h" /* the report: a flat JSON object */
#include "shimctl.h"
#include "util.h"

#define CREATE_TIMEOUT_MS 30000     /* for the shim's report on the sync pipe */

/* The shim binary: $SHIMCTL_SHIM, else the `shim` next to this executable
 * (so ./shimctl runs ./shim and build/asan/shimctl runs build/asan/shim),
 * else `shim` from PATH. */
void find_shim(char path[PATH_MAX])
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

/* Write text and a newline to path, atomically: a later shimctl reads it. */
static int write_line_file(const char *path, const char *text)
{
	char line[PATH_MAX + 1];
	int len = snprintf(line, sizeof(line), "%s\n", text);

	if (len >= (int)sizeof(line)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return write_file_atomic(path, line, (size_t)len, 0600);
}

/* The attach socket's path: ROOT/s/<sha256 of the ID in hex>, containerd's
 * scheme for shim sockets. It is always 64 characters after ROOT/s/,
 * whatever the ID, so it fits sun_path (108 bytes) unless ROOT is long,
 * and then connect_unix still reaches it. */
static int attach_socket_path(const struct container *c, char path[PATH_MAX])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1];

	if (sodium_init() < 0) {
		errno = EIO;
		return -1;
	}
	crypto_hash_sha256(digest, (const unsigned char *)c->id, strlen(c->id));
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	if (snprintf(path, PATH_MAX, "%s/%s/%s", c->root, SOCKET_DIR, hex) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* What the shim's report says, as our exit status; runs on the report read
 * from the sync pipe. Sets *discard when the state directory should go. */
static int handle_report(const struct container *c, const char *report, bool *discard)
{
	const struct json_field *stderr_field;
	const char *kind, *text;
	struct flat_json obj;
	int status = 1;

	if (flat_json_parse(report, &obj) < 0)
		return fail(1, "create %s: unreadable report from the shim: %s", c->id, report);
	kind = flat_json_string(&obj, "kind");
	if (!kind) {
		fail(1, "create %s: report from the shim has no kind: %s", c->id, report);
	} else if (strcmp(kind, "container_pid") == 0) {
		/* Created: the container waits in runc init for `start`. One
		 * line, "ID PID": the ID matters when we made it up. */
		long long pid;
		if (!flat_json_number(&obj, "pid", &pid) || pid <= 0)
			fail(1, "create %s: report from the shim has no pid: %s", c->id, report);
		else if (dprintf(STDOUT_FILENO, "%s %lld\n", c->id, pid) < 0)
			fail(1, "create %s: write stdout: %m", c->id);
		else
			status = 0;
	} else if (strcmp(kind, "runtime_abnormal_termination") == 0) {
		/* runc create failed and cleaned up after itself; its stderr
		 * says why, word for word. */
		text = flat_json_string(&obj, "status");
		fail(1, "create %s: runtime failed: %s", c->id, text ? text : "(no status)");
		stderr_field = flat_json_get(&obj, "stderr");
		if (stderr_field && stderr_field->string && stderr_field->len > 0) {
			fwrite(stderr_field->string, 1, stderr_field->len, stderr);
			if (stderr_field->string[stderr_field->len - 1] != '\n')
				fputc('\n', stderr);
		}
		*discard = true;
	} else if (strcmp(kind, "shim_error") == 0) {
		text = flat_json_string(&obj, "message");
		fail(1, "create %s: shim failed: %s", c->id, text ? text : "(no message)");
		/* The shim may have failed after runc created the container:
		 * make sure runc forgets it too (a no-op if it never knew it). */
		char *delete_argv[] = { (char *)c->runtime, "delete", "--force", (char *)c->id,
					NULL };
		if (run(delete_argv, NULL, 0, NULL) < 0)
			fail(1, "create %s: run %s delete: %m", c->id, c->runtime);
		*discard = true;
	} else {
		fail(1, "create %s: unknown report from the shim: %s", c->id, report);
	}
	free(obj.text);
	return status;
}

/* shimctl create [ID] --bundle DIR [--tty] [--stdin [--stdin-once]]
 * Prints "ID PID" once the container is created. The shim
 * always listens on an attach socket (SOCK_SEQPACKET); --tty gives the
 * container a terminal, a stdin and a control FIFO. The bundle's
 * process.terminal must agree with --tty: the shim checks, and its
 * message is printed as it is. */
int cmd_create(int argc, char **argv)
{
	const char *id = NULL, *bundle_arg = NULL;
	bool with_stdin = false, stdin_once = false, tty = false, discard = false;
	char generated_id[ID_MAX + 1], shim_path[PATH_MAX], sync_fd_text[16];
	char socket_dir[PATH_MAX], socket_path[PATH_MAX];
	char *bundle = NULL, *report = NULL;
	int sync_pipe[2] = { -1, -1 }, status, shim_status;
	struct container c;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--bundle") == 0 && i + 1 < argc)
			bundle_arg = argv[++i];
		else if (strcmp(argv[i], "--stdin") == 0)
			with_stdin = true;
		else if (strcmp(argv[i], "--stdin-once") == 0)
			stdin_once = true;
		else if (strcmp(argv[i], "--tty") == 0)
			tty = true;
		else if (argv[i][0] == '-' || id)
			return fail(2, "create: unexpected argument %s; see shimctl help", argv[i]);
		else
			id = argv[i];
	}
	if (!bundle_arg)
		return fail(2, "create: --bundle DIR is required; see shimctl help");
	if (tty)
		with_stdin = true; /* a terminal is for typing into */
	if (stdin_once && !with_stdin)
		return fail(2, "create: --stdin-once needs --stdin (or --tty)");
	if (!id) {
		if (random_id(generated_id) < 0)
			return fail(1, "create: random ID: sodium_init failed");
		id = generated_id;
	}
	status = open_container(&c, "create", id, false);
	if (status != 0)
		return status;
	if (state_file(socket_dir, c.root, SOCKET_DIR) < 0 ||
	    attach_socket_path(&c, socket_path) < 0)
		return fail(1, "create %s: attach socket path under %s: %m", id, c.root);

	/* The shim and runc must find the bundle whatever their directory. */
	bundle = realpath(bundle_arg, NULL);
	if (!bundle)
		return fail(1, "create %s: bundle %s: %m", id, bundle_arg);
	status = 1;
	if (mkdir(c.root, 0700) < 0 && errno != EEXIST) {
		fail(1, "create %s: make state root %s: %m", id, c.root);
		goto out;
	}
	if (mkdir(socket_dir, 0700) < 0 && errno != EEXIST) {
		fail(1, "create %s: make socket directory %s: %m", id, socket_dir);
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
	discard = true; /* until the shim's daemon runs, with its log in there */
	/* attach reads the tty marker to know the container has a terminal. */
	if (write_line_file(c.bundle_path, bundle) < 0 ||
	    write_line_file(c.attach_path, socket_path) < 0 ||
	    (tty && write_file_atomic(c.tty_path, "", 0, 0600) < 0)) {
		fail(1, "create %s: write state files in %s: %m", id, c.dir);
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
		"--container-attachfile", socket_path,
		"--attach-seqpacket",
		/* Room for the optional flags, filled in below, and the NULL
		 * that ends the list: --terminal --container-ctlfile PATH
		 * --stdin --stdin-once. */
		NULL, NULL, NULL, NULL, NULL, NULL,
	};
	size_t shim_argc = sizeof(shim_argv) / sizeof(shim_argv[0]) - 6;

	if (tty) {
		shim_argv[shim_argc++] = "--terminal";
		shim_argv[shim_argc++] = "--container-ctlfile";
		shim_argv[shim_argc++] = c.ctl_path;
	}
	if (with_stdin)
		shim_argv[shim_argc++] = "--stdin";
	if (stdin_once)
		shim_argv[shim_argc++] = "--stdin-once";
	/* The shim's parent forks the daemon, writes shim.pid and exits at
	 * once; a non-zero exit is a usage error it has already printed. run
	 * closes our write end: only the shim may hold one, or we would never
	 * see EOF. */
	shim_status = run(shim_argv, &sync_pipe[1], 1, NULL);
	if (shim_status < 0) {
		fail(1, "create %s: run shim %s: %m", id, shim_path);
		goto out;
	}
	if (shim_status != 0) {
		fail(1, "create %s: shim %s exited with status %d (see its error above)", id,
		     shim_path, shim_status);
		goto out;
	}

	/* Step 4: the daemon reports once, then closes the pipe. Its log is
	 * in the state directory now: keep it, unless the report says the
	 * container never came to be. */
	discard = false;
	if (read_until_eof(sync_pipe[0], CREATE_TIMEOUT_MS, &report) < 0) {
		if (errno == ETIMEDOUT)
			fail(1, "create %s: no report from the shim within %d s; "
				"see %s, then shimctl delete %s",
			     id, CREATE_TIMEOUT_MS / 1000, c.shim_log_path, id);
		else
			fail(1, "create %s: read sync pipe: %m", id);
		goto out;
	}
	if (report[0] == '\0') {
		fail(1, "create %s: shim exited without a report; see %s, then shimctl delete %s",
		     id, c.shim_log_path, id);
		goto out;
	}
	status = handle_report(&c, report, &discard);
out:
	/* A shim that failed after listening may have left its socket. */
	if (discard && remove_attach_socket(socket_path) < 0)
		fail(1, "create %s: remove attach socket %s: %m", id, socket_path);
	if (discard && remove_state(&c) < 0 && errno != ENOENT)
		fail(1, "create %s: remove %s: %m", id, c.dir);
	close_fd(&sync_pipe[0]);
	close_fd(&sync_pipe[1]);
	free(report);
	free(bundle);
	return status;
}
