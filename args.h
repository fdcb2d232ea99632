/* args.h: the shim's command line (step 1). conman launches shimmy with
 * these flags, so ours accepts them unchanged; main.c hands what they
 * say to shim_launch. */
#ifndef SHIM_ARGS_H
#define SHIM_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "shim.h"

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
