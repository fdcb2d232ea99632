/* args.h: the shim's command line (step 1). conman launches shimmy with
 * these flags, so ours accepts them unchanged. */
#ifndef SHIM_ARGS_H
#define SHIM_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "util.h"

struct shim_args {
	const char *shim_pidfile;   /* --shimmy-pidfile: where the parent writes the daemon's PID */
	const char *shim_logfile;   /* --shim-logfile: diagnostics here instead of syslog */
	enum diag_level log_level;  /* --shimmy-log-level */
	const char *runtime;        /* --runtime, default "runc" */
	char **runtime_args;        /* --runtime-arg..., NULL-terminated */
	size_t runtime_arg_count;
	unsigned runtime_timeout;   /* --runtime-timeout SECONDS; 0: none */
	const char *bundle;
	const char *container_id;
	const char *container_pidfile;
	const char *container_logfile;
	const char *container_exitfile;
	const char *container_attachfile;
	bool attach_seqpacket;      /* --attach-seqpacket: one frame per packet */
	enum log_format log_format; /* --container-log-format, default shimmy */
	unsigned long long log_size_max; /* --log-size-max: rotate past this; 0: never */
	bool stdin_enabled;         /* --stdin */
	bool stdin_once;            /* --stdin-once: close stdin when the first client is done
	                             * (without --stdin, nothing to close: conman sends it so) */
	bool terminal;              /* --terminal: the container's stdio is a pty */
	bool no_subreaper;          /* --no-subreaper: for the workshop's lab 5 only */
	const char *container_ctlfile; /* --container-ctlfile: control FIFO */
	int sync_fd;                /* --syncpipe-fd or $_OCI_SYNCPIPE; -1 if neither */
};

enum args_result { ARGS_RUN, ARGS_HELP, ARGS_VERSION, ARGS_USAGE_ERROR };

/* Fill args from argv. On ARGS_USAGE_ERROR, error holds one line naming
 * the flag and what to do. Refuses only what the shim alone can judge
 * (its own flags, the sync fd is open, an ID runc would take for a flag);
 * the bundle and the ID's form are runc's to judge, and runc's error
 * reaches the manager in the report. */
enum args_result args_parse(struct shim_args *args, int argc, char **argv, char *error,
			    size_t error_len);
void args_free(struct shim_args *args);

/* conman passes runtime args as "'--root=/run/x'": remove one pair of
 * surrounding single quotes, in place. */
char *strip_quotes(char *arg);

extern const char shim_usage[];

#endif
