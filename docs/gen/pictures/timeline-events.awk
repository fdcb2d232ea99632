# timeline-events.awk: the syscalls of a container's lifecycle worth a
# picture, picked from the strace -f lines strace-join.awk made.
#
# Inputs: the display substitutions ("FROM<TAB>TO", for paths), then the
# joined trace twice (the first pass finds who is who). Output:
#   E<TAB>ID<TAB>LANE<TAB>MS<TAB>TEXT   an event, in time order: lane 1-6,
#                                       ms since the manager's execve
#   S<TAB>STEP<TAB>ID                   event ID begins step STEP (1-5) of
#                                       README.md: the manager's execve,
#                                       the daemon's setsid, its fork of
#                                       the predecessor, its read of the
#                                       SIGCHLD of runc's exit, the first
#                                       syscall after the manager has read
#                                       the report
#   A<TAB>FROM<TAB>TO<TAB>KIND          an arrow between two events: fork
#                                       (to the child's first syscall),
#                                       exit (to the wait4 that reaps it),
#                                       data (the report to its read, runc
#                                       start's open of the exec fifo to
#                                       the container's execve)
# The lanes: 1 the manager (shimctl create), 2 the shim parent, 3 the
# shim daemon, 4 the predecessor (runc create once exec'd), 5 the
# container, 6 runc start (forked by shimctl start). Pids never appear in
# TEXT: each is named by its lane. runc's threads count as runc.
#
# strace writes each process's lines in the order it made its calls, but
# two processes' lines only roughly in the order of the events between
# them: nothing here depends on that order (arrows are matched by tag at
# the end, and the first pass sees the whole trace first).
BEGIN { FS = "\t" }
FILENAME == ARGV[1] { nsub++; sub_from[nsub] = $1; sub_to[nsub] = $2; next }
FNR == 1 { pass++ }

function display(s,   i, at) {
	for (i = 1; i <= nsub; i++)
		while ((at = index(s, sub_from[i])) > 0)
			s = substr(s, 1, at - 1) sub_to[i] substr(s, at + length(sub_from[i]))
	return s
}
function tgid(pid) { return (pid in leader) ? leader[pid] : pid }
function result(call) { # the return value, or "" if none
	if (match(call, /\) += -?[0-9]+( .*)?$/) == 0)
		return ""
	call = substr(call, RSTART)
	sub(/^\) += /, "", call)
	sub(/ .*$/, "", call)
	return call
}
function argv(call,   list, out, n, i, word) { # an execve's argv, as words
	if (match(call, /\[".*"\]/) == 0)
		return ""
	list = substr(call, RSTART + 2, RLENGTH - 4)
	n = split(list, word, /", "/)
	out = word[1]
	for (i = 2; i <= n; i++)
		out = out " " word[i]
	return display(out)
}
function quoted(call, n,   s, q) { # the nth "..." argument, as strace wrote it
	s = call
	while (n-- > 0) {
		if (match(s, /"([^"\\]|\\.)*"/) == 0)
			return ""
		q = substr(s, RSTART, RLENGTH)
		s = substr(s, RSTART + RLENGTH)
	}
	return q
}
function fd_arg(call,   s) { # the first argument, a number
	s = call
	sub(/^[a-z0-9_]+\(/, "", s)
	sub(/[,)].*$/, "", s)
	return s
}
function status(call) { # a wait4's status, in words
	if (match(call, /WEXITSTATUS\(s\) == [0-9]+/))
		return "exited " substr(call, RSTART + 18, RLENGTH - 18)
	if (match(call, /WTERMSIG\(s\) == SIG[A-Z0-9]+/))
		return "was killed by " substr(call, RSTART + 15, RLENGTH - 15)
	return "ended"
}
function pipe_ends(call, end) { # pipe2([R, W], ...): end[1] R, end[2] W
	split(substr(call, 8), end, /[], []+/)
}

function event(l, text,   id) {
	id = ++events
	printf "E\t%d\t%d\t%.3f\t%s\n", id, l, (time - start) * 1000, text
	if (!(("first:" l) in tagged))
		tag("first:" l, id)
	if (id == 1)
		step(1, id)
	if (report_read && !step5 && l != 1)
		step5 = step(5, id)
	return id
}
function step(n, id) {
	printf "S\t%d\t%d\n", n, id
	return id
}
function tag(name, id) { # name event id, for the arrows
	if (!(name in tagged))
		tagged[name] = id
	return id
}
function arrow(from, to, kind) { arrows++; arrow_from[arrows] = from; arrow_to[arrows] = to; arrow_kind[arrows] = kind }

# ---- Pass 1: who is who, from the whole trace ----
pass == 1 {
	pid = $1
	call = $3
	if (call ~ /^execve\(/ && call ~ /shimctl", \[/ && result(call) == "0") {
		if (call ~ /"create"/)
			manager = pid
		else if (call ~ /"start"/)
			starter = pid
	}
	if (call ~ /^clone3?\(/ && result(call) + 0 > 0) {
		if (call ~ /CLONE_THREAD/)
			thread_of[result(call)] = pid
		else if (!(pid in first_child))
			first_child[pid] = result(call)
	}
	if (call ~ /^write\(/ && call ~ /container_pid/) {
		reported = call
		sub(/^.*\\"pid\\":/, "", reported)
		sub(/[^0-9].*$/, "", reported)
		reporter[pid] = reported
	}
	if (call ~ /^pipe2\(\[/) {
		pipe_ends(call, end)
		pipe_read_of[pid, end[2]] = end[1]
	}
	if (call ~ /^dup2\(/) {
		split(substr(call, 6), arg, /[,)] */)
		dup_of[pid, arg[2]] = arg[1]
	}
	if (call ~ /^signalfd4\(/)
		signalfd_of[pid] = result(call)
	if (call ~ /^pipe2\(\[/ && !(pid in first_pipe)) {
		pipe_ends(call, end)
		first_pipe[pid] = end[1] " " end[2]
	}
	next
}

# ---- Pass 2: the events ----
pass == 2 && FNR == 1 {
	for (t in thread_of) {
		for (g = t; g in thread_of; g = thread_of[g])
			;
		leader[t] = g
	}
	parent = first_child[manager]
	daemon = first_child[parent]
	predecessor = first_child[daemon]
	runc_start = first_child[starter]
	container = reporter[daemon]
	if (!manager || !parent || !daemon || !predecessor || !container || !runc_start) {
		print "timeline-events.awk: a process is missing from the trace" > "/dev/stderr"
		exit 1
	}
	lane[manager] = 1; lane[parent] = 2; lane[daemon] = 3
	lane[predecessor] = 4; lane[container] = 5; lane[runc_start] = 6
	name[parent] = "shim parent"; name[daemon] = "shim daemon"
	name[predecessor] = "predecessor"; name[runc_start] = "runc start"
	split(first_pipe[manager], end, " ")
	sync_read = end[1]
	sync_write = end[2]
	signal_fd = signalfd_of[daemon]
	stdout_read = pipe_read_of[daemon, dup_of[predecessor, 1]]
	stderr_read = pipe_read_of[daemon, dup_of[predecessor, 2]]
	pipe_name[stdout_read] = "container stdout"
	pipe_name[stderr_read] = "container stderr"
	# The arrows, by tag: matched at the end, whatever the order of lines.
	for (l = 2; l <= 4; l++)
		arrow("fork:" l, "first:" l, "fork")
	arrow("runc init", "first:5", "fork")
	arrow("exit:2", "reaped:2", "exit")
	arrow("exit:4", "reaped:4", "exit")
	arrow("exit:5", "reaped:5", "exit")
	arrow("report", "report read", "data")
	arrow("exec fifo", "exec:5", "data")
}
{
	pid = $1
	time = $2
	call = $3
	if (start == "")
		start = time
	p = tgid(pid)
	l = (p in lane) ? lane[p] : 0
	if (!l)
		next
	ret = result(call)

	if (call ~ /^execve\(/ && ret == "0") {
		tag("exec:" l, event(l, "execve: " argv(call)))
		if (l == 4)
			exec_runc = 1
		next
	}
	if (call ~ /^exit_group\(/) {
		tag("exit:" l, event(l, "exit_group(" fd_arg(call) ")"))
		next
	}
	if (call ~ /^clone3?\(/ && call !~ /CLONE_THREAD/ && ret + 0 > 0) {
		if (ret in name) {
			id = tag("fork:" lane[ret], event(l, "fork() = " name[ret]))
			if (ret == predecessor)
				step(3, id)
		} else if (l == 4 && call ~ /CLONE_VFORK/) {
			tag("runc init", event(l, "clone(CLONE_VM|CLONE_VFORK) = runc init, which clones the container"))
		}
		next
	}
	if (l == 1) {
		if (call ~ /^pipe2\(/ && ret == "0" && !seen_pipe) {
			seen_pipe = event(l, "pipe2() = [" sync_read ", " sync_write "]: the sync pipe")
		} else if (call ~ /^wait4\(/ && ret == parent) {
			tag("reaped:2", event(l, "wait4(shim parent) = shim parent: it " status(call)))
		} else if (seen_pipe && call ~ /^read\(/ && fd_arg(call) == sync_read && ret + 0 > 0) {
			tag("report read", event(l, "read(" sync_read ") = " quoted(call, 1) ": the report"))
			report_read = 1
		} else if (seen_pipe && call ~ /^read\(/ && fd_arg(call) == sync_read && ret == "0") {
			event(l, "read(" sync_read ") = 0: end of file, the daemon closed its end")
		} else if (call ~ /^write\(1,/) {
			event(l, "write(1, ...): \"ID PID\", the container's ID and pid, for the user")
		}
		next
	}
	if (l == 2) {
		if (call ~ /^rt_sigprocmask\(SIG_BLOCK/)
			event(l, "rt_sigprocmask(SIG_BLOCK, every signal but the crash signals)")
		else if (call ~ /^openat\(/ && call ~ /O_TMPFILE/)
			event(l, "openat(state/, \".\", O_TMPFILE) = " ret ": --shimmy-pidfile, unnamed yet")
		else if (call ~ /^linkat\(/ && call ~ /"shim\.pid\.tmp"/)
			event(l, "linkat(/proc/self/fd/N, \"shim.pid.tmp\"): the daemon's pid in it")
		else if (call ~ /^renameat\(/ && call ~ /"shim\.pid"/)
			event(l, "renameat(\"shim.pid.tmp\", \"shim.pid\"): --shimmy-pidfile written")
		next
	}
	if (l == 3) {
		if (call ~ /^setsid\(/)
			step(2, event(l, "setsid(): a session of its own, no terminal"))
		else if (call ~ /^dup2\(/ && call ~ /, 0\)/)
			event(l, "dup2(/dev/null, 0), and 1 and 2")
		else if (call ~ /^prctl\(PR_SET_CHILD_SUBREAPER/)
			event(l, "prctl(PR_SET_CHILD_SUBREAPER, 1): orphans below come to us")
		else if (call ~ /^signalfd4\(/)
			event(l, "signalfd4() = " ret ": the blocked signals, read as data")
		else if (call ~ /^epoll_create1\(/)
			event(l, "epoll_create1() = " ret)
		else if (call ~ /^pipe2\(\[/) {
			pipe_ends(call, end)
			event(l, "pipe2() = [" end[1] ", " end[2] "]: " pipe_name[end[1]])
		} else if (call ~ /^read\(/ && fd_arg(call) == signal_fd && ret == "128")
			signal_read = event(l, "read(" signal_fd ") = a signalfd_siginfo: SIGCHLD")
		else if (call ~ /^wait4\(/ && ret == predecessor) {
			step(4, signal_read)
			tag("reaped:4", event(l, "wait4(-1, WNOHANG) = predecessor: runc " status(call)))
		} else if (call ~ /^wait4\(/ && ret == container)
			tag("reaped:5", event(l, "wait4(-1, WNOHANG) = container: it " status(call)))
		else if (call ~ /^pidfd_open\(/ && ret + 0 > 0)
			event(l, "pidfd_open(container) = " ret ": held, for signals")
		else if (call ~ /^openat\(/ && call ~ /"container\.log"/)
			event(l, "openat(state/, \"container.log\", O_APPEND) = " ret)
		else if (call ~ /^openat\(/ && call ~ /O_TMPFILE/) {
			exit_fd = ret
			event(l, "openat(state/, \".\", O_TMPFILE) = " ret ": the exit file, unnamed yet")
		} else if (call ~ /^write\(/ && fd_arg(call) == sync_write && call ~ /container_pid/)
			tag("report", event(l, "write(" sync_write ", " quoted(call, 1) "): the report"))
		else if (call ~ /^read\(/ && (fd_arg(call) == stdout_read || fd_arg(call) == stderr_read) && ret + 0 > 0)
			event(l, "read(" fd_arg(call) ") = " quoted(call, 1) ": " pipe_name[fd_arg(call)])
		else if (call ~ /^writev\(/)
			event(l, "writev(" fd_arg(call) "): a record to container.log")
		else if (call ~ /^write\(/ && exit_fd != "" && fd_arg(call) == exit_fd)
			event(l, "write(" exit_fd ", " quoted(call, 1) "): the exit status")
		else if (call ~ /^linkat\(/ && call ~ /"exit\.json\.tmp"/)
			event(l, "linkat(/proc/self/fd/N, \"exit.json.tmp\"): the exit file gets a name")
		else if (call ~ /^renameat\(/ && call ~ /"exit\.json"/)
			event(l, "renameat(\"exit.json.tmp\", \"exit.json\"): whole, at once")
		next
	}
	if (l == 4) {
		if (call ~ /^prctl\(PR_SET_PDEATHSIG/)
			event(l, "prctl(PR_SET_PDEATHSIG, SIGKILL)")
		else if (call ~ /^dup2\(/ && !exec_runc) {
			split(substr(call, 6), arg, /[,)] */)
			event(l, "dup2(" arg[1] ", " arg[2] "): " (arg[2] == 0 ? "stdin, /dev/null" : \
				arg[2] == 1 ? "stdout, the container stdout pipe" : "stderr, the container stderr pipe"))
		} else if (call ~ /^setpgid\(0, 0\)/)
			event(l, "setpgid(0, 0): a process group of its own")
		else if (call ~ /^rt_sigprocmask\(SIG_SETMASK, \[\]/ && !exec_runc)
			event(l, "rt_sigprocmask(SIG_SETMASK, []): the mask the shim started with")
		else if (call ~ /^prctl\(PR_SET_CHILD_SUBREAPER/)
			event(l, "prctl(PR_SET_CHILD_SUBREAPER, 1): runc is a subreaper too")
		else if (call ~ /^renameat\(/ && call ~ /state\.json"/)
			event(l, "renameat(..., \"/run/runc/ID/state.json\"): runc's state")
		else if (call ~ /^renameat\(/ && call ~ /container\.pid"/)
			event(l, "renameat(\".container.pid\", \"container.pid\"): the pid file")
		next
	}
	if (l == 5) {
		if (call ~ /^prctl\(PR_SET_NAME/)
			event(l, "prctl(PR_SET_NAME, \"runc:[2:INIT]\"): stage 2 of runc init, runc's child")
		else if (call ~ /^setsid\(/)
			event(l, "setsid(): the container's own session")
		next
	}
	if (l == 6) {
		if (call ~ /^openat\(/ && call ~ /exec\.fifo/ && call !~ /O_PATH/)
			tag("exec fifo", event(l, "openat(\"/run/runc/ID/exec.fifo\", O_RDONLY): runc init may exec"))
		next
	}
}
END {
	for (i = 1; i <= arrows; i++)
		if ((arrow_from[i] in tagged) && (arrow_to[i] in tagged))
			printf "A\t%d\t%d\t%s\n", tagged[arrow_from[i]], tagged[arrow_to[i]], arrow_kind[i]
}
