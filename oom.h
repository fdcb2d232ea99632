/* oom.h: whether the kernel's OOM killer struck in the container's memory
 * cgroup while it ran (step 5), for the exit file. */
#ifndef SHIM_OOM_H
#define SHIM_OOM_H

#include <stdbool.h>
#include <sys/types.h>

struct oom_watch {
	int fd;                           /* the cgroup's counter file; -1 if none */
	unsigned long long kills_before;  /* its OOM-kill count at the start */
};

/* Find the container's memory cgroup and note its OOM-kill count. -1 with
 * errno when there is none to watch (no memory cgroup, a kernel that does
 * not count): the exit file then simply never says "oomKilled". */
int oom_watch_start(struct oom_watch *watch, pid_t container_pid);

/* At the exit: has the count grown? -1 when it cannot be read (the
 * cgroup was removed meanwhile). */
int oom_watch_killed(struct oom_watch *watch, bool *killed);
void oom_watch_stop(struct oom_watch *watch);

#endif
