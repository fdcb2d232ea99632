/* benchfleet.c: `benchhelp fleet`, the idle memory of many containers at
 * once (bench/run.sh's "idle memory at scale"). Its own file, beside
 * benchhelp.c's measurements of one container at a time; they share the
 * helpers of benchutil.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchhelp.h"

/* ---- fleet -------------------------------------------------------------- */

/* What each idle container costs when many run: COUNT containers of one
 * idle bundle, each under its own daemon, all running at once. A lone
 * daemon's USS counts pages that are private only because nothing else
 * maps them yet (the shim's own text); with many daemons those are shared
 * and what stays private is each daemon's own cost. The helper is the
 * daemons' subreaper for the whole measurement, so it reaps them at the
 * end, and on any failure it kills what it started (the script then runs
 * `runc delete --force` on every ID). */

struct fleet_member {
	char id[128], dir[PATH_MAX];
	pid_t daemon_pid, container_pid;
	int sync_fd;  /* kept open to the end: a daemon may write more to it */
	bool daemon_is_child, reaped;
	struct cpu_ticks ticks;
};

/* Kill every child of the helper, and reap what has died. */
static void kill_children(void)
{
	char path[64], list[65536];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, list, sizeof(list) - 1);
	close(fd);
	list[n > 0 ? n : 0] = '\0';
	for (char *p = list, *end;; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		kill((pid_t)pid, SIGKILL);
	}
	sleep_ms(100);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* atexit, on failure: kill everything started so far. The helper is the
 * daemons' subreaper: they are its children, and once they are gone their
 * containers are too. (After a success there are none left.) */
static void fleet_abandon(void)
{
	kill_children(); /* the daemons */
	kill_children(); /* the containers, reparented to us meanwhile */
}

/* TEMPLATE with every @ID@ and @DIR@ replaced. */
static char *fleet_subst(const char *template, const struct fleet_member *m)
{
	size_t cap = strlen(template) + 1, len = 0;
	char *out;

	for (const char *p = strchr(template, '@'); p; p = strchr(p + 1, '@'))
		cap += strlen(m->id) + strlen(m->dir); /* more than enough */
	out = malloc(cap);
	if (!out)
		die("out of memory");
	for (const char *p = template; *p;) {
		if (strncmp(p, "@ID@", 4) == 0) {
			len += (size_t)sprintf(out + len, "%s", m->id);
			p += 4;
		} else if (strncmp(p, "@DIR@", 5) == 0) {
			len += (size_t)sprintf(out + len, "%s", m->dir);
			p += 5;
		} else {
			out[len++] = *p++;
		}
	}
	out[len] = '\0';
	return out;
}

static void copy_file(const char *from, const char *to)
{
	char buf[64 * 1024];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		die("open %s: %m", from);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0)
		die("create %s: %m", to);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("write %s: %m", to);
	if (n < 0)
		die("read %s: %m", from);
	close(in);
	close(out);
}

static void make_dir(const char *dir, const char *sub)
{
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s%s", dir, sub);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %m", path);
}

/* The process's state letter from /proc/PID/stat, or 0 if it is gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Launch one container under one daemon, as `run` does, and start it. */
static void fleet_launch(struct fleet_member *m, int argc, char **template, const char *runc,
			 const char *config, const char *pidfile_template, bool sync_env)
{
	char **argv = calloc((size_t)argc + 1, sizeof(char *)), *pidfile, buf[8192];
	char *start_argv[] = { (char *)runc, "start", m->id, NULL };
	char config_path[PATH_MAX + 32];
	size_t len = 0;
	int pipe_fds[2], status;
	pid_t launcher;

	if (!argv)
		die("out of memory");
	make_dir(m->dir, "");
	make_dir(m->dir, "/bundle");
	make_dir(m->dir, "/exit");
	make_dir(m->dir, "/sock");
	snprintf(config_path, sizeof(config_path), "%s/bundle/config.json", m->dir);
	copy_file(config, config_path);
	for (int i = 0; i < argc; i++)
		argv[i] = fleet_subst(template[i], m);
	pidfile = fleet_subst(pidfile_template, m);

	launcher = launch(argv, sync_env, pipe_fds);
	m->sync_fd = pipe_fds[0];
	for (;;) {
		struct pollfd pfd = { .fd = m->sync_fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&pfd, 1, 60000);
		if (r == 0)
			die("%s: no report on the sync pipe after 60 s", m->id);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll: %m");
		n = read(m->sync_fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read sync pipe: %m");
		len += (size_t)n;
		buf[len] = '\0';
		if (n == 0 || strchr(buf, '}') || len == sizeof(buf) - 1)
			break;
	}
	{
		const char *keys[] = { "\"pid\":", "\"data\":" };
		for (size_t k = 0; k < 2 && m->container_pid <= 0; k++) {
			const char *p = strstr(buf, keys[k]);
			if (p)
				m->container_pid = (pid_t)strtol(p + strlen(keys[k]), NULL, 10);
		}
	}
	if (m->container_pid <= 0)
		die("%s: the sync pipe said %s", m->id, len ? buf : "nothing");
	status = wait_child(launcher);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s: launcher exited with wait status %#x", m->id, (unsigned)status);
	m->daemon_pid = await_pid_file(pidfile, 5000);
	{
		char path[64], line[256];
		long ppid = -1;
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/status", (int)m->daemon_pid);
		f = fopen(path, "re");
		if (!f)
			die("%s: daemon %d is gone: %m", m->id, (int)m->daemon_pid);
		while (fgets(line, sizeof(line), f))
			sscanf(line, "PPid: %ld", &ppid);
		fclose(f);
		m->daemon_is_child = ppid == (long)getpid();
	}
	status = run_wait(start_argv);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s: runc start failed (wait status %#x)", m->id, (unsigned)status);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	free(pidfile);
}

/* Every daemon asleep and its CPU time unchanged over SETTLE_MS, every
 * container asleep: all are idle. */
static bool fleet_idle(struct fleet_member *members, int count, long settle_ms)
{
	bool idle = true;

	for (int i = 0; i < count; i++)
		if (read_cpu_ticks(members[i].daemon_pid, &members[i].ticks) < 0)
			die("%s: daemon %d is gone", members[i].id, (int)members[i].daemon_pid);
	sleep_ms(settle_ms);
	for (int i = 0; i < count; i++) {
		struct fleet_member *m = &members[i];
		struct cpu_ticks now;
		char container_state = proc_state(m->container_pid);
		if (read_cpu_ticks(m->daemon_pid, &now) < 0)
			die("%s: daemon %d is gone", m->id, (int)m->daemon_pid);
		if (container_state == 0 || container_state == 'Z')
			die("%s: container pid %d is gone", m->id, (int)m->container_pid);
		if (now.user + now.sys != m->ticks.user + m->ticks.sys ||
		    proc_state(m->daemon_pid) != 'S' || container_state != 'S')
			idle = false;
	}
	return idle;
}

static void fleet_usage(void)
{
	fprintf(stderr,
		"usage: %s fleet --count N --runc PATH --config FILE --id-prefix P --dir-prefix D\n"
		"              --daemon-pidfile F [--sync-env] [--settle-ms N] [--smaps-out FILE] -- COMMAND...\n"
		"       (in F and COMMAND, @ID@ is P-I and @DIR@ is D I, for I = 1..N)\n",
		prog);
	exit(2);
}

int cmd_fleet(int argc, char **argv)
{
	const char *runc = NULL, *config = NULL, *id_prefix = NULL, *dir_prefix = NULL;
	const char *pidfile_template = NULL, *smaps_out = NULL;
	bool sync_env = false;
	long settle_ms = 500;
	int count = 0, i, rounds = 0;
	int64_t t0, t_launched, t_idle, t_end, deadline;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--sync-env") == 0) {
			sync_env = true;
			continue;
		}
		if (i + 1 >= argc)
			fleet_usage();
		if (strcmp(a, "--count") == 0)
			count = atoi(argv[++i]);
		else if (strcmp(a, "--runc") == 0)
			runc = argv[++i];
		else if (strcmp(a, "--config") == 0)
			config = argv[++i];
		else if (strcmp(a, "--id-prefix") == 0)
			id_prefix = argv[++i];
		else if (strcmp(a, "--dir-prefix") == 0)
			dir_prefix = argv[++i];
		else if (strcmp(a, "--daemon-pidfile") == 0)
			pidfile_template = argv[++i];
		else if (strcmp(a, "--settle-ms") == 0)
			settle_ms = atol(argv[++i]);
		else if (strcmp(a, "--smaps-out") == 0)
			smaps_out = argv[++i];
		else
			fleet_usage();
	}
	if (count <= 0 || !runc || !config || !id_prefix || !dir_prefix || !pidfile_template ||
	    i >= argc)
		fleet_usage();
	argc -= i;
	argv += i;

	struct fleet_member *fleet = calloc((size_t)count, sizeof(*fleet));

	if (!fleet)
		die("out of memory");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("PR_SET_CHILD_SUBREAPER: %m");
	atexit(fleet_abandon);

	t0 = now_ns();
	for (i = 0; i < count; i++) {
		struct fleet_member *m = &fleet[i];
		m->sync_fd = -1;
		snprintf(m->id, sizeof(m->id), "%s-%d", id_prefix, i + 1);
		snprintf(m->dir, sizeof(m->dir), "%s%d", dir_prefix, i + 1);
		fleet_launch(m, argc, argv, runc, config, pidfile_template, sync_env);
		if (!m->daemon_is_child)
			die("%s: daemon %d was not re-parented to the helper", m->id,
			    (int)m->daemon_pid);
	}
	t_launched = now_ns();

	/* Idle: nothing changes over settle_ms, twice in a row at most 30 s. */
	deadline = now_ns() + 30 * 1000000000LL;
	while (!fleet_idle(fleet, count, settle_ms)) {
		rounds++;
		if (now_ns() > deadline)
			die("the daemons are still not idle after 30 s");
	}
	t_idle = now_ns();

	for (i = 0; i < count; i++) {
		struct memory mem;
		if (read_memory(fleet[i].daemon_pid, &mem) < 0)
			die("%s: read smaps_rollup of daemon %d: %m", fleet[i].id,
			    (int)fleet[i].daemon_pid);
		printf("mem=%d %ld %ld %ld\n", (int)fleet[i].daemon_pid, mem.rss, mem.pss, mem.uss);
	}
	if (smaps_out) {
		/* One daemon's every mapping, for the breakdown: the middle one. */
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/smaps", (int)fleet[count / 2].daemon_pid);
		copy_file(path, smaps_out);
	}

	/* The end: kill every container, reap every daemon (each writes its
	 * exit file and exits), then remove runc's state. */
	for (i = 0; i < count; i++)
		if (kill(fleet[i].container_pid, SIGKILL) < 0)
			die("%s: kill container %d: %m", fleet[i].id, (int)fleet[i].container_pid);
	deadline = now_ns() + 30 * 1000000000LL;
	for (int left = count; left > 0;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno != EINTR && errno != ECHILD)
			die("waitpid: %m");
		if (pid <= 0) {
			if (now_ns() > deadline)
				die("%d daemons still alive 30 s after their containers were killed",
				    left);
			sleep_ms(2);
			continue;
		}
		for (i = 0; i < count; i++) {
			if (fleet[i].daemon_pid == pid && !fleet[i].reaped) {
				fleet[i].reaped = true;
				left--;
				/* conmon exits with the container's status (137 here). */
				if (WIFSIGNALED(status))
					fprintf(stderr, "%s: %s: daemon killed by signal %d\n", prog,
						fleet[i].id, WTERMSIG(status));
			}
		}
	}
	for (i = 0; i < count; i++) {
		char *delete_argv[] = { (char *)runc, "delete", "--force", fleet[i].id, NULL };
		int status = run_wait(delete_argv);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die("%s: runc delete failed (wait status %#x)", fleet[i].id, (unsigned)status);
		close(fleet[i].sync_fd);
	}
	free(fleet);
	t_end = now_ns();
	printf("launch_ns=%lld\nsettle_ns=%lld\nsettle_rounds=%d\nteardown_ns=%lld\n",
	       (long long)(t_launched - t0), (long long)(t_idle - t_launched), rounds + 1,
	       (long long)(t_end - t_idle));
	return 0;
}

