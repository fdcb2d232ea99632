#!/usr/bin/env bash
# integration.sh: the shim's behaviour, tested on the built binary with real
# runc and real busybox containers.
#
# Usage: tests/integration.sh [TEST...]     (as root; default: every test)
#
# Environment:
#   SHIM      the shim under test (default: build/asan/shim if built, else ./shim)
#   SHIMCTL   shimctl, for the shimctl section (same default scheme); that
#             section is skipped while shimctl is a stub
#   ROOTFS    a busybox rootfs (default: one made by bundle-example/prepare.sh
#             in the work dir)
#   RUNC      the runtime (default: runc)
#   WAIT_TIMEOUT  default deadline of every wait, in seconds (default: 10)
#
# Every test runs in its own subshell and directory (see tests/lib.sh for the
# framework and for what is checked after each test: no stray shim daemon,
# no zombies, no ASan/UBSan report). The last line is "N passed, N failed".
set -uo pipefail

# shellcheck source=tests/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------
# Steps 1-4: the launch and the report

# The report is the container's PID, the same one runc knows, and the
# parent has exited 0 while the daemon lives on.
report_matches_runc_state() {
	local id pidfile state parent_exit report_eof
	id=$(cid report)
	make_bundle "$T/bundle" -- /bin/sleep 1000
	launch_shim "$id" "$T/bundle"
	expect_created

	slurp pidfile "$T/container.pid"
	assert_eq "$CONTAINER_PID" "$pidfile" "container pid file"
	state=$("$RUNC" state "$id")
	assert_match "$state" '"pid": ([0-9]+),' "runc state"
	assert_eq "$CONTAINER_PID" "${BASH_REMATCH[1]}" "runc state pid"
	assert_contains "$state" '"status": "created"' "runc state"

	assert_eq "" "$(<"$T/shim.stderr")" "shim parent stderr"
	assert_match "$SHIM_PID" '^[0-9]+$' "shim pid file"
	shim_alive "$SHIM_PID" || fail "shim daemon $SHIM_PID (from the pid file) is not alive"
	# The parent did not wait for the report: it was gone before the
	# daemon closed the sync pipe.
	parent_exit=$(us_from "$(<"$T/shim.exited_at")")
	report_eof=$(us_from "$(<"$T/sync.done")")
	((parent_exit <= report_eof)) ||
		fail "shim parent exited $((parent_exit - report_eof)) us after the report was complete"
}

# After runc start, the container is the daemon's child; the daemon is a
# session leader that was reparented away from whoever launched it.
container_parent_is_shim() {
	local id ppid daemon_ppid sid pgid
	id=$(cid parent)
	make_bundle "$T/bundle" -- /bin/sleep 1000
	launch_shim "$id" "$T/bundle"
	expect_created
	"$RUNC" start "$id"
	wait_for grep -qx sleep "/proc/$CONTAINER_PID/comm"

	ppid=$(awk '$1 == "PPid:" { print $2 }' "/proc/$CONTAINER_PID/status")
	assert_eq "$SHIM_PID" "$ppid" "container's parent"
	daemon_ppid=$(awk '$1 == "PPid:" { print $2 }' "/proc/$SHIM_PID/status")
	assert_ne "$BASHPID" "$daemon_ppid" "daemon's parent (the test shell)"
	assert_ne "$$" "$daemon_ppid" "daemon's parent (the suite shell)"
	read -r sid pgid < <(ps -o sid=,pgid= -p "$SHIM_PID")
	assert_eq "$SHIM_PID" "$sid" "daemon's session id"
	assert_eq "$SHIM_PID" "$pgid" "daemon's process group"
}

# ---------------------------------------------------------------------------
# Step 5: the log

# A container writing awkward lines; the records, decoded, are the lines.
logs_byte_for_byte() {
	local script bundle id_shimmy id_k8s x16k x7232 dir
	script=$(
		cat <<'EOF'
echo 'plain line'
printf 'trailing spaces   \n'
echo
printf 'tab\there\t\tand at the end\t\n'
printf 'quotes " \\ backslash, UTF-8 \303\251\n'
echo 'to stderr' >&2
printf 'stderr trailing  \n' >&2
echo >&2
printf '\tstderr starts with a tab\n' >&2
head -c 40000 /dev/zero | tr '\0' x
echo
printf 'no newline at end'
EOF
	)
	bundle=$T/bundle
	make_bundle "$bundle" -- /bin/sh -c "$script"
	x16k=$(head -c 16384 /dev/zero | tr '\0' x)
	x7232=$(head -c 7232 /dev/zero | tr '\0' x)

	# Two shims at once, each with its files in its own directory.
	id_shimmy=$(cid logs)
	id_k8s=$(cid logs-k8s)
	use_dir "$TEST_DIR/shimmy"
	launch_shim "$id_shimmy" "$bundle"
	expect_created
	use_dir "$TEST_DIR/k8s"
	launch_shim "$id_k8s" "$bundle" --container-log-format k8s-file
	expect_created
	"$RUNC" start "$id_shimmy"
	"$RUNC" start "$id_k8s"
	for dir in shimmy k8s; do
		use_dir "$TEST_DIR/$dir"
		SHIM_PID=$(<"$T/shim.pid")
		wait_exit
		assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file ($dir)"
	done
	use_dir "$TEST_DIR"

	# shimmy: no tags; the long line is three records, the last line one.
	printf '%s\n' 'plain line' 'trailing spaces   ' '' $'tab\there\t\tand at the end\t' \
		$'quotes " \\ backslash, UTF-8 \303\251' "$x16k" "$x16k" "$x7232" \
		'no newline at end' >"$T/expected.stdout"
	printf '%s\n' 'to stderr' 'stderr trailing  ' '' $'\tstderr starts with a tab' \
		>"$T/expected.stderr"
	assert_log_well_formed "$T/shimmy/container.log"
	log_records "$T/shimmy/container.log" stdout >"$T/shimmy/stdout"
	log_records "$T/shimmy/container.log" stderr >"$T/shimmy/stderr"
	assert_file_eq "$T/expected.stdout" "$T/shimmy/stdout" "shimmy stdout records"
	assert_file_eq "$T/expected.stderr" "$T/shimmy/stderr" "shimmy stderr records"
	assert_eq 13 "$(wc -l <"$T/shimmy/container.log")" "shimmy record count"

	# k8s-file: F ends a line, P is a piece of one.
	printf '%s\n' 'F plain line' 'F trailing spaces   ' 'F ' $'F tab\there\t\tand at the end\t' \
		$'F quotes " \\ backslash, UTF-8 \303\251' "P $x16k" "P $x16k" "F $x7232" \
		'P no newline at end' >"$T/expected.k8s.stdout"
	printf '%s\n' 'F to stderr' 'F stderr trailing  ' 'F ' $'F \tstderr starts with a tab' \
		>"$T/expected.k8s.stderr"
	assert_log_well_formed "$T/k8s/container.log" k8s-file
	log_records "$T/k8s/container.log" stdout >"$T/k8s/stdout"
	log_records "$T/k8s/container.log" stderr >"$T/k8s/stderr"
	assert_file_eq "$T/expected.k8s.stdout" "$T/k8s/stdout" "k8s-file stdout records"
	assert_file_eq "$T/expected.k8s.stderr" "$T/k8s/stderr" "k8s-file stderr records"
	assert_eq 13 "$(wc -l <"$T/k8s/container.log")" "k8s-file record count"
}

# ---------------------------------------------------------------------------
# Step 5: the exit file

exit_code_7() {
	local id before after at at_s
	id=$(cid exit7)
	make_bundle "$T/bundle" -- /bin/sh -c 'exit 7'
	launch_shim "$id" "$T/bundle"
	expect_created
	before=${EPOCHREALTIME%.*}
	"$RUNC" start "$id"
	wait_exit
	after=${EPOCHREALTIME%.*}
	assert_match "$EXIT_JSON" '^\{"at":"('"$TS_RE"')","reason":"exited","exitCode":7\}$' "exit file"
	at=${BASH_REMATCH[1]}
	at_s=$(date -u -d "${at%%.*}" +%s)
	((before <= at_s && at_s <= after)) || fail "exit time $at is not between $before and $after (epoch seconds)"
	# Written atomically: the temporary was renamed into place.
	assert_no_file "$T/exit.json.tmp" "temporary exit file"
	assert_eq "$T/exit.json" "$(echo "$T"/exit.json*)" "exit files"
}

#: done: the container is killed with SIGKILL
#: checked: the exit file records "reason":"signaled", "signal":9
sigkill_recorded() {
	local id
	id=$(cid sigkill)
	make_bundle "$T/bundle" -- /bin/sleep 1000
	launch_shim "$id" "$T/bundle"
	expect_created
	"$RUNC" start "$id"
	"$RUNC" kill "$id" KILL
	wait_exit
	assert_match "$EXIT_JSON" '^\{"at":"'"$TS_RE"'","reason":"signaled","signal":9\}$' "exit file"
}

# ---------------------------------------------------------------------------
# Step 4: reports of a failed create

# runc fails: its exit code and its words reach the manager; the daemon
# exits and writes no exit file. Then conman's quoted --runtime-arg.
#: done: the container goes over its memory limit (16 MiB, in its bundle) and the kernel's OOM killer kills it
#: checked: the exit file says "oomKilled":true beside the SIGKILL (a plain SIGKILL, in sigkill_recorded, does not)
oom_killed_recorded() {
	local id
	id=$(cid oom)
	make_bundle "$T/bundle" -- /bin/sh -c 'echo start; x=$(head -c 200000000 /dev/zero | tr "\0" x); echo survived'
	# A memory limit in the bundle's resources (the template has none).
	sed -i 's/^    "resources": {$/    "resources": {\n      "memory": { "limit": 16777216, "swap": 16777216 },/' \
		"$T/bundle/config.json"
	grep -q '"limit": 16777216' "$T/bundle/config.json" || fail "no memory limit put in the bundle"
	launch_shim "$id" "$T/bundle"
	expect_created
	"$RUNC" start "$id"
	wait_exit
	assert_match "$EXIT_JSON" '^\{"at":"[^"]+","reason":"signaled","signal":9,"oomKilled":true\}$' "exit file"
	assert_match "$(<"$T/container.log")" "stdout start" "the log"
	assert_contains "$(<"$T/shim.log")" "the OOM killer struck" "shim diagnostics"
}

#: done: runc create fails (an unknown runtime flag: --runtime-arg foobar=123)
#: checked: runc's exit code and its own words reach the manager; no exit file; the daemon exits
runtime_failure_reported() {
	local id id2 root state
	id=$(cid runtime-fails)
	make_bundle "$T/bundle" -- /bin/sleep 1000
	launch_shim "$id" "$T/bundle" --runtime-arg foobar=123
	assert_eq 0 "$SHIM_RC" "shim parent exit status"
	assert_match "$SYNC" '^\{"kind":"runtime_abnormal_termination","status":"([^"]*)","stderr":"(.*)"\}$' "sync pipe report"
	assert_eq 'Runtime Exited with code 3.' "${BASH_REMATCH[1]}" "status"
	assert_contains "${BASH_REMATCH[2]}" "No help topic for 'foobar=123'" "runc's stderr"
	wait_for shim_gone "$SHIM_PID"
	assert_no_file "$T/exit.json" "exit file"
	if "$RUNC" state "$id" >/dev/null 2>&1; then
		fail "runc knows container $id"
	fi

	# One pair of single quotes around a --runtime-arg is stripped.
	id2=$(cid runtime-root)
	root=$TEST_DIR/runc-root
	register_container "$id2" "$root"
	use_dir "$TEST_DIR/quoted"
	launch_shim "$id2" "$TEST_DIR/bundle" --runtime-arg "'--root=$root'"
	expect_created
	state=$("$RUNC" --root "$root" state "$id2")
	assert_contains "$state" '"status": "created"' "runc --root $root state"
	assert_contains "$state" "\"pid\": $CONTAINER_PID," "runc --root $root state"
	if "$RUNC" state "$id2" >/dev/null 2>&1; then
		fail "container $id2 is under runc's default root, not $root"
	fi
}

#: done: --runtime names a binary that does not exist
#: checked: the manager is told promptly: exit code 127 and the reason
missing_runtime_reported() {
	local id start elapsed
	id=$(cid no-runtime)
	make_bundle "$T/bundle" -- /bin/sleep 1000
	start=$(us_now)
	WAIT_TIMEOUT=5 launch_shim "$id" "$T/bundle" --runtime /nonexistent/runc
	assert_eq 0 "$SHIM_RC" "shim parent exit status"
	assert_match "$SYNC" '^\{"kind":"runtime_abnormal_termination","status":"([^"]*)","stderr":"(.*)"\}$' "sync pipe report"
	assert_eq 'Runtime Exited with code 127.' "${BASH_REMATCH[1]}" "status"
	assert_contains "${BASH_REMATCH[2]}" /nonexistent/runc "stderr"
	wait_for -t 5 shim_gone "$SHIM_PID"
	elapsed=$(($(us_now) - start))
	((elapsed < 5000000)) || fail "took $((elapsed / 1000)) ms"
	assert_no_file "$T/exit.json" "exit file"
	assert_no_file "$T/container.pid" "container pid file"
}

# ---------------------------------------------------------------------------
# The daemon's independence

# The blog's SIGPIPE experiment: the manager that launched the shim exits,
# and every pipe it gave the shim (stdout, stderr, the sync pipe) has lost
# its reader. The container runs to the end regardless.
#: done: the manager exits while the container runs, closing every pipe it gave the shim (the blog's SIGPIPE experiment)
#: checked: the container runs to its end, its log is complete, the exit file is written
survives_manager_exit() {
	local id manager_pid
	id=$(cid manager-exits)
	make_bundle "$T/bundle" -- /bin/sh -c \
		'i=1; while [ $i -le 60 ]; do echo "line $i"; i=$((i + 1)); sleep 0.05; done'
	register_container "$id"
	echo "$T/shim.pid" >>"$TEST_DIR/shims"
	shim_flags "$id" "$T/bundle"
	mkfifo "$T/dead.fifo"
	(
		# fd 5: the write end of a pipe nobody reads any more (the
		# read-write open only lets the write-only one succeed).
		exec 4<>"$T/dead.fifo" 5>"$T/dead.fifo" 4<&-
		echo "$BASHPID" >"$T/manager.pid"
		rc=0
		"$SHIM" "${SHIM_FLAGS[@]}" --syncpipe-fd 5 </dev/null >&5 2>&5 || rc=$?
		echo "$rc" >"$T/shim.rc"
	)
	manager_pid=$(<"$T/manager.pid")
	[[ ! -e /proc/$manager_pid ]] || fail "the manager subshell $manager_pid is still there"
	assert_eq 0 "$(<"$T/shim.rc")" "shim parent exit status"
	SHIM_PID=$(<"$T/shim.pid")

	# No report reached anyone: wait for the container as runc sees it.
	wait_for runc_status_is "$id" created
	"$RUNC" start "$id"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	seq -f 'line %g' 1 60 >"$T/expected"
	assert_log_well_formed "$T/container.log"
	log_records "$T/container.log" stdout >"$T/stdout"
	assert_file_eq "$T/expected" "$T/stdout" "log records"
	# The shim noticed that nobody read its report, and carried on.
	assert_contains "$(<"$T/shim.log")" "Broken pipe" "shim diagnostics"
}

runc_status_is() { # ID STATUS
	local state
	state=$("$RUNC" state "$1" 2>/dev/null) || return 1
	[[ $state == *"\"status\": \"$2\""* ]]
}

sigterm_forwarded() {
	local id
	id=$(cid sigterm)
	make_bundle "$T/bundle" -- /bin/sh -c \
		"trap 'echo got TERM; exit 42' TERM; echo ready; while true; do sleep 0.1; done"
	launch_shim "$id" "$T/bundle"
	expect_created
	"$RUNC" start "$id"
	# The trap is set once "ready" is in the log.
	wait_for grep -qE "^$TS_RE stdout ready$" "$T/container.log"
	kill -TERM "$SHIM_PID"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":42\}$' "exit file"
	grep -qE "^$TS_RE stdout got TERM$" "$T/container.log" || fail "no 'got TERM' in the log"
}

# The container gets 0, 1 and 2 and nothing else. The sync pipe reaches
# neither runc nor the container: that the report's EOF came while the
# container (runc init, waiting to be started) existed already shows that
# nothing there holds a write end; the inodes are checked too. runc itself
# passes on only 0-2, so whether `runc create` got the sync pipe is seen
# through a wrapper (written to $T) that records its fds and execs runc.
#: done: the manager leaks extra fds to the shim
#: checked: runc and the container get fds 0, 1 and 2 only; the sync pipe reaches neither
only_stdio_fds() {
	local id fds sync fd0 fd1 fd2 fd link id2 runc_path
	id=$(cid fds)
	make_bundle "$T/bundle" -- /bin/sleep 1000
	launch_shim "$id" "$T/bundle"
	expect_created
	"$RUNC" start "$id"
	wait_for grep -qx sleep "/proc/$CONTAINER_PID/comm"

	fds=$(ls "/proc/$CONTAINER_PID/fd" | sort -n | tr '\n' ' ')
	assert_eq "0 1 2 " "$fds" "container's fds"
	sync=$(<"$T/sync.pipe")
	assert_match "$sync" '^pipe:\[[0-9]+\]$' "sync pipe"
	fd0=$(readlink "/proc/$CONTAINER_PID/fd/0")
	fd1=$(readlink "/proc/$CONTAINER_PID/fd/1")
	fd2=$(readlink "/proc/$CONTAINER_PID/fd/2")
	assert_eq /dev/null "$fd0" "container's stdin"
	assert_match "$fd1" '^pipe:\[[0-9]+\]$' "container's stdout"
	assert_match "$fd2" '^pipe:\[[0-9]+\]$' "container's stderr"
	assert_ne "$fd1" "$fd2" "container's stdout and stderr"
	assert_ne "$sync" "$fd1" "container's stdout"
	assert_ne "$sync" "$fd2" "container's stderr"
	# Nor does the daemon keep it once it has reported.
	for fd in "/proc/$SHIM_PID/fd"/*; do
		link=$(readlink "$fd") || continue
		assert_ne "$sync" "$link" "daemon's $fd"
	done

	id2=$(cid fds-runtime)
	runc_path=$(command -v "$RUNC")
	cat >"$T/fds-runc" <<EOF
#!/bin/sh
# find runs as a child: this shell's own fds are as the shim left them.
find /proc/\$\$/fd -mindepth 1 -printf '%f %l\\n' | sort -n >"$TEST_DIR/runtime/fds"
exec "$runc_path" "\$@"
EOF
	chmod +x "$T/fds-runc"
	use_dir "$TEST_DIR/runtime"
	launch_shim "$id2" "$TEST_DIR/bundle" --runtime "$TEST_DIR/fds-runc"
	expect_created
	sync=$(<"$T/sync.pipe")
	assert_match "$(<"$T/fds")" $'^0 /dev/null\n1 pipe:\\[[0-9]+\\]\n2 pipe:\\[[0-9]+\\]' \
		"runc create's fds 0-2"
	while read -r fd link; do
		assert_ne "$sync" "$link" "runc create's fd $fd"
	done <"$T/fds"
}

# ---------------------------------------------------------------------------
# Step 1: usage errors

# run_usage ARG...: run the shim in the foreground; RC, OUT, ERR. With
# leak detection on, a leak on these early exits would show as exit 1.
run_usage() {
	RC=0
	"$SHIM" "$@" >"$T/out" 2>"$T/err" || RC=$?
	slurp OUT "$T/out"
	slurp ERR "$T/err"
}

assert_usage_error() { # NEEDLE WHAT
	assert_eq 2 "$RC" "$2: exit status"
	assert_eq "" "$OUT" "$2: stdout"
	assert_match "$ERR" $'^[^\n]+\n$' "$2: stderr (one line)"
	assert_contains "$ERR" "$1" "$2: stderr"
	# Nothing was forked: the parent writes the pid file, and the
	# daemon opens the diagnostics file first thing.
	assert_no_file "$T/shim.pid" "$2: shim pid file"
	assert_no_file "$T/shim.log" "$2: shim log"
}

usage_errors() {
	local flag rc=0 flags id
	make_bundle "$T/bundle" -- /bin/true

	run_usage
	assert_usage_error --bundle "no arguments"
	shim_flags "$(cid usage)" "$T/bundle"
	run_usage "${SHIM_FLAGS[@]}" --frobnicate
	assert_usage_error --frobnicate "unknown flag"
	run_usage "${SHIM_FLAGS[@]}" --container-log-format xml
	assert_usage_error --container-log-format "unknown log format"
	run_usage "${SHIM_FLAGS[@]}" --syncpipe-fd 57
	assert_usage_error --syncpipe-fd "closed sync pipe fd"
	run_usage "${SHIM_FLAGS[@]}" --runtime
	assert_usage_error --runtime "flag without its value"
	for flag in 0 -1 " 5" 5s 86401; do
		run_usage "${SHIM_FLAGS[@]}" --runtime-timeout "$flag"
		assert_usage_error "--runtime-timeout $flag" "--runtime-timeout '$flag'"
	done
	# An ID that runc would take for a flag ("runc create ... -h" prints
	# runc's help and exits 0, creating nothing): only we can see it.
	for id in -h --help -x; do
		shim_flags "$id" "$T/bundle"
		run_usage "${SHIM_FLAGS[@]}"
		assert_usage_error "--container-id $id" "container ID $id"
	done
	shim_flags "$(cid usage)" "$T/bundle"

	run_usage --help
	assert_eq 0 "$RC" "--help: exit status"
	assert_eq "" "$ERR" "--help: stderr"
	# Every flag: these, and whatever else args.c's option table holds.
	flags=(--bundle --container-id --container-pidfile --container-logfile
		--container-log-format --container-exitfile --container-attachfile --runtime
		--runtime-arg --stdin --stdin-once --syncpipe-fd --shimmy-pidfile
		--shimmy-log-level --shim-logfile --help --version)
	if [[ -r $REPO_ROOT/args.c ]]; then
		mapfile -t -O "${#flags[@]}" flags < <(sed -nE \
			's/^[[:space:]]*\{ "([a-z0-9-]+)", (no|required|optional)_argument,.*/--\1/p' \
			"$REPO_ROOT/args.c")
	fi
	for flag in "${flags[@]}"; do
		assert_match "$OUT" "(^|[[:space:]])$flag([[:space:]]|$)" "--help lists $flag"
	done

	run_usage --version
	assert_eq 0 "$RC" "--version: exit status"
	assert_match "$OUT" $'^shim [0-9]+\\.[0-9]+[^\n]*\n$' "--version: stdout"
	assert_no_file "$T/shim.pid" "shim pid file"
}

# --no-subreaper (for the workshop's lab 5): once runc exits, the container
# is reparented to PID 1, not to the shim; the shim still logs its output,
# sees it go through its pidfd, and says that its exit status was lost.
no_subreaper_loses_the_status() {
	local id ppid
	id=$(cid no-subreaper)
	make_bundle "$T/bundle" -- /bin/sh -c 'trap "echo bye; exit 3" USR1; echo hi; while :; do sleep 0.02; done'
	launch_shim "$id" "$T/bundle" --no-subreaper
	expect_created
	"$RUNC" start "$id"
	wait_for grep -q "stdout hi" "$T/container.log"
	ppid=$(awk '$1 == "PPid:" { print $2 }' "/proc/$CONTAINER_PID/status")
	assert_ne "$SHIM_PID" "$ppid" "the container's parent"
	"$RUNC" kill "$id" USR1
	wait_exit
	assert_match "$EXIT_JSON" '^\{"at":"[^"]+","reason":"lost"\}$' "exit file"
	assert_match "$(<"$T/container.log")" "stdout bye" "the log"
	assert_contains "$(<"$T/shim.log")" "its exit status will be lost" "shim diagnostics"
}

# ---------------------------------------------------------------------------
# Children: reaping

# A container's children and orphans are reaped. Twice: with the usual PID
# namespace (the container's init, busybox sh, reaps its orphans) and
# without one, where the orphans are reparented to the shim, the child
# subreaper: then it alone can reap them.
#
# The script makes 5 orphans and waits until they are reaped (by whoever
# their parent now is). Then it makes 20 children and execs awk, which
# never reaps: the children exit once they see their parent is awk, and
# awk waits (reading /proc, forking nothing) until all 20 are zombies, then
# exits. (Busybox sh would reap them itself, early.) Without a PID
# namespace the 20 zombies pass to the container's parent, the shim, which
# must reap them; in one, the kernel reaps them as the namespace's init
# exits.
#: done: the container leaves orphans and 20 children it never reaps, with and without a PID namespace
#: checked: no zombie is left; the shim reaps what is reparented to it
no_zombies() {
	local script variant id kids orphans p st bundle
	script=$(
		cat <<'EOF'
orphans=
for i in 1 2 3 4 5; do
	orphans="$orphans $(sleep 0.2 </dev/null >/dev/null 2>&1 & echo $!)"
done
echo "orphans:$orphans"
for p in $orphans; do
	while [ -e /proc/$p ]; do sleep 0.02; done
done
echo "orphans reaped"
kids=
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	/bin/sh -c 'until read -r c </proc/$PPID/comm && [ "$c" = awk ]; do sleep 0.01; done' &
	kids="$kids $!"
done
echo "kids:$kids"
exec awk -v kids="$kids" 'BEGIN {
	n = split(kids, pid, " ")
	for (i = 1; i <= n; i++) {
		file = "/proc/" pid[i] "/status"
		do {
			state = "gone"
			while ((getline line < file) > 0)
				if (line ~ /^State:/)
					state = line
			close(file)
		} while (state != "gone" && state !~ /^State:[ \t]*Z/)
		if (state != "gone")
			zombies++
	}
	print "zombie kids at exit: " zombies + 0
}'
EOF
	)
	make_bundle "$T/bundle" -- /bin/sh -c "$script"
	mkdir -p "$T/bundle-hostpid"
	drop_pid_namespace "$T/bundle/config.json" >"$T/bundle-hostpid/config.json"

	for variant in pidns hostpid; do
		id=$(cid "zombies-$variant")
		bundle=$TEST_DIR/bundle
		[[ $variant == hostpid ]] && bundle=$TEST_DIR/bundle-hostpid
		use_dir "$TEST_DIR/$variant"
		launch_shim "$id" "$bundle"
		expect_created
		"$RUNC" start "$id"
		wait_exit
		assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "$variant: exit file"
		log_records "$T/container.log" stdout >"$T/stdout"
		grep -qx "orphans reaped" "$T/stdout" || fail "$variant: orphans not reaped"
		grep -qx "zombie kids at exit: 20" "$T/stdout" ||
			fail "$variant: the 20 children were not all zombies when the container exited (the test did not test)"
		[[ $variant == hostpid ]] || continue
		# Host PIDs: none of them may be left, as a zombie or otherwise
		# (PID 1 here may never reap what the shim left behind).
		orphans=$(sed -n 's/^orphans: //p' "$T/stdout")
		kids=$(sed -n 's/^kids: //p' "$T/stdout")
		for p in $orphans $kids; do
			st=$(awk '$1 == "State:" { print $2 }' "/proc/$p/status" 2>/dev/null) || true
			[[ -z $st ]] || fail "$variant: container child $p still exists (state $st)"
		done
	done
}

# drop_pid_namespace CONFIG: CONFIG without its pid namespace, on stdout.
# The template is pretty-printed with the pid entry first:
#   {
#     "type": "pid"
#   },
drop_pid_namespace() {
	local -a lines
	local i dropped=0
	mapfile -t lines <"$1"
	for ((i = 0; i < ${#lines[@]}; i++)); do
		if [[ ${lines[i + 1]:-} =~ ^[[:space:]]*\"type\":\ \"pid\"$ ]]; then
			i=$((i + 2))
			dropped=1
			continue
		fi
		printf '%s\n' "${lines[i]}"
	done
	((dropped)) || fail "no pid namespace in $1"
}

# ---------------------------------------------------------------------------
# Step 5: the log under load

# Two writers at once, each line in pieces: dd bs=7 passes the output on
# in writes of at most 7 bytes, so the shim often reads part of a line and
# must keep it until the rest comes.
stdout_stderr_interleaved() {
	local id
	id=$(cid interleaved)
	make_bundle "$T/bundle" -- /bin/sh -c '
		yes aaaa | head -n 20000 | dd bs=7 status=none &
		yes bbbb | head -n 20000 | dd bs=7 status=none >&2 &
		wait'
	launch_shim "$id" "$T/bundle"
	expect_created
	"$RUNC" start "$id"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_eq 20000 "$(grep -caxE "$TS_RE stdout aaaa" "$T/container.log")" "stdout aaaa records"
	assert_eq 20000 "$(grep -caxE "$TS_RE stderr bbbb" "$T/container.log")" "stderr bbbb records"
	assert_eq 40000 "$(wc -l <"$T/container.log")" "records"
}

# 20 MiB in 100-byte lines (the last one 20 bytes, unterminated), and the
# container exits at once: all of it is logged, exactly.
#
# The last 60020 bytes test the drain at exit: they are written, and the
# container exits, while the shim is stopped (SIGSTOP); a SIGWINCH sent
# before them puts the signalfd ahead of the pipe in epoll's ready list, so
# the shim sees the exit before the data, and only its final drain can log
# them. (60020 bytes fit in even a default 64 KiB pipe.)
#: done: the container writes its last 60 KB and exits while the shim is stopped (SIGSTOP)
#: checked: the final drain logs every byte before the exit file
big_output_complete() {
	local id line counts
	id=$(cid big)
	line=$(head -c 99 /dev/zero | tr '\0' y)
	make_bundle "$T/bundle" -- /bin/sh -c "
		trap 'go=1' USR1
		yes $line | head -c 20911500
		until [ -n \"\$go\" ]; do sleep 0.01; done
		yes $line | head -c 60020"
	launch_shim "$id" "$T/bundle"
	expect_created
	"$RUNC" start "$id"
	WAIT_TIMEOUT=60 wait_for log_has_lines "$T/container.log" 209115
	kill -STOP "$SHIM_PID"
	kill -WINCH "$SHIM_PID"
	kill -USR1 "$CONTAINER_PID"
	wait_for process_state_is "$CONTAINER_PID" Z || { kill -CONT "$SHIM_PID"; fail "the container did not exit"; }
	kill -CONT "$SHIM_PID"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_log_well_formed "$T/container.log"
	# records, content bytes (without the newline), records not all y,
	# the length of the last one.
	counts=$(log_records "$T/container.log" stdout |
		awk '{ n++; bytes += length($0); if ($0 !~ /^y+$/) bad++; last = length($0) }
		     END { print n + 0, bytes + 0, bad + 0, last + 0 }')
	assert_eq "209716 20761805 0 20" "$counts" "records, content bytes, bad records, last record's length"
	assert_eq 209716 "$(wc -l <"$T/container.log")" "log lines"
}

log_has_lines() { # FILE N: FILE has N lines or more
	local n
	n=$(wc -l <"$1" 2>/dev/null) || return 1
	((n >= $2))
}

process_state_is() { # PID STATE: /proc/PID/stat says STATE (R, S, Z, ...)
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} == "$2" ]]
}

# An idle shim gives back the stack its start-up and its work touched
# (release_idle_memory), and carries on as before: output after the idle
# spell is logged, and the exit recorded.
#: done: the container prints, then waits for SIGUSR1 (through the shim), prints again and exits 3
#: checked: while it waits, the idle shim holds no stack page below its loop; then the log has both lines and the exit file 3
idle_gives_back_stack() {
	local id
	id=$(cid idle)
	make_bundle "$T/bundle" -- /bin/sh -c \
		'trap "go=1" USR1; echo before; until [ -n "$go" ]; do sleep 0.01; done; echo after; exit 3'
	launch_shim "$id" "$T/bundle"
	SHIM_PID=$(<"$T/shim.pid")
	"$RUNC" start "$id"
	wait_for log_has_lines "$T/container.log" 1 || fail "no first line in the log"
	wait_for stack_given_back "$SHIM_PID" || fail "the idle shim $SHIM_PID kept stack pages below its loop"
	kill -USR1 "$SHIM_PID"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":3\}$' "exit file"
	log_records "$T/container.log" stdout >"$T/stdout"
	printf 'before\nafter\n' >"$T/expected"
	assert_file_eq "$T/expected" "$T/stdout" "log records"
}

# ---------------------------------------------------------------------------
# shimctl, the reference manager (skipped while it is a stub)

shimctl_is_real() {
	local help
	help=$("$SHIMCTL" --help 2>&1) && [[ -n $help ]]
}

# The lifecycle the README shows: create, start, logs, wait, delete; with
# its state in $T and the shim under test. Then a create that runc fails.
shimctl_lifecycle() {
	local id out err rc=0 shim_pid
	export SHIMCTL_ROOT=$T/shimctl-root SHIMCTL_SHIM=$SHIM
	id=$(cid shimctl)
	make_bundle "$T/bundle" -- /bin/sh -c 'echo hello from shimctl; echo to stderr >&2; exit 3'
	register_container "$id"
	out=$(timeout 30 "$SHIMCTL" create "$id" --bundle "$T/bundle")
	assert_eq "$id $(<"$SHIMCTL_ROOT/$id/container.pid")" "$out" "shimctl create output (ID PID)"
	# delete removes the state dir: keep the daemon's PID for the checks.
	shim_pid=$(<"$SHIMCTL_ROOT/$id/shim.pid")
	echo "$shim_pid" >"$T/shimctl-shim.pid"
	echo "$T/shimctl-shim.pid" >>"$TEST_DIR/shims"
	runc_status_is "$id" created || fail "runc does not show $id as created"

	timeout 30 "$SHIMCTL" start "$id"
	out=$(timeout 30 "$SHIMCTL" wait "$id") || rc=$?
	assert_eq 3 "$rc" "shimctl wait exit status"
	assert_match "$out" '^\{"at":"'"$TS_RE"'","reason":"exited","exitCode":3\}$' "shimctl wait output"
	timeout 30 "$SHIMCTL" logs "$id" >"$T/logs.out" 2>"$T/logs.err"
	assert_eq "hello from shimctl" "$(<"$T/logs.out")" "shimctl logs stdout"
	assert_eq "to stderr" "$(<"$T/logs.err")" "shimctl logs stderr"
	timeout 30 "$SHIMCTL" delete "$id"
	if "$RUNC" state "$id" >/dev/null 2>&1; then
		fail "container $id still known to runc after shimctl delete"
	fi
	assert_no_file "$SHIMCTL_ROOT/$id" "state dir after delete"
	wait_for shim_gone "$shim_pid"

	# runc fails: create says so with runc's words, and leaves nothing.
	id=$(cid shimctl-fails)
	register_container "$id"
	rc=0
	SHIMCTL_RUNTIME=/nonexistent/runc timeout 30 "$SHIMCTL" create "$id" --bundle "$T/bundle" \
		>"$T/fails.out" 2>"$T/fails.err" || rc=$?
	assert_eq 1 "$rc" "shimctl create with a missing runtime: exit status"
	err=$(<"$T/fails.err")
	assert_contains "$err" "Runtime Exited with code 127." "shimctl create stderr"
	assert_contains "$err" "/nonexistent/runc" "shimctl create stderr"
	assert_eq "" "$(<"$T/fails.out")" "shimctl create stdout"
	assert_no_file "$SHIMCTL_ROOT/$id" "state dir after a failed create"
}

#: done: shimctl exec into a running container: plain (output, stderr, exit code 7), with piped stdin, a missing binary, and --tty on a real pty (prompt, stty size after a resize, exit 9); each through a shim of its own started with --exec-process, --start-fd and --ready-fd
#: checked: output and exit codes exact; 127 and runc's words for the missing binary; the exec shims gone and no session directory left; the container still running after all of them
shimctl_exec() {
	local id out rc=0
	export SHIMCTL_ROOT=$T/shimctl-root SHIMCTL_SHIM=$SHIM
	id=$(cid exec)
	make_bundle "$T/bundle" -- /bin/sleep 1000
	register_container "$id"
	timeout 30 "$SHIMCTL" create "$id" --bundle "$T/bundle" >/dev/null
	cp "$SHIMCTL_ROOT/$id/shim.pid" "$T/shimctl-shim.pid"
	echo "$T/shimctl-shim.pid" >>"$TEST_DIR/shims"
	timeout 30 "$SHIMCTL" start "$id"

	out=$(timeout 30 "$SHIMCTL" exec "$id" /bin/sh -c 'echo out; echo err >&2; exit 7' 2>"$T/err") || rc=$?
	assert_eq 7 "$rc" "exec exit code"
	assert_eq out "$out" "exec stdout"
	assert_eq err "$(<"$T/err")" "exec stderr"
	assert_eq "hi there" "$(echo "hi there" | timeout 30 "$SHIMCTL" exec --stdin "$id" /bin/cat)" "exec --stdin"
	rc=0
	timeout 30 "$SHIMCTL" exec "$id" /nonexistent 2>"$T/err" || rc=$?
	assert_eq 127 "$rc" "exec of a missing binary"
	assert_contains "$(<"$T/err")" 'stat /nonexistent: no such file or directory' "runc's words"
	"$PTY_DRIVER" --winsize 27 91 --timeout 20 \
		-s 'expect # ' -s 'send stty size\r' -s 'expect 27 91' \
		-s 'winsize 31 101' -s 'send stty size\r' -s 'expect 31 101' \
		-s 'send exit 9\r' -s 'wait-exit 9' \
		-- "$SHIMCTL" exec --tty "$id" /bin/sh || fail "exec --tty session failed"

	# Every session cleaned up after itself, its shim gone with it.
	[[ -z $(find "$SHIMCTL_ROOT/$id" -maxdepth 1 -name 'exec-*') ]] ||
		fail "session directories left: $(ls "$SHIMCTL_ROOT/$id")"
	runc_status_is "$id" running || fail "the container is not running after the execs"
	timeout 30 "$SHIMCTL" delete "$id"
}

# ---------------------------------------------------------------------------

SHIM_TESTS=(
	report_matches_runc_state
	container_parent_is_shim
	logs_byte_for_byte
	exit_code_7
	sigkill_recorded
	oom_killed_recorded
	runtime_failure_reported
	missing_runtime_reported
	survives_manager_exit
	sigterm_forwarded
	only_stdio_fds
	usage_errors
	no_zombies
	no_subreaper_loses_the_status
	stdout_stderr_interleaved
	big_output_complete
	idle_gives_back_stack
)
SHIMCTL_TESTS=(
	shimctl_lifecycle
	shimctl_exec
)

# The tests of later features live in files of their own, each adding its
# test functions to SHIM_TESTS.
source "$REPO_ROOT/tests/attach.sh"
source "$REPO_ROOT/tests/logging.sh"
source "$REPO_ROOT/tests/terminal.sh"
source "$REPO_ROOT/tests/runtime.sh"
source "$REPO_ROOT/tests/trust.sh"
source "$REPO_ROOT/tests/conmon.sh"

main() {
	local name
	local -a selected=("$@")
	((${#selected[@]})) || selected=("${SHIM_TESTS[@]}" "${SHIMCTL_TESTS[@]}")
	for name in "${selected[@]}"; do
		if [[ " ${SHIM_TESTS[*]} ${SHIMCTL_TESTS[*]} " != *" $name "* ]]; then
			echo "integration.sh: no test named $name" >&2
			exit 2
		fi
	done
	suite_init
	for name in "${selected[@]}"; do
		if [[ " ${SHIMCTL_TESTS[*]} " == *" $name "* ]] && ! shimctl_is_real; then
			skip_test "$name" "$SHIMCTL is a stub (--help fails or prints nothing)"
			continue
		fi
		run_test "$name"
	done
	if (($#)); then
		suite_finish
	else
		suite_finish full
	fi
}

main "$@"
