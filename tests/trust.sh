# trust.sh: what the shim does with inputs it did not make (issue 8):
# conman's own invocations, paths planted by others, a runtime that lies in
# its pid file or floods its stderr or hangs, clients that never read, and
# processes the container leaves behind. Sourced by integration.sh.
#
# Each test that is a fault scenario says so in a "#: done:" and a
# "#: checked:" line above it; tests/reliability.sh turns those, with the
# suite's results, into docs/reliability.md.
# shellcheck shell=bash

CONMAN_RUNC_ROOT=/run/conman-runc

# ---------------------------------------------------------------------------
# 1. conman, exactly as it runs us

# conman_launch [--stdin]: launch the shim with conman's argv, word for
# word as conman's runc.go builds it (Go's exec passes the quotes in
# "--runtime-arg='--root=...'" through; the shim strips them), in bundle
# $T/bundle, whose container reads its stdin, echoes it and exits 3.
conman_launch() {
	local id=$1
	shift
	register_container "$id" "$CONMAN_RUNC_ROOT"
	launch_argv "$T/bundle/shimmy.pid" \
		--shimmy-pidfile "$T/bundle/shimmy.pid" --shimmy-log-level TRACE \
		--runtime "$(command -v "$RUNC")" "--runtime-arg='--root=$CONMAN_RUNC_ROOT'" \
		--bundle "$T/bundle" --container-id "$id" \
		--container-pidfile "$T/bundle/container.pid" --container-logfile "$T/container.log" \
		--container-exitfile "$T/exit.json" --container-attachfile "$T/attach.sock" \
		"$@" --stdin-once --syncpipe-fd 3
}

#: done: conman's argv with --stdin-once but no --stdin (conman sends it so)
#: checked: the container is created under conman's runc root, runs with stdin /dev/null, its exit code and output are recorded
conman_stdin_once_without_stdin() {
	local id
	id=$(cid conman-once)
	make_bundle "$T/bundle" -- /bin/sh -c 'read -r line; echo "read [$line] rc=$?"; exit 3'
	conman_launch "$id"
	expect_created
	"$RUNC" --root "$CONMAN_RUNC_ROOT" start "$id"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":3\}$' "exit file"
	assert_match "$(<"$T/container.log")" "^$TS_RE stdout read \\[\\] rc=1$" "the log"
	assert_no_file "$T/attach.sock" "attach socket after the exit"
}

#: done: conman's argv with --stdin and --stdin-once; one attach client sends a line and shuts down its write side
#: checked: the line reaches the container and its stdin is closed when the client is done
conman_stdin_once_with_stdin() {
	local id
	need_probe
	id=$(cid conman-stdin)
	make_bundle "$T/bundle" -- /bin/sh -c 'while read -r line; do echo "got $line"; done; echo eof; exit 3'
	conman_launch "$id" --stdin
	expect_created
	"$RUNC" --root "$CONMAN_RUNC_ROOT" start "$id"
	printf 'hello\n' >"$T/input"
	"$PROBE" --send "$T/input" --out "$T/out" --timeout 20 "$T/attach.sock" >/dev/null
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":3\}$' "exit file"
	assert_eq $'got hello\neof' "$(log_records "$T/container.log" stdout)" "the log"
	assert_eq $'got hello\neof' "$(<"$T/out")" "what the client received"
}

#: done: conman's TestAbnormalRuntimeTermination: --bundle /not/used/folder --runtime-arg foobar=123, the sync pipe from _OCI_SYNCPIPE
#: checked: the report is runc's own error, as conman expects; nothing is left behind
conman_abnormal_runtime_termination() {
	local runc_path
	runc_path=$(command -v "$RUNC")
	export _OCI_SYNCPIPE=3
	launch_argv "$T/shimmy.pid" \
		--shimmy-pidfile "$T/shimmy.pid" \
		--runtime "$runc_path" \
		--runtime-arg foobar=123 \
		--bundle /not/used/folder \
		--container-id "<not-used-id>" \
		--container-pidfile /not/used/file.pid \
		--container-logfile /not/used/logfile \
		--container-exitfile /not/used/exitfile
	assert_eq 0 "$SHIM_RC" "shim parent exit status"
	# runc 1.1 words it as a logrus line: time="..." level=error msg="No help topic for 'foobar=123'\n"
	assert_match "$SYNC" '^\{"kind":"runtime_abnormal_termination","status":"Runtime Exited with code 3\.","stderr":"time=\\"[^"]*\\" level=error msg=\\"No help topic for '"'foobar=123'"'\\\\n\\"\\n"\}$' \
		"report"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit after the runtime failed"
}

#: done: --terminal with a bundle directory that does not exist
#: checked: runc, not the shim, says what is wrong: the report is runc's error, not a shim_error
terminal_check_needs_a_config() {
	launch_shim "$(cid no-bundle-tty)" "$T/no-such-bundle" --terminal
	assert_eq 0 "$SHIM_RC" "shim parent exit status"
	assert_match "$SYNC" '^\{"kind":"runtime_abnormal_termination","status":"Runtime Exited with code 1\.","stderr":".*no-such-bundle.*"\}$' \
		"report"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"
}

# ---------------------------------------------------------------------------
# 2. Paths planted by others

# expect_refused NEEDLE: the report is a shim_error containing NEEDLE, the
# daemon exits, and the container runc created was killed.
expect_refused() {
	local id=$1 needle=$2
	assert_eq 0 "$SHIM_RC" "shim parent exit status"
	assert_match "$SYNC" '^\{"kind":"shim_error","message":"[^"]*"\}$' "report"
	assert_contains "$SYNC" "$needle" "report"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit after refusing"
	wait_for runc_status_is "$id" stopped || fail "the container was not killed"
	assert_no_file "$T/exit.json" "exit file"
}

#: done: --container-logfile and then --shim-logfile are symlinks to a file elsewhere (a root-owned file the container must not write into)
#: checked: the container log is refused with a shim_error naming the symlink and the container killed; the shim's own log falls back to syslog; the target is untouched both times
log_symlinks_refused() {
	local id
	make_bundle "$T/bundle" -- /bin/sh -c 'echo "owned by the container"'
	printf 'root:x:0:0\n' >"$T/target"
	ln -s "$T/target" "$T/link"

	id=$(cid log-symlink)
	launch_shim "$id" "$T/bundle" --container-logfile "$T/link"
	expect_refused "$id" "open container log $T/link: it is a symbolic link, which the shim never follows"
	assert_eq 'root:x:0:0' "$(<"$T/target")" "the symlink's target"

	use_dir "$TEST_DIR/shim-log"
	id=$(cid shim-log-symlink)
	launch_shim "$id" "$TEST_DIR/bundle" --shim-logfile "$TEST_DIR/link"
	expect_created
	"$RUNC" start "$id"
	wait_exit
	assert_match "$(<"$T/container.log")" "^$TS_RE stdout owned by the container$" "the log"
	assert_eq 'root:x:0:0' "$(<"$TEST_DIR/target")" "the symlink's target"
}

#: done: --container-logfile is a FIFO nobody reads
#: checked: the shim reports a shim_error at once (before: blocked in open() forever, ignoring SIGTERM) and kills the container
log_fifo_refused() {
	local id
	id=$(cid log-fifo)
	make_bundle "$T/bundle" -- /bin/true
	mkfifo "$T/fifo"
	launch_shim "$id" "$T/bundle" --container-logfile "$T/fifo"
	expect_refused "$id" "open container log $T/fifo: not a regular file"
}

#: done: the moment the attach socket appears, another process swaps it for a symlink to a 0644 file (tests/path-racer.c, inotify); 20 launches
#: checked: the file's mode never changes (the socket is born 0600 by the umask at bind; before, a chmod by path after bind followed the symlink and won about 1 race in 4)
attach_socket_mode_not_by_path() {
	local i id racer
	[[ -x $REPO_ROOT/tests/path-racer ]] || fail "tests/path-racer is not built; run make tests/path-racer"
	make_bundle "$T/bundle" -- /bin/true
	printf 'secret\n' >"$T/target"
	chmod 0644 "$T/target"
	mkdir "$T/sockets"
	# exec: the coprocess is the racer itself, so killing it stops it.
	coproc RACER { exec "$REPO_ROOT/tests/path-racer" "$T/sockets" attach.sock "$T/target"; }
	racer=$RACER_PID
	read -r -u "${RACER[0]}" line && [[ $line == ready ]] || fail "path-racer did not start"
	for ((i = 0; i < 20; i++)); do
		id=$(cid "attach-race-$i")
		use_dir "$TEST_DIR/$i"
		launch_shim "$id" "$TEST_DIR/bundle" --container-attachfile "$TEST_DIR/sockets/attach.sock"
		"$RUNC" delete --force "$id" >/dev/null 2>&1 || true
		[[ -z $SHIM_PID ]] || wait_for shim_gone "$SHIM_PID"
		assert_eq 644 "$(stat -c %a "$TEST_DIR/target")" "the target's mode after launch $i"
		rm -f "$TEST_DIR/sockets/attach.sock"
	done
	kill "$racer"
	wait "$racer" 2>/dev/null || true
}

#: done: while the container runs, the directory holding its exit file, control FIFO and log is moved away and a symlink to another directory put in its place; then the log is reopened (control line 2) and the container exits
#: checked: the exit file, the reopened log and the FIFO's removal all happen in the directory the shim started with; the other directory's files are untouched
held_directories() {
	local id
	id=$(cid held-dirs)
	make_bundle "$T/bundle" -- /bin/sh -c 'trap "echo after reopen; exit 4" USR1; echo before; while :; do sleep 0.02; done'
	mkdir -p "$T/files" "$T/victim"
	printf 'keep\n' >"$T/victim/exit.json"
	printf 'keep\n' >"$T/victim/ctl"
	launch_shim "$id" "$T/bundle" --container-exitfile "$T/files/exit.json" \
		--container-logfile "$T/files/container.log" --container-ctlfile "$T/files/ctl"
	expect_created
	"$RUNC" start "$id"
	wait_for grep -q "stdout before" "$T/files/container.log"
	mv "$T/files" "$T/moved"
	ln -s "$T/victim" "$T/files"
	mv "$T/moved/container.log" "$T/moved/container.log.old"
	printf '2 0 0\n' >"$T/moved/ctl"
	wait_for test -e "$T/moved/container.log" || fail "the log was not reopened in the held directory"
	"$RUNC" kill "$id" USR1
	wait_for test -e "$T/moved/exit.json" || fail "no exit file in the held directory"
	wait_for shim_gone "$SHIM_PID"
	assert_match "$(<"$T/moved/exit.json")" '"reason":"exited","exitCode":4\}$' "exit file"
	assert_match "$(<"$T/moved/container.log")" "^$TS_RE stdout after reopen$" "the reopened log"
	assert_no_file "$T/moved/ctl" "control FIFO after the exit"
	assert_eq keep "$(<"$T/victim/exit.json")" "the other directory's exit.json"
	assert_eq keep "$(<"$T/victim/ctl")" "the other directory's ctl"
	assert_eq 2 "$(find "$T/victim" -mindepth 1 | wc -l)" "files in the other directory"
}

#: done: the exit file's directory is missing; read-only (a read-only mount); its name leaves no room for NAME.tmp
#: checked: each time the manager gets a shim_error before any report of a PID, and the container is killed (before: found only at the exit, when the status was lost)
exit_file_checked_early() {
	local id long
	make_bundle "$T/bundle" -- /bin/sleep 1000

	id=$(cid exit-missing)
	launch_shim "$id" "$T/bundle" --container-exitfile "$T/missing/exit.json"
	expect_refused "$id" "prepare exit file $T/missing/exit.json"
	assert_contains "$SYNC" "No such file or directory" "report"

	use_dir "$TEST_DIR/ro"
	mkdir -p "$T/ro"
	mount -t tmpfs -o ro,size=64k tmpfs "$T/ro"
	# shellcheck disable=SC2064 # the path now
	trap "unmount_then_cleanup $(printf %q "$T/ro")" EXIT
	id=$(cid exit-ro)
	launch_shim "$id" "$TEST_DIR/bundle" --container-exitfile "$T/ro/exit.json"
	expect_refused "$id" "Read-only file system"
	umount "$T/ro"

	use_dir "$TEST_DIR/long"
	long=$(printf 'e%.0s' {1..254})
	id=$(cid exit-long)
	launch_shim "$id" "$TEST_DIR/bundle" --container-exitfile "$T/$long"
	expect_refused "$id" "File name too long"
}

#: done: while the container runs, the exit file's directory (a 64 KiB tmpfs) is filled up, and files are planted at exit.json.tmp and exit.json claiming exit code 99
#: checked: at the exit, exit.json holds the container's real status, 7 (before: the planted file was renamed into place, or the full disk lost the status)
exit_file_not_forged_or_starved() {
	local id
	id=$(cid exit-forged)
	make_bundle "$T/bundle" -- /bin/sh -c 'trap "exit 7" USR1; echo ready; while :; do sleep 0.02; done'
	mkdir -p "$T/exits"
	mount -t tmpfs -o size=64k tmpfs "$T/exits"
	# shellcheck disable=SC2064 # the path now
	trap "unmount_then_cleanup $(printf %q "$T/exits")" EXIT
	launch_shim "$id" "$T/bundle" --container-exitfile "$T/exits/exit.json"
	expect_created
	"$RUNC" start "$id"
	wait_for grep -q "stdout ready" "$T/container.log"
	# Planted as new files, renamed into place (rename needs no room).
	printf '{"exitCode":99}' >"$T/exits/forged"
	printf '{"exitCode":99}' >"$T/exits/exit.json"
	head -c 1048576 /dev/zero >"$T/exits/filler" 2>/dev/null || true
	mv "$T/exits/forged" "$T/exits/exit.json.tmp"
	"$RUNC" kill "$id" USR1
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"
	assert_match "$(<"$T/exits/exit.json")" '"reason":"exited","exitCode":7\}$' "exit file"
	umount "$T/exits"
}

#: done: a FIFO of another user's, mode 0666, waits at the control FIFO's path; a log file of another user's, and a hard link to a file elsewhere, at the log's
#: checked: the FIFO is replaced by the shim's own (root, 0600); each log is refused with a shim_error and the container killed
files_of_others() {
	local id
	make_bundle "$T/bundle" -- /bin/sleep 1000
	mkfifo -m 0666 "$T/ctl"
	chown 65534:65534 "$T/ctl"
	id=$(cid others-ctl)
	launch_shim "$id" "$T/bundle" --container-ctlfile "$T/ctl"
	expect_created
	assert_eq "600 0" "$(stat -c '%a %u' "$T/ctl")" "the control FIFO's mode and owner"
	"$RUNC" delete --force "$id"
	wait_exit

	use_dir "$TEST_DIR/log-owner"
	: >"$T/theirs.log"
	chown 65534:65534 "$T/theirs.log"
	id=$(cid others-log)
	launch_shim "$id" "$TEST_DIR/bundle" --container-logfile "$T/theirs.log"
	expect_refused "$id" "open container log $T/theirs.log: owned by another user, or with another name"

	use_dir "$TEST_DIR/log-link"
	printf 'elsewhere\n' >"$T/elsewhere"
	ln "$T/elsewhere" "$T/linked.log"
	id=$(cid linked-log)
	launch_shim "$id" "$TEST_DIR/bundle" --container-logfile "$T/linked.log"
	expect_refused "$id" "open container log $T/linked.log: owned by another user, or with another name"
	assert_eq elsewhere "$(<"$T/elsewhere")" "the hard link's other name"
}

#: done: --shimmy-pidfile names a file in a directory that does not exist
#: checked: the shim exits 1 at once, naming the file, with nothing forked: no daemon, no runc, no report (before: the daemon was forked, had started runc, and was then killed)
shim_pidfile_checked_before_the_fork() {
	local id rc=0
	id=$(cid no-pidfile-dir)
	register_container "$id"
	make_bundle "$T/bundle" -- /bin/sleep 1000
	shim_flags "$id" "$T/bundle"
	"$SHIM" "${SHIM_FLAGS[@]}" --shimmy-pidfile "$T/missing/shim.pid" >"$T/out" 2>"$T/err" || rc=$?
	assert_eq 1 "$rc" "exit status"
	assert_eq "shim: pid file $T/missing/shim.pid: No such file or directory" "$(<"$T/err")" "stderr"
	assert_no_file "$T/shim.log" "shim log (the daemon opens it first thing)"
	if "$RUNC" state "$id" >/dev/null 2>&1; then
		fail "runc knows container $id: runc was started"
	fi
}

# ---------------------------------------------------------------------------
# 3. A runtime that lies about the container's PID

FAKE_RUNTIME=${FAKE_RUNTIME:-$REPO_ROOT/tests/fake-runtime.sh}

# launch_lying_runtime ID MODE: the shim with the fake runtime in MODE.
launch_lying_runtime() {
	launch_shim "$1" "$T/bundle" --runtime "$FAKE_RUNTIME" --runtime-arg "--mode=$2"
}

#: done: the runtime's pid file names PID 1; the shim itself; an unrelated process (a sleep of the test's)
#: checked: each is refused with a shim_error naming the PID; the shim exits at once (before: a SIGUSR1 looped back at 100% CPU); the unrelated process is neither signalled nor killed
pid_file_lies() {
	local other
	make_bundle "$T/bundle" -- /bin/true

	launch_lying_runtime "$(cid pid-1)" pid-1
	assert_match "$SYNC" '^\{"kind":"shim_error","message":"runtime [^"]* wrote pid 1 to [^"]*, which is PID 1, the init process: refusing to manage it"\}$' "report"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"

	use_dir "$TEST_DIR/self"
	cp -r "$TEST_DIR/bundle" "$T/bundle"
	launch_lying_runtime "$(cid pid-self)" pid-self
	assert_match "$SYNC" "^\\{\"kind\":\"shim_error\",\"message\":\"runtime [^\"]* wrote pid $SHIM_PID to [^\"]*, which is the shim itself: refusing to manage it\"\\}\$" "report"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"

	use_dir "$TEST_DIR/other"
	cp -r "$TEST_DIR/bundle" "$T/bundle"
	sleep 1000 &
	other=$!
	echo "$other" >"$T/bundle/other.pid"
	launch_lying_runtime "$(cid pid-other)" pid-other
	assert_match "$SYNC" "^\\{\"kind\":\"shim_error\",\"message\":\"runtime [^\"]* wrote pid $other to [^\"]*, which is not a child of this shim: refusing to manage it\"\\}\$" "report"
	kill -USR1 "$SHIM_PID" 2>/dev/null || true
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"
	process_state_is "$other" S || fail "the unrelated process $other is not sleeping as before"
	kill "$other"
	wait "$other" || true
}

# ---------------------------------------------------------------------------
# 4. A runtime that floods its stderr, or hangs

#: done: the runtime writes 3,000,000 bytes to stderr (more than a pipe holds), then "the real error", and exits 1
#: checked: the report arrives (before: never, runc blocked on the full pipe while the shim waited for it); it holds the first 16 KiB, a line counting what was left out, and the last 16 KiB ending in "the real error"
runtime_stderr_flood() {
	local stderr head tail
	make_bundle "$T/bundle" -- /bin/true
	launch_lying_runtime "$(cid flood)" flood-stderr
	assert_match "$SYNC" '^\{"kind":"runtime_abnormal_termination","status":"Runtime Exited with code 1\.","stderr":"(x+)\\n\[\.\.\. ([0-9]+) bytes not shown \.\.\.\]\\n(x+)the real error\\n"\}$' "report"
	head=${BASH_REMATCH[1]}
	tail=${BASH_REMATCH[3]}
	assert_eq 16384 "${#head}" "bytes before the marker"
	assert_eq $((16384 - 15)) "${#tail}" "x bytes after the marker"
	assert_eq $((3000015 - 32768)) "${BASH_REMATCH[2]}" "bytes not shown"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"
}

#: done: the runtime hangs in create, having started a child and another in a session of its own (as runc's container init is), with --runtime-timeout 1
#: checked: the runtime and both are killed, and the manager gets "Runtime timed out after 1 s."
runtime_timeout() {
	local pid
	make_bundle "$T/bundle" -- /bin/true
	launch_shim "$(cid timeout)" "$T/bundle" --runtime "$FAKE_RUNTIME" --runtime-arg "--mode=hang-child" \
		--runtime-timeout 1
	assert_match "$SYNC" '^\{"kind":"runtime_abnormal_termination","status":"Runtime timed out after 1 s\.","stderr":""\}$' "report"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"
	for pid in "$(<"$T/container.pid.child")" "$(<"$T/container.pid.session")"; do
		wait_for process_gone "$pid" || fail "pid $pid, started by the runtime, is still running"
	done
}

# process_gone PID: no such process, or only its zombie (reaped by init).
process_gone() {
	[[ ! -e /proc/$1 ]] || [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) == Z ]]
}

#: done: the runtime fails (exit 1), leaving behind two processes that write to its stderr without end, one as fast as it can, one ignoring SIGPIPE
#: checked: the report comes, with the runtime's words, and both are killed (before: the shim read on for as long as the writers wrote, and never reported)
runtime_fails_leaving_a_writer() {
	local pid
	make_bundle "$T/bundle" -- /bin/true
	launch_lying_runtime "$(cid leaves-writer)" fail-leaving-writer
	assert_match "$SYNC" '^\{"kind":"runtime_abnormal_termination","status":"Runtime Exited with code 1\.","stderr":".*the real error\\n.*"\}$' "report"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"
	for pid in $(<"$T/container.pid.writer"); do
		wait_for process_gone "$pid" || fail "pid $pid, a writer the runtime left, is still running"
	done
}

#: done: the runtime puts a FIFO where the pid file goes, and exits 0
#: checked: the shim refuses it at once with a shim_error (before: it blocked forever opening the FIFO, ignoring SIGTERM)
pid_file_fifo() {
	make_bundle "$T/bundle" -- /bin/true
	launch_lying_runtime "$(cid pid-fifo)" pid-fifo
	assert_match "$SYNC" '^\{"kind":"shim_error","message":"read container pid file [^"]*: not a PID"\}$' "report"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"
}

# ---------------------------------------------------------------------------
# 5. Bounded memory and exit time

SHIM_PLAIN=${SHIM_PLAIN:-$REPO_ROOT/shim}
SHIM_DYNAMIC=${SHIM_DYNAMIC:-$REPO_ROOT/build/dynamic/shim}
RSS_BOUND_KB=${RSS_BOUND_KB:-10240}

#: done: 200 attach clients that never read, while the container writes 3.5 MB (35,000 lines of 100 bytes); the plain build, not the sanitizer one
#: checked: the daemon's peak RSS stays under 10 MiB (before: 690 MB), every line is in the log, the exit file appears
attach_many_clients_bounded_memory() {
	local id line i hwm pids=()
	need_probe
	[[ -x $SHIM_PLAIN ]] || fail "$SHIM_PLAIN is not built; run make"
	SHIM=$SHIM_PLAIN
	id=$(cid many-clients)
	line=$(head -c 99 /dev/zero | tr '\0' y)
	make_bundle "$T/bundle" -- /bin/sh -c "
		trap 'go=1' USR1
		yes $line | head -n 35000
		until [ -n \"\$go\" ]; do sleep 0.01; done
		echo done"
	launch_shim "$id" "$T/bundle" --container-attachfile "$T/attach.sock"
	expect_created
	for ((i = 0; i < 200; i++)); do
		"$PROBE" --no-read --timeout 120 "$T/attach.sock" >/dev/null &
		pids+=($!)
	done
	wait_for clients_connected 200 || fail "not all 200 clients got connected"
	"$RUNC" start "$id"
	WAIT_TIMEOUT=30 wait_for log_has_lines "$T/container.log" 35000 || fail "the log never got all 35000 lines"
	hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$SHIM_PID/status")
	kill -USR1 "$SHIM_PID"
	wait_exit
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	((hwm < RSS_BOUND_KB)) || fail "the daemon's peak RSS was $hwm kB, over the bound of $RSS_BOUND_KB kB"
	echo "peak RSS: $hwm kB"
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_eq "35000 1" "$(log_records "$T/container.log" stdout |
		awk -v l="$line" '$0 == l { y++ } $0 == "done" { d++ } END { print y + 0, d + 0 }')" \
		"lines of y and the last line in the log"
}

#: done: the container (no PID namespace) starts two `cat /dev/zero` in the background, holding its stdout, and once they are writing, exits
#: checked: the exit file comes promptly, and what was logged after the exit is at most what the pipe held then plus 64 KiB (before: up to 1 GiB, 18-20 s late, while the writers ran on)
exit_not_held_by_grandchild() {
	local id config exited_at after
	id=$(cid zero-orphans)
	make_bundle "$T/bundle" -- /bin/sh -c "trap 'exit 0' USR1
		cat /dev/zero & cat /dev/zero &
		while :; do sleep 0.01; done"
	config=$(drop_pid_namespace "$T/bundle/config.json")
	printf '%s\n' "$config" >"$T/bundle/config.json"
	launch_shim "$id" "$T/bundle"
	expect_created
	"$RUNC" start "$id"
	wait_for file_size_at_least "$T/container.log" $((4 * 1024 * 1024)) || fail "the writers never got going"
	"$RUNC" kill "$id" USR1
	WAIT_TIMEOUT=5 wait_exit
	pkill -P "$SHIM_PID" -x cat || true
	assert_match "$EXIT_JSON" '^\{"at":"([^"]+)","reason":"exited","exitCode":0\}$' "exit file"
	exited_at=${BASH_REMATCH[1]}
	# Bytes of the records read after the exit (the times have one width,
	# so they compare as strings). Output without newlines is cut into
	# 16 KiB pieces, each given a newline of ours: hence the 1/16384.
	after=$(awk -v t="$exited_at" '$1 > t { n += length($0) - length($1 " " $2 " ") } END { print n + 0 }' \
		"$T/container.log")
	((after <= 1048576 + 65536)) ||
		fail "$after bytes of output were logged after the exit: more than the pipe held (1 MiB) and 64 KiB"
	rm -f "$T/container.log" # hundreds of MiB of zeros
}

#: done: 100,000 malformed lines on the control FIFO, and one holding an escape sequence and a newline-looking text
#: checked: the shim's log gets 10 warnings and one line counting the other 99,990 (before: 15 MB of warnings); control characters reach it escaped
ctl_garbage_rate_limited() {
	local id n size
	id=$(cid ctl-flood)
	make_bundle "$T/bundle" -- /bin/sh -c 'trap "exit 0" TERM; while :; do sleep 0.05; done'
	launch_shim "$id" "$T/bundle" --container-ctlfile "$T/ctl"
	expect_created
	"$RUNC" start "$id"
	printf 'evil \033[2J line\n' >"$T/ctl"
	awk 'BEGIN { for (i = 0; i < 99999; i++) print "garbage" }' >"$T/ctl"
	# Lines are taken in order: once a reopen after them is done, so are
	# they.
	mv "$T/container.log" "$T/container.log.old"
	printf '2 0 0\n' >"$T/ctl"
	wait_for test -e "$T/container.log" || fail "the reopen after the garbage was not done"
	"$RUNC" kill "$id" TERM
	wait_exit
	assert_contains "$(<"$T/shim.log")" 'skipped malformed line "evil \x1b[2J line"' "the escaped line"
	n=$(grep -c 'skipped malformed line' "$T/shim.log")
	assert_eq 10 "$n" "warnings about malformed lines"
	assert_contains "$(<"$T/shim.log")" "control FIFO $T/ctl: 99990 more bad lines skipped without a warning" "the count"
	size=$(stat -c %s "$T/shim.log")
	((size < 16384)) || fail "the shim's log is $size bytes"
}

# ---------------------------------------------------------------------------
# 6. valgrind, and the shim killed

#: done: a whole lifecycle (create, output, an attach client, exit) with the daemon under valgrind memcheck, the plain build (linked dynamically)
#: checked: zero errors and no memory definitely lost in the daemon
valgrind_lifecycle() {
	local id vg daemon_log
	need_probe
	command -v valgrind >/dev/null || fail "valgrind is not installed (make deps installs it)"
	# The dynamically linked build: valgrind checks the heap only where it
	# can replace malloc, in a shared libc (./shim is static).
	[[ -x $SHIM_DYNAMIC ]] || fail "$SHIM_DYNAMIC is not built; run make build/dynamic/shim"
	id=$(cid valgrind)
	make_bundle "$T/bundle" -- /bin/sh -c 'trap "go=1" USR1; echo hello; echo oops >&2;
		until [ -n "$go" ]; do sleep 0.01; done; exit 6'
	SHIM=$T/vg-shim
	# A wrapper: launch_argv runs "$SHIM" ARG...
	cat >"$SHIM" <<EOF
#!/bin/sh
exec valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --track-fds=no \
	--log-file=$T/valgrind.%p "$SHIM_DYNAMIC" "\$@"
EOF
	chmod +x "$SHIM"
	WAIT_TIMEOUT=60 launch_shim "$id" "$T/bundle" --container-attachfile "$T/attach.sock"
	expect_created
	"$PROBE" --out "$T/out" --timeout 60 "$T/attach.sock" >/dev/null &
	"$RUNC" start "$id"
	wait_for grep -q "stdout hello" "$T/container.log"
	kill -USR1 "$SHIM_PID"
	WAIT_TIMEOUT=60 wait_exit
	wait
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":6\}$' "exit file"
	daemon_log=$T/valgrind.$SHIM_PID
	[[ -e $daemon_log ]] || fail "no valgrind log for the daemon ($daemon_log)"
	# With --quiet, valgrind writes only errors and leaks, as "==PID== "
	# lines. (Its "--PID-- WARNING: unhandled syscall 434" is pidfd_open,
	# which it does not know: the shim then signals by PID.)
	if grep -q '^==' "$daemon_log"; then
		cat "$daemon_log" >&2
		fail "valgrind reported errors or leaks in the daemon"
	fi
}

#: done: the shim daemon is SIGKILLed while the container runs; then a process in the container writes to its stdout
#: checked: the container lives on; the writer dies of SIGPIPE (exit 141; the container's init, PID 1 of its namespace, would get EPIPE instead); no exit file, and no temporary one; the attach socket, control FIFO and pid files are left behind, as docs/security.md says
shim_killed() {
	local id rc_file
	id=$(cid shim-killed)
	# On the shared rootfs, a name no other test uses.
	rc_file=/tmp/$id.rc
	make_bundle "$T/bundle" -- /bin/sh -c "trap 'busybox echo after; echo \$? >$rc_file' USR1
		echo before; while :; do sleep 0.02; done"
	launch_shim "$id" "$T/bundle" --container-attachfile "$T/attach.sock" --container-ctlfile "$T/ctl"
	expect_created
	"$RUNC" start "$id"
	wait_for grep -q "stdout before" "$T/container.log"
	kill -KILL "$SHIM_PID"
	wait_for shim_gone "$SHIM_PID"
	runc_status_is "$id" running || fail "the container died with the shim"
	"$RUNC" kill "$id" USR1
	wait_for test -s "$ROOTFS$rc_file" || fail "the container's writer never finished"
	assert_eq 141 "$(<"$ROOTFS$rc_file")" "the writer's exit status (128 + SIGPIPE)"
	rm -f "$ROOTFS$rc_file"
	runc_status_is "$id" running || fail "the container's init did not survive its writer"
	assert_no_file "$T/exit.json" "exit file"
	for f in attach.sock ctl shim.pid container.pid; do
		[[ -e $T/$f ]] || fail "$f was not left behind"
	done
	# The exit file's content was never named: nothing half-made is left.
	assert_no_file "$T/exit.json.tmp" "a temporary exit file"
}

SHIM_TESTS+=(
	conman_stdin_once_without_stdin
	conman_stdin_once_with_stdin
	conman_abnormal_runtime_termination
	terminal_check_needs_a_config
	log_symlinks_refused
	log_fifo_refused
	attach_socket_mode_not_by_path
	held_directories
	exit_file_checked_early
	shim_pidfile_checked_before_the_fork
	exit_file_not_forged_or_starved
	files_of_others
	pid_file_lies
	pid_file_fifo
	runtime_stderr_flood
	runtime_timeout
	runtime_fails_leaving_a_writer
	attach_many_clients_bounded_memory
	exit_not_held_by_grandchild
	ctl_garbage_rate_limited
	valgrind_lifecycle
	shim_killed
)
