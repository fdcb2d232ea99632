/* benchhelp.h: the bench helper's parts: benchutil.c (what the others
 * share: dying with a message, clocks, running and waiting for commands,
 * reading a process's CPU time and memory, launching a shim as a manager
 * would) and benchfleet.c (`benchhelp fleet`); main is in benchhelp.c. */
#ifndef BENCHHELP_H
#define BENCHHELP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

extern const char prog[];

struct cpu_ticks {
	long long user, sys;   /* utime, stime: the process itself, all its threads */
	long long children;    /* cutime+cstime: children it reaped (runc, the container) */
};

struct memory {
	long rss, pss, uss;
};

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
int64_t now_ns(void);
void sleep_ms(long ms);
pid_t spawn(char *const argv[]);
int wait_child(pid_t pid);
int run_wait(char *const argv[]);
int read_cpu_ticks(pid_t pid, struct cpu_ticks *ticks);
int read_memory(pid_t pid, struct memory *mem);
pid_t await_pid_file(const char *path, int timeout_ms);
pid_t launch(char **argv, bool sync_env, int pipe_fds[2]);

/* benchfleet.c */
int cmd_fleet(int argc, char **argv);

#endif
