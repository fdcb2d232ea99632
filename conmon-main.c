/* conmon-main.c: where podman's shim starts (step 1 for podman). It
 * reads conmon's flags (conmon.c), answers podman's version probe, waits
 * for podman's start byte and hands the rest to shim_launch (shim.c) with
 * conmon's words. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conmon.h"
#include "shim.h"
#include "util.h"

/* What podman's version probe reads: it needs "conmon version X.Y.Z"
 * with X.Y.Z at least 2.0.1. 2.1.6 is the conmon whose protocol this
 * speaks (Debian 12's), so podman drives it exactly as it drives that. */
#define CONMON_VERSION "2.1.6"

/* Before the fork, a failure is told on stderr and, for podman to show
 * it, on the sync socket. */
static int refuse(const struct conmon_args *args, const char *message)
{
	fprintf(stderr, "shim-conmon: %s\n", message);
	if (args->shim.sync_fd >= 0) {
		char *line = conmon_report_error(message);
		if (line)
			write_all(args->shim.sync_fd, line, strlen(line));
		free(line);
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct conmon_args args;
	char error[512];
	int status;

	if (conmon_args_parse(&args, argc, argv, error, sizeof(error)) < 0) {
		status = refuse(&args, error);
		conmon_args_free(&args);
		return status;
	}
	if (args.version) {
		printf("conmon version " CONMON_VERSION "\ncommit: shim-conmon " SHIM_VERSION
		       ", the shim of this project speaking conmon's protocol\n");
		conmon_args_free(&args);
		return 0;
	}
	/* Podman writes one byte once it has put us in its cgroup: wait for
	 * it, so that runc and the container are forked there too. For exec,
	 * its second byte is the predecessor's to read (go_fd). */
	if (args.start_fd >= 0) {
		char go;
		ssize_t n;
		do
			n = read(args.start_fd, &go, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1) {
			status = refuse(&args, n < 0 ? "read the start pipe: failed"
						     : "the manager closed the start pipe before saying go");
			conmon_args_free(&args);
			return status;
		}
		if (args.exec)
			args.shim.go_fd = args.start_fd;
		else
			close_fd(&args.start_fd);
	}
	status = shim_launch(&args.shim, &conmon_dialect);
	conmon_args_free(&args);
	return status;
}
