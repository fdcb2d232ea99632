/* benchutil.c: what benchhelp.c and benchfleet.c share (benchhelp.h):
 * dying with a message, clocks, running and waiting for commands, reading
 * a process's CPU time and memory, and launching a shim as a manager
 * would. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchhelp.h"

const char prog[] = "benchhelp";

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Start ARGV with stdin/stdout on /dev/null (stderr inherited). */
pid_t spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		int null_fd = open("/dev/null", O_RDWR);
		if (null_fd >= 0) {
			dup2(null_fd, 0);
			dup2(null_fd, 1);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "%s: exec %s: %m\n", prog, argv[0]);
		_exit(127);
	}
	return pid;
}

int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid %d: %m", (int)pid);
	return status;
}

/* Run ARGV like spawn, wait for it; return its wait status. */
int run_wait(char *const argv[])
{
	return wait_child(spawn(argv));
}

/* CPU times from /proc/PID/stat, in clock ticks. */
int read_cpu_ticks(pid_t pid, struct cpu_ticks *ticks)
{
	char path[64], buf[4096], *p;
	long long f[16];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p)
		return -1;
	p += 2; /* now at field 3, the state */
	p = strchr(p, ' '); /* skip the state */
	for (int i = 4; i <= 17 && p; i++) {
		f[i - 4] = strtoll(p + 1, &p, 10);
	}
	if (!p)
		return -1;
	ticks->user = f[14 - 4];
	ticks->sys = f[15 - 4];
	ticks->children = f[16 - 4] + f[17 - 4];
	return 0;
}

/* A process's memory, kB, from /proc/PID/smaps_rollup. USS is what only
 * this process maps (Private_Clean + Private_Dirty): what it costs on top
 * of the others. PSS adds its share of the pages it shares. */
int read_memory(pid_t pid, struct memory *mem)
{
	char path[64], line[256];
	long clean = -1, dirty = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	mem->rss = mem->pss = mem->uss = -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "Rss: %ld kB", &mem->rss);
		sscanf(line, "Pss: %ld kB", &mem->pss);
		sscanf(line, "Private_Clean: %ld kB", &clean);
		sscanf(line, "Private_Dirty: %ld kB", &dirty);
	}
	fclose(f);
	if (clean >= 0 && dirty >= 0)
		mem->uss = clean + dirty;
	return mem->rss >= 0 && mem->pss >= 0 && mem->uss >= 0 ? 0 : -1;
}

pid_t await_pid_file(const char *path, int timeout_ms)
{
	int64_t deadline = now_ns() + (int64_t)timeout_ms * 1000000;

	for (;;) {
		char buf[64] = "";
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				long v = strtol(buf, NULL, 10);
				if (v > 0)
					return (pid_t)v;
			}
		}
		if (now_ns() > deadline)
			die("no pid in %s after %d ms", path, timeout_ms);
		sleep_ms(1);
	}
}

/* The manager's side of a launch: run argv (a shim, as a manager would)
 * with its stdin and stdout on /dev/null and the write end of a fresh
 * pipe on fd 3, its sync pipe, named in _OCI_SYNCPIPE too with sync_env.
 * Returns the launcher's PID; pipe_fds[0] is the read end, the write end
 * is closed here. */
pid_t launch(char **argv, bool sync_env, int pipe_fds[2])
{
	pid_t launcher;

	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		die("pipe: %m");
	launcher = fork();
	if (launcher < 0)
		die("fork: %m");
	if (launcher == 0) {
		int null_fd = open("/dev/null", O_RDWR);
		if (dup2(pipe_fds[1], 3) < 0) /* dup2 clears close-on-exec */
			_exit(126);
		if (null_fd >= 0) {
			dup2(null_fd, 0);
			dup2(null_fd, 1);
		}
		if (sync_env)
			setenv("_OCI_SYNCPIPE", "3", 1);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: exec %s: %m\n", prog, argv[0]);
		_exit(127);
	}
	close(pipe_fds[1]);
	return launcher;
}

