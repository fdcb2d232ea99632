/* benchhelp.c: the timing half of bench/run.sh, which builds it with cc
 * into a temporary directory. One invocation is one measurement; results
 * are printed as key=value lines for the script.
 *
 *   benchhelp run OPTIONS -- SHIM_COMMAND...
 *       Launch a shim (ours or conmon) with a sync pipe on fd 3, time the
 *       report (and, from the kernel's process events, how much of that
 *       was runc create itself), then per --mode:
 *         startup     nothing more: `runc kill ID KILL`
 *       or run `runc start` and measure:
 *         throughput  wall time from `runc start` to the exit file, and the
 *                     daemon's own CPU time (utime+stime) at its exit
 *         idle        RSS and PSS of the daemon after --idle-ms, then
 *                     `runc kill ID KILL`
 *         exitlat     time from the container's death (the kernel's exit
 *                     event) to the exit file's appearance (inotify)
 *       Options: --mode M --id ID --runc PATH --daemon-pidfile F
 *                --exit-file F [--sync-env] [--idle-ms N] [--timeout S]
 *   benchhelp create --runc PATH --bundle B --pid-file P --id ID
 *       Time a bare `runc create` (fork to exit, and exec to exit).
 *   benchhelp fleet --count N --runc PATH --config FILE --id-prefix P
 *                   --dir-prefix D --daemon-pidfile F [--sync-env]
 *                   [--settle-ms N] [--smaps-out FILE] -- SHIM_COMMAND...
 *       N idle containers at once, each under its own daemon (@ID@ and
 *       @DIR@ in F and the command stand for P-I and D I): once all are
 *       idle, every daemon's RSS, PSS and USS; then all are removed.
 *   benchhelp verify-log FILE
 *       Parse a k8s-file log: content bytes (what the container wrote),
 *       F and P record counts, malformed records.
 *   benchhelp reap --comm NAME -- COMMAND...
 *       Run COMMAND (under podman: `podman start X && podman wait X`) and
 *       time it; every process orphaned meanwhile becomes our child, and
 *       those named NAME (the monitor podman started) are read at their
 *       exit: their CPU time, summed. Waits until every orphan is gone.
 *
 * The helper makes itself a child subreaper, so the daemon, orphaned when
 * the short-lived launcher exits, becomes its child: the daemon's CPU time
 * is then read from /proc/PID/stat of the zombie, which holds the final
 * values, before it is reaped. Nothing is sampled, nothing is missed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchhelp.h"

/* Reap every exited child but `keep` (left a zombie for its stat). */
static void reap_others(pid_t keep)
{
	for (;;) {
		siginfo_t info = { 0 };
		if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid == 0)
			return;
		if (info.si_pid == keep)
			return; /* it is first in line; the others wait a little */
		waitpid(info.si_pid, NULL, 0);
	}
}

/* ---- the exit file ------------------------------------------------------ */

struct exit_watch {
	const char *path;
	const char *name;
	int fd;
};

static void exit_watch_init(struct exit_watch *w, const char *path)
{
	char *dir = strdup(path), *slash;

	if (!dir)
		die("out of memory");
	slash = strrchr(dir, '/');
	w->path = path;
	w->name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (slash)
		*slash = '\0';
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		die("inotify_init1: %m");
	if (inotify_add_watch(w->fd, slash ? dir : ".", IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
		die("inotify_add_watch %s: %m", dir);
	free(dir);
}

/* Wait for the exit file; return the time it was seen. inotify reports
 * the rename (both shims write a temporary file and rename it) the moment
 * it happens; every 5 ms the file is also looked for directly, in case. */
static int64_t exit_watch_wait(struct exit_watch *w, int timeout_s)
{
	int64_t deadline = now_ns() + (int64_t)timeout_s * 1000000000;

	for (;;) {
		struct pollfd pfd = { .fd = w->fd, .events = POLLIN };
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
		int r = poll(&pfd, 1, 5);
		int64_t t = now_ns();

		if (r < 0 && errno != EINTR)
			die("poll: %m");
		if (r > 0) {
			ssize_t n;
			while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
				for (char *p = buf; p < buf + n;) {
					struct inotify_event *ev = (struct inotify_event *)p;
					if (ev->len > 0 && strcmp(ev->name, w->name) == 0)
						return t;
					p += sizeof(*ev) + ev->len;
				}
			}
		}
		if (access(w->path, F_OK) == 0)
			return t;
		if (t > deadline)
			die("no exit file %s after %d s", w->path, timeout_s);
	}
}

/* ---- runc's own time, from the kernel's process events ------------------ */

/* The proc connector (netlink) reports every exec and exit on the machine
 * with a CLOCK_MONOTONIC timestamp. From it we take the exec of
 * `runc ... create ... ID` and the exit of its last thread: how long runc
 * itself took inside a shim's startup, so the shim's own share can be
 * computed per run, untouched by runc's run-to-run variation. */
struct procmon {
	int fd;
	const char *id;
	pid_t runc_pid; /* 0 until the exec is seen (or known in advance) */
	int64_t exec_ns, exit_ns;
	bool lost;      /* the socket overflowed: events were dropped */
};

static void procmon_open(struct procmon *m, const char *id)
{
	struct sockaddr_nl address = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	struct {
		struct nlmsghdr nl;
		struct cn_msg cn;
		enum proc_cn_mcast_op op;
	} __attribute__((packed)) request;
	int size = 8 * 1024 * 1024;

	*m = (struct procmon){ .fd = -1, .id = id };
	m->fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	if (m->fd < 0)
		die("proc connector socket: %m");
	if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (bind(m->fd, (struct sockaddr *)&address, sizeof(address)) < 0)
		die("bind proc connector: %m");
	memset(&request, 0, sizeof(request));
	request.nl.nlmsg_len = sizeof(request);
	request.nl.nlmsg_type = NLMSG_DONE;
	request.nl.nlmsg_pid = (uint32_t)getpid();
	request.cn.id.idx = CN_IDX_PROC;
	request.cn.id.val = CN_VAL_PROC;
	request.cn.len = sizeof(request.op);
	request.op = PROC_CN_MCAST_LISTEN;
	if (send(m->fd, &request, sizeof(request), 0) < 0)
		die("subscribe to process events: %m");
}

/* Is PID running `runc ... create ... ID`? */
static bool is_runc_create(pid_t pid, const char *id)
{
	char path[64], args[4096], *base;
	bool create = false, has_id = false;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, args, sizeof(args) - 1);
	close(fd);
	if (n <= 0)
		return false;
	args[n] = '\0';
	base = strrchr(args, '/') ? strrchr(args, '/') + 1 : args;
	if (strcmp(base, "runc") != 0)
		return false;
	for (char *a = args; a < args + n; a += strlen(a) + 1) {
		create |= strcmp(a, "create") == 0;
		has_id |= strcmp(a, id) == 0;
	}
	return create && has_id;
}

/* Read every pending event. */
static void procmon_drain(struct procmon *m)
{
	char buf[64 * 1024] __attribute__((aligned(8)));

	for (;;) {
		ssize_t n = recv(m->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ENOBUFS) {
			m->lost = true;
			continue;
		}
		if (n <= 0)
			return;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct cn_msg *cn = NLMSG_DATA(h);
			struct proc_event *ev = (struct proc_event *)cn->data;
			if (ev->what == PROC_EVENT_EXEC && m->exec_ns == 0 &&
			    ev->event_data.exec.process_pid == ev->event_data.exec.process_tgid &&
			    (m->runc_pid != 0 ? ev->event_data.exec.process_tgid == m->runc_pid
					      : is_runc_create(ev->event_data.exec.process_tgid, m->id))) {
				m->runc_pid = ev->event_data.exec.process_tgid;
				m->exec_ns = (int64_t)ev->timestamp_ns;
			} else if (ev->what == PROC_EVENT_EXIT && m->runc_pid != 0 &&
				   ev->event_data.exit.process_tgid == m->runc_pid &&
				   (int64_t)ev->timestamp_ns > m->exit_ns) {
				m->exit_ns = (int64_t)ev->timestamp_ns; /* the last thread's */
			}
		}
	}
}

/* Wait for PID's exit event; return its kernel timestamp (the moment the
 * process died, before its parent is told), or -1 if events were lost. */
static int64_t procmon_wait_exit(struct procmon *m, pid_t pid, int timeout_s)
{
	char buf[64 * 1024] __attribute__((aligned(8)));
	int64_t deadline = now_ns() + (int64_t)timeout_s * 1000000000;

	for (;;) {
		struct pollfd pfd = { .fd = m->fd, .events = POLLIN };
		ssize_t n;
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
			die("poll: %m");
		if (now_ns() > deadline)
			die("pid %d did not exit in %d s", (int)pid, timeout_s);
		n = recv(m->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == ENOBUFS)
			return -1;
		if (n <= 0)
			continue;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			struct proc_event *ev = (struct proc_event *)((struct cn_msg *)NLMSG_DATA(h))->data;
			if (ev->what == PROC_EVENT_EXIT && ev->event_data.exit.process_tgid == pid &&
			    ev->event_data.exit.process_pid == pid)
				return (int64_t)ev->timestamp_ns;
		}
	}
}

/* runc's exec-to-exit time in ns, or -1 if it was not seen whole. */
static int64_t procmon_result(struct procmon *m)
{
	procmon_drain(m);
	close(m->fd);
	m->fd = -1;
	if (m->lost || m->exec_ns == 0 || m->exit_ns == 0)
		return -1;
	return m->exit_ns - m->exec_ns;
}

/* ---- run ---------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: %s run --mode startup|throughput|idle|exitlat --id ID --runc PATH --daemon-pidfile F\n"
		"              --exit-file F [--sync-env] [--idle-ms N] [--timeout S] -- COMMAND...\n"
		"       %s create --runc PATH --bundle B --pid-file P --id ID\n"
		"       %s fleet --count N ... -- COMMAND... (see fleet's usage)\n"
		"       %s verify-log FILE\n"
		"       %s reap --comm NAME -- COMMAND...\n",
		prog, prog, prog, prog, prog);
	exit(2);
}

static int cmd_run(int argc, char **argv)
{
	const char *mode = NULL, *id = NULL, *runc = NULL, *daemon_pidfile = NULL, *exit_file = NULL;
	bool sync_env = false;
	long idle_ms = 1000;
	int timeout_s = 600, i, pipe_fds[2], status;
	char sync_buf[8192];
	size_t sync_len = 0;
	int64_t t_launch, t_sync;
	pid_t launcher, daemon_pid, container_pid = 0;
	struct exit_watch watch;
	bool daemon_is_child;
	struct cpu_ticks cpu = { -1, -1, -1 };
	struct procmon mon, exit_mon;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (i + 1 >= argc && strcmp(a, "--sync-env") != 0)
			usage();
		if (strcmp(a, "--mode") == 0)
			mode = argv[++i];
		else if (strcmp(a, "--id") == 0)
			id = argv[++i];
		else if (strcmp(a, "--runc") == 0)
			runc = argv[++i];
		else if (strcmp(a, "--daemon-pidfile") == 0)
			daemon_pidfile = argv[++i];
		else if (strcmp(a, "--exit-file") == 0)
			exit_file = argv[++i];
		else if (strcmp(a, "--idle-ms") == 0)
			idle_ms = atol(argv[++i]);
		else if (strcmp(a, "--timeout") == 0)
			timeout_s = atoi(argv[++i]);
		else if (strcmp(a, "--sync-env") == 0)
			sync_env = true;
		else
			usage();
	}
	if (!mode || !id || !runc || !daemon_pidfile || !exit_file || i >= argc)
		usage();
	if (strcmp(mode, "throughput") != 0 && strcmp(mode, "idle") != 0 &&
	    strcmp(mode, "exitlat") != 0 && strcmp(mode, "startup") != 0)
		usage();
	argv += i;

	/* The daemon is orphaned when the launcher exits: make it ours. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("PR_SET_CHILD_SUBREAPER: %m");
	exit_watch_init(&watch, exit_file);

	procmon_open(&mon, id);
	t_launch = now_ns();
	launcher = launch(argv, sync_env, pipe_fds);

	/* The report: one JSON object. Time it when it is complete (conmon
	 * may keep the pipe open after it). */
	for (;;) {
		struct pollfd pfd[2] = { { .fd = pipe_fds[0], .events = POLLIN },
					 { .fd = mon.fd, .events = POLLIN } };
		ssize_t n;
		int r = poll(pfd, 2, 60000);
		if (r > 0 && pfd[1].revents) {
			procmon_drain(&mon);
			if (!pfd[0].revents)
				continue;
		}
		if (r == 0)
			die("%s: no report on the sync pipe after 60 s", id);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %m");
		}
		n = read(pipe_fds[0], sync_buf + sync_len, sizeof(sync_buf) - 1 - sync_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read sync pipe: %m");
		sync_len += (size_t)n;
		sync_buf[sync_len] = '\0';
		if (n == 0 || strchr(sync_buf, '}') || sync_len == sizeof(sync_buf) - 1)
			break;
	}
	t_sync = now_ns();
	/* The container's PID: "pid":N (ours) or "data": N (conmon's API 1). */
	{
		const char *keys[] = { "\"pid\":", "\"data\":" };
		for (size_t k = 0; k < 2 && container_pid <= 0; k++) {
			const char *p = strstr(sync_buf, keys[k]);
			if (p)
				container_pid = (pid_t)strtol(p + strlen(keys[k]), NULL, 10);
		}
	}
	if (container_pid <= 0)
		die("%s: the sync pipe said %s", id, sync_len ? sync_buf : "nothing");

	while (waitpid(launcher, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid launcher: %m");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s: launcher exited with wait status %#x", id, (unsigned)status);
	daemon_pid = await_pid_file(daemon_pidfile, 5000);
	{
		/* Is the daemon our child now (PPid in /proc/PID/status)? */
		char path[64], line[256];
		long ppid = -1;
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
		f = fopen(path, "re");
		if (!f)
			die("%s: daemon %d is gone: %m", id, (int)daemon_pid);
		while (fgets(line, sizeof(line), f))
			sscanf(line, "PPid: %ld", &ppid);
		fclose(f);
		daemon_is_child = ppid == (long)getpid();
	}
	printf("startup_ns=%lld\n", (long long)(t_sync - t_launch));
	if (procmon_result(&mon) >= 0) {
		/* Before runc's exec (the shim starting, forking, execing runc)
		 * and after runc's exit (noticing, reading the pid file,
		 * reporting): the shim's own share of the startup. */
		printf("runc_create_ns=%lld\n", (long long)(mon.exit_ns - mon.exec_ns));
		printf("before_runc_ns=%lld\n", (long long)(mon.exec_ns - t_launch));
		printf("after_runc_ns=%lld\n", (long long)(t_sync - mon.exit_ns));
	} else {
		printf("runc_create_ns=-1\nbefore_runc_ns=-1\nafter_runc_ns=-1\n");
	}
	printf("container_pid=%d\ndaemon_pid=%d\ndaemon_is_child=%d\n", (int)container_pid,
	       (int)daemon_pid, daemon_is_child);

	if (strcmp(mode, "exitlat") == 0) {
		/* The container's death as the kernel timestamps it, and the
		 * exit file seen by a helper that runs the moment it wakes
		 * (SCHED_FIFO; not inherited by runc start). */
		struct sched_param param = { .sched_priority = 10 };
		procmon_open(&exit_mon, id);
		if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &param) < 0)
			die("sched_setscheduler SCHED_FIFO: %m");
	}

	if (strcmp(mode, "startup") == 0) {
		/* Only the startup was wanted: kill the created container. */
		char *kill_argv[] = { (char *)runc, "kill", (char *)id, "KILL", NULL };
		status = run_wait(kill_argv);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die("%s: runc kill failed (wait status %#x)", id, (unsigned)status);
		exit_watch_wait(&watch, timeout_s);
	} else {
		/* runc start, timed from the fork. */
		char *start_argv[] = { (char *)runc, "start", (char *)id, NULL };
		int64_t t_start = now_ns(), t_exit;

		status = run_wait(start_argv);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die("%s: runc start failed (wait status %#x)", id, (unsigned)status);

		if (strcmp(mode, "throughput") == 0) {
			t_exit = exit_watch_wait(&watch, timeout_s);
			printf("wall_ns=%lld\n", (long long)(t_exit - t_start));
		} else if (strcmp(mode, "idle") == 0) {
			struct memory mem;
			char *kill_argv[] = { (char *)runc, "kill", (char *)id, "KILL", NULL };
			sleep_ms(idle_ms);
			if (read_memory(daemon_pid, &mem) < 0)
				die("%s: read smaps_rollup of daemon %d: %m", id, (int)daemon_pid);
			printf("rss_kb=%ld\npss_kb=%ld\nuss_kb=%ld\n", mem.rss, mem.pss, mem.uss);
			status = run_wait(kill_argv);
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				die("%s: runc kill failed (wait status %#x)", id, (unsigned)status);
			exit_watch_wait(&watch, timeout_s);
		} else {
			int64_t t_dead = procmon_wait_exit(&exit_mon, container_pid, timeout_s);
			t_exit = exit_watch_wait(&watch, timeout_s);
			close(exit_mon.fd);
			printf("exit_latency_ns=%lld\n", t_dead < 0 ? -1LL : (long long)(t_exit - t_dead));
		}
	}


	/* The daemon's end. As its new parent we see it a zombie whose
	 * /proc/PID/stat holds its final CPU times; otherwise sample it every
	 * 5 ms and keep the last value. */
	if (daemon_is_child) {
		siginfo_t info = { 0 };
		int64_t deadline = now_ns() + 60 * 1000000000LL;
		for (;;) {
			reap_others(daemon_pid);
			info.si_pid = 0;
			if (waitid(P_PID, (id_t)daemon_pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
				die("waitid daemon %d: %m", (int)daemon_pid);
			if (info.si_pid == daemon_pid)
				break;
			if (now_ns() > deadline)
				die("%s: daemon %d still alive 60 s after the exit file", id,
				    (int)daemon_pid);
			sleep_ms(1);
		}
		if (read_cpu_ticks(daemon_pid, &cpu) < 0)
			die("read stat of zombie %d: %m", (int)daemon_pid);
		waitpid(daemon_pid, NULL, 0);
	} else {
		int64_t deadline = now_ns() + 60 * 1000000000LL;
		struct cpu_ticks last;
		while (read_cpu_ticks(daemon_pid, &last) == 0) {
			cpu = last;
			if (now_ns() > deadline)
				die("%s: daemon %d still alive 60 s after the exit file", id,
				    (int)daemon_pid);
			sleep_ms(5);
		}
	}
	reap_others(0);
	printf("cpu_ticks=%lld\ncpu_user_ticks=%lld\nchildren_cpu_ticks=%lld\nclk_tck=%ld\n",
	       cpu.user + cpu.sys, cpu.user, cpu.children, sysconf(_SC_CLK_TCK));
	return 0;
}

/* ---- create ------------------------------------------------------------- */

static int cmd_runc_create(int argc, char **argv)
{
	const char *runc = NULL, *bundle = NULL, *pid_file = NULL, *id = NULL;
	struct procmon mon;
	int64_t t0, t1;
	int status;

	for (int i = 0; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--runc") == 0)
			runc = argv[++i];
		else if (strcmp(argv[i], "--bundle") == 0)
			bundle = argv[++i];
		else if (strcmp(argv[i], "--pid-file") == 0)
			pid_file = argv[++i];
		else if (strcmp(argv[i], "--id") == 0)
			id = argv[++i];
		else
			usage();
	}
	if (!runc || !bundle || !pid_file || !id)
		usage();
	{
		char *create_argv[] = { (char *)runc, "create", "--bundle", (char *)bundle,
					"--pid-file", (char *)pid_file, (char *)id, NULL };
		procmon_open(&mon, id);
		t0 = now_ns();
		mon.runc_pid = spawn(create_argv);
		status = wait_child(mon.runc_pid);
		t1 = now_ns();
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s: runc create failed (wait status %#x)", id, (unsigned)status);
	printf("create_ns=%lld\n", (long long)(t1 - t0));
	printf("runc_create_ns=%lld\n", (long long)procmon_result(&mon));
	return 0;
}

/* ---- verify-log --------------------------------------------------------- */

/* A record is "TIME STREAM TAG CONTENT\n". An F record's content includes
 * its newline; a P record's newline is framing, not content. */
static int cmd_verify_log(int argc, char **argv)
{
	static char buf[1 << 20];
	unsigned long long content = 0, f_records = 0, p_records = 0, bad = 0, log_bytes = 0;
	size_t len = 0;
	int fd;

	if (argc != 1)
		usage();
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %m", argv[0]);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);
		size_t pos = 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read %s: %m", argv[0]);
		if (n == 0) {
			if (len > 0)
				bad++; /* a record without its newline */
			break;
		}
		log_bytes += (unsigned long long)n;
		len += (size_t)n;
		for (;;) {
			char *rec = buf + pos, *nl = memchr(rec, '\n', len - pos), *p = rec;
			int spaces = 0;
			char tag = 0;
			if (!nl)
				break;
			/* Skip three fields: the time, the stream, the tag. */
			while (p < nl && spaces < 3) {
				if (*p == ' ') {
					spaces++;
					if (spaces == 3)
						tag = p[-1];
				}
				p++;
			}
			if (spaces < 3 || (tag != 'F' && tag != 'P')) {
				bad++;
			} else if (tag == 'F') {
				f_records++;
				content += (unsigned long long)(nl + 1 - p);
			} else {
				p_records++;
				content += (unsigned long long)(nl - p);
			}
			pos = (size_t)(nl + 1 - buf);
		}
		if (pos == 0 && len == sizeof(buf))
			die("%s: a record longer than %zu bytes", argv[0], sizeof(buf));
		memmove(buf, buf + pos, len - pos);
		len -= pos;
	}
	close(fd);
	printf("log_bytes=%llu\ncontent_bytes=%llu\nf_records=%llu\np_records=%llu\nbad_records=%llu\n",
	       log_bytes, content, f_records, p_records, bad);
	return 0;
}

/* ---- reap ---------------------------------------------------------------- */

static int cmd_reap(int argc, char **argv)
{
	const char *comm = NULL;
	long long monitor_ticks = 0;
	int monitors = 0, command_status = -1;
	int64_t start, wall = 0;
	pid_t command;
	int i;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--comm") == 0 && i + 1 < argc)
			comm = argv[++i];
		else
			usage();
	}
	if (!comm || i + 1 >= argc)
		usage();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		die("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
	start = now_ns();
	command = spawn(argv + i + 1);
	for (;;) {
		siginfo_t info = { 0 };
		char path[64], name[64] = "";
		struct cpu_ticks ticks;
		FILE *f;

		/* Look at the next exited child before it is reaped: its stat
		 * then holds its final CPU times. */
		if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ECHILD)
				break;
			die("waitid: %s", strerror(errno));
		}
		snprintf(path, sizeof(path), "/proc/%d/comm", (int)info.si_pid);
		if ((f = fopen(path, "r"))) {
			if (fgets(name, sizeof(name), f))
				name[strcspn(name, "\n")] = '\0';
			fclose(f);
		}
		if (strcmp(name, comm) == 0 && read_cpu_ticks(info.si_pid, &ticks) == 0) {
			monitor_ticks += ticks.user + ticks.sys;
			monitors++;
		}
		if (info.si_pid == command) {
			wall = now_ns() - start;
			command_status = wait_child(command);
		} else {
			waitpid(info.si_pid, NULL, 0);
		}
	}
	printf("wall_ns=%lld\ncommand_status=%d\nmonitors=%d\ncpu_ticks=%lld\nclk_tck=%ld\n",
	       (long long)wall, command_status, monitors, monitor_ticks, sysconf(_SC_CLK_TCK));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "create") == 0)
		return cmd_runc_create(argc - 2, argv + 2);
	if (strcmp(argv[1], "fleet") == 0)
		return cmd_fleet(argc - 2, argv + 2);
	if (strcmp(argv[1], "verify-log") == 0)
		return cmd_verify_log(argc - 2, argv + 2);
	if (strcmp(argv[1], "reap") == 0)
		return cmd_reap(argc - 2, argv + 2);
	usage();
}
