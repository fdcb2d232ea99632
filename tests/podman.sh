#!/usr/bin/env bash
# podman.sh: real podman 4.3.1, unchanged, running busybox containers with
# runc through a conmon: ours (shim-conmon) or Debian's /usr/bin/conmon.
# The same cases pass with both, so they test what podman expects of a
# conmon, not what we happen to do. make check runs them both ways.
#
# Usage: tests/podman.sh [--conmon PATH] [TEST...]   (as root)
#   --conmon PATH  the conmon under test (default: build/asan/shim-conmon,
#                  run through a wrapper that hands it the sanitizer options
#                  podman's clean environment would drop)
#
# podman is pointed at it by a containers.conf of the suite's own (through
# CONTAINERS_CONF, which podman also passes to the exit command), with its
# storage, run and tmp directories in the work dir: nothing of the
# machine's podman is used or changed. Every podman command gets the flags
# this machine needs (see the README of tests/). After each case: no
# container left (podman ps -a empty), no conmon or shim left running, no
# zombie.
set -uo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

PTY_DRIVER=$REPO_ROOT/tests/pty-driver

# podman with the suite's directories and this machine's flags.
pm() {
	podman --root "$WORK/root" --runroot "$WORK/runroot" --tmpdir "$WORK/tmp" \
		--storage-driver vfs --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}
# The flags every container needs here; the rootfs is busybox.
run_flags() {
	RUN_FLAGS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --rootfs "$ROOTFS")
}

# The shell of each case runs pm and these; podman itself is the client.
is_ours() { [[ $CONMON_NAME == shim-conmon ]]; }

# After each case, before lib's own cleanup: nothing of podman's may be
# left. A case that passed removed what it made; one that failed is swept
# so the next starts clean.
podman_cleanup() {
	local rc=$? bad=0 left
	set +eE
	trap - ERR
	left=$(pm ps -aq 2>&1)
	if [[ -n $left ]]; then
		((rc == 0)) && echo "FAILED: containers left after the case: $left" >&2 && bad=1
		pm rm -a -f -t 0 >/dev/null 2>&1
	fi
	# Every conmon and exit command names the storage root in its argv.
	if ! wait_for -t 10 no_process_in "$WORK/root"; then
		echo "FAILED: processes left behind:" >&2
		pgrep -a -f -- "$WORK/root" >&2
		pkill -KILL -f -- "$WORK/root"
		bad=1
	fi
	if ! wait_for -t 3 no_zombie_named "$CONMON_NAME"; then
		echo "FAILED: a zombie $CONMON_NAME or a zombie child of one" >&2
		bad=1
	fi
	((rc == 0 && bad)) && rc=1
	(exit "$rc")
	test_cleanup
}
no_zombie_named() {
	! ps -eo stat=,comm= | awk -v name="${1:0:15}" '$1 ~ /^Z/ && $2 == name { found = 1 } END { exit !found }'
}
use_podman() {
	trap podman_cleanup EXIT
	run_flags
	# Every container shares the one rootfs (--rootfs has no overlay): a
	# file a case makes to say "go" has a name of its own.
	GO=/tmp/go.${T##*/}
	rm -f -- "$ROOTFS$GO"
}

# ---------------------------------------------------------------------------

# podman info shows the conmon in use, by the version line it probed
info_shows_version() {
	use_podman
	local version
	version=$(pm info --format '{{.Host.Conmon.Version}}')
	assert_match "$version" '^conmon version [0-9]+\.[0-9]+\.[0-9]+, commit: ' "podman info"
	is_ours && assert_contains "$version" "shim-conmon" "podman info"
	assert_eq "$CONMON" "$(pm info --format '{{.Host.Conmon.Path}}')" "conmon path"
}

# podman run --rm prints stdout and stderr and returns the container's exit code: 0 and 3
run_rm_exit_codes() {
	use_podman
	local out
	out=$(pm run --rm "${RUN_FLAGS[@]}" /bin/sh -c 'echo out; echo err >&2; exit 0' 2>&1)
	assert_eq $'out\nerr' "$(sort -r <<<"$out")" "output"
	set +e
	pm run --rm "${RUN_FLAGS[@]}" /bin/sh -c 'exit 3'
	assert_eq 3 "$?" "exit code"
	set -e
}

# a container killed with SIGKILL ends 137 (128 + 9), in wait and in inspect
kill_gives_137() {
	use_podman
	local id name=kill$$ runner rc=0
	id=$(pm run -d "${RUN_FLAGS[@]}" /bin/sleep 1000)
	pm kill -s KILL "$id" >/dev/null
	assert_eq 137 "$(pm wait "$id")" "podman wait"
	assert_eq 137 "$(pm inspect --format '{{.State.ExitCode}}' "$id")" "inspect"
	pm rm "$id" >/dev/null
	# The same in the foreground: podman run --rm returns 137.
	pm run --rm --name "$name" "${RUN_FLAGS[@]}" /bin/sh -c 'echo up; sleep 1000' >"$T/out" 2>&1 &
	runner=$!
	wait_for grep -q up "$T/out"
	pm kill -s KILL "$name" >/dev/null
	wait "$runner" || rc=$?
	assert_eq 137 "$rc" "podman run --rm of a container killed with SIGKILL"
}

# run -d, ps (Up), logs, logs --tail, logs -f ending when the container exits, wait, rm
detached_lifecycle() {
	use_podman
	local id logs started
	id=$(pm run -d "${RUN_FLAGS[@]}" /bin/sh -c \
		"for i in 1 2 3 4 5; do echo line \$i; done; echo err >&2; until [ -e $GO ]; do sleep 0.05; done; exit 5")
	wait_for eval '[[ $(pm ps --format "{{.ID}} {{.Status}}") == "${id:0:12} Up"* ]]'
	wait_for eval '[[ $(pm logs "$id" 2>&1 | wc -l) -eq 6 ]]'
	logs=$(pm logs "$id" 2>/dev/null)
	assert_eq "$(printf 'line %s\n' 1 2 3 4 5)" "$logs" "podman logs (stdout)"
	assert_eq "err" "$(pm logs "$id" 2>&1 >/dev/null)" "podman logs (stderr)"
	assert_eq $'line 4\nline 5' "$(pm logs --tail 3 "$id" 2>/dev/null)" "podman logs --tail 3 (stdout)"
	pm logs -f "$id" >"$T/follow" 2>&1 &
	local follower=$!
	wait_for grep -q err "$T/follow"
	started=$(us_now)
	touch "$ROOTFS$GO"
	assert_eq 5 "$(pm wait "$id")" "podman wait"
	wait "$follower" || fail "podman logs -f failed"
	# The exit command settles the state at once; without it podman
	# falls back to a 20 s poll.
	(($(us_now) - started < 10000000)) || fail "podman wait took 10 s or more: the 20 s fallback"
	pm rm "$id" >/dev/null
}

# --log-opt max-size=1k keeps the log file under 1000 bytes and podman logs shows the latest lines
log_max_size() {
	use_podman
	local id log
	id=$(pm run -d --log-opt max-size=1k "${RUN_FLAGS[@]}" /bin/sh -c \
		'i=0; while [ $i -lt 40 ]; do echo "record $i padded to a length like conmon saw it ....."; i=$((i+1)); done')
	pm wait "$id" >/dev/null
	log=$(pm inspect --format '{{.HostConfig.LogConfig.Path}}' "$id")
	(($(stat -c %s "$log") <= 1000)) || fail "$log is $(stat -c %s "$log") bytes, over max-size 1000"
	assert_contains "$(pm logs "$id")" "record 39 padded" "podman logs"
	pm rm "$id" >/dev/null
}

# stop ends a container that ignores SIGTERM (with SIGKILL after -t), and kill
stop_and_kill() {
	use_podman
	local id
	id=$(pm run -d "${RUN_FLAGS[@]}" /bin/sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done')
	wait_for eval '[[ $(pm logs "$id" 2>&1) == ready ]]'
	pm stop -t 1 "$id" >/dev/null 2>&1
	assert_eq exited "$(pm inspect --format '{{.State.Status}}' "$id")" "state after stop"
	assert_eq 137 "$(pm inspect --format '{{.State.ExitCode}}' "$id")" "exit code after stop"
	pm rm "$id" >/dev/null
	id=$(pm run -d "${RUN_FLAGS[@]}" /bin/sh -c 'trap "exit 42" USR1; echo ready; while :; do sleep 0.1; done')
	wait_for eval '[[ $(pm logs "$id" 2>&1) == ready ]]'
	pm kill -s USR1 "$id" >/dev/null
	assert_eq 42 "$(pm wait "$id")" "exit code after kill -s USR1"
	pm rm "$id" >/dev/null
}

# restart runs the container again under a new conmon, its log holding both runs
restart_container() {
	use_podman
	local id
	id=$(pm run -d "${RUN_FLAGS[@]}" /bin/sh -c 'echo run; sleep 1000')
	wait_for eval '[[ $(pm logs "$id" 2>&1) == run ]]'
	pm restart -t 0 "$id" >/dev/null
	wait_for eval '[[ $(pm logs "$id" 2>&1) == $'"'run\\nrun'"' ]]'
	assert_eq running "$(pm inspect --format '{{.State.Status}}' "$id")" "state after restart"
	pm rm -f -t 0 "$id" >/dev/null
}

# run -i with piped stdin: echo hi | podman run -i ... cat
run_piped_stdin() {
	use_podman
	assert_eq hi "$(echo hi | pm run --rm -i "${RUN_FLAGS[@]}" /bin/cat)" "cat's output"
}

# attach to a running non-tty container sees its output; the container's exit ends the attach
attach_running() {
	use_podman
	local id attacher
	id=$(pm run -d "${RUN_FLAGS[@]}" /bin/sh -c \
		"until [ -e $GO ]; do echo tick; sleep 0.05; done; echo after; echo err >&2; exit 4")
	pm attach --no-stdin "$id" >"$T/out" 2>"$T/err" &
	attacher=$!
	# Output is not replayed: a tick seen is a tick sent since attaching.
	wait_for grep -q tick "$T/out"
	touch "$ROOTFS$GO"
	wait "$attacher" || true
	grep -qx after "$T/out" || fail "attach stdout: no line \"after\" in: $(<"$T/out")"
	assert_contains "$(<"$T/err")" err "attach stderr"
	assert_eq 4 "$(pm wait "$id")" "exit code"
	pm rm "$id" >/dev/null
}

# attach to a running -i container with stdin from a pipe: what we type
# reaches cat; ctrl-p, then ctrl-q in a read of its own, detaches, and the
# container runs on. Detaching shuts the client's input, which closes a
# -i container's stdin (conmon's rule): cat sees its EOF.
attach_detach_keys() {
	use_podman
	local id attacher
	id=$(pm run -d -i "${RUN_FLAGS[@]}" /bin/sh -c 'cat; echo stdin closed; sleep 1000')
	mkfifo "$T/in"
	pm attach "$id" <"$T/in" >"$T/out" 2>"$T/err" &
	attacher=$!
	exec 7>"$T/in"
	# Typed until it comes back: podman may not be connected yet.
	wait_for eval 'echo hello >&7; grep -q hello "$T/out"'
	printf '\x10' >&7
	sleep 0.3 # podman reads each key alone; together they would be data
	printf '\x11' >&7
	wait "$attacher" || fail "podman attach did not end with status 0 on the detach keys: $(<"$T/err")"
	exec 7>&-
	wait_for eval '[[ $(pm logs "$id" 2>&1) == *"stdin closed" ]]'
	assert_eq running "$(pm inspect --format '{{.State.Status}}' "$id")" "state after detach"
	pm rm -f -t 0 "$id" >/dev/null
}

# a log driver the shim does not have: podman shows the shim's words
# (conmon has passthrough, so there it runs)
unsupported_log_driver() {
	use_podman
	local rc=0
	pm run --rm --log-driver passthrough "${RUN_FLAGS[@]}" /bin/true >"$T/out" 2>"$T/err" </dev/null || rc=$?
	if is_ours; then
		((rc != 0)) || fail "podman run with --log-driver passthrough succeeded"
		assert_contains "$(<"$T/err")" "the passthrough log driver is not supported" "podman's error"
	else
		assert_eq 0 "$rc" "conmon runs passthrough: $(<"$T/err")"
	fi
	pm ps -aq | while read -r id; do pm rm -f "$id" >/dev/null; done
}

# exec: its output and exit code, -i with piped stdin, -d, and a missing binary giving 127
exec_cases() {
	use_podman
	local id rc
	id=$(pm run -d "${RUN_FLAGS[@]}" /bin/sleep 1000)
	assert_eq "in exec" "$(pm exec "$id" /bin/sh -c 'echo in exec')" "exec output"
	set +e
	pm exec "$id" /bin/sh -c 'exit 4'
	rc=$?
	set -e
	assert_eq 4 "$rc" "exec exit code"
	assert_eq hi "$(echo hi | pm exec -i "$id" /bin/cat)" "exec -i"
	pm exec -d "$id" /bin/sh -c "echo detached > $GO"
	wait_for test -e "$ROOTFS$GO"
	set +e
	pm exec "$id" /nonexistent 2>"$T/err"
	rc=$?
	set -e
	assert_eq 127 "$rc" "exec of a missing binary"
	assert_contains "$(<"$T/err")" "not found" "podman's error"
	pm rm -f -t 0 "$id" >/dev/null
}

# run -it under a real pty: a prompt, stty size following a resize, detach with ctrl-p ctrl-q, attach again, the exit code
run_tty() {
	use_podman
	local name=tty$$
	"$PTY_DRIVER" --winsize 24 80 --timeout 20 \
		-s 'expect # ' -s 'send stty size\r' -s 'expect 24 80' \
		-s 'winsize 33 110' -s "send $(wait_size 33 110)\\r" -s 'expect 33 110' \
		-s 'send \x10' -s 'run sleep 0.3' -s 'send \x11' -s 'wait-exit 0' \
		-- bash -c "$(declare -f pm); pm run -it --name $name $(printf '%q ' "${RUN_FLAGS[@]}") /bin/sh" ||
		fail "the first session failed"
	assert_eq running "$(pm inspect --format '{{.State.Status}}' "$name")" "state after detach"
	"$PTY_DRIVER" --winsize 30 90 --timeout 20 \
		-s 'send \r' -s 'expect # ' -s 'send stty size\r' -s 'expect 30 90' \
		-s 'send exit 6\r' -s 'wait-exit 0' \
		-- bash -c "$(declare -f pm); pm attach $name" || fail "the attach session failed"
	assert_eq 6 "$(pm wait "$name")" "exit code"
	pm rm "$name" >/dev/null
}

# exec -it under a real pty: a prompt, the size, the exit code
exec_tty() {
	use_podman
	local id
	id=$(pm run -d "${RUN_FLAGS[@]}" /bin/sleep 1000)
	"$PTY_DRIVER" --winsize 27 91 --timeout 20 \
		-s 'expect # ' -s 'send stty size\r' -s 'expect 27 91' \
		-s 'winsize 31 101' -s "send $(wait_size 31 101)\\r" -s 'expect 31 101' \
		-s 'send exit 9\r' -s 'wait-exit 9' \
		-- bash -c "$(declare -f pm); pm exec -it $id /bin/sh" || fail "the exec session failed"
	pm rm -f -t 0 "$id" >/dev/null
}

# a container over its --memory limit ends with OOMKilled true in podman inspect (conmon 2.1.6: false, its known bug)
oom_killed() {
	use_podman
	local id rc oom
	id=$(pm run -d --memory 8m --memory-swap 8m "${RUN_FLAGS[@]}" /bin/sh -c 'x=a; while :; do x=$x$x; done')
	rc=$(pm wait "$id")
	oom=$(pm inspect --format '{{.State.OOMKilled}}' "$id")
	assert_eq 137 "$rc" "exit code"
	if is_ours; then
		assert_eq true "$oom" "OOMKilled"
	else
		# conmon 2.1.6 writes its oom file into its working directory,
		# not the bundle (fixed in 2.1.13): podman never sees it.
		assert_eq false "$oom" "OOMKilled with conmon 2.1.6 (its known bug)"
		echo "conmon 2.1.6: OOMKilled false, as expected of its bug"
	fi
	pm rm "$id" >/dev/null
}

# a create failure (a missing binary) reaches podman's error and exit code 127, without a hang
create_failure_missing_binary() {
	use_podman
	local rc
	set +e
	timeout 60 podman --root "$WORK/root" --runroot "$WORK/runroot" --tmpdir "$WORK/tmp" \
		--storage-driver vfs --runtime runc --cgroup-manager cgroupfs --events-backend file \
		run --rm "${RUN_FLAGS[@]}" /nonexistent 2>"$T/err"
	rc=$?
	set -e
	assert_eq 127 "$rc" "podman run of a missing binary"
	assert_contains "$(<"$T/err")" '/nonexistent' "podman's error"
}

# garbage runtime flags (podman --runtime-flag) reach podman's error message from runc, without a hang
create_failure_runtime_flag() {
	use_podman
	local rc
	set +e
	timeout 60 podman --root "$WORK/root" --runroot "$WORK/runroot" --tmpdir "$WORK/tmp" \
		--storage-driver vfs --runtime runc --cgroup-manager cgroupfs --events-backend file \
		--runtime-flag foobar=123 run --rm "${RUN_FLAGS[@]}" /bin/true 2>"$T/err"
	rc=$?
	set -e
	((rc != 0 && rc != 124)) || fail "podman run exited $rc"
	assert_contains "$(<"$T/err")" "foobar" "podman's error names the flag"
	pm ps -aq | while read -r id; do pm rm -f "$id" >/dev/null; done
}

PODMAN_TESTS=(
	info_shows_version
	run_rm_exit_codes
	kill_gives_137
	detached_lifecycle
	log_max_size
	stop_and_kill
	restart_container
	run_piped_stdin
	attach_running
	attach_detach_keys
	unsupported_log_driver
	exec_cases
	run_tty
	exec_tty
	oom_killed
	create_failure_missing_binary
	create_failure_runtime_flag
)

main() {
	local name
	CONMON=
	if [[ ${1:-} == --conmon ]]; then
		CONMON=$2
		shift 2
	fi
	local -a selected=("$@")
	((${#selected[@]})) || selected=("${PODMAN_TESTS[@]}")
	command -v podman >/dev/null || {
		echo "podman.sh: podman is not installed (make deps installs it)" >&2
		exit 2
	}
	[[ -x $PTY_DRIVER ]] || {
		echo "podman.sh: $PTY_DRIVER is not built (make tests/pty-driver)" >&2
		exit 2
	}
	SHIM=${SHIM:-$REPO_ROOT/shim} # suite_init checks it; the cases use $CONMON
	suite_init
	if [[ -z $CONMON ]]; then
		# podman hands conmon a clean environment: the sanitizer options
		# come through this wrapper (exec: the pid podman knows is the
		# shim's).
		CONMON=$WORK/shim-conmon
		printf '#!/bin/sh\nASAN_OPTIONS=%q UBSAN_OPTIONS=%q exec %q "$@"\n' \
			"$ASAN_OPTIONS" "$UBSAN_OPTIONS" "$(default_binary shim-conmon)" >"$CONMON"
		chmod +x "$CONMON"
		CONMON_NAME=shim-conmon
	else
		CONMON=$(absolute "$CONMON")
		CONMON_NAME=${CONMON##*/}
	fi
	export WORK # for pm in the pty sessions
	printf '[engine]\nconmon_path = ["%s"]\n' "$CONMON" >"$WORK/containers.conf"
	export CONTAINERS_CONF=$WORK/containers.conf
	echo "# conmon: $CONMON"
	for name in "${selected[@]}"; do
		run_test "$name"
	done
	pm system reset --force >/dev/null 2>&1 || true
	suite_finish
}

main "$@"
