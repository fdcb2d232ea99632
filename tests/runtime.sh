# runtime.sh: what happens while the runtime is still creating (issue 2),
# with tests/fake-runtime.sh standing in for runc where real runc cannot be
# made to show it on demand. Sourced by integration.sh.

FAKE_RUNTIME=$REPO_ROOT/tests/fake-runtime.sh

# launch_shim_async ID MODE: launch_shim with the fake runtime in MODE, in
# the background (launch_shim waits for the report; these tests act
# before it). Returns once the fake runtime is running.
launch_shim_async() {
	make_bundle "$T/bundle" -- /bin/true
	launch_shim "$1" "$T/bundle" --runtime "$FAKE_RUNTIME" --runtime-arg "--mode=$2" &
	LAUNCH_JOB=$!
	wait_for test -e "$T/container.pid.started" || fail "the fake runtime never started"
	wait_for test -s "$T/shim.pid" || fail "no shim.pid"
	SHIM_PID=$(<"$T/shim.pid")
}

# SIGTERM to the shim while runc is creating goes to runc, and runc dying of
# it is reported with its signal.
#: done: the shim gets SIGTERM while runc is still creating
#: checked: runc gets it, and its death by that signal is reported
signal_reaches_runtime_during_create() {
	launch_shim_async "$(cid term-create)" hang
	kill -TERM "$SHIM_PID"
	wait "$LAUNCH_JOB"
	slurp SYNC "$T/sync.json"
	assert_match "$SYNC" '^\{"kind":"runtime_abnormal_termination","status":"Runtime Received signal 15\.","stderr":""\}$' "report"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit after the runtime failed"
	assert_no_file "$T/exit.json" "exit file"
}

# A container that exits before runc does is remembered, not lost: the
# report names it and the exit file has its status.
#: done: the container exits before runc create does (fake runtime)
#: checked: the exit is remembered: reported PID, then the exit file with its status
container_exits_before_runtime() {
	launch_shim_async "$(cid early-exit)" early-exit
	wait "$LAUNCH_JOB"
	slurp SYNC "$T/sync.json"
	assert_eq "{\"kind\":\"container_pid\",\"pid\":$(<"$T/container.pid")}" "$SYNC" "report"
	wait_for test -e "$T/exit.json" || fail "no exit file"
	assert_match "$(<"$T/exit.json")" '"reason":"exited","exitCode":5\}$' "exit file"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"
}

# A signal other than INT/TERM/QUIT while runc is creating is kept, and
# delivered to the container as soon as its PID is known (shimmy's
# inflight signals).
inflight_signal_delivered() {
	launch_shim_async "$(cid inflight)" wait-go
	kill -USR1 "$SHIM_PID"
	# The signal must be read while runc is still creating: the shim
	# logs it at DEBUG when it keeps it.
	wait_for grep -q "kept signal 10" "$T/shim.log" || fail "the shim did not keep SIGUSR1"
	: >"$T/container.pid.go"
	wait "$LAUNCH_JOB"
	slurp SYNC "$T/sync.json"
	assert_eq "{\"kind\":\"container_pid\",\"pid\":$(<"$T/container.pid")}" "$SYNC" "report"
	wait_for test -e "$T/exit.json" || fail "no exit file"
	assert_match "$(<"$T/exit.json")" '"reason":"exited","exitCode":42\}$' "exit file"
	wait_for grep -q "stdout got USR1" "$T/container.log" || fail "no 'got USR1' in the log"
}

# A pipe the manager leaked to the shim is not held open by the daemon: a
# manager reading it to EOF (as Go's exec.Cmd.Output does with stdout)
# would otherwise wait for as long as the container runs.
#: done: the manager leaks a pipe it waits on for EOF
#: checked: the daemon closes it at once, so the manager is not held for the container's life
inherited_fds_closed() {
	make_bundle "$T/bundle" -- /bin/sleep 1000
	mkfifo "$T/leak"
	(cat "$T/leak" >/dev/null && : >"$T/leak.eof") &
	{ launch_shim "$(cid leak)" "$T/bundle"; } 9>"$T/leak"
	expect_created
	wait_for test -e "$T/leak.eof" || fail "the shim daemon still holds the manager's pipe"
	shim_alive "$SHIM_PID" || fail "the shim daemon is gone"
}

SHIM_TESTS+=(signal_reaches_runtime_during_create container_exits_before_runtime inflight_signal_delivered
	inherited_fds_closed)
