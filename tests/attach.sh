# attach.sh: integration tests of the attach socket (issue 3); sourced by integration.sh.
#
# The tests drive the shim with tests/attach-probe (built by `make
# tests/attach-probe`, or `make integration`), a plain C client of the
# protocol in docs/attach.md; see the top of attach-probe.c for its modes
# and exit codes. Each client runs with a deadline (--timeout), so a shim
# that stops sending fails the test instead of hanging it.
# shellcheck shell=bash

PROBE=${PROBE:-$REPO_ROOT/tests/attach-probe}

# need_probe: fail the test if the attach client is not built. (The tests
# run "$PROBE" itself, not a function around it, so that $! of a client
# in the background is its PID, for kill.)
need_probe() {
	[[ -x $PROBE ]] || fail "$PROBE is not built; run make tests/attach-probe"
}

# clients_connected N: the shim has accepted N attach clients or more.
clients_connected() {
	local n
	n=$(grep -c 'attach client pid [0-9]* connected' "$T/shim.log" 2>/dev/null || true)
	((${n:-0} >= $1))
}

# ---------------------------------------------------------------------------
# 1. Echo: 1 MiB through `cat` and back, over both socket types.

# attach_echo stream|seqpacket: a cat container with --stdin --stdin-once;
# one client sends 1 MiB of random bytes and receives them back, byte for
# byte, as stdout frames; its shutdown(SHUT_WR) is the container's EOF,
# and the k8s-file log holds the same bytes.
#
# On a seqpacket socket every recv is one frame, so the payload is fully
# random (NULs, newlines, and bytes 1 and 2 included). A stream socket
# keeps no frame boundaries, so no client can tell a stream id from data
# in general; there the payload has its bytes 1 and 2 replaced (by 3 and
# 4), and the probe demultiplexes by marker: every byte 1 or 2 starts a
# frame. That checks what a stream client can rely on: every byte, in
# order, all on stdout, in frames of 1 to 32 KiB (the probe checks the
# sizes; conman's one-read-one-frame is attach_conman_interactive's).
attach_echo() {
	local type=$1 id summary frames
	local -a shim_flags=() probe_flags=()
	need_probe
	id=$(cid "echo-$type")
	make_bundle "$T/bundle" -- /bin/cat
	if [[ $type == seqpacket ]]; then
		shim_flags=(--attach-seqpacket)
		probe_flags=(--seqpacket)
		head -c 1048576 /dev/urandom >"$T/payload"
	else
		head -c 1048576 /dev/urandom | tr '\001\002' '\003\004' >"$T/payload"
	fi
	launch_shim "$id" "$T/bundle" --stdin --stdin-once --container-log-format k8s-file \
		--container-attachfile "$T/attach.sock" "${shim_flags[@]}"
	expect_created
	"$RUNC" start "$id"
	"$PROBE" "${probe_flags[@]}" --timeout 30 --send "$T/payload" --out "$T/out" --err "$T/err" \
		"$T/attach.sock" >"$T/probe.out" || fail "attach-probe exited with status $?"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_file_eq "$T/payload" "$T/out" "stdout received"
	assert_eq 0 "$(stat -c %s "$T/err")" "stderr bytes received"
	summary=$(<"$T/probe.out")
	assert_match "$summary" '^frames ([0-9]+) stdout 1048576 stderr 0$' "probe summary"
	frames=${BASH_REMATCH[1]}
	# 32 frames at the least (1 MiB in frames of 32 KiB at most).
	((frames >= 32)) || fail "$frames frames for 1 MiB"
	"$PROBE" --decode-cri "$T/container.log" stdout >"$T/log.stdout" || fail "the log is not well formed"
	"$PROBE" --decode-cri "$T/container.log" stderr >"$T/log.stderr"
	assert_file_eq "$T/payload" "$T/log.stdout" "the log's stdout"
	assert_eq 0 "$(stat -c %s "$T/log.stderr")" "the log's stderr bytes"
}
attach_echo_stream() { attach_echo stream; }
attach_echo_seqpacket() { attach_echo seqpacket; }

# ---------------------------------------------------------------------------
# 1b. Input on a seqpacket socket reaches the container whole.

# A container reading its stdin 4 KiB at a time keeps the shim's stdin
# buffer partly full, so the room left in it is often smaller than the
# client's next packet (the probe sends 64 KiB packets). On a
# SOCK_SEQPACKET socket a read shorter than the packet discards the rest
# of it (unix(7), socket(7)): the shim must not read a packet it has no
# room for. The same over a stream socket, where partial reads are fine.
attach_stdin_slow_reader() {
	local type id
	local -a shim_flags probe_flags
	need_probe
	# 256 reads of 4 KiB, each by a dd of its own: a slow reader.
	# shellcheck disable=SC2016 # expanded by the container's shell
	make_bundle "$T/bundle" -- /bin/sh -c \
		'i=0; while [ $i -lt 256 ]; do dd bs=4096 count=1 iflag=fullblock status=none; i=$((i + 1)); done'
	head -c 1048576 /dev/urandom | tr '\001\002' '\003\004' >"$TEST_DIR/payload"
	for type in seqpacket stream; do
		id=$(cid "slow-reader-$type")
		shim_flags=()
		probe_flags=()
		if [[ $type == seqpacket ]]; then
			shim_flags=(--attach-seqpacket)
			probe_flags=(--seqpacket)
		fi
		use_dir "$TEST_DIR/$type"
		launch_shim "$id" "$TEST_DIR/bundle" --stdin --stdin-once \
			--container-attachfile "$T/attach.sock" "${shim_flags[@]}"
		expect_created
		"$RUNC" start "$id"
		"$PROBE" "${probe_flags[@]}" --timeout 30 --send "$TEST_DIR/payload" --out "$T/out" \
			"$T/attach.sock" >"$T/probe.out" || fail "$type: attach-probe exited with status $?"
		wait_exit
		assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "$type: exit file"
		assert_file_eq "$TEST_DIR/payload" "$T/out" "$type: stdout received"
	done
}

# ---------------------------------------------------------------------------
# 2. Two clients at once both get every byte.

# Both attach before the container starts (the socket is there before the
# report), then the second one sends the line the container waits for:
# from then on the container prints 2.1 MB, and each client gets it all.
attach_two_clients() {
	local id pid_a pid_b rc
	need_probe
	id=$(cid two-clients)
	make_bundle "$T/bundle" -- /bin/sh -c 'read -r go; seq -w 1 300000'
	seq -w 1 300000 >"$T/expected"
	printf 'go\n' >"$T/go"
	launch_shim "$id" "$T/bundle" --stdin --attach-seqpacket --container-attachfile "$T/attach.sock"
	expect_created
	"$PROBE" --seqpacket --timeout 30 --out "$T/out.a" "$T/attach.sock" >"$T/probe.a" &
	pid_a=$!
	wait_for clients_connected 1 || fail "the client did not get connected"
	"$RUNC" start "$id"
	"$PROBE" --seqpacket --timeout 30 --send "$T/go" --out "$T/out.b" "$T/attach.sock" >"$T/probe.b" &
	pid_b=$!
	rc=0
	wait "$pid_a" || rc=$?
	assert_eq 0 "$rc" "client a's exit status"
	wait "$pid_b" || rc=$?
	assert_eq 0 "$rc" "client b's exit status"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_file_eq "$T/expected" "$T/out.a" "client a's stdout"
	assert_file_eq "$T/expected" "$T/out.b" "client b's stdout"
	assert_match "$(<"$T/probe.a")" '^frames [0-9]+ stdout 2100000 stderr 0$' "client a's summary"
	assert_match "$(<"$T/probe.b")" '^frames [0-9]+ stdout 2100000 stderr 0$' "client b's summary"
	log_records "$T/container.log" stdout >"$T/log.stdout"
	assert_file_eq "$T/expected" "$T/log.stdout" "the log's stdout records"
}

# ---------------------------------------------------------------------------
# 3. A client that never reads cannot hold anything up.

# It connects and never reads. The container then writes 50 MiB as fast as
# it can and exits: the shim must neither block on the client nor buffer
# without bound, so the exit comes in time, the log is complete, and the
# client is disconnected once 4 MiB behind, with a WARN.
#: done: an attach client never reads while the container writes 50 MiB
#: checked: the client is dropped once 4 MiB behind, the log is complete, the exit is not delayed
attach_client_never_reads() {
	local id line counts pid
	need_probe
	id=$(cid never-reads)
	line=$(head -c 99 /dev/zero | tr '\0' y)
	make_bundle "$T/bundle" -- /bin/sh -c "
		trap 'go=1' USR1
		echo ready
		until [ -n \"\$go\" ]; do sleep 0.01; done
		yes $line | head -c 52428800"
	launch_shim "$id" "$T/bundle" --container-attachfile "$T/attach.sock"
	expect_created
	"$PROBE" --no-read --timeout 120 "$T/attach.sock" &
	pid=$!
	wait_for clients_connected 1 || fail "the client did not get connected"
	"$RUNC" start "$id"
	wait_for grep -qE "^$TS_RE stdout ready$" "$T/container.log" || fail "the container is not ready"
	kill -USR1 "$SHIM_PID"
	WAIT_TIMEOUT=30 wait_exit
	kill "$pid"
	wait "$pid" || true
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_log_well_formed "$T/container.log"
	# records, content bytes, records that are not all y (the first, "ready")
	counts=$(log_records "$T/container.log" stdout |
		awk '{ n++; bytes += length($0) + 1; if ($0 !~ /^y+$/) bad++ }
		     END { print n + 0, bytes + 0, bad + 0 }')
	assert_eq "524289 52428806 1" "$counts" "records, content bytes with newlines, other records"
	assert_contains "$(<"$T/shim.log")" "WARN: attach client fd" "shim diagnostics"
	assert_contains "$(<"$T/shim.log")" "is more than 4194304 bytes behind: disconnected" \
		"shim diagnostics"
}

# ---------------------------------------------------------------------------
# 4. A client killed mid-stream.

# Two clients on the stream socket; the container writes three MiB, one at
# a time, each after a SIGUSR1 (the first at once). Client a takes the
# first MiB, then is stopped (SIGSTOP) while the second is written, so the
# shim holds output it owes a (its socket buffer is full); then a is
# killed (SIGKILL) and the third MiB is written. Client b, the log and the
# shim carry on as if nothing happened. (3 MiB in all: under the 4 MiB a
# client may fall behind before it is dropped, so b is never dropped
# however slowly it reads.)
#: done: one of two attach clients is stopped, then SIGKILLed, mid-stream
#: checked: the other client, the log and the shim carry on; every byte reaches the other client
attach_client_killed() {
	local id line pid_a pid_b rc counts
	need_probe
	id=$(cid client-killed)
	line=$(head -c 99 /dev/zero | tr '\0' y)
	make_bundle "$T/bundle" -- /bin/sh -c "
		go=0
		trap 'go=\$((go + 1))' USR1
		yes $line | head -c 1048576
		until [ \$go -ge 1 ]; do sleep 0.01; done
		yes $line | head -c 1048576
		until [ \$go -ge 2 ]; do sleep 0.01; done
		yes $line | head -c 1048576"
	for _ in 1 2 3; do
		yes_bytes "$line" 1048576
	done >"$T/expected"
	launch_shim "$id" "$T/bundle" --container-attachfile "$T/attach.sock"
	expect_created
	# a first, then b: always in the same order in the shim's list.
	"$PROBE" --timeout 60 --out "$T/out.a" "$T/attach.sock" >"$T/probe.a" &
	pid_a=$!
	wait_for clients_connected 1 || fail "client a did not get connected"
	"$PROBE" --timeout 60 --out "$T/out.b" "$T/attach.sock" >"$T/probe.b" &
	pid_b=$!
	wait_for clients_connected 2 || fail "client b did not get connected"
	"$RUNC" start "$id"
	wait_for file_size_at_least "$T/out.a" 1048576 || fail "client a did not get the first MiB"
	kill -STOP "$pid_a"
	kill -USR1 "$SHIM_PID"
	wait_for file_size_at_least "$T/out.b" 2097152 || fail "client b did not get the second MiB"
	kill -KILL "$pid_a"
	rc=0
	wait "$pid_a" || rc=$?
	assert_eq 137 "$rc" "client a's exit status (killed)"
	kill -USR1 "$SHIM_PID"
	rc=0
	wait "$pid_b" || rc=$?
	assert_eq 0 "$rc" "client b's exit status"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_file_eq "$T/expected" "$T/out.b" "client b's stdout"
	assert_match "$(<"$T/probe.b")" '^frames [0-9]+ stdout 3145728 stderr 0$' "client b's summary"
	# The log: the same lines (the last one, unterminated, flushed at exit).
	{
		cat "$T/expected"
		echo
	} >"$T/expected.records"
	log_records "$T/container.log" stdout >"$T/log.stdout"
	assert_file_eq "$T/expected.records" "$T/log.stdout" "the log's stdout records"
	[[ $(<"$T/shim.log") != *"bytes behind"* ]] || fail "a client was dropped for falling behind"
}

# yes_bytes LINE N: the first N bytes of `yes LINE` (without yes's
# SIGPIPE failing the pipeline).
yes_bytes() {
	head -c "$2" < <(yes "$1" || true)
}

file_size_at_least() { # FILE BYTES
	local size
	size=$(stat -c %s "$1" 2>/dev/null) || return 1
	((size >= $2))
}

# ---------------------------------------------------------------------------
# 5. Who may attach.

# The socket is 0600 whatever the umask. A client as uid 65534 is kept out
# by that mode (connect: EACCES); with the mode loosened, the shim's own
# check of the peer's uid (SO_PEERCRED) refuses it: the connection closes
# with no data, and what it sent never reaches the container. A root client
# then still attaches. (The probe reaches the socket through an fd of its
# directory opened before it drops to uid 65534, so only the socket's own
# mode can deny it; the work dir above is 0700.)
#: done: a client of another uid connects, with the socket's mode loosened
#: checked: it is refused by SO_PEERCRED; nothing it sent reaches the container
attach_refuses_other_uid() {
	local id old_umask rc out
	need_probe
	id=$(cid other-uid)
	make_bundle "$T/bundle" -- /bin/cat
	printf 'evil\n' >"$T/evil"
	printf 'hello\n' >"$T/hello"
	old_umask=$(umask)
	umask 000
	launch_shim "$id" "$T/bundle" --stdin --stdin-once --container-attachfile "$T/attach.sock"
	umask "$old_umask"
	expect_created
	[[ -S $T/attach.sock ]] || fail "$T/attach.sock is not a socket"
	assert_eq 600 "$(stat -c %a "$T/attach.sock")" "attach socket mode (with umask 000)"
	assert_eq "0 0" "$(stat -c '%u %g' "$T/attach.sock")" "attach socket owner"
	"$RUNC" start "$id"

	rc=0
	out=$("$PROBE" --uid 65534 --timeout 10 --send "$T/evil" "$T/attach.sock") || rc=$?
	assert_eq 4 "$rc" "uid 65534 probe's exit status (4: connect denied)"
	assert_eq denied "$out" "uid 65534 probe's output"

	chmod 0666 "$T/attach.sock"
	rc=0
	out=$("$PROBE" --uid 65534 --timeout 10 --send "$T/evil" "$T/attach.sock") || rc=$?
	assert_eq 3 "$rc" "uid 65534 probe's exit status (3: refused)"
	assert_eq $'frames 0 stdout 0 stderr 0\nrefused' "$out" "uid 65534 probe's output"
	wait_for grep -qE "WARN: attach client pid [0-9]+ uid 65534 refused" "$T/shim.log" ||
		fail "no WARN about the refused client in the shim's log"

	"$PROBE" --timeout 30 --send "$T/hello" --out "$T/out" "$T/attach.sock" >"$T/probe.out" ||
		fail "root probe exited with status $?"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_file_eq "$T/hello" "$T/out" "root client's stdout"
	log_records "$T/container.log" stdout >"$T/log.stdout"
	assert_file_eq "$T/hello" "$T/log.stdout" "the log's stdout records"
}

# ---------------------------------------------------------------------------
# 6. An attach path longer than sun_path.

# The shim binds /proc/self/fd/N/NAME of its directory; the probe connects
# the same way. The socket is removed at exit through that directory too.
attach_long_path() {
	local id dir sock
	need_probe
	id=$(cid long-path)
	dir=$T
	while ((${#dir} < 140)); do
		dir+=/a-directory-level
	done
	mkdir -p -- "$dir"
	sock=$dir/attach.sock
	((${#sock} >= 108)) || fail "the path is only ${#sock} bytes"
	make_bundle "$T/bundle" -- /bin/cat
	printf 'through a long path\n' >"$T/hello"
	launch_shim "$id" "$T/bundle" --stdin --stdin-once --container-attachfile "$sock"
	expect_created
	[[ -S $sock ]] || fail "$sock is not a socket"
	assert_eq 600 "$(stat -c %a "$sock")" "attach socket mode"
	"$RUNC" start "$id"
	"$PROBE" --timeout 30 --send "$T/hello" --out "$T/out" "$sock" >"$T/probe.out" ||
		fail "attach-probe exited with status $?"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_file_eq "$T/hello" "$T/out" "stdout received"
	assert_no_file "$sock" "attach socket after the shim exited"
}

# ---------------------------------------------------------------------------
# 7. When stdin closes.

# Without --stdin-once, stdin outlives each client: client 1 and client 2
# each send a line and shut down their write side, and cat echoes both.
# A third client's line getting through shows that stdin was still open
# after client 2 was done (client 2 had shut down its write side, and
# exited, before client 3 connected). Then the container is killed.
attach_stdin_stays_open() {
	local id n
	need_probe
	id=$(cid stdin-stays-open)
	make_bundle "$T/bundle" -- /bin/cat
	launch_shim "$id" "$T/bundle" --stdin --container-attachfile "$T/attach.sock"
	expect_created
	"$RUNC" start "$id"
	for n in one two three; do
		printf '%s\n' "$n" >"$T/$n"
		"$PROBE" --timeout 10 --send "$T/$n" --expect-bytes $((${#n} + 1)) --out "$T/out.$n" \
			"$T/attach.sock" >"$T/probe.$n" || fail "client $n exited with status $?"
		assert_file_eq "$T/$n" "$T/out.$n" "client $n's stdout"
	done
	wait_for log_has_lines "$T/container.log" 3 || fail "the log does not have the 3 lines"
	runc_status_is "$id" running || fail "the container is not running"
	assert_no_file "$T/exit.json" "exit file"
	"$RUNC" kill "$id" KILL
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"signaled","signal":9\}$' "exit file"
	printf '%s\n' one two three >"$T/expected"
	log_records "$T/container.log" stdout >"$T/log.stdout"
	assert_file_eq "$T/expected" "$T/log.stdout" "the log's stdout records"
}

# With --stdin-once, the first client's EOF is the container's: cat ends
# and the container says so. A second client's bytes then go nowhere. The
# container exits 0 on SIGTERM (forwarded by the shim), saying bye, which
# the second client receives.
attach_stdin_once() {
	local id pid_2 rc out
	need_probe
	id=$(cid stdin-once)
	make_bundle "$T/bundle" -- /bin/sh -c '
		trap "echo bye; exit 0" TERM
		cat
		echo "stdin closed"
		cat
		while :; do sleep 0.02; done'
	printf 'one\n' >"$T/one"
	printf 'two\n' >"$T/two"
	launch_shim "$id" "$T/bundle" --stdin --stdin-once --container-attachfile "$T/attach.sock"
	expect_created
	"$RUNC" start "$id"
	"$PROBE" --timeout 10 --send "$T/one" --expect-bytes 4 --out "$T/out.one" "$T/attach.sock" \
		>"$T/probe.one" || fail "client 1 exited with status $?"
	# It may have stayed long enough to see the container's next line too.
	slurp out "$T/out.one"
	[[ $out == $'one\n' || $out == $'one\nstdin closed\n' ]] ||
		fail "client 1's stdout: $(show "$out")"
	wait_for grep -qE "^$TS_RE stdout stdin closed$" "$T/container.log" ||
		fail "the container did not see the end of its stdin"
	"$PROBE" --timeout 30 --send "$T/two" --out "$T/out.two" "$T/attach.sock" >"$T/probe.two" &
	pid_2=$!
	wait_for clients_connected 2 || fail "the clients did not get connected"
	kill -TERM "$SHIM_PID"
	rc=0
	wait "$pid_2" || rc=$?
	assert_eq 0 "$rc" "client 2's exit status"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_eq bye "$(<"$T/out.two")" "client 2's stdout"
	printf '%s\n' one "stdin closed" bye >"$T/expected"
	log_records "$T/container.log" stdout >"$T/log.stdout"
	assert_file_eq "$T/expected" "$T/log.stdout" "the log's stdout records"
}

# ---------------------------------------------------------------------------
# 8. conman's attach, unchanged.

# conman reads the stream socket with a 32 KiB + 1 buffer and takes each
# read as one frame: buf[0] the stream, the rest its data. That holds for
# an interactive session, where each reply is one write of the container
# and the client waits for it before typing again. The container answers
# alternately on stdout and stderr; every read must be exactly one frame
# (6 lines, 6 frames) and land on the right stream.
attach_conman_interactive() {
	local id
	need_probe
	id=$(cid conman)
	# shellcheck disable=SC2016 # expanded by the container's shell
	make_bundle "$T/bundle" -- /bin/sh -c \
		'while read -r l; do echo "out $l"; read -r l || break; echo "err $l" >&2; done'
	printf '%s\n' alpha bravo charlie delta echo foxtrot >"$T/chat"
	launch_shim "$id" "$T/bundle" --stdin --stdin-once --container-attachfile "$T/attach.sock"
	expect_created
	"$RUNC" start "$id"
	"$PROBE" --conman --timeout 30 --chat "$T/chat" --out "$T/out" --err "$T/err" "$T/attach.sock" \
		>"$T/probe.out" || fail "attach-probe exited with status $?"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	printf 'out %s\n' alpha charlie echo >"$T/expected.out"
	printf 'err %s\n' bravo delta foxtrot >"$T/expected.err"
	assert_file_eq "$T/expected.out" "$T/out" "stdout received"
	assert_file_eq "$T/expected.err" "$T/err" "stderr received"
	assert_eq "frames 6 stdout 31 stderr 32" "$(<"$T/probe.out")" "probe summary"
}

# ---------------------------------------------------------------------------
# 9. The socket goes when the shim goes.

attach_socket_removed() {
	local id
	id=$(cid socket-removed)
	make_bundle "$T/bundle" -- /bin/sh -c 'echo hi'
	launch_shim "$id" "$T/bundle" --container-attachfile "$T/attach.sock"
	expect_created
	[[ -S $T/attach.sock ]] || fail "no socket at $T/attach.sock"
	"$RUNC" start "$id"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_no_file "$T/attach.sock" "attach socket after the shim exited"
}

# A path the shim cannot bind to is reported, and whatever file is there
# is left alone: it is not ours.
#: done: a file that is not a socket sits at the attach path
#: checked: the shim reports the failure and leaves the file alone
attach_bind_failure_keeps_file() {
	local id
	id=$(cid bind-failure)
	make_bundle "$T/bundle" -- /bin/sleep 1000
	echo precious >"$T/attach.sock"
	launch_shim "$id" "$T/bundle" --container-attachfile "$T/attach.sock"
	assert_match "$SYNC" '^\{"kind":"shim_error","message":"listen on attach socket [^"]*: Address already in use"\}$' "report"
	assert_eq precious "$(<"$T/attach.sock")" "the file at the attach path"
	wait_for shim_gone "$SHIM_PID" || fail "the shim did not exit"
}

# Out of fds while clients wait to connect: the shim stops watching the
# listening socket (else epoll reports it readable forever and the loop
# spins, logging each failed accept) and resumes once a client leaves.
#: done: the shim runs out of fds while clients queue to connect
#: checked: it stops accepting without spinning, logs once, and resumes when a client leaves
attach_out_of_fds_no_spin() {
	local id i count
	need_probe
	id=$(cid out-of-fds)
	make_bundle "$T/bundle" -- /bin/sleep 1000
	launch_shim "$id" "$T/bundle" --container-attachfile "$T/attach.sock"
	expect_created
	"$RUNC" start "$id"
	# Room for the fds it holds now and two clients, no more.
	count=$(ls "/proc/$SHIM_PID/fd" | wc -l)
	prlimit --pid "$SHIM_PID" --nofile=$((count + 2)):$((count + 2))
	for i in 1 2 3 4 5; do
		"$PROBE" --no-read "$T/attach.sock" >/dev/null 2>&1 &
		echo $! >"$T/probe.$i"
	done
	wait_for grep -q "not accepting until a client leaves" "$T/shim.log" ||
		fail "the shim never ran out of fds"
	# A spinning loop logs a failed accept thousands of times a second.
	# Give it the time of a few more wake-ups, then count.
	wait_for clients_connected 2
	assert_eq 1 "$(grep -c "accept attach client" "$T/shim.log")" "failed accepts logged"
	# A client leaving makes room: a waiting one is accepted. (One the
	# shim accepted: a client still queued holds no fd of the shim's.)
	kill "$(awk '/attach client pid .* connected/ { print $7; exit }' "$T/shim.log")"
	wait_for clients_connected 3 ||
		fail "no client accepted after one left"
	"$RUNC" kill "$id" KILL
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"signaled","signal":9\}$' "exit file"
}

# An empty packet on a seqpacket socket reads as 0 bytes, like a
# shutdown; it is not one, and the client's bytes after it still reach
# the container, whose stdin is not closed early.
#: done: a seqpacket client sends an empty packet
#: checked: it is not taken as the client's EOF; the container's stdin stays open
attach_empty_packet_is_not_eof() {
	local id
	need_probe
	id=$(cid empty-packet)
	make_bundle "$T/bundle" -- /bin/cat
	printf 'after an empty packet\n' >"$T/hello"
	launch_shim "$id" "$T/bundle" --stdin --stdin-once --attach-seqpacket \
		--container-attachfile "$T/attach.sock"
	expect_created
	"$RUNC" start "$id"
	"$PROBE" --seqpacket --empty-first --timeout 30 --send "$T/hello" --out "$T/out" \
		"$T/attach.sock" >"$T/probe.out" || fail "attach-probe exited with status $?"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_file_eq "$T/hello" "$T/out" "stdout received"
}

SHIM_TESTS+=(
	attach_empty_packet_is_not_eof
	attach_bind_failure_keeps_file
	attach_out_of_fds_no_spin
	attach_echo_stream
	attach_echo_seqpacket
	attach_stdin_slow_reader
	attach_two_clients
	attach_client_never_reads
	attach_client_killed
	attach_refuses_other_uid
	attach_long_path
	attach_stdin_stays_open
	attach_stdin_once
	attach_conman_interactive
	attach_socket_removed
)
