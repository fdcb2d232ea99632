# conmon.sh: shim-conmon driven by hand, as podman drives it, with real
# runc: what podman cannot show from outside (sourced by integration.sh;
# tests/podman.sh runs it under podman itself).
# shellcheck shell=bash

SHIM_CONMON=$(absolute "${SHIM_CONMON:-$(default_binary shim-conmon)}")

# conmon_launch ID EXIT-COMMAND [FLAG...]: shim-conmon as podman 4.3.1
# runs it for a container (conmon-protocol.md 1.2), its sync socket a
# file ($T/sync), with the exit command given; returns its status.
conmon_launch() {
	local id=$1 exit_command=$2
	shift 2
	mkdir -p "$T/exits"
	_OCI_SYNCPIPE=3 "$SHIM_CONMON" --api-version 1 -c "$id" -u "$id" -r "$(command -v "$RUNC")" \
		-b "$T/bundle" -p "$T/pidfile" -n "$id" --exit-dir "$T/exits" --full-attach \
		-l "k8s-file:$T/ctr.log" --log-level warning --conmon-pidfile "$T/conmon.pid" \
		--exit-command "$exit_command" --exit-command-arg "$T" "$@" 3>"$T/sync"
}

#: done: shim-conmon launched by hand with podman's flags, its exit command a script that waits for the test; the container exits 5
#: checked: {"data": PID} on the sync fd, PID runc's; the exit file holds "5" and no newline, and exists when the exit command runs; the exit command's parent is the shim, which is still there until the command ends, then exits
conmon_exit_command_waited() {
	local id pid shim_pid
	id=$(cid conmon)
	make_bundle "$T/bundle" -- /bin/sh -c 'exit 5'
	register_container "$id"
	cat >"$T/exit-command" <<'EOF'
#!/bin/sh
# $1: the test's directory. Say what we saw, then wait to be let go.
{ cat "$1/exits/"*; echo; cat /proc/$PPID/comm; } >"$1/exit-command.out"
until [ -e "$1/release" ]; do sleep 0.01; done
EOF
	chmod +x "$T/exit-command"
	conmon_launch "$id" "$T/exit-command"
	wait_for grep -q '^{"data": [0-9]*}$' "$T/sync"
	pid=$(sed -n 's/^{"data": \([0-9]*\)}$/\1/p' "$T/sync")
	assert_eq "$(<"$T/pidfile")" "$pid" "the pid reported"
	shim_pid=$(<"$T/conmon.pid")
	"$RUNC" start "$id"
	wait_for test -s "$T/exit-command.out"
	assert_eq $'5\nshim-conmon' "$(<"$T/exit-command.out")" "what the exit command saw"
	assert_eq 5 "$(od -An -c "$T/exits/$id" | tr -d ' ')" "the exit file, byte for byte"
	kill -0 "$shim_pid" || fail "the shim did not wait for its exit command"
	touch "$T/release"
	wait_for eval '! kill -0 '"$shim_pid"' 2>/dev/null'
}

#: done: shim-conmon with a bundle whose command does not exist (runc create fails), with an exit command
#: checked: {"data": -1, "message": ...} carries runc's words; no exit file; the exit command still ran, and the shim exited after it
conmon_exit_command_after_failure() {
	local id shim_pid
	id=$(cid conmon-fails)
	make_bundle "$T/bundle" -- /nonexistent
	register_container "$id"
	cat >"$T/exit-command" <<'EOF'
#!/bin/sh
ls "$1/exits" >"$1/exit-command.out"
EOF
	chmod +x "$T/exit-command"
	conmon_launch "$id" "$T/exit-command"
	wait_for grep -q '^{"data": -1, "message": ".*"}$' "$T/sync"
	assert_contains "$(<"$T/sync")" 'stat /nonexistent: no such file or directory' "the message"
	wait_for test -e "$T/exit-command.out"
	assert_eq "" "$(<"$T/exit-command.out")" "the exit directory when the exit command ran"
	shim_pid=$(<"$T/conmon.pid")
	wait_for eval '! kill -0 '"$shim_pid"' 2>/dev/null'
}

#: done: shim-conmon given flags for features it lacks (--restore, -l journald, --timeout=5), and podman's --version probe
#: checked: each refused before anything is forked, naming the flag, on stderr and as {"data": -1, "message": ...} on the sync fd, exit 1; the probe prints "conmon version 2.1.6" and a line naming this project, exit 0
conmon_refusals() {
	local flag rc
	make_bundle "$T/bundle" -- /bin/true
	for flag in "--restore=$T/checkpoint" "-l journald" "--timeout=5"; do
		rc=0
		# shellcheck disable=SC2086 # the flag and its value, split
		_OCI_SYNCPIPE=3 "$SHIM_CONMON" -c refused -b "$T/bundle" -p "$T/pidfile" --exit-dir "$T" \
			$flag 3>"$T/sync" 2>"$T/err" || rc=$?
		assert_eq 1 "$rc" "exit status for $flag"
		assert_match "$(<"$T/err")" '^shim-conmon: --[a-z-]+.*not supported' "stderr for $flag"
		assert_eq "{\"data\": -1, \"message\": \"$(sed 's/^shim-conmon: //' "$T/err")\"}" \
			"$(<"$T/sync")" "the sync message for $flag"
	done
	assert_no_file "$T/pidfile" "runc's pid file (nothing was run)"
	assert_match "$("$SHIM_CONMON" --version)" $'^conmon version 2\\.1\\.6\ncommit: shim-conmon ' "--version"
}

SHIM_TESTS+=(
	conmon_exit_command_waited
	conmon_exit_command_after_failure
	conmon_refusals
)
