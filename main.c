/* main.c: where conman's shim starts (step 1). It reads conman's flags
 * (args.c) and hands them to shim_launch (shim.c), which forks the daemon
 * that runs the other four steps. Its reports and exit files are worded
 * as shimmy words them (runtime.c). Other managers start at their own
 * front end (conmon.c for podman) and meet the same five steps there. */
#include <stdio.h>

#include "args.h"
#include "runtime.h"
#include "shim.h"

int main(int argc, char **argv)
{
	struct shim_args args;
	char error[512];
	int status;

	switch (args_parse(&args, argc, argv, error, sizeof(error))) {
	case ARGS_HELP:
		fputs(shim_usage, stdout);
		args_free(&args);
		return 0;
	case ARGS_VERSION:
		puts("shim " SHIM_VERSION);
		args_free(&args);
		return 0;
	case ARGS_USAGE_ERROR:
		fprintf(stderr, "shim: %s\n", error);
		args_free(&args);
		return 2;
	case ARGS_RUN:
		break;
	}
	status = shim_launch(&args, &shimmy_dialect);
	args_free(&args);
	return status;
}
