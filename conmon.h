/* conmon.h: podman's front end (conmon.c; its main in conmon-main.c). Podman runs
 * conmon with conmon's flags and reads conmon's words; this front end
 * reads the one and speaks the other, and runs the same five steps as
 * conman's shim. Nothing of the core includes this. */
#ifndef SHIM_CONMON_H
#define SHIM_CONMON_H

#include <stdbool.h>
#include <stddef.h>

#include "shim.h"

/* What podman's conmon command line says, beyond what shim_args holds. */
struct conmon_args {
	struct shim_args shim;
	bool version;           /* --version: podman's probe, before anything else */
	bool exec;              /* -e: runc exec into -c, not runc create */
	bool exec_attach;       /* --exec-attach: podman attaches before the process starts */
	bool systemd_cgroup;    /* -s: runc --systemd-cgroup */
	const char *exit_dir;   /* the exit file is <exit-dir>/<cid> */
	char *exit_file;        /* that path, made by conmon_args_parse */
	char *attach_path;      /* <bundle>/attach */
	char *ctl_path;         /* <bundle>/ctl */
	char *oom_path;         /* <bundle>/oom */
	/* Accumulated, as GOption does for repeated flags; NULL-terminated. */
	char **runtime_args;    /* --runtime-arg, and --systemd-cgroup's flag */
	char **runtime_opts;    /* --runtime-opt, --no-pivot, --no-new-keyring */
	char **exit_command;    /* --exit-command, then each --exit-command-arg */
	size_t runtime_arg_count, runtime_opt_count, exit_command_count;
	int start_fd;           /* _OCI_STARTPIPE, -1 if absent */
};

/* Read argv by GOption's rules, as conmon does: "--opt value" and
 * "--opt=value"; short flags grouped ("-ti"), a short flag's value in the
 * next argument; a value taken as it is, even when it begins with '-' or
 * is empty; repeated flags accumulate or the last wins; arguments that
 * are not flags (podman's "1" after --api-version, which conmon takes no
 * value for) ignored. Then the environment's _OCI_* pipes. 0, or -1 with
 * one line in error naming the flag and what to do. A flag podman can
 * send for a feature we do not have (checkpoint restore, journald, ...)
 * is refused by name, never ignored. */
int conmon_args_parse(struct conmon_args *args, int argc, char **argv, char *error,
		      size_t error_len);
void conmon_args_free(struct conmon_args *args);

/* conmon's words: {"data": N} lines on the sync socket, the bare exit
 * code, frames 2 and 3 of at most 8192 bytes, "TYPE HEIGHT WIDTH". */
extern const struct dialect conmon_dialect;
/* {"data": -1, "message": "..."}\n, for errors before the fork too. */
char *conmon_report_error(const char *message);

#endif
