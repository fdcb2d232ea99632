# terminal.sh: integration tests of terminal containers (issue 4); sourced by integration.sh.
#
# docs/terminal.md, tested end to end: shimctl create --tty, attach in raw
# mode on a real terminal, resize (from outside, and by SIGWINCH through
# attach), the detach keys, the bundle/flag mismatch, the control FIFO, and
# that a session idling on a pty costs the shim no CPU.
#
# The user's terminal is tests/pty-driver: it runs `shimctl attach` on a
# pty of its own and follows a script (send, expect, wait-exit, ...), with
# a deadline on every step; each session's bytes go to $T/*.transcript.
# shimctl keeps its state in $T/shimctl-root and runs the shim under test.
# shellcheck shell=bash

PTY_DRIVER=$REPO_ROOT/tests/pty-driver

# term_shimctl: shimctl, with its state in $T and the shim under test.
term_shimctl() {
	export SHIMCTL_ROOT=$TEST_DIR/shimctl-root SHIMCTL_SHIM=$SHIM
	[[ -x $PTY_DRIVER ]] || fail "$PTY_DRIVER is not built; run make tests/pty-driver"
}

# term_create ID BUNDLE: shimctl create --tty ID; the container and its
# shim are cleaned up with the test. Sets TERM_SHIM_PID.
term_create() {
	local out
	register_container "$1"
	out=$(timeout 30 "$SHIMCTL" create --tty "$1" --bundle "$2")
	assert_eq "$1 $(<"$SHIMCTL_ROOT/$1/container.pid")" "$out" "shimctl create --tty output (ID PID)"
	TERM_SHIM_PID=$(<"$SHIMCTL_ROOT/$1/shim.pid")
	# delete removes the state dir: keep the PID where the cleanup looks.
	echo "$TERM_SHIM_PID" >"$TEST_DIR/$1.shim.pid"
	echo "$TEST_DIR/$1.shim.pid" >>"$TEST_DIR/shims"
}

# term_drive NAME [DRIVER-OPTION]... -- COMMAND...: run COMMAND on a pty,
# following the script on stdin; the session goes to $T/NAME.transcript.
term_drive() {
	local name=$1
	shift
	cat >"$T/$name.script"
	"$PTY_DRIVER" --verbose --script "$T/$name.script" --transcript "$T/$name.transcript" "$@"
}

# term_cpu_ticks PID: utime + stime of PID, in clock ticks (fails once
# the process is gone or is no shim).
term_cpu_ticks() {
	local stat
	local -a fields
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	[[ $stat == "$1 ($SHIM_COMM) "* ]] || return 1
	# "PID (COMM) STATE PPID ...": after the comm, utime and stime are
	# the 12th and 13th fields (14 and 15 of proc(5)).
	read -r -a fields <<<"${stat##*) }"
	echo $((fields[11] + fields[12]))
}

# A whole session: a command, a resize from outside, one through attach's
# SIGWINCH, the detach keys; attach again and SIGTERM; attach again, exit.
# The terminal is restored after each attach, and the log holds the session.
terminal_session() {
	local id state log
	term_shimctl
	id=$(cid tty-session)
	make_bundle "$T/bundle" --terminal -- /bin/sh
	term_create "$id" "$T/bundle"
	timeout 30 "$SHIMCTL" start "$id"

	# The shell is interactive on its pty: what we type is echoed, so
	# each expect looks for the output on a line of its own, which the
	# echoed command line never is.
	term_drive first -- "$SHIMCTL" attach "$id" <<EOF
wait-raw
send echo \$((6*7))\r
expect \n42\r
run "$SHIMCTL" resize $id 100 40
send stty size\r
expect \n40 100\r
winsize 33 77
send stty size\r
expect \n33 77\r
send \x10\x11
expect detached from $id
wait-exit 0
check-termios-restored
EOF
	state=$(timeout 30 "$SHIMCTL" state "$id")
	assert_contains "$state" '"status": "running"' "shimctl state after detaching"
	assert_contains "$state" '"exit":null}' "shimctl state after detaching"
	shim_alive "$TERM_SHIM_PID" || fail "shim $TERM_SHIM_PID is gone after detaching"

	# Ended by SIGTERM, attach restores the terminal too.
	term_drive sigterm -- "$SHIMCTL" attach "$id" <<'EOF'
wait-raw
run kill -TERM "$PTY_DRIVER_PID"
wait-exit 143
check-termios-restored
EOF
	shim_alive "$TERM_SHIM_PID" || fail "shim $TERM_SHIM_PID is gone after attach got SIGTERM"

	term_drive second -- "$SHIMCTL" attach "$id" <<'EOF'
wait-raw
send exit 5\r
wait-exit 5
check-termios-restored
EOF
	wait_for shim_gone "$TERM_SHIM_PID"
	assert_match "$(<"$SHIMCTL_ROOT/$id/exit.json")" \
		'^\{"at":"'"$TS_RE"'","reason":"exited","exitCode":5\}$' "exit file"
	# Lines from a pty end in \r\n.
	log=$(timeout 30 "$SHIMCTL" logs "$id" | tr -d '\r')
	assert_match "$log" $'(^|\n)42(\n|$)' "shimctl logs"
	assert_match "$log" $'(^|\n)40 100(\n|$)' "shimctl logs"
	assert_match "$log" $'(^|\n)33 77(\n|$)' "shimctl logs"
	timeout 30 "$SHIMCTL" delete "$id"
	assert_no_file "$SHIMCTL_ROOT/$id" "state dir after delete"
}

# --tty and the bundle's process.terminal disagree: the shim says which
# way and what to change, before running runc; shimctl passes it on.
terminal_mismatch() {
	local id plain tty msg_given msg_missing dir
	term_shimctl
	make_bundle "$T/plain" -- /bin/true
	make_bundle "$T/tty" --terminal -- /bin/sh
	plain=$(realpath "$T/plain")
	tty=$(realpath "$T/tty")
	msg_given="--terminal was given but $plain/config.json has \"terminal\": false; set process.terminal to true in the bundle, or drop --terminal"
	msg_missing="$tty/config.json has \"terminal\": true but --terminal was not given; pass --terminal, or set process.terminal to false in the bundle"

	# shimctl create, both ways.
	term_create_fails "$(cid tty-mismatch-given)" "$msg_given" --tty --bundle "$plain"
	term_create_fails "$(cid tty-mismatch-missing)" "$msg_missing" --bundle "$tty"

	# The shim itself, both ways: the report is the message.
	id=$(cid tty-mismatch-shim)
	use_dir "$TEST_DIR/given"
	launch_shim "$id" "$plain" --terminal --container-ctlfile "$T/ctl"
	assert_eq 0 "$SHIM_RC" "shim parent exit status"
	assert_eq "{\"kind\":\"shim_error\",\"message\":\"${msg_given//\"/\\\"}\"}" "$SYNC" "sync pipe report"
	wait_for shim_gone "$SHIM_PID"
	use_dir "$TEST_DIR/missing"
	launch_shim "$id" "$tty"
	assert_eq 0 "$SHIM_RC" "shim parent exit status"
	assert_eq "{\"kind\":\"shim_error\",\"message\":\"${msg_missing//\"/\\\"}\"}" "$SYNC" "sync pipe report"
	wait_for shim_gone "$SHIM_PID"
	for dir in given missing; do
		assert_no_file "$TEST_DIR/$dir/exit.json" "exit file ($dir)"
		assert_no_file "$TEST_DIR/$dir/container.pid" "container pid file ($dir)"
		assert_no_file "$TEST_DIR/$dir/ctl" "control FIFO ($dir)"
	done
	if "$RUNC" state "$id" >/dev/null 2>&1; then
		fail "runc knows container $id"
	fi
}

# term_create_fails ID MESSAGE ARG...: shimctl create ID ARG... fails with
# MESSAGE, on one line, and leaves nothing behind.
term_create_fails() {
	local id=$1 message=$2 rc=0
	shift 2
	register_container "$id"
	timeout 30 "$SHIMCTL" create "$id" "$@" >"$T/$id.out" 2>"$T/$id.err" || rc=$?
	assert_contains "$(<"$T/$id.err")" "$message" "shimctl create $*: stderr"
	assert_eq 1 "$(wc -l <"$T/$id.err")" "shimctl create $*: stderr lines"
	assert_eq 1 "$rc" "shimctl create $*: exit status"
	assert_eq "" "$(<"$T/$id.out")" "shimctl create $*: stdout"
	assert_no_file "$SHIMCTL_ROOT/$id" "state dir after the failed create"
	# The shim's daemon, whose pid file went with the state dir.
	wait_for term_no_process_with "$id"
}

# term_no_process_with WORD: no process has WORD in its command line.
term_no_process_with() {
	! pgrep -f -- "$1" >/dev/null
}

# The shell exits while attached: attach ends with its code, the shim
# exits, and all along the shim sleeps. The container first waits a
# second with its terminal open, then closes it (the master reads EIO
# from then on, pty(7)) and lives one more second. The attach starts at
# 24x80, so shimctl writes a line to the control FIFO and closes it: the
# FIFO had a writer come and go too. A loop spinning on any of these
# burns the whole two seconds; an idle shim uses a few ticks at most.
#: done: the container closes its terminal (EIO on the master) while a client is attached
#: checked: the shim does not spin; the client ends with the exit code
terminal_exit_while_attached_no_busy_loop() {
	local id driver rc=0 ticks last hz limit deadline
	term_shimctl
	id=$(cid tty-idle)
	make_bundle "$T/bundle" --terminal -- /bin/sh -c \
		'read -r go; sleep 1; exec </dev/null >/dev/null 2>&1; sleep 1; exit 3'
	term_create "$id" "$T/bundle"
	timeout 30 "$SHIMCTL" start "$id"

	term_drive idle --winsize 24 80 -- "$SHIMCTL" attach "$id" <<'EOF' &
wait-raw
send go\r
wait-exit 3
check-termios-restored
EOF
	driver=$!
	# Sample every 20 ms until the daemon is gone (a zombie still has its
	# times); the last sample is its total.
	last=
	deadline=$(($(us_now) + $(us_from "$WAIT_TIMEOUT") + 5000000))
	while ticks=$(term_cpu_ticks "$TERM_SHIM_PID"); do
		last=$ticks
		shim_alive "$TERM_SHIM_PID" || break
		(($(us_now) < deadline)) || fail "shim $TERM_SHIM_PID still running, $last ticks used so far"
		sleep 0.02
	done
	wait "$driver" || rc=$?
	assert_eq 0 "$rc" "the attach session (pty-driver)"
	wait_for shim_gone "$TERM_SHIM_PID"
	assert_match "$(<"$SHIMCTL_ROOT/$id/exit.json")" '"reason":"exited","exitCode":3\}$' "exit file"
	[[ -n $last ]] || fail "no CPU sample of shim $TERM_SHIM_PID"
	hz=$(getconf CLK_TCK)
	limit=$((hz / 10)) # 0.1 s
	echo "shim $TERM_SHIM_PID used $last ticks of CPU (CLK_TCK $hz, limit $limit)"
	((last < limit)) || fail "shim used $last ticks (of $hz a second) in a session idle for 2 s: a busy loop?"
	timeout 30 "$SHIMCTL" delete "$id"
}

# The control FIFO, driven directly: a malformed line is logged and
# skipped, lines come from writers that open and close it one after the
# other, and each resize reaches the container's terminal.
#: done: malformed lines on the control FIFO, from writers that come and go
#: checked: each is logged and skipped; the resizes after them still work
ctl_fifo_tolerates_garbage() {
	local id
	id=$(cid tty-ctl)
	make_bundle "$T/bundle" --terminal -- /bin/sh -c \
		'trap "stty size" WINCH; trap "exit 0" TERM; echo ready; while :; do sleep 0.05; done'
	launch_shim "$id" "$T/bundle" --terminal --stdin --container-ctlfile "$T/ctl" \
		--container-attachfile "$T/attach.sock"
	expect_created
	[[ -p $T/ctl ]] || fail "no control FIFO at $T/ctl"
	assert_eq 600 "$(stat -c %a "$T/ctl")" "control FIFO mode"
	"$RUNC" start "$id"
	# The traps are set once "ready" is out (a pty ends lines with \r\n).
	wait_for grep -qE "^$TS_RE stdout ready"$'\r'"$" "$T/container.log" ||
		fail "the container never said ready"

	# Two writers, one after the other, each opening and closing it.
	sh -c 'printf "hello\n" >"$1"' sh "$T/ctl"
	sh -c 'printf "1 80 24\n" >"$1"' sh "$T/ctl"
	wait_for grep -qE "^$TS_RE stdout 24 80"$'\r'"$" "$T/container.log" ||
		fail "no '24 80' in the log: the resize after the malformed line did not reach the terminal"
	grep -qE "^$TS_RE shim\[[0-9]+\] WARN: control FIFO $T/ctl: skipped malformed line \"hello\"" \
		"$T/shim.log" || fail "no WARN about the line \"hello\" in $T/shim.log"
	# A third: a malformed line and a good one in one write.
	sh -c 'printf "1 2\n1 100 30\n" >"$1"' sh "$T/ctl"
	wait_for grep -qE "^$TS_RE stdout 30 100"$'\r'"$" "$T/container.log" ||
		fail "no '30 100' in the log: the resize after the malformed line, in the same write, did not reach the terminal"
	grep -qF 'skipped malformed line "1 2"' "$T/shim.log" ||
		fail "no WARN about the line \"1 2\" in $T/shim.log"

	"$RUNC" kill "$id" TERM
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_no_file "$T/ctl" "control FIFO after exit"
	assert_no_file "$T/attach.sock" "attach socket after exit"
}

SHIM_TESTS+=(
	terminal_session
	terminal_mismatch
	terminal_exit_while_attached_no_busy_loop
	ctl_fifo_tolerates_garbage
)
