/* containerd-main.c: where containerd's shim starts (issue 11). containerd
 * 1.6 runs it twice per task, in the task's bundle directory:
 *
 *   SHIM -namespace NS -address ADDR -publish-binary BIN -id ID start
 *       Listen on a unix socket, fork the long-lived server (setsid, stdio
 *       to /dev/null: the daemon of step 2), write the socket's address to
 *       ./address, print it, exit 0. containerd then speaks ttrpc to it.
 *   SHIM -namespace NS -address ADDR -publish-binary BIN -id ID -bundle B delete
 *       After the task is gone, or when its server is: make runc forget
 *       the container, print a DeleteResponse, exit 0.
 *
 * The server (task.c) runs each process of the task under a shim daemon
 * of the core's: the init's in its own process (shim_host), each exec's
 * forked (shim_launch), as the conman and podman front ends do.
 * Flags are read as Go's flag package reads them: -flag value, -flag=value,
 * and the same with two dashes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "containerd.h"
#include "task.pb-c.h"
#include "util.h"

#define SOCKET_DIR "/run/containerd/s" /* containerd's own shims put theirs there */

struct containerd_args {
	const char *namespace, *address, *publish_binary, *id, *bundle, *socket;
	const char *action; /* "start", "delete", or NULL: the server itself */
	bool debug, version;
};

static int usage(const char *what)
{
	fprintf(stderr,
		"containerd-shim-cshim-v2: %s\n"
		"usage: containerd-shim-cshim-v2 -namespace NS -address ADDR -id ID "
		"[-publish-binary BIN] [-bundle DIR] [-debug] start|delete\n"
		"(containerd runs it; see docs/containerd.md)\n",
		what);
	return 2;
}

static int parse(struct containerd_args *args, int argc, char **argv)
{
	static const struct {
		const char *name;
		size_t offset;
	} strings[] = {
		{ "namespace", offsetof(struct containerd_args, namespace) },
		{ "address", offsetof(struct containerd_args, address) },
		{ "publish-binary", offsetof(struct containerd_args, publish_binary) },
		{ "id", offsetof(struct containerd_args, id) },
		{ "bundle", offsetof(struct containerd_args, bundle) },
		{ "socket", offsetof(struct containerd_args, socket) },
	};

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *equals;
		size_t len;
		bool known = false;

		if (arg[0] != '-') {
			if (args->action)
				return usage("more than one action");
			args->action = arg;
			continue;
		}
		name = arg + (arg[1] == '-' ? 2 : 1);
		equals = strchr(name, '=');
		len = equals ? (size_t)(equals - name) : strlen(name);
		if ((len == 5 && strncmp(name, "debug", 5) == 0) || (len == 1 && name[0] == 'v')) {
			*(len == 1 ? &args->version : &args->debug) = true;
			continue;
		}
		for (size_t s = 0; s < sizeof(strings) / sizeof(strings[0]); s++) {
			if (strlen(strings[s].name) != len || strncmp(strings[s].name, name, len) != 0)
				continue;
			if (!equals && i + 1 >= argc)
				return usage("a flag without its value");
			*(const char **)((char *)args + strings[s].offset) = equals ? equals + 1 : argv[++i];
			known = true;
		}
		if (!known) {
			fprintf(stderr, "containerd-shim-cshim-v2: unknown flag %s\n", arg);
			return 2;
		}
	}
	if (!args->version && (!args->namespace || !args->id || !args->address))
		return usage("-namespace, -address and -id are required");
	return 0;
}

/* containerd's scheme: SOCKET_DIR/sha256(ADDRESS/NS/ID), so the same task
 * finds the same socket. */
static int socket_path(const struct containerd_args *args, char path[108])
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1], *joined;

	if (sodium_init() < 0 || asprintf(&joined, "%s/%s/%s", args->address, args->namespace, args->id) < 0)
		return -1;
	crypto_hash_sha256(digest, (unsigned char *)joined, strlen(joined));
	free(joined);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	snprintf(path, 108, "%s/%s", SOCKET_DIR, hex);
	return 0;
}

static int listen_on(const char *path)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	mode_t old_umask;
	int fd, result;

	if (mkdir("/run/containerd", 0711) < 0 && errno != EEXIST)
		return -1;
	if (mkdir(SOCKET_DIR, 0700) < 0 && errno != EEXIST)
		return -1;
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT) { /* a socket left by a shim that died */
		close_fd(&fd);
		return -1;
	}
	old_umask = umask(0177); /* 0600 from the moment it exists */
	result = bind(fd, (struct sockaddr *)&address, sizeof(address));
	umask(old_umask);
	if (result < 0 || listen(fd, 16) < 0) {
		close_fd(&fd);
		return -1;
	}
	return fd;
}

/* start: listen, fork the server, say where. containerd reads our stdout
 * and stderr as one pipe until EOF, so the server must hold neither. */
static int cmd_start(const struct containerd_args *args)
{
	struct task_server server = { .events_fd = -1, .signal_fd = -1, .epoll_fd = -1 };
	char path[108], address[128];
	/* Allocated, not a PATH_MAX array: the server's stack stays below it
	 * for good, and an idle shim keeps every page of stack it spans. */
	char *cwd = getcwd(NULL, 0);
	int listen_fd, null_fd, status = 1;
	pid_t pid;

	if (!cwd)
		return fprintf(stderr, "containerd-shim-cshim-v2: getcwd: %m\n"), 1;
	if (socket_path(args, path) < 0) {
		fprintf(stderr, "containerd-shim-cshim-v2: socket path: %m\n");
		goto out;
	}
	listen_fd = listen_on(path);
	if (listen_fd < 0) {
		fprintf(stderr, "containerd-shim-cshim-v2: listen on %s: %m\n", path);
		goto out;
	}
	snprintf(address, sizeof(address), "unix://%s", path);

	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "containerd-shim-cshim-v2: fork: %m\n");
		close_fd(&listen_fd);
		goto out;
	}
	if (pid == 0) {
		/* The server: a session of its own, stdio to /dev/null, no fd of
		 * containerd's but the listening socket. */
		int kept[] = { listen_fd };
		null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (setsid() < 0 || null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 ||
		    dup2(null_fd, 2) < 0 || close_fds_except(kept, 1) < 0)
			_exit(1);
		server = (struct task_server){
			.namespace = args->namespace,
			.id = args->id,
			.bundle = cwd,
			.socket_path = path,
			.listen_fd = listen_fd,
			.events_fd = -1,
			.report_fd = -1,
			.create_conn_fd = -1,
			.signal_fd = -1,
			.epoll_fd = -1,
			.events_address = getenv("TTRPC_ADDRESS"),
		};
		snprintf(server.runc_root, sizeof(server.runc_root), "/run/containerd/runc/%s",
			 args->namespace);
		task_serve(&server);
	}
	close_fd(&listen_fd);
	/* ./address, whole or not at all, with no newline: containerd reads
	 * it back as it is when it restarts. */
	if (write_file_atomic("address", address, strlen(address), 0600) < 0) {
		fprintf(stderr, "containerd-shim-cshim-v2: write %s/address: %m\n", cwd);
		kill(pid, SIGKILL);
		goto out;
	}
	fputs(address, stdout);
	status = 0;
out:
	free(cwd);
	return status;
}

/* delete: the server is gone (or the task was deleted): make runc forget
 * the container and answer with a DeleteResponse. Always 0: containerd
 * runs it after every task, the container long gone or not. */
static int cmd_delete(const struct containerd_args *args)
{
	Task__DeleteResponse response = TASK__DELETE_RESPONSE__INIT;
	Task__Timestamp exited_at = TASK__TIMESTAMP__INIT;
	char root[256];
	uint8_t out[64];
	size_t len;
	struct timespec now;
	pid_t pid;

	snprintf(root, sizeof(root), "/run/containerd/runc/%s", args->namespace);
	pid = fork();
	if (pid == 0) {
		int null_fd = open("/dev/null", O_RDWR);
		if (null_fd >= 0) {
			dup2(null_fd, 1); /* our stdout is the response alone */
			dup2(null_fd, 2);
		}
		execlp("runc", "runc", "--root", root, "delete", "--force", args->id, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	/* An image's rootfs, mounted at Create, goes too: containerd removes
	 * its snapshot next. We run in the bundle. */
	if (rootfs_unmount(".") < 0)
		fprintf(stderr, "containerd-shim-cshim-v2: unmount rootfs: %m\n");
	clock_gettime(CLOCK_REALTIME, &now);
	exited_at.seconds = now.tv_sec;
	exited_at.nanos = (int32_t)now.tv_nsec;
	response.exit_status = 128 + SIGKILL; /* what runc-v2 says of a task it did not see end */
	response.exited_at = &exited_at;
	len = task__delete_response__pack(&response, out);
	return write_all(STDOUT_FILENO, out, len) < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct containerd_args args = { 0 };
	int status = parse(&args, argc, argv);

	if (status != 0)
		return status;
	if (args.version) {
		printf("containerd-shim-cshim-v2 " SHIM_VERSION "\n");
		return 0;
	}
	if (!args.action)
		return usage("no action: start or delete");
	if (strcmp(args.action, "start") == 0)
		return cmd_start(&args);
	if (strcmp(args.action, "delete") == 0)
		return cmd_delete(&args);
	fprintf(stderr, "containerd-shim-cshim-v2: unknown action %s; use start or delete\n", args.action);
	return 2;
}
