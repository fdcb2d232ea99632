/* oom.c: did the kernel's OOM killer strike in the container (step 5)? A
 * container over its memory limit is usually killed with SIGKILL, which
 * alone does not say why. The memory cgroup counts its OOM kills; the
 * shim opens that counter when the container is created and reads it
 * again when the container exits, and the exit file says "oomKilled":true
 * when it grew. Its own file: cgroups are a concern of their own, and the
 * rest of the shim never needs to know where they are mounted.
 *
 *   cgroup v1 (this machine, runc with cgroupfs): memory.oom_control,
 *     line "oom_kill N", in /sys/fs/cgroup/memory/PATH;
 *   cgroup v2: memory.events, line "oom_kill N", in /sys/fs/cgroup/PATH;
 * PATH from /proc/PID/cgroup. The counter file is held open from the
 * start, so a cgroup removed meanwhile makes the read fail, never read
 * another cgroup's. */
#define _GNU_SOURCE
#include "oom.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* The "oom_kill N" line of the counter file, read from its start. */
static int read_oom_kills(int fd, unsigned long long *kills)
{
	char text[1024], *line;
	ssize_t n;

	do
		n = pread(fd, text, sizeof(text) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	text[n] = '\0';
	for (line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "oom_kill ", 9) == 0) {
			*kills = strtoull(line + 9, NULL, 10);
			return 0;
		}
	}
	errno = ENOENT; /* a kernel before 4.13 does not count */
	return -1;
}

/* The file counting OOM kills in pid's memory cgroup: in its v1 memory
 * hierarchy if it has one, else in its v2 cgroup ("0::PATH"). */
static int oom_counter_path(pid_t pid, char *path, size_t cap)
{
	char proc_path[64], text[4096], *line, *next;
	const char *v1 = NULL, *v2 = NULL;
	int len;

	snprintf(proc_path, sizeof(proc_path), "/proc/%d/cgroup", (int)pid);
	if (read_small_file(proc_path, text, sizeof(text)) < 0)
		return -1;
	/* Lines "ID:CONTROLLERS:PATH". */
	for (line = text; *line && !v1; line = next) {
		char *controllers, *cgroup;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		controllers = strchr(line, ':');
		cgroup = controllers ? strchr(controllers + 1, ':') : NULL;
		if (!cgroup)
			continue;
		*cgroup++ = '\0';
		controllers++;
		if (strcmp(line, "0") == 0 && controllers[0] == '\0')
			v2 = cgroup;
		for (char *c = strtok(controllers, ","); c; c = strtok(NULL, ","))
			if (strcmp(c, "memory") == 0)
				v1 = cgroup;
	}
	if (v1)
		len = snprintf(path, cap, "/sys/fs/cgroup/memory%s/memory.oom_control", v1);
	else if (v2)
		len = snprintf(path, cap, "/sys/fs/cgroup%s/memory.events", v2);
	else {
		errno = ENOENT;
		return -1;
	}
	if (len < 0 || (size_t)len >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int oom_watch_start(struct oom_watch *watch, pid_t container_pid)
{
	char path[4096];

	watch->fd = -1;
	if (oom_counter_path(container_pid, path, sizeof(path)) < 0)
		return -1;
	watch->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (watch->fd < 0)
		return -1;
	if (read_oom_kills(watch->fd, &watch->kills_before) < 0) {
		close_fd(&watch->fd);
		return -1;
	}
	return 0;
}

int oom_watch_killed(struct oom_watch *watch, bool *killed)
{
	unsigned long long kills;

	if (watch->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (read_oom_kills(watch->fd, &kills) < 0)
		return -1;
	*killed = kills > watch->kills_before;
	return 0;
}

void oom_watch_stop(struct oom_watch *watch)
{
	close_fd(&watch->fd);
}
