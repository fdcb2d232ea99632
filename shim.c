/* shim.c: the shim's life, top to bottom.
 *
 *   1. shim_launch: once main (main.c) has read the flags, the
 *      short-lived parent forks the daemon, writes the daemon's PID to
 *      --shimmy-pidfile and exits at once.
 *   2. run_daemon: setsid, stdio to /dev/null, child subreaper, signals
 *      read from a signalfd.
 *   3. It forks the predecessor that execs `runc create` (runtime.c), with
 *      pipes as the container's stdio (io.c).
 *   4. When runc exits, it reports the container PID, or runc's error
 *      output, on the sync pipe (runtime_exited below).
 *   5. It pumps the container's output to the log, forwards signals, and
 *      when the container exits writes the exit file and exits.
 *
 * Steps 3 to 5 are one epoll loop over the signalfd and the pipes; the
 * daemon's phase (CREATING, RUNNING, EXITED) says what each event means.
 * (shim_host, at the end, runs them in a front end's own process instead,
 * for containerd's task server: see the guest below.)
 * What the manager is told is worded by a dialect (runtime.h): shimmy's
 * for conman; a front end for another manager brings its own. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "oom.h"
#include "runtime.h"
#include "shim.h"
#include "util.h"

enum phase {
	PHASE_CREATING, /* runc create is running; the container PID is unknown */
	PHASE_RUNNING,  /* reported; pumping output until the container exits */
	PHASE_EXITED,   /* the container is gone: drain, write the exit file */
};

#define INFLIGHT_MAX 32

struct shim {
	struct shim_args args;
	const struct dialect *dialect; /* how the manager reads reports and exit files */
	const struct shim_guest *guest; /* shim_host's front end; NULL for a daemon of its own */
	struct diag diag;
	struct runtime runtime;
	struct container_io io;
	enum phase phase;
	sigset_t child_mask;  /* the mask we started with, restored in children */
	int signal_fd;
	int epoll_fd;
	int sync_fd;          /* the manager's sync pipe; -1 once reported */
	int timer_fd;         /* --runtime-timeout while runc creates; else -1 */
	pid_t container_pid;  /* 0 until runc's pid file is read and checked */
	/* The container, held by a pidfd once its PID is checked: signals go
	 * through it, so a PID reused after the container is gone is never
	 * signalled. -1 until then, or where there are no pidfds. */
	int container_pidfd;
	bool container_reaped; /* its exit status is ours: never signal it again */
	bool container_not_ours; /* --no-subreaper: PID 1 reaps it, we only see it go */
	struct status_file exit_file; /* begun before the report: see runtime_created */
	struct oom_watch oom; /* the OOM-kill count of its memory cgroup */
	bool oom_killed;      /* it grew while the container ran */
	int container_status; /* its wait status, once PHASE_EXITED */
	bool log_failing;     /* the log refuses writes (told once per episode) */
	struct timespec exited_at;
	/* Signals for the container that arrived while runc was creating it,
	 * delivered once its PID is known (shimmy's "inflight" signals). */
	int inflight[INFLIGHT_MAX];
	size_t inflight_count;
	/* Children reaped while runc was creating: one may be the container,
	 * if it died before runc did. Checked once its PID is known; grown as
	 * needed, since losing the container's exit would leave us waiting. */
	struct early_exit {
		pid_t pid;
		int status;
	} *early_exits;
	size_t early_exit_count;
};

static void handle_container_exit(struct shim *shim, int status);
static _Noreturn void shim_exit(struct shim *shim, int status);
static bool runtime_has_exited(struct shim *shim);

/* Send one message on the sync pipe and close it: the manager reads until
 * EOF, so closing is what tells it the report is complete. */
static void send_report(struct shim *shim, char *json)
{
	if (shim->sync_fd < 0) {
		free(json);
		return;
	}
	if (!json)
		log_error(&shim->diag, "format sync-pipe report: out of memory");
	else if (write_all(shim->sync_fd, json, strlen(json)) < 0)
		log_warn(&shim->diag, "write report to sync pipe fd %d: %m", shim->sync_fd);
	else
		log_debug(&shim->diag, "reported %s", json);
	free(json);
	close_fd(&shim->sync_fd);
}

/* Signal the container through its pidfd. Where there is none (a kernel
 * before 5.3, or valgrind), by PID: as safe while it is our unreaped
 * child, whose PID cannot be reused until we reap it; once reaped, never. */
static int signal_container(struct shim *shim, int signo)
{
	if (shim->container_pid == 0 || shim->container_reaped) {
		errno = ESRCH;
		return -1;
	}
	if (shim->container_pidfd >= 0)
		return pidfd_send_signal(shim->container_pidfd, signo, NULL, 0);
	return kill(shim->container_pid, signo);
}

/* Before the container runs, a failure ends the shim: say why in the
 * diagnostics and on the sync pipe, then exit. */
static _Noreturn void vfail_before_running(struct shim *shim, const char *fmt, va_list ap)
{
	char message[1024];

	vsnprintf(message, sizeof(message), fmt, ap);
	log_error(&shim->diag, "%s", message);
	send_report(shim, shim->dialect->report_error(message));
	console_socket_close(&shim->runtime);
	status_file_abandon(&shim->exit_file);
	io_close(&shim->io); /* removes the attach socket if made */
	io_ctl_close(&shim->io); /* and the control FIFO */
	shim_exit(shim, 1);
}

static _Noreturn void fail_before_running(struct shim *shim, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static _Noreturn void fail_before_running(struct shim *shim, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_before_running(shim, fmt, ap);
}

/* Whatever runc left is a child of ours now (we are its subreaper): the
 * container's init, and anything a runtime that failed half-way left
 * running, even in a session of its own. When the container will not be
 * managed, none of it may live on. By PID, which is safe for children: a
 * child's PID cannot be reused until we reap it. */
static void kill_our_children(struct shim *shim)
{
	char path[64], list[4096], *p, *end;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if (read_small_file(path, list, sizeof(list)) < 0) {
		log_warn(&shim->diag, "list our children in %s: %m; killing the container alone", path);
		signal_container(shim, SIGKILL);
		return;
	}
	for (p = list;; p = end) {
		long pid = strtol(p, &end, 10);
		if (end == p)
			break;
		if (kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH)
			log_warn(&shim->diag, "kill pid %ld, left by the runtime: %m", pid);
		else
			log_debug(&shim->diag, "killed pid %ld, left by the runtime", pid);
	}
}

/* The same, once runc has created the container, but before we report
 * it: what runc left (the container first of all) is killed, as nobody
 * would ever manage it. */
static _Noreturn void fail_after_create(struct shim *shim, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static _Noreturn void fail_after_create(struct shim *shim, const char *fmt, ...)
{
	int saved_errno = errno; /* for the caller's %m */
	va_list ap;

	kill_our_children(shim);
	errno = saved_errno;
	va_start(ap, fmt);
	vfail_before_running(shim, fmt, ap);
}

static void watch_fd(struct shim *shim, int fd, enum watch_kind kind)
{
	struct epoll_event event = { .events = EPOLLIN, .data.u64 = WATCH_TAG(kind, fd) };

	if (epoll_ctl(shim->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
		log_error(&shim->diag, "epoll add fd %d: %m", fd);
}

static void unwatch_fd(struct shim *shim, int fd)
{
	if (epoll_ctl(shim->epoll_fd, EPOLL_CTL_DEL, fd, NULL) < 0)
		log_warn(&shim->diag, "epoll remove fd %d: %m", fd);
}

/* runc's pid file is not to be trusted blindly: a runtime could name any
 * process, and we would forward signals to it, kill it, and wait forever
 * for its exit. The container is our child (runc's orphans are reparented
 * to us, its subreaper), so we accept only a child of ours, and hold it
 * by a pidfd. NULL when accepted, else why not. */
static const char *accept_container_pid(struct shim *shim, pid_t pid)
{
	siginfo_t info = { 0 };
	int pidfd;

	if (pid == 1)
		return "PID 1, the init process";
	if (pid == getpid())
		return "the shim itself";
	for (size_t i = 0; i < shim->early_exit_count; i++) {
		if (shim->early_exits[i].pid == pid) {
			/* Ours, and reaped already: nothing to hold. */
			shim->container_pid = pid;
			shim->container_reaped = true;
			return NULL;
		}
	}
	/* A child of ours, alive or not yet reaped (WNOWAIT leaves it for
	 * reap_children). Until we reap it its PID cannot be reused, so the
	 * pidfd opened next is certain to be this process. */
	if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
		if (errno != ECHILD)
			return strerror(errno);
		if (!shim->args.no_subreaper)
			return "not a child of this shim";
		/* Lab 5: without the subreaper the container went to PID 1.
		 * Its pidfd can still say when it is gone, not how. */
		pidfd = pidfd_open(pid, 0);
		if (pidfd < 0)
			return "not a child of this shim (--no-subreaper), and it has no pidfd";
		log_warn(&shim->diag, "pid %d is not our child (--no-subreaper): its exit status will be lost",
			 (int)pid);
		shim->container_pid = pid;
		shim->container_pidfd = pidfd;
		shim->container_not_ours = true;
		watch_fd(shim, pidfd, WATCH_CONTAINER_GONE);
		return NULL;
	}
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0 && errno != ENOSYS)
		return strerror(errno);
	shim->container_pid = pid;
	shim->container_pidfd = pidfd;
	return NULL;
}

/* Step 4, success: runc has created the container and exited 0. */
static void runtime_created(struct shim *shim)
{
	pid_t container_pid;
	const char *refused;

	if (read_pid_file(shim->args.container_pidfile, &container_pid) < 0)
		fail_after_create(shim, "read container pid file %s: %s", shim->args.container_pidfile,
				  errno == EINVAL ? "not a PID" : file_error(errno));
	refused = accept_container_pid(shim, container_pid);
	if (refused)
		fail_after_create(shim, "runtime %s wrote pid %d to %s, which is %s: refusing to manage it",
				  shim->runtime.path, (int)container_pid, shim->args.container_pidfile,
				  refused);
	/* Every file is opened before the report, so a manager told "running"
	 * is never told later that the output had nowhere to go, or that the
	 * exit status could not be kept. */
	if (shim->args.container_logfile &&
	    log_writer_open(&shim->io.log, shim->args.container_logfile, shim->args.log_format,
			    shim->args.log_size_max) < 0)
		fail_after_create(shim, "open container log %s: %s", shim->args.container_logfile,
				  file_error(errno));
	if (status_file_begin(&shim->exit_file, shim->args.container_exitfile, 0644) < 0)
		fail_after_create(shim, "prepare exit file %s (as %s.tmp, renamed at the exit): %m",
				  shim->args.container_exitfile, shim->args.container_exitfile);
	if (shim->args.terminal) {
		int master_fd;
		if (console_socket_receive(&shim->runtime, &master_fd) < 0)
			fail_after_create(shim, "receive the terminal from runtime %s: %s",
					  shim->runtime.path,
					  errno == EAGAIN ? "it exited without sending one"
							  : strerror(errno));
		console_socket_close(&shim->runtime);
		if (io_use_terminal(&shim->io, master_fd) < 0)
			fail_after_create(shim, "use the container's terminal: %m");
	}
	/* What runc printed while creating (warnings, say) goes to the log as
	 * it would have, had the log been open then. */
	io_replay_capture(&shim->io, &shim->io.out, &shim->runtime.stdout_capture);
	io_replay_capture(&shim->io, &shim->io.err, &shim->runtime.stderr_capture);
	capture_free(&shim->runtime.stdout_capture);
	capture_free(&shim->runtime.stderr_capture);
	shim->phase = PHASE_RUNNING;
	send_report(shim, shim->dialect->report_pid(container_pid));
	/* After the report: the manager is waiting for it, not for syslog or
	 * cgroups. The container cannot run out of memory before it is
	 * started, which the manager does once it has read the report. Not
	 * every container has a memory cgroup to watch: then the exit file
	 * just never says "oomKilled". */
	log_info(&shim->diag, "container %s created, pid %d", shim->args.container_id,
		 (int)container_pid);
	if (!shim->container_reaped && !shim->args.exec_process_spec &&
	    oom_watch_start(&shim->oom, container_pid) < 0)
		log_debug(&shim->diag, "no OOM-kill count for pid %d: %m", (int)container_pid);

	for (size_t i = 0; i < shim->inflight_count && !shim->container_reaped; i++) {
		if (signal_container(shim, shim->inflight[i]) < 0)
			log_warn(&shim->diag, "deliver inflight signal %d to pid %d: %m",
				 shim->inflight[i], (int)container_pid);
	}
	shim->inflight_count = 0;
	for (size_t i = 0; i < shim->early_exit_count; i++) {
		if (shim->early_exits[i].pid == container_pid)
			handle_container_exit(shim, shim->early_exits[i].status);
	}
	free(shim->early_exits);
	shim->early_exits = NULL;
	shim->early_exit_count = 0;
}

/* Step 4: runc create has exited. */
static void runtime_exited(struct shim *shim, int status)
{
	struct runtime *runtime = &shim->runtime;
	char *runtime_stderr;
	size_t len = 0;

	runtime->pid = 0;
	close_fd(&shim->timer_fd); /* also leaves the epoll set: our only copy */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !runtime->timed_out) {
		runtime_created(shim);
		return;
	}
	/* Nothing runc left may outlive the failure: a timed-out runtime's
	 * container, say, which runc had already put in a session of its own. */
	kill_our_children(shim);
	/* What runc printed is in the pipe that would have become the
	 * container's stderr, read as it came (io_capture): the rest now,
	 * what the pipe holds and no more, as a process runc left may still
	 * be writing to it. */
	io_capture_rest(&shim->io.err, &runtime->stderr_capture);
	runtime_stderr = capture_render(&runtime->stderr_capture, &len);
	log_error(&shim->diag, "runtime %s create failed (wait status %#x): %.*s", runtime->path,
		  (unsigned)status, (int)len, runtime_stderr ? runtime_stderr : "");
	send_report(shim, shim->dialect->report_failure(status, runtime->timed_out,
							runtime->timeout_seconds,
							runtime_stderr ? runtime_stderr : "", len));
	free(runtime_stderr);
	console_socket_close(runtime);
	status_file_abandon(&shim->exit_file);
	io_close(&shim->io); /* removes the attach socket */
	io_ctl_close(&shim->io); /* and the control FIFO */
	shim_exit(shim, 1);
}

/* --runtime-timeout has passed and runc is still creating: kill it, and
 * all it started (its process group), and report when it is reaped. */
static void runtime_timer_fired(struct shim *shim)
{
	uint64_t expirations;

	if (shim->timer_fd < 0)
		return; /* runc exited, reaped earlier in the same batch of events */
	if (read(shim->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_warn(&shim->diag, "read runtime timer: %m");
	if (shim->phase != PHASE_CREATING || shim->runtime.pid == 0 || runtime_has_exited(shim))
		return;
	log_error(&shim->diag, "runtime %s create still running after %u s: killing it",
		  shim->runtime.path, shim->runtime.timeout_seconds);
	shim->runtime.timed_out = true;
	if (kill(-shim->runtime.pid, SIGKILL) < 0 && kill(shim->runtime.pid, SIGKILL) < 0)
		log_error(&shim->diag, "kill runtime pid %d: %m", (int)shim->runtime.pid);
}

static void handle_container_exit(struct shim *shim, int status)
{
	shim->container_status = status;
	shim->container_reaped = true;
	clock_gettime(CLOCK_REALTIME, &shim->exited_at);
	shim->phase = PHASE_EXITED;
	io_mark_exit(&shim->io);
	/* Now, not at the end: a manager may remove the cgroup (runc delete)
	 * as soon as it sees the container stopped. */
	if (shim->oom.fd >= 0 && oom_watch_killed(&shim->oom, &shim->oom_killed) < 0)
		log_warn(&shim->diag, "read the OOM-kill count of pid %d: %m", (int)shim->container_pid);
	oom_watch_stop(&shim->oom);
	if (shim->oom_killed)
		log_info(&shim->diag, "the OOM killer struck in container pid %d's memory cgroup",
			 (int)shim->container_pid);
	if (status == EXIT_STATUS_LOST)
		log_warn(&shim->diag, "container pid %d is gone; its exit status went to its parent, not us",
			 (int)shim->container_pid);
	else
		log_info(&shim->diag, "container pid %d exited (wait status %#x)",
			 (int)shim->container_pid, (unsigned)status);
}

/* On SIGCHLD: reap every child that has exited. As a subreaper we also
 * get the container's orphans, and the container itself once runc exits. */
static void reap_children(struct shim *shim)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid == 0 || (pid < 0 && errno == ECHILD))
			return;
		if (pid < 0) {
			log_error(&shim->diag, "waitpid: %m");
			return;
		}
		if (pid == shim->runtime.pid) {
			runtime_exited(shim, status);
		} else if (shim->container_pid != 0 && pid == shim->container_pid) {
			handle_container_exit(shim, status);
		} else if (shim->guest && shim->guest->child_exited(shim->guest->ctx, pid, status)) {
			log_debug(&shim->diag, "pid %d was the host's to reap", (int)pid);
		} else if (shim->phase == PHASE_CREATING) {
			/* Perhaps the container, dying before runc did. */
			struct early_exit *grown = realloc(shim->early_exits,
							   (shim->early_exit_count + 1) *
								   sizeof(*grown));
			if (!grown) {
				log_error(&shim->diag, "remember the exit of pid %d: out of memory",
					  (int)pid);
				continue;
			}
			shim->early_exits = grown;
			shim->early_exits[shim->early_exit_count++] =
				(struct early_exit){ .pid = pid, .status = status };
		} else {
			log_debug(&shim->diag, "reaped orphan pid %d", (int)pid);
		}
	}
}

/* Has runc exited, without reaping it? WNOWAIT leaves the zombie for
 * reap_children, which must see its status. */
static bool runtime_has_exited(struct shim *shim)
{
	siginfo_t info = { 0 };

	if (shim->runtime.pid == 0)
		return true;
	if (waitid(P_PID, (id_t)shim->runtime.pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
		return true;
	return info.si_pid != 0;
}

static void forward_signal(struct shim *shim, int signo)
{
	switch (shim->phase) {
	case PHASE_CREATING:
		/* The manager is interrupting the create: runc gets it, as long
		 * as it is there to get it. */
		if ((signo == SIGINT || signo == SIGTERM || signo == SIGQUIT) &&
		    !runtime_has_exited(shim)) {
			if (kill(shim->runtime.pid, signo) < 0)
				log_warn(&shim->diag, "forward signal %d to runtime pid %d: %m", signo,
					 (int)shim->runtime.pid);
			return;
		}
		if (shim->inflight_count == INFLIGHT_MAX) {
			log_warn(&shim->diag, "too many signals before the container started; dropped %d",
				 signo);
			return;
		}
		shim->inflight[shim->inflight_count++] = signo;
		log_debug(&shim->diag, "kept signal %d for the container", signo);
		return;
	case PHASE_RUNNING:
		if (signal_container(shim, signo) < 0)
			log_warn(&shim->diag, "forward signal %d to container pid %d: %m", signo,
				 (int)shim->container_pid);
		return;
	case PHASE_EXITED:
		log_debug(&shim->diag, "signal %d after the container exited: ignored", signo);
		return;
	}
}

static void handle_signals(struct shim *shim)
{
	struct signalfd_siginfo info;

	for (;;) {
		ssize_t n = read(shim->signal_fd, &info, sizeof(info));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n != (ssize_t)sizeof(info)) {
			log_error(&shim->diag, "read signalfd: %m");
			return;
		}
		switch (info.ssi_signo) {
		case SIGCHLD:
			reap_children(shim);
			break;
		case SIGPIPE:
			break; /* a reader went away; the write itself reports EPIPE */
		default:
			/* A host's own signals are its own: containerd's shim
			 * does not pass them on either. */
			if (shim->guest)
				shim->guest->signalled(shim->guest->ctx, (int)info.ssi_signo);
			else
				forward_signal(shim, (int)info.ssi_signo);
			break;
		}
	}
}

static void handle_output(struct shim *shim, struct output_stream *stream)
{
	bool creating = shim->phase == PHASE_CREATING;
	enum pump_result result;

	/* While runc creates, what comes is runc's, not the container's: it
	 * is kept for the report (runtime_exited) or the log (runtime_created). */
	if (creating)
		result = io_capture(stream, stream->id == STREAM_STDOUT ? &shim->runtime.stdout_capture
									: &shim->runtime.stderr_capture);
	else
		result = io_pump(&shim->io, stream);
	if (result == PUMP_ERROR)
		log_error(&shim->diag, "read %s %s: %m", creating ? "runtime" : "container",
			  stream->id == STREAM_STDOUT ? "stdout" : "stderr");
	if (result == PUMP_EOF || result == PUMP_ERROR) {
		unwatch_fd(shim, stream->fd);
		close_fd(&stream->fd);
	}
	if (creating)
		return;
	if (shim->io.log.rotate_errno != 0) {
		errno = shim->io.log.rotate_errno;
		log_error(&shim->diag, "rotate container log %s: %m; writing on in the current file",
			  shim->io.log.file.path);
		shim->io.log.rotate_errno = 0;
	}
	/* Once per episode, not once per read: a full disk must not also
	 * flood syslog. */
	if (shim->io.log.write_errno != 0) {
		if (!shim->log_failing) {
			errno = shim->io.log.write_errno;
			log_error(&shim->diag, "write container log %s: %m; dropping output until it works",
				  shim->io.log.file.path);
			shim->log_failing = true;
		}
		shim->io.log.write_errno = 0;
	} else if (shim->log_failing && shim->io.log.dropped_unreported == 0) {
		log_info(&shim->diag, "container log %s: writing again (%llu bytes dropped so far)",
			 shim->io.log.file.path, shim->io.log.dropped_bytes);
		shim->log_failing = false;
	}
}

/* Never inlined into the loop: what an event's work puts on the stack then
 * lies below the loop's frame, where release_idle_memory gives it back. */
static __attribute__((noinline)) void dispatch(struct shim *shim, const struct epoll_event *event)
{
	switch (WATCH_KIND(event->data.u64)) {
	case WATCH_SIGNALS:
		handle_signals(shim);
		break;
	case WATCH_STDOUT:
		handle_output(shim, &shim->io.out);
		break;
	case WATCH_STDERR:
		handle_output(shim, &shim->io.err);
		break;
	case WATCH_TTY:
		handle_output(shim, &shim->io.tty);
		break;
	case WATCH_CTL:
		io_ctl_readable(&shim->io);
		break;
	case WATCH_RUNTIME_TIMER:
		runtime_timer_fired(shim);
		break;
	case WATCH_SINK:
		io_sink_writable(&shim->io, WATCH_CLIENT_ID(event->data.u64));
		break;
	case WATCH_CONTAINER_GONE:
		/* --no-subreaper: gone, reaped by PID 1; how it ended is lost. */
		unwatch_fd(shim, shim->container_pidfd);
		if (shim->phase == PHASE_RUNNING)
			handle_container_exit(shim, EXIT_STATUS_LOST);
		break;
	case WATCH_STDIN:
		io_stdin_writable(&shim->io);
		break;
	case WATCH_ATTACH_LISTEN:
		io_attach_accept(&shim->io);
		break;
	case WATCH_ATTACH_CLIENT:
		io_attach_client_event(&shim->io, WATCH_CLIENT_ID(event->data.u64), event->events);
		break;
	case WATCH_GUEST:
		shim->guest->ready(shim->guest->ctx);
		break;
	default:
		log_error(&shim->diag, "event for unknown watch %llu",
			  (unsigned long long)event->data.u64);
		break;
	}
}

/* Step 5, the end: everything the container wrote reaches the log before
 * the exit file says it is over. */
static _Noreturn void finish(struct shim *shim)
{
	unsigned long long dropped;
	struct timespec now;
	char *exit_json;

	io_drain(&shim->io);
	dropped = shim->io.log.dropped_bytes;
	if (dropped > 0) {
		clock_gettime(CLOCK_REALTIME, &now);
		if (log_writer_report_drops(&shim->io.log, &now) < 0)
			log_error(&shim->diag, "container log %s: could not record the dropped bytes",
				  shim->io.log.file.path);
		log_error(&shim->diag, "container log %s: %llu bytes of output could not be written",
			  shim->io.log.file.path, dropped);
	}
	log_writer_close(&shim->io.log);
	close_fd(&shim->container_pidfd);
	/* A manager that learns of the OOM kill from a file of its own
	 * (podman's <bundle>/oom) finds it there before the exit file. */
	if (shim->oom_killed && shim->args.oom_file && touch_file(shim->args.oom_file) < 0)
		log_error(&shim->diag, "make OOM file %s: %m", shim->args.oom_file);
	exit_json = shim->dialect->format_exit(shim->container_status, &shim->exited_at,
					       shim->oom_killed, dropped);
	if (!exit_json)
		log_error(&shim->diag, "format exit file: out of memory");
	else if (status_file_commit(&shim->exit_file, exit_json, strlen(exit_json)) < 0)
		log_error(&shim->diag, "write exit file %s: %m", shim->args.container_exitfile);
	else
		log_info(&shim->diag, "wrote exit file %s: %s", shim->args.container_exitfile,
			 exit_json);
	free(exit_json);
	/* Clients see the connection close only now, when the exit file can
	 * tell them how the container ended. */
	io_close(&shim->io);
	io_ctl_close(&shim->io);
	shim_exit(shim, 0);
}

/* Where a daemon exits, a hosted one gives the process back to its
 * front end, which serves on (shim_host). */
static _Noreturn void daemon_exit(struct shim *shim, int status)
{
	if (shim->guest) {
		close_fd(&shim->signal_fd);
		close_fd(&shim->epoll_fd);
		close_fd(&shim->diag.fd);
		shim->guest->leave(shim->guest->ctx, status);
		abort(); /* it must not return: there is no daemon to return to */
	}
	exit(status);
}

/* The end of every daemon, after a failure too: a manager that asked for
 * an exit command (podman's `container cleanup`) has it run now, and
 * waited for, so the manager's state is settled when the shim is gone.
 * It gets the manager's environment and our /dev/null stdio, no other
 * fd, and no subreaper: what it leaves behind is not ours to reap. */
static _Noreturn void shim_exit(struct shim *shim, int status)
{
	pid_t pid;
	int command_status;

	if (!shim->args.exit_command)
		daemon_exit(shim, status);
	if (prctl(PR_SET_CHILD_SUBREAPER, 0) < 0)
		log_warn(&shim->diag, "stop being a subreaper: %m");
	pid = fork();
	if (pid < 0) {
		log_error(&shim->diag, "fork exit command %s: %m", shim->args.exit_command[0]);
		daemon_exit(shim, status);
	}
	if (pid == 0) {
		if (close_range(3, ~0U, 0) < 0 || sigprocmask(SIG_SETMASK, &shim->child_mask, NULL) < 0)
			_exit(126);
		if (shim->args.exit_delay > 0)
			sleep(shim->args.exit_delay);
		execv(shim->args.exit_command[0], shim->args.exit_command);
		_exit(127);
	}
	log_debug(&shim->diag, "exit command %s started as pid %d", shim->args.exit_command[0],
		  (int)pid);
	while (waitpid(pid, &command_status, 0) < 0) {
		if (errno != EINTR) {
			log_error(&shim->diag, "wait for exit command pid %d: %m", (int)pid);
			daemon_exit(shim, status);
		}
	}
	if (!WIFEXITED(command_status) || WEXITSTATUS(command_status) != 0)
		log_warn(&shim->diag, "exit command %s ended with wait status %#x",
			 shim->args.exit_command[0], (unsigned)command_status);
	daemon_exit(shim, status);
}

/* Step 2: detach from the manager so the container outlives it. */
static void become_daemon(struct shim *shim)
{
	/* The manager's pipes we keep: the sync pipe, and a front end's
	 * start and ready pipes. */
	int *kept[] = { &shim->sync_fd, &shim->args.go_fd, &shim->args.ready_fd,
			&shim->args.stdout_sink_fd, &shim->args.stderr_sink_fd };
	int kept_fds[5], kept_count = 0, null_fd;

	if (setsid() < 0)
		fail_before_running(shim, "setsid: %m");
	/* Keep them clear of 0-2, which /dev/null is about to take, and
	 * close-on-exec: none of them is for runc or the container. */
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		int fd = *kept[i];
		if (fd < 0)
			continue;
		if (fd <= 2) {
			int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
			if (moved < 0)
				fail_before_running(shim, "move the manager's fd %d: %m", fd);
			*kept[i] = fd = moved;
		} else if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			fail_before_running(shim, "mark the manager's fd %d close-on-exec: %m", fd);
		}
		kept_fds[kept_count++] = fd;
	}
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		fail_before_running(shim, "open /dev/null: %m");
	for (int fd = 0; fd < 3; fd++) {
		if (dup2(null_fd, fd) < 0)
			fail_before_running(shim, "point fd %d at /dev/null: %m", fd);
	}
	close_fd(&null_fd);
	/* Whatever else the manager left open is closed: it must not reach
	 * runc and the container (only 0, 1 and 2 may), nor stay open here,
	 * where a manager waiting for EOF on a pipe of its own would wait as
	 * long as the container runs. */
	if (close_fds_except(kept_fds, (size_t)kept_count) < 0)
		fail_before_running(shim, "close inherited fds: %m");
	/* Orphans of the container, and the container itself once runc
	 * exits, become our children: we reap them and see the exit. */
	if (!shim->args.no_subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fail_before_running(shim, "become child subreaper: %m");
}

/* runc refuses a mismatch between --terminal and the bundle with words
 * about console sockets and detaching; say what is actually wrong. Only
 * when there is a config to read: a missing bundle or config is runc's to
 * report, and its words reach the manager. Not inlined, so its buffer
 * lies below the loop's frame (see dispatch). */
static __attribute__((noinline)) void check_terminal_matches_bundle(struct shim *shim)
{
	char config_path[4096], *config;
	bool bundle_terminal;

	/* runc exec: the process spec says, and runc checks it agrees. */
	if (!shim->args.bundle)
		return;
	config = malloc(1024 * 1024);
	if (!config)
		fail_before_running(shim, "read bundle config: out of memory");
	snprintf(config_path, sizeof(config_path), "%s/config.json", shim->args.bundle);
	if (read_small_file(config_path, config, 1024 * 1024) < 0) {
		log_debug(&shim->diag, "read %s: %m; the runtime will say what is wrong", config_path);
		free(config);
		return;
	}
	if (config_wants_terminal(config, &bundle_terminal) < 0) {
		log_debug(&shim->diag, "%s: %s; the runtime will say what is wrong", config_path,
			  errno == EINVAL ? "\"terminal\" is not true or false" : "not JSON");
		free(config);
		return;
	}
	free(config);
	if (shim->args.terminal && !bundle_terminal)
		fail_before_running(shim,
				    "--terminal was given but %s has \"terminal\": false; "
				    "set process.terminal to true in the bundle, or drop --terminal",
				    config_path);
	if (!shim->args.terminal && bundle_terminal)
		fail_before_running(shim,
				    "%s has \"terminal\": true but --terminal was not given; "
				    "pass --terminal, or set process.terminal to false in the bundle",
				    config_path);
}

static _Noreturn void run_daemon(struct shim *shim, const sigset_t *handled)
{
	shim->sync_fd = shim->args.sync_fd;
	shim->runtime = (struct runtime){
		.path = shim->args.runtime,
		.args = shim->args.runtime_args,
		.arg_count = shim->args.runtime_arg_count,
		.bundle = shim->args.bundle,
		.container_id = shim->args.container_id,
		.pidfile = shim->args.container_pidfile,
		.command_args = shim->args.runtime_command_args,
		.command_arg_count = shim->args.runtime_command_arg_count,
		.exec_process_spec = shim->args.exec_process_spec,
		.console_fd = -1,
		.timeout_seconds = shim->args.runtime_timeout,
	};
	/* stdio first: with 0-2 taken by /dev/null, no fd we open later can
	 * land there and be clobbered. Until diag_open, failures go to syslog.
	 * A host is a daemon already, and its fds are its own. */
	if (!shim->guest)
		become_daemon(shim);
	/* The sinks where become_daemon kept them: from here every failure
	 * closes them (io_close), and their reader sees the end. */
	io_set_sinks(&shim->io, shim->args.stdout_sink_fd, shim->args.stderr_sink_fd);
	if (shim->guest && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fail_before_running(shim, "become child subreaper: %m");
	shim->runtime.go_fd = shim->args.go_fd; /* where become_daemon kept it */
	if (diag_open(&shim->diag, shim->args.shim_logfile, shim->args.log_level) < 0)
		log_error(&shim->diag, "--shim-logfile %s: %s; logging to syslog instead",
			  shim->args.shim_logfile, file_error(errno));
	check_terminal_matches_bundle(shim);

	shim->signal_fd = signalfd(-1, handled, SFD_CLOEXEC | SFD_NONBLOCK);
	if (shim->signal_fd < 0)
		fail_before_running(shim, "signalfd: %m");
	shim->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (shim->epoll_fd < 0)
		fail_before_running(shim, "epoll_create1: %m");
	watch_fd(shim, shim->signal_fd, WATCH_SIGNALS);
	if (shim->guest)
		watch_fd(shim, shim->guest->fd, WATCH_GUEST);

	/* Step 3: the container's stdio, then runc create. */
	shim->io.epoll_fd = shim->epoll_fd;
	shim->io.diag = &shim->diag;
	shim->io.frame_id[STREAM_STDOUT] = shim->dialect->stdout_frame_id;
	shim->io.frame_id[STREAM_STDERR] = shim->dialect->stderr_frame_id;
	shim->io.frame_data_max = shim->dialect->frame_data_max;
	shim->io.ctl_height_first = shim->dialect->ctl_height_first;
	if (io_create_pipes(&shim->io, shim->args.stdin_enabled, shim->args.stdin_once,
			    shim->args.terminal) < 0)
		fail_before_running(shim, "create stdio pipes: %m");
	/* Read from the start: while runc creates, what it writes is kept
	 * for the report, so it can never fill a pipe and block. */
	watch_fd(shim, shim->io.out.fd, WATCH_STDOUT);
	watch_fd(shim, shim->io.err.fd, WATCH_STDERR);
	if (shim->runtime.timeout_seconds > 0) {
		struct itimerspec timeout = { .it_value.tv_sec = shim->runtime.timeout_seconds };
		shim->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (shim->timer_fd < 0 || timerfd_settime(shim->timer_fd, 0, &timeout, NULL) < 0)
			fail_before_running(shim, "set the runtime timeout: %m");
		watch_fd(shim, shim->timer_fd, WATCH_RUNTIME_TIMER);
	}
	if (shim->args.terminal && console_socket_listen(&shim->runtime) < 0)
		fail_before_running(shim, "make console socket in /tmp: %m");
	/* The attach socket and the control FIFO are there before runc is:
	 * a manager may connect the moment it learns the PID, or before the
	 * process starts (the ready message), and resize its terminal then. */
	if (shim->args.container_attachfile &&
	    io_attach_listen(&shim->io, shim->args.container_attachfile,
			     shim->args.attach_seqpacket) < 0)
		fail_before_running(shim, "listen on attach socket %s: %m",
				    shim->args.container_attachfile);
	if (shim->args.container_ctlfile && io_ctl_open(&shim->io, shim->args.container_ctlfile) < 0)
		fail_before_running(shim, "make control FIFO %s: %s", shim->args.container_ctlfile,
				    errno == EEXIST ? "the path holds something else than a FIFO of ours"
						    : strerror(errno));
	if (shim->args.ready_fd >= 0) {
		char *ready = shim->dialect->report_ready ? shim->dialect->report_ready() : NULL;
		if (!ready || write_all(shim->args.ready_fd, ready, strlen(ready)) < 0)
			fail_before_running(shim, "tell the manager the attach socket is ready: %s",
					    ready ? strerror(errno) : "out of memory");
		free(ready);
		close_fd(&shim->args.ready_fd);
	}
	if (runtime_spawn(&shim->runtime, shim->io.child_fds, &shim->child_mask) < 0)
		fail_before_running(shim, "fork runtime %s: %m", shim->runtime.path);
	close_fd(&shim->runtime.go_fd); /* the predecessor's to read */
	/* Our copies of runc's ends would keep the pipes open after the
	 * container closes them, and we would never see EOF. */
	io_close_child_ends(&shim->io);
	log_debug(&shim->diag, "runtime %s create started as pid %d", shim->runtime.path,
		  (int)shim->runtime.pid);
	/* No reap is needed here before the loop: signals were blocked before
	 * the first fork, so an early SIGCHLD waits on the signalfd. */

	/* Steps 4 and 5. Once runc has created the container we are no longer
	 * allowed to bail: every failure is logged and the loop carries on,
	 * because the exit file must still be written. */
	bool idle = false;
	while (shim->phase != PHASE_EXITED) {
		struct epoll_event events[16];
		/* A second after the last event, give back the pages the work
		 * touched (see release_idle_memory), then sleep for good. */
		int count = epoll_wait(shim->epoll_fd, events, 16, idle ? -1 : IDLE_AFTER_MS);

		idle = count == 0;
		if (idle && release_idle_memory() < 0)
			log_debug(&shim->diag, "give back idle memory: %m");
		if (count < 0 && errno == EINTR)
			continue;
		if (count < 0) {
			/* Only a programming error gets here (EBADF, EINVAL). */
			log_error(&shim->diag, "epoll_wait: %m");
			abort();
		}
		for (int i = 0; i < count && shim->phase != PHASE_EXITED; i++)
			dispatch(shim, &events[i]);
	}
	finish(shim);
}

/* The daemon's state before step 2, and its signals blocked: every one
 * but the crash signals, before the first fork, so none can arrive before
 * the daemon's signalfd is there to read it. -1 with errno. */
static int shim_begin(struct shim *shim, struct shim_args *args, const struct dialect *dialect,
		      sigset_t *handled)
{
	static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS };

	*shim = (struct shim){
		.args = *args,
		.dialect = dialect,
		.diag = { .fd = -1, .min_level = DIAG_INFO },
		.signal_fd = -1,
		.epoll_fd = -1,
		.sync_fd = -1,
		.timer_fd = -1,
		.container_pidfd = -1,
		.oom = { .fd = -1 },
		.exit_file = { .file.dir_fd = -1, .fd = -1 },
	};
	io_init(&shim->io);
	shim->runtime.console_fd = -1;
	sigfillset(handled);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		sigdelset(handled, crash_signals[i]);
	if (sigprocmask(SIG_BLOCK, handled, &shim->child_mask) < 0)
		return -1;
	if (args->unblock_children)
		sigemptyset(&shim->child_mask);
	return 0;
}

int shim_launch(struct shim_args *args, const struct dialect *dialect)
{
	struct shim shim; /* the daemon's, for its whole life: run_daemon never returns */
	struct status_file pid_file = { .file.dir_fd = -1, .fd = -1 };
	sigset_t handled;
	pid_t daemon_pid;

	/* The pid file is begun before the fork, so a directory that cannot
	 * take it ends the shim here, with nothing forked; after the fork
	 * only its PID is written in. */
	if (args->shim_pidfile && status_file_begin(&pid_file, args->shim_pidfile, 0644) < 0) {
		fprintf(stderr, "shim: pid file %s: %s\n", args->shim_pidfile, strerror(errno));
		return 1;
	}
	if (shim_begin(&shim, args, dialect, &handled) < 0) {
		perror("shim: block signals");
		return 1;
	}

	daemon_pid = fork();
	if (daemon_pid < 0) {
		perror("shim: fork daemon");
		return 1;
	}
	if (daemon_pid == 0)
		run_daemon(&shim, &handled);

	if (args->shim_pidfile) {
		char pid_text[32];
		int len = snprintf(pid_text, sizeof(pid_text), "%d", (int)daemon_pid);
		if (status_file_commit(&pid_file, pid_text, (size_t)len) < 0) {
			fprintf(stderr, "shim: write pid file %s: %s\n", args->shim_pidfile,
				strerror(errno));
			/* A manager that cannot find the shim cannot manage it.
			 * (Rare: the file was begun, and room for it reserved.) */
			kill(daemon_pid, SIGKILL);
			return 1;
		}
	}
	return 0;
}

_Noreturn void shim_host(struct shim_args *args, const struct dialect *dialect,
			 const struct shim_guest *guest)
{
	struct shim shim; /* lives as long as the process: leave never returns here */
	sigset_t handled;

	if (shim_begin(&shim, args, dialect, &handled) < 0)
		abort(); /* sigprocmask fails only on a bad argument */
	shim.guest = guest;
	run_daemon(&shim, &handled);
}
