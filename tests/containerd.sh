#!/usr/bin/env bash
# containerd.sh: containerd 1.6 (Debian's), unchanged, running busybox
# containers through a shim v2: ours (containerd-shim-cshim-v2) or
# containerd's own Go shim (containerd-shim-runc-v2). The same cases pass
# with both, so they test what containerd expects of a shim, not what we
# happen to do. make check runs them both ways.
#
# Usage: tests/containerd.sh [--shim PATH] [TEST...]   (as root)
#   --shim PATH  the shim under test, by absolute path, as `ctr run
#                --runtime PATH` takes it (default: the ASan build of ours)
#
# The suite starts its own containerd (root, state and sockets in its work
# dir, the CRI plugin off), with the sanitizer options in its environment,
# which it hands to every shim. After each case: no container or task
# left, no shim or container process left, no zombie.
set -uo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PTY_DRIVER=$REPO_ROOT/tests/pty-driver
POKE=$REPO_ROOT/tests/ttrpc-poke

c() { ctr --address "$CTD_SOCK" "$@"; }
run_flags() { RUN_FLAGS=(--runtime "$SHIM_UNDER_TEST" --env PATH=/bin --rootfs "$ROOTFS"); }
# task_column ID N: column N of ID's line in ctr task ls (2 the PID, 3 the status).
task_column() { c task ls | awk -v id="$1" -v n="$2" '$1 == id { print $n }'; }
task_status_is() { [[ $(task_column "$1" 3) == "$2" ]]; }
# kill_and_remove ID: SIGKILL the task, wait for it to stop, remove it.
kill_and_remove() {
	c task kill -s KILL "$1"
	wait_for task_status_is "$1" STOPPED
	c task delete "$1" 2>/dev/null
	c containers delete "$1"
}
is_ours() { [[ ${SHIM_UNDER_TEST##*/} == containerd-shim-cshim-v2 ]]; }

# containerd runs apart from whichever shell started it (a case's shell
# ends, and its jobs are killed, when the case does).
containerd_running() { pgrep -f -- "containerd --config $WORK/containerd.toml" >/dev/null; }
containerd_start() {
	# $WORK/bin first in its PATH: where a runtime's name finds its shim.
	(PATH=$WORK/bin:$PATH containerd --config "$WORK/containerd.toml" >>"$WORK/containerd.log" 2>&1 &)
	wait_for -t 20 eval 'c version >/dev/null 2>&1'
}
containerd_stop() {
	pkill -TERM -f -- "containerd --config $WORK/containerd.toml"
	wait_for -t 20 eval '! containerd_running'
}

# After each case, before lib's own cleanup: nothing of containerd's may
# be left of it. A case that passed removed what it made.
containerd_cleanup() {
	local rc=$? bad=0 left id
	set +eE
	trap - ERR
	left=$(c containers ls -q 2>&1)
	if [[ -n $left ]]; then
		((rc == 0)) && echo "FAILED: containers left after the case: $left" >&2 && bad=1
		for id in $left; do
			c task kill -s KILL "$id" >/dev/null 2>&1
			c task delete -f "$id" >/dev/null 2>&1
			c containers delete "$id" >/dev/null 2>&1
		done
	fi
	# Every shim names containerd's socket in its argv, after -address.
	if ! wait_for -t 10 no_process_in "-address $CTD_SOCK"; then
		echo "FAILED: shims left behind:" >&2
		pgrep -a -f -- "-address $CTD_SOCK" >&2
		pkill -KILL -f -- "-address $CTD_SOCK"
		bad=1
	fi
	((rc == 0 && bad)) && rc=1
	(exit "$rc")
	test_cleanup
}
use_containerd() {
	trap containerd_cleanup EXIT
	run_flags
	containerd_running || containerd_start
}

# ---------------------------------------------------------------------------

# ctr run --rm: the output, and the container's exit code as ctr's
run_rm_output_and_exit_code() {
	use_containerd
	local rc=0
	c run --rm "${RUN_FLAGS[@]}" cd-rm$$ /bin/sh -c 'echo out; echo err >&2; exit 3' >"$T/out" 2>"$T/err" || rc=$?
	assert_eq 3 "$rc" "ctr run --rm exit status"
	assert_eq out "$(<"$T/out")" "stdout"
	assert_contains "$(<"$T/err")" err "stderr"
}

# runc create fails (its process is not there to exec): ctr says runc's
# words, and the shim is gone with the task
create_failure_reported() {
	use_containerd
	local rc=0
	c run --rm "${RUN_FLAGS[@]}" cd-f$$ /not/there >"$T/out" 2>"$T/err" || rc=$?
	((rc != 0)) || fail "ctr run of a missing binary succeeded"
	assert_contains "$(<"$T/err")" '/not/there' "ctr's error"
	assert_contains "$(<"$T/err")" 'no such file or directory' "ctr's error"
}

# run -d; task ls RUNNING then STOPPED; task kill (TERM, trapped: 42);
# task delete says the code; container delete
detached_kill_delete() {
	use_containerd
	local id=cd-d$$
	c run -d "${RUN_FLAGS[@]}" "$id" /bin/sh -c 'trap "exit 42" TERM; echo up; while :; do sleep 0.05; done'
	wait_for task_status_is "$id" RUNNING
	if is_ours; then
		# One process for the task: the server hosts the init's core
		# daemon, so it is the container's parent; once idle, it holds
		# no stack below its loop.
		local pids container_ppid
		pids=$(pgrep -f -- "-id $id( |\$)")
		assert_eq 1 "$(wc -w <<<"$pids")" "our shim's processes for the task ($pids)"
		container_ppid=$(awk '{ print $4 }' "/proc/$(task_column "$id" 2)/stat")
		assert_eq "$pids" "$container_ppid" "the container's parent"
		wait_for stack_given_back "$pids" || fail "the idle shim $pids kept stack pages below its loop"
	fi
	c task kill "$id"
	wait_for task_status_is "$id" STOPPED
	c task delete "$id" 2>"$T/err"
	assert_contains "$(<"$T/err")" "exit code 42" "ctr task delete"
	c containers delete "$id"
}

# ctr sends the terminal's first size, and only then starts listening for
# SIGWINCH (HandleConsoleResize in its tasks package): a resize that comes
# in between is lost, ctr's own race, as likely with either shim. So the
# size changes twice, the second time well after the session began; the
# second is the one checked.

# ctr run -t and ctr task exec -t on a real pty: a prompt, stty size after
# a resize, the exit code
terminals() {
	use_containerd
	local id=cd-t$$
	"$PTY_DRIVER" --winsize 24 80 --timeout 20 \
		-s 'expect # ' -s 'send stty size\r' -s 'expect 24 80' \
		-s 'winsize 32 109' -s 'run sleep 0.3' \
		-s 'winsize 33 110' -s "send $(wait_size 33 110)\\r" -s 'expect 33 110' \
		-s 'send exit 5\r' -s 'wait-exit 5' \
		-- ctr --address "$CTD_SOCK" run -t --rm "${RUN_FLAGS[@]}" "$id-run" /bin/sh ||
		fail "ctr run -t session failed"
	c run -d "${RUN_FLAGS[@]}" "$id" /bin/sleep 1000
	"$PTY_DRIVER" --winsize 27 91 --timeout 20 \
		-s 'expect # ' -s 'send stty size\r' -s 'expect 27 91' \
		-s 'winsize 30 100' -s 'run sleep 0.3' \
		-s 'winsize 31 101' -s "send $(wait_size 31 101)\\r" -s 'expect 31 101' \
		-s 'send exit 9\r' -s 'wait-exit 9' \
		-- ctr --address "$CTD_SOCK" task exec -t --exec-id sh1 "$id" /bin/sh ||
		fail "ctr task exec -t session failed"
	kill_and_remove "$id"
}

# task exec without a tty: output and exit code; piped stdin; a missing
# binary reported as an error
execs() {
	use_containerd
	local id=cd-x$$ rc=0
	c run -d "${RUN_FLAGS[@]}" "$id" /bin/sleep 1000
	assert_eq "in exec" "$(c task exec --exec-id e1 "$id" /bin/sh -c "echo in exec")" "exec output"
	c task exec --exec-id e2 "$id" /bin/sh -c 'exit 4' || rc=$?
	assert_eq 4 "$rc" "exec exit code"
	assert_eq "piped in" "$(echo "piped in" | c task exec --exec-id e3 "$id" /bin/cat)" "exec with stdin"
	rc=0
	c task exec --exec-id e4 "$id" /nonexistent 2>"$T/err" || rc=$?
	((rc != 0)) || fail "exec of a missing binary succeeded"
	assert_contains "$(<"$T/err")" "no such file or directory" "ctr's error"
	kill_and_remove "$id"
}

# task pause and resume; task ps lists the container's processes
pause_resume_ps() {
	use_containerd
	local id=cd-p$$ pid
	c run -d "${RUN_FLAGS[@]}" "$id" /bin/sh -c 'sleep 1000 & wait'
	wait_for eval '[[ $(c task ps "$id" | wc -l) -ge 3 ]]'
	pid=$(task_column "$id" 2)
	assert_contains "$(c task ps "$id")" "$pid" "task ps"
	c task pause "$id"
	assert_eq PAUSED "$(task_column "$id" 3)" "after pause"
	c task resume "$id"
	assert_eq RUNNING "$(task_column "$id" 3)" "after resume"
	kill_and_remove "$id"
}

# ctr events shows the exit; a container over its memory limit is
# reported with a TaskOOM event
events_and_oom() {
	use_containerd
	local id=cd-e$$ watcher rc=0
	ctr --address "$CTD_SOCK" events >"$T/events" 2>&1 &
	watcher=$!
	sleep 0.2 # ctr subscribes before the container starts
	c run --rm "${RUN_FLAGS[@]}" "$id" /bin/sh -c 'exit 6' || true
	c run --rm --memory-limit 16777216 "${RUN_FLAGS[@]}" "$id-oom" /bin/sh -c 'x=a; while :; do x=$x$x; done' || rc=$?
	assert_eq 137 "$rc" "OOM-killed container's exit"
	wait_for grep -q "/tasks/delete.*$id-oom" "$T/events"
	kill "$watcher"
	wait "$watcher" 2>/dev/null || true
	grep -q "/tasks/exit {\"container_id\":\"$id\",\"id\":\"$id\",.*\"exit_status\":6" "$T/events" ||
		fail "no exit event with status 6: $(cat "$T/events")"
	grep -q "/tasks/oom {\"container_id\":\"$id-oom\"}" "$T/events" || fail "no OOM event: $(cat "$T/events")"
	for topic in /tasks/create /tasks/start /tasks/exit /tasks/delete; do
		grep -q "$topic {\"container_id\":\"$id\"" "$T/events" || fail "no $topic event"
	done
}

# containerd restarted while the container runs: the container and the
# shim keep running; afterwards task ls shows it, kill and delete work,
# and the exit code is right
containerd_restart() {
	use_containerd
	local id=cd-r$$ pid
	c run -d "${RUN_FLAGS[@]}" "$id" /bin/sh -c 'trap "exit 7" TERM; while :; do sleep 0.05; done'
	pid=$(task_column "$id" 2)
	containerd_stop
	kill -0 "$pid" || fail "the container died with containerd"
	containerd_start
	assert_eq "RUNNING" "$(task_column "$id" 3)" "task ls after the restart"
	c task kill "$id"
	wait_for task_status_is "$id" STOPPED
	c task delete "$id" 2>"$T/err"
	assert_contains "$(<"$T/err")" "exit code 7" "the exit code after the restart"
	c containers delete "$id"
}

# bad input on the shim's own socket: a frame that is not a Request, an
# unknown method, an even stream id, a 4 GiB length, half a header; the
# shim answers or drops that client, and serves the task on
bad_clients() {
	use_containerd
	local id=cd-b$$ address
	c run -d "${RUN_FLAGS[@]}" "$id" /bin/sleep 1000
	address=$(cat "$CTD_STATE/io.containerd.runtime.v2.task/default/$id/address")
	assert_match "$("$POKE" "$address" unknown)" '^code 12$' "an unknown method: Unimplemented"
	"$POKE" "$address" garbage >/dev/null
	"$POKE" "$address" even >/dev/null
	"$POKE" "$address" huge >/dev/null
	"$POKE" "$address" half >/dev/null
	assert_eq RUNNING "$(task_column "$id" 3)" "the task, after the bad clients"
	kill_and_remove "$id"
}

# by name, as containerd finds a shim: io.containerd.NAME.v2 runs
# containerd-shim-NAME-v2 from PATH (make install puts ours there)
by_runtime_name() {
	use_containerd
	local name rc=0
	if is_ours; then name=io.containerd.cshim.v2; else name=io.containerd.runc.v2; fi
	c run --rm --runtime "$name" --env PATH=/bin --rootfs "$ROOTFS" cd-n$$ /bin/sh -c 'echo by name; exit 2' \
		>"$T/out" || rc=$?
	assert_eq 2 "$rc" "exit code"
	assert_eq "by name" "$(<"$T/out")" "output"
}

# An image's root filesystem reaches the shim as a snapshot's mounts (an
# overlay, or a bind with the native snapshotter): mounted on the bundle's
# rootfs while the task is there, and gone with it; also for an image of
# many layers. The images are made here from the busybox rootfs
# (tests/make-image.sh), not pulled.
rootfs_mounted() { grep -q " $CTD_STATE/io.containerd.runtime.v2.task/default/$1/rootfs " /proc/mounts; }
from_an_image() {
	use_containerd
	local image=localhost/shim-test/busybox:latest id=cd-i$$ snapshotter rc
	[[ -e $WORK/image.tar ]] || "$REPO_ROOT/tests/make-image.sh" "$ROOTFS" "$WORK/image.tar" "$image"
	c images import "$WORK/image.tar" >/dev/null
	for snapshotter in overlayfs native; do
		rc=0
		c run --rm --snapshotter "$snapshotter" --runtime "$SHIM_UNDER_TEST" "$image" "$id" \
			/bin/sh -c 'echo from the image; exit 6' >"$T/out" || rc=$?
		assert_eq 6 "$rc" "$snapshotter: ctr run --rm exit status"
		assert_eq "from the image" "$(<"$T/out")" "$snapshotter: output"
		! rootfs_mounted "$id" || fail "$snapshotter: the rootfs is still mounted after the task"
	done
	c run -d --runtime "$SHIM_UNDER_TEST" "$image" "$id" /bin/sleep 1000
	wait_for task_status_is "$id" RUNNING
	rootfs_mounted "$id" || fail "the image's rootfs is not mounted for the running task"
	kill_and_remove "$id"
	! rootfs_mounted "$id" || fail "the rootfs is still mounted after task delete"
	c images rm "$image" >/dev/null
	# 70 layers: the overlay's options pass the page the kernel takes,
	# and the shim names the layers from their parent, as containerd does.
	image=localhost/shim-test/deep:latest
	[[ -e $WORK/deep.tar ]] || "$REPO_ROOT/tests/make-image.sh" "$ROOTFS" "$WORK/deep.tar" "$image" 70
	c images import "$WORK/deep.tar" >/dev/null
	rc=0
	c run --rm --runtime "$SHIM_UNDER_TEST" "$image" "$id" /bin/sh -c 'cat /layers/2 /layers/70; exit 6' \
		>"$T/out" 2>"$T/err" || rc=$?
	assert_eq 6 "$rc" "70 layers: ctr run --rm exit status ($(<"$T/err"))"
	assert_eq "$(printf 'layer 2\nlayer 70')" "$(<"$T/out")" "70 layers: output"
	! rootfs_mounted "$id" || fail "70 layers: the rootfs is still mounted after the task"
	c images rm "$image" >/dev/null
}

# A client that writes to stdin faster than the process reads it (here,
# never): the stdin path backs up to the client, and the task is served
# on. (The server used to wait on the full attach socket, and answered
# containerd no more; with the init's daemon in its process, nothing
# would move at all.)
bytes_written() { awk '/^wchar:/ { print $2 }' "/proc/$1/io" 2>/dev/null; }
writer_stalled() { # PID: its writes went past both FIFOs (ours to ctr, and
	# ctr's to the shim, 64 KiB each) into the shim, then stopped for 0.3 s
	local before after
	before=$(bytes_written "$1") || return 1
	sleep 0.3
	after=$(bytes_written "$1") || return 1
	((before > 160 * 1024 && after == before))
}
stdin_never_read() {
	use_containerd
	local id=cd-s$$ writer ctr_job rc=0
	mkfifo "$T/stdin"
	exec {keep}<>"$T/stdin" # a writer from the start, so ctr can open it now
	c run --rm "${RUN_FLAGS[@]}" "$id" /bin/sh -c \
		'trap "go=1" USR1; until [ -n "$go" ]; do sleep 0.01; done; echo alive; exit 7' \
		<"$T/stdin" >"$T/out" 2>"$T/err" &
	ctr_job=$!
	wait_for task_status_is "$id" RUNNING
	# From here a stuck shim would hang any ctr call: each is bounded.
	head -c 64000000 /dev/zero >"$T/stdin" &
	writer=$!
	wait_for writer_stalled "$writer" || fail "stdin never backed up to the client"
	if ! timeout 10 ctr --address "$CTD_SOCK" task kill -s USR1 "$id"; then
		pkill -KILL -f -- "-id $id( |\$)" # and it would hold up the cleanup too
		fail "the task no longer answers (ctr task kill)"
	fi
	wait "$ctr_job" || rc=$?
	kill "$writer" 2>/dev/null || true
	wait "$writer" 2>/dev/null || true
	exec {keep}>&-
	assert_eq 7 "$rc" "ctr run --rm exit status"
	assert_eq alive "$(<"$T/out")" "output"
}

CONTAINERD_TESTS=(
	run_rm_output_and_exit_code
	create_failure_reported
	detached_kill_delete
	terminals
	execs
	pause_resume_ps
	events_and_oom
	containerd_restart
	bad_clients
	by_runtime_name
	from_an_image
	stdin_never_read
)

main() {
	local name
	SHIM_UNDER_TEST=
	if [[ ${1:-} == --shim ]]; then
		SHIM_UNDER_TEST=$2
		shift 2
	fi
	local -a selected=("$@")
	((${#selected[@]})) || selected=("${CONTAINERD_TESTS[@]}")
	command -v containerd >/dev/null && command -v ctr >/dev/null || {
		echo "containerd.sh: containerd is not installed (make deps installs it)" >&2
		exit 2
	}
	for helper in "$PTY_DRIVER" "$POKE"; do
		[[ -x $helper ]] || { echo "containerd.sh: $helper is not built" >&2; exit 2; }
	done
	SHIM=${SHIM:-$REPO_ROOT/shim}
	suite_init
	SHIM_UNDER_TEST=$(absolute "${SHIM_UNDER_TEST:-$(default_binary containerd-shim-cshim-v2)}")
	[[ -x $SHIM_UNDER_TEST ]] || { echo "containerd.sh: $SHIM_UNDER_TEST is not built" >&2; exit 2; }
	CTD_SOCK=$WORK/containerd.sock
	CTD_STATE=$WORK/ctd-state
	cat >"$WORK/containerd.toml" <<EOF
version = 2
root = "$WORK/ctd-root"
state = "$CTD_STATE"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTD_SOCK"
EOF
	mkdir -p "$WORK/bin"
	ln -s "$SHIM_UNDER_TEST" "$WORK/bin/${SHIM_UNDER_TEST##*/}"
	echo "# shim under test: $SHIM_UNDER_TEST"
	containerd_start
	for name in "${selected[@]}"; do
		run_test "$name"
	done
	containerd_stop
	suite_finish
}

main "$@"
