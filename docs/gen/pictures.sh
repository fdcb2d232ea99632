#!/usr/bin/env bash
# docs/gen/pictures.sh OUT: the pictures of docs/pictures/, from real runs.
#
# 1. The process tree and every process's open fds at six moments of the
#    five steps (README.md), read from /proc while a real container goes
#    through them under shimctl, the reference manager:
#      1-parent      the manager (shimctl create) and the shim parent
#      2-daemon      the daemon forked; the parent about to exit
#      3-runc-create runc create running, its 0/1/2 the container's pipes
#      4-created     runc gone; the container (runc init) the shim's child
#      5-running     the container running; the shim pumping its pipes
#      6-exit        the container reaped, the exit file written
#    Each as NAME.txt (for terminals), NAME.dot (graphviz) and NAME.svg.
#    Each moment is caught without sleeping on a guess:
#      1, 2  the shim is launched by strace -D (which leaves it a child of
#            shimctl), injecting a SIGSTOP after the parent's
#            rt_sigprocmask (just before its fork), then holding the
#            parent at the entry of exit_group and the daemon at the
#            entry of setsid (delay_enter); killing strace releases both;
#      3     the bundle has a createRuntime hook that blocks opening a
#            FIFO: runc create waits for it, runc init waits for runc;
#            opening the FIFO for writing releases it;
#      4     shimctl create has returned: the shim reaps runc before it
#            reports; runc init is blocked opening its exec fifo;
#      5     after shimctl start, the container has written its two lines
#            and is blocked in poll (busybox's read waits for stdin so);
#      6     strace -p holds the daemon at the entry of exit_group, after a
#            line sent through the attach socket let the container exit.
#    Before each picture the script checks that the moment is what the
#    picture says (who is whose parent, which syscall each is in).
# 2. timeline.txt and timeline.svg: the whole lifecycle of a second
#    container under strace -f -tt, one lane per process.
#
# Needs root, runc, strace, graphviz, the built ./shim and ./shimctl, and
# bundle-example/rootfs (bundle-example/prepare.sh); x86_64 (the moments
# are recognised by syscall numbers). Takes about two seconds.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
repo=$PWD
helpers=$repo/docs/gen/pictures

[[ $# -eq 1 ]] || {
	echo "usage: docs/gen/pictures.sh OUT" >&2
	exit 2
}
out=$1/pictures
mkdir -p -- "$out"

die() {
	echo "pictures.sh: $*" >&2
	exit 1
}

for tool in runc strace dot; do
	command -v "$tool" >/dev/null || die "$tool not found (make deps installs it)"
done
[[ -x $repo/shim && -x $repo/shimctl ]] || die "build ./shim and ./shimctl first (make all)"
[[ -x $repo/bundle-example/rootfs/bin/busybox ]] || die "run bundle-example/prepare.sh first"
# The moments are recognised by syscall numbers, which are x86_64's.
[[ $(uname -m) == x86_64 ]] || die "the syscall numbers in this script are x86_64's, not $(uname -m)'s"

tmp=$(mktemp -d /tmp/tmp.XXXXXX)
id=pic-$$
timeline_id=pic-$$-2
export SHIMCTL_ROOT=$tmp/run
unset SHIMCTL_SHIM SHIMCTL_RUNTIME

proc_field() { # proc_field PID FIELD: a field of /proc/PID/status
	awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status" 2>/dev/null
}
# in_syscall PID NR: PID is stopped (t or T) in (or, after a signal, right
# after) syscall number NR (x86_64: 7 poll, 14 rt_sigprocmask, 61 wait4,
# 112 setsid, 231 exit_group, 232 epoll_wait, 257 openat).
in_syscall() {
	local state syscall
	state=$(proc_field "$1" State) || return 1
	read -r syscall _ <"/proc/$1/syscall" 2>/dev/null || return 1
	[[ $syscall == "$2" && ( -z ${3:-} || $state == "$3" ) ]]
}
blocked_in() { # blocked_in PID NR: sleeping in syscall NR
	in_syscall "$1" "$2" S
}
held_in() { # held_in PID NR: stopped by the tracer in syscall NR
	in_syscall "$1" "$2" t
}
gone() { [[ ! -e /proc/$1 ]] || [[ $(proc_field "$1" State) == Z ]]; }
children_of() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d'; }

# The containers we made, for the cleanup.
started_containers=()

# Every process we started: the manager, the shims, strace, runc create
# and the hook all name our temporary directory in their command lines;
# runc init and the container are below them. By pid, children included.
our_processes() {
	local pid queue=() found=" "
	for pid in /proc/[0-9]*; do
		pid=${pid#/proc/}
		grep -qsF -- "$tmp/" "/proc/$pid/cmdline" && queue+=("$pid")
	done
	mapfile -t -O "${#queue[@]}" queue < <(children_of "$$")
	while ((${#queue[@]})); do
		pid=${queue[0]}
		queue=("${queue[@]:1}")
		[[ $found == *" $pid "* || $pid == "$$" || $pid == "$BASHPID" ]] && continue
		found+="$pid "
		mapfile -t -O "${#queue[@]}" queue < <(children_of "$pid")
	done
	echo "$found"
}

cleanup() {
	local status=$? pids pid cid dir deadline
	set +e
	trap - EXIT INT TERM
	pids=$(our_processes)
	# shellcheck disable=SC2086 # a list of pids
	[[ -n ${pids// /} ]] && kill -KILL $pids 2>/dev/null
	deadline=$((SECONDS + 5))
	for pid in $pids; do
		while [[ -e /proc/$pid && $(proc_field "$pid" State) != Z ]] && ((SECONDS < deadline)); do
			sleep 0.01
		done
	done
	wait 2>/dev/null
	# What runc knows of them, and what it made before it was killed.
	for cid in "${started_containers[@]}"; do
		runc delete --force "$cid" >/dev/null 2>&1
		[[ -d /run/runc/$cid ]] && rm -rf -- "/run/runc/$cid"
		for dir in /sys/fs/cgroup/"$cid" /sys/fs/cgroup/*/"$cid"; do
			[[ -d $dir ]] && rmdir -- "$dir" 2>/dev/null
		done
	done
	rm -rf -- "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The manager should pass on only the fds it means to: whatever the
# caller of this script leaked (a CI runner's, a terminal's) would show
# up in the pictures. Run in the subshell that execs the manager.
close_inherited_fds() {
	local fd
	for fd in /proc/self/fd/*; do
		fd=${fd##*/}
		# 255: bash's own copy of its script, close-on-exec.
		((fd > 2 && fd != 255)) || continue
		eval "exec $fd>&-" 2>/dev/null || true
	done
}

# wait_for WHAT COMMAND...: poll COMMAND until it succeeds, for at most
# 10 s; WHAT names the moment in the error.
wait_for() {
	local what=$1 deadline=$((SECONDS + 10))
	shift
	until "$@"; do
		((SECONDS < deadline)) || die "timed out waiting for $what"
		sleep 0.01
	done
}

check() { # check WHAT COMMAND...: the moment is what the picture says
	local what=$1
	shift
	"$@" || die "check failed: $what"
}

# ---- The bundles -----------------------------------------------------------

rootfs=$repo/bundle-example/rootfs
# The container of the pictures: writes a line on each stream, then waits
# for one on stdin (moment 5) and exits 7 with it.
tests/make-bundle.sh "$tmp/bundle" "$rootfs" -- \
	/bin/sh -c 'echo to stdout; echo to stderr >&2; read line; echo "read: $line"; exit 7'
# Moment 3: runc create runs the createRuntime hooks while runc init
# waits in the container's namespaces; this one blocks opening a FIFO.
mkfifo "$tmp/go.fifo"
hook_command="echo \$\$ > $tmp/hook.pid; read go < $tmp/go.fifo; exit 0"
sed -i "1a\\  \"hooks\": {\"createRuntime\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"$hook_command\"]}]}," \
	"$tmp/bundle/config.json"
grep -q '"createRuntime"' "$tmp/bundle/config.json" || die "could not add the hook to the bundle"
# The container of the timeline: no stdin, no hook.
tests/make-bundle.sh "$tmp/timeline-bundle" "$rootfs" -- \
	/bin/sh -c 'echo to stdout; echo to stderr >&2; exit 7'

# ---- Snapshots: /proc at one moment ----------------------------------------

# roles: one line per process we know, "pid key rank label note", for
# tree.awk; pipes: "inode name", names found at earlier moments persist;
# files: what to show of the state directory in the next picture.
: >"$tmp/pipes"
: >"$tmp/files"
role() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$tmp/roles"; }
name_pipe() { # name_pipe PID FD NAME
	local target
	target=$(readlink "/proc/$1/fd/$2") || die "no fd $2 in pid $1"
	[[ $target =~ ^pipe:\[([0-9]+)\]$ ]] || die "fd $2 of pid $1 is $target, not a pipe"
	printf '%s\t%s\n' "${BASH_REMATCH[1]}" "$3" >>"$tmp/pipes"
}

# snapshot NAME ROOT...: the roots and their descendants (from
# /proc/PID/task/*/children), each with its state, command line and fds
# (readlink of /proc/PID/fd/N, flags from fdinfo; for a pidfd its Pid,
# for an epoll fd the fds it watches), and /proc/net/unix.
snapshot() {
	local name=$1 raw=$tmp/$1.raw pid fd target flags extra cmdline queue seen=" "
	shift
	queue=("$@")
	: >"$raw"
	while ((${#queue[@]})); do
		pid=${queue[0]}
		queue=("${queue[@]:1}")
		[[ $seen == *" $pid "* ]] && continue
		seen+="$pid "
		[[ -e /proc/$pid ]] || die "snapshot $name: pid $pid is gone"
		cmdline=$(tr '\0\t' '  ' <"/proc/$pid/cmdline")
		printf 'proc\t%s\t%s\t%s\t%s\t%s\n' "$pid" "$(proc_field "$pid" PPid)" \
			"$(sed -n 's/^State:\t//p' "/proc/$pid/status")" \
			"$(cat "/proc/$pid/comm")" "${cmdline% }" >>"$raw"
		for fd in /proc/"$pid"/fd/*; do
			fd=${fd##*/}
			target=$(readlink "/proc/$pid/fd/$fd") || continue
			flags=$(awk '$1 == "flags:" { print $2 }' "/proc/$pid/fdinfo/$fd")
			case $target in
			'anon_inode:[pidfd]') extra=$(awk '$1 == "Pid:" { print $2 }' "/proc/$pid/fdinfo/$fd") ;;
			'anon_inode:[eventpoll]')
				extra=$(awk '$1 == "tfd:" { print $2 }' "/proc/$pid/fdinfo/$fd" | sort -n | paste -sd ' ') ;;
			/*) extra=$(stat -L -c %F "/proc/$pid/fd/$fd" 2>/dev/null) || extra= ;;
			*) extra= ;;
			esac
			printf 'fd\t%s\t%s\t%s\t%s\t%s\n' "$pid" "$fd" "$target" "$flags" "$extra" >>"$raw"
		done
		mapfile -t -O "${#queue[@]}" queue < <(children_of "$pid")
	done
	awk 'NR > 1 { print "unix\t" $7 "\t" $5 "\t" $6 "\t" $4 "\t" $8 }' /proc/net/unix >>"$raw"
}

# shimctl's attach socket for a container: $SHIMCTL_ROOT/s/sha256(ID).
attach_name() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# show_file NAME WRITER: a file of the container's state directory, to be
# shown beside WRITER (a role key) in the next picture.
show_file() {
	sed "s|^|state/$1\t|; s|\$|\t$2|" "$SHIMCTL_ROOT/$id/$1" >>"$tmp/files"
	[[ -z $(tail -c1 "$SHIMCTL_ROOT/$id/$1") ]] || echo >>"$tmp/files"
}

# render NAME TITLE CAPTION: NAME.txt and NAME.dot from the last snapshot,
# then NAME.svg from the .dot.
render() {
	local name=$1
	printf '%s\t%s\n' "$SHIMCTL_ROOT/$id/" "state/" "$SHIMCTL_ROOT/$id" "state/" \
		"$SHIMCTL_ROOT/s/" "sockets/" "$SHIMCTL_ROOT/s" "sockets/" "$(attach_name "$id")" "sha256(ID)" \
		"$SHIMCTL_ROOT" '$SHIMCTL_ROOT' "$tmp/" "tmp/" "$repo/" "./" >"$tmp/subst"
	awk -v name="$name" -v title="$2" -v caption="$3" \
		-v txt="$out/$name.txt" -v dot="$out/$name.dot" \
		-f "$helpers/tree.awk" "$tmp/roles" "$tmp/pipes" "$tmp/subst" "$tmp/$name.raw" "$tmp/files"
	dot -Tsvg -o "$out/$name.svg" "$out/$name.dot"
	: >"$tmp/files"
}

# ---- Moments 1 and 2: the shim parent, then the daemon ---------------------

# The manager's shim is this wrapper: strace -D makes the traced shim the
# very process shimctl forked (the tracer runs as a grandchild), so the
# tree is the real one. -I1 lets SIGTERM make strace detach. The
# injections, per process: a SIGSTOP after the first rt_sigprocmask (the
# parent's, right before it forks), a hold at the entry of exit_group (the
# parent's) and of setsid (the daemon's, its first syscall).
cat >"$tmp/shim-held" <<EOF
#!/bin/sh
echo \$\$ >"$tmp/parent.pid"
exec strace -D -I1 -f -o "$tmp/held.strace" -e trace=rt_sigprocmask,setsid,exit_group \\
	-e inject=rt_sigprocmask:signal=SIGSTOP:when=1 \\
	-e inject=setsid:delay_enter=60000000 -e inject=exit_group:delay_enter=60000000 \\
	"$repo/shim" "\$@"
EOF
chmod +x "$tmp/shim-held"

started_containers+=("$id")
(
	close_inherited_fds
	SHIMCTL_SHIM=$tmp/shim-held exec "$repo/shimctl" create "$id" --bundle "$tmp/bundle" --stdin
) </dev/null >"$tmp/create.out" 2>"$tmp/create.err" &
manager=$!

wait_for "the shim parent" test -s "$tmp/parent.pid"
parent=$(cat "$tmp/parent.pid")
wait_for "the shim parent to stop before its fork" held_in "$parent" 14
tracer=$(proc_field "$parent" TracerPid)
check "strace holds the shim parent" [ "$(cat "/proc/$tracer/comm" 2>/dev/null)" = strace ]
check "the shim parent is the manager's child" [ "$(proc_field "$parent" PPid)" = "$manager" ]
check "the shim parent runs ./shim" [ "$(readlink "/proc/$parent/exe")" = "$repo/shim" ]
check "the shim parent has no child yet" [ -z "$(children_of "$parent")" ]
check "the manager is shimctl" [ "$(readlink "/proc/$manager/exe")" = "$repo/shimctl" ]
wait_for "the manager to wait for the shim parent" blocked_in "$manager" 61
sync_fd=$(tr '\0' '\n' <"/proc/$parent/cmdline" | sed -n '/^--syncpipe-fd$/{n;p}')
name_pipe "$parent" "$sync_fd" "sync pipe"

: >"$tmp/roles"
role "$manager" manager 1 "shimctl create (the manager)" "waiting for the shim parent (wait4)"
role "$parent" parent 2 "shim parent" "stopped right after rt_sigprocmask(SIG_BLOCK), before its fork"
snapshot 1-parent "$manager"
render 1-parent "Step 1: the manager has started the shim" \
	"shimctl create made the sync pipe and forked; the child exec'd ./shim with the write end as --syncpipe-fd. The shim parent has checked its flags, begun --shimmy-pidfile (its directory held, an unnamed O_TMPFILE file ready, so that a pid file it cannot write fails before anything is forked) and blocked its signals; next it forks the daemon."

kill -CONT "$parent"
wait_for "the daemon's pid file" test -s "$SHIMCTL_ROOT/$id/shim.pid"
daemon=$(cat "$SHIMCTL_ROOT/$id/shim.pid")
wait_for "the daemon to be held at setsid" held_in "$daemon" 112
wait_for "the parent to be held at exit_group" held_in "$parent" 231
check "the daemon is the parent's child" [ "$(proc_field "$daemon" PPid)" = "$parent" ]
check "the daemon has not called setsid yet" \
	[ "$(awk '{ print $6 }' "/proc/$daemon/stat")" != "$daemon" ]
check "the manager still waits for the shim parent" blocked_in "$manager" 61
: >"$tmp/roles"
role "$manager" manager 1 "shimctl create (the manager)" "waiting for the shim parent (wait4)"
role "$parent" parent 2 "shim parent" "held at the entry of exit_group(0); shim.pid written"
role "$daemon" daemon 3 "shim daemon" "held at the entry of setsid(), its first syscall"
snapshot 2-daemon "$manager"
render 2-daemon "Step 2: the daemon is forked; the parent is about to exit" \
	"The parent has forked the daemon, written its pid into the unnamed file, linked it as shim.pid.tmp and renamed it to shim.pid; it exits 0 next, which ends the manager's wait. The daemon is a copy of the parent as it was at the fork: the same fds, the sync pipe and the pid file's among them. It will call setsid, point 0-2 at /dev/null, close all it inherited but the sync pipe, and become a child subreaper."

# Release both: strace detaches, the parent exits, the daemon goes on.
kill -TERM "$tracer"
wait_for "the tracer to detach" gone "$tracer"
wait_for "the shim parent to exit" gone "$parent"

# ---- Moment 3: runc create, held by the hook -------------------------------

wait_for "the createRuntime hook" test -s "$tmp/hook.pid"
hook=$(cat "$tmp/hook.pid")
wait_for "the hook to block on its FIFO" blocked_in "$hook" 257
runc=$(proc_field "$hook" PPid)
check "runc create is the daemon's child" [ "$(proc_field "$runc" PPid)" = "$daemon" ]
check "the daemon's child is runc create" grep -qz '^create$' "/proc/$runc/cmdline"
check "runc create is runc" [ "$(readlink "/proc/$runc/exe")" = "$(readlink -f "$(command -v runc)")" ]
init=
for pid in $(children_of "$runc"); do
	[[ $pid == "$hook" ]] || init=$pid
done
check "runc create has started runc init" [ "$(cat "/proc/$init/comm" 2>/dev/null)" = "runc:[2:INIT]" ]
check "the daemon has a session of its own" [ "$(awk '{ print $6 }' "/proc/$daemon/stat")" = "$daemon" ]
wait_for "the manager to wait for the report" blocked_in "$manager" 7
wait_for "the daemon to wait in epoll_wait" blocked_in "$daemon" 232
for fd in 0 1 2; do
	name_pipe "$runc" "$fd" "container $(echo stdin stdout stderr | cut -d' ' -f$((fd + 1)))"
done
log_pipe=$(tr '\0' '\n' <"/proc/$init/environ" | sed -n 's/^_LIBCONTAINER_LOGPIPE=//p')
[[ -n $log_pipe ]] && name_pipe "$init" "$log_pipe" "runc init's log pipe"
name_pipe "$hook" 0 "hook stdin (runc's state)"
name_pipe "$hook" 1 "hook stdout"
name_pipe "$hook" 2 "hook stderr"
: >"$tmp/roles"
role "$manager" manager 1 "shimctl create (the manager)" "waiting for the report on the sync pipe (poll)"
role "$daemon" daemon 3 "shim daemon" "in its epoll loop, waiting for runc"
role "$runc" runc 4 "runc create (the predecessor, exec'd)" "waiting for its createRuntime hook"
role "$init" container 5 "runc init (the container to be)" "waiting for runc, in the container's namespaces"
role "$hook" hook 6 "createRuntime hook (sh)" "blocked opening a FIFO: this picture's pause"
snapshot 3-runc-create "$manager" "$daemon"
render 3-runc-create "Step 3: runc create is running" \
	"The shim parent has exited; the daemon was adopted (by PID 1, or by the nearest subreaper above the manager). It made the container's pipes and forked the predecessor, which put their ends on 0-2 and exec'd runc create. runc has started runc init, its child, in the container's namespaces, and runs the bundle's createRuntime hook, which this picture keeps waiting. The manager still waits for the report."

timeout 10 sh -c 'exec 3>"$1"' sh "$tmp/go.fifo" || die "could not release the hook"

# ---- Moment 4: runc has exited; the container is the shim's child ----------

wait "$manager" || die "shimctl create failed: $(cat "$tmp/create.err")"
read -r created_id container <"$tmp/create.out" || die "shimctl create printed nothing"
check "shimctl create reported our container" [ "$created_id" = "$id" ]
check "runc create is gone" gone "$runc"
check "the container is runc init" [ "$(cat "/proc/$container/comm")" = "runc:[2:INIT]" ]
check "the container is the daemon's child" [ "$(proc_field "$container" PPid)" = "$daemon" ]
wait_for "runc init to wait on its exec fifo" blocked_in "$container" 257
wait_for "the daemon to wait in epoll_wait" blocked_in "$daemon" 232
: >"$tmp/roles"
role "$daemon" daemon 3 "shim daemon" "in its epoll loop; the container is reported"
role "$container" container 5 "the container: runc init" "blocked opening exec.fifo, until runc start"
snapshot 4-created "$daemon"
render 4-created "Step 4: runc has exited; the container is the shim's child" \
	"runc create exited 0 and the daemon reaped it; runc init, orphaned, was reparented to the daemon, its subreaper. The daemon checked the pid, opened the log, began the exit file, listened on the attach socket, sent the report and closed the sync pipe; shimctl create read it and exited. The container waits for runc start."

# ---- Moment 5: the container is running ------------------------------------

"$repo/shimctl" start "$id" </dev/null || die "shimctl start failed"
log=$SHIMCTL_ROOT/$id/container.log
wait_for "the container's two lines in the log" \
	sh -c 'grep -q "stdout F to stdout" "$1" && grep -q "stderr F to stderr" "$1"' sh "$log"
wait_for "the container to wait for its stdin" blocked_in "$container" 7
check "the container runs busybox" [ "$(readlink "/proc/$container/exe")" = /bin/busybox ]
check "the container is still the daemon's child" [ "$(proc_field "$container" PPid)" = "$daemon" ]
wait_for "the daemon to wait in epoll_wait" blocked_in "$daemon" 232
: >"$tmp/roles"
role "$daemon" daemon 3 "shim daemon" "in epoll_wait: pipes, signals and the attach socket"
role "$container" container 5 "the container: /bin/sh" "in poll(): waiting for a line on stdin"
snapshot 5-running "$daemon"
show_file container.log daemon
render 5-running "Step 5: the container is running" \
	"runc start let runc init exec the container's command (busybox sh), which wrote a line to stdout and one to stderr; the shim read them and wrote them to the log. Now it waits for a line on its stdin, whose write end only the shim holds."

# ---- Moment 6: the exit ----------------------------------------------------

strace -I1 -p "$daemon" -o "$tmp/exit.strace" -e trace=exit_group \
	-e inject=exit_group:delay_enter=60000000 2>"$tmp/exit.strace.err" &
exit_tracer=$!
wait_for "strace to attach to the daemon" grep -qs "Process $daemon attached" "$tmp/exit.strace.err"
printf 'bye\n' | "$repo/shimctl" attach "$id" >"$tmp/attach.out" 2>&1 &
client=$!
wait_for "the daemon to be held at exit_group" held_in "$daemon" 231
check "the container is gone" gone "$container"
check "the exit file says exit code 7" grep -q '"exitCode":7' "$SHIMCTL_ROOT/$id/exit.json"
check "the container read the line" grep -q "stdout F read: bye" "$log"
: >"$tmp/roles"
role "$daemon" daemon 3 "shim daemon" "held at the entry of exit_group(0)"
snapshot 6-exit "$daemon"
show_file container.log daemon
show_file exit.json daemon
render 6-exit "Step 5, the end: the container has exited; the exit file is written" \
	"A line sent through the attach socket let the container exit 7. The shim reaped it, drained its pipes into the log, wrote exit.json (the unnamed file linked, then renamed into place), closed the log, the pipes, the pidfd and the attach socket, and is about to exit."
kill -TERM "$exit_tracer"
wait "$exit_tracer" || true
wait "$client" || true
wait_for "the daemon to exit" gone "$daemon"
"$repo/shimctl" delete "$id" >/dev/null || die "shimctl delete failed"

# ---- The timeline ----------------------------------------------------------

syscalls=execve,clone,clone3,setsid,prctl,exit_group,wait4,pipe2,dup2,setpgid,rt_sigprocmask
syscalls+=,signalfd4,epoll_create1,pidfd_open,openat,read,write,writev,linkat,renameat
trace() { # trace FILE COMMAND...: strace -f -tt, the selected syscalls only
	local file=$1
	shift
	strace -f -tt -s 200 --seccomp-bpf -e trace="$syscalls" -e signal=none -o "$file" "$@"
}
started_containers+=("$timeline_id")
# strace follows the daemon too, so it ends when the shim does.
(
	close_inherited_fds
	trace "$tmp/create.strace" "$repo/shimctl" create "$timeline_id" --bundle "$tmp/timeline-bundle"
) </dev/null >"$tmp/timeline-create.out" 2>"$tmp/timeline-create.err" &
create_tracer=$!
wait_for "shimctl create's report" grep -qs "^$timeline_id " "$tmp/timeline-create.out"
(
	close_inherited_fds
	trace "$tmp/start.strace" "$repo/shimctl" start "$timeline_id"
) </dev/null >"$tmp/timeline-start.out" 2>&1 || die "shimctl start failed: $(cat "$tmp/timeline-start.out")"
wait_for "the timeline's shim to exit" gone "$create_tracer"
wait "$create_tracer" || die "strace of shimctl create failed: $(cat "$tmp/timeline-create.err")"
grep -q '"exitCode":7' "$SHIMCTL_ROOT/$timeline_id/exit.json" || die "the timeline's container did not exit 7"
"$repo/shimctl" delete "$timeline_id" >/dev/null || die "shimctl delete failed"

printf '%s\t%s\n' "$SHIMCTL_ROOT/$timeline_id/" "state/" "$SHIMCTL_ROOT/$timeline_id" "state/" \
	"$SHIMCTL_ROOT/s/" "sockets/" "$(attach_name "$timeline_id")" "sha256(ID)" \
	"$SHIMCTL_ROOT" '$SHIMCTL_ROOT' "$tmp/" "tmp/" "$repo/" "./" >"$tmp/subst"
awk -f "$helpers/strace-join.awk" "$tmp/create.strace" "$tmp/start.strace" | sort -s -n -k2,2 >"$tmp/joined"
awk -f "$helpers/timeline-events.awk" "$tmp/subst" "$tmp/joined" "$tmp/joined" >"$tmp/events"
awk -v txt="$out/timeline.txt" -v svg="$out/timeline.svg" -f "$helpers/timeline.awk" "$tmp/events"
echo "pictures: the six moments and the timeline, in $out"
