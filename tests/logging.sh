# logging.sh: integration tests of log completeness (issue 5); sourced by integration.sh.
#
# Every byte the container writes is in the log, or, when the disk refuses
# it, counted; rotation and reopening lose nothing and split no record.
# k8s-file logs are decoded back to bytes by tests/attach-probe
# --decode-cri (random or NUL-bearing data cannot go through sed and awk).
# shellcheck shell=bash

# line_of N CHAR: N times CHAR.
line_of() {
	local s
	printf -v s '%*s' "$1" ''
	printf '%s\n' "${s// /$2}"
}

# ---------------------------------------------------------------------------
# 1. 100 MiB, then exit at once.

# 100 MiB in 97-byte lines (so the last one is cut short, unterminated),
# and the container exits as soon as it is written. Decoded, the log's
# stdout is the same 104857600 bytes.
logging_100mib_complete() {
	local id line
	need_probe
	id=$(cid 100mib)
	line=$(line_of 96 z)
	make_bundle "$T/bundle" -- /bin/sh -c "yes $line | head -c 104857600"
	launch_shim "$id" "$T/bundle" --container-log-format k8s-file
	expect_created
	"$RUNC" start "$id"
	WAIT_TIMEOUT=60 wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	"$PROBE" --decode-cri "$T/container.log" stdout >"$T/log.stdout" || fail "the log is not well formed"
	assert_eq 104857600 "$(stat -c %s "$T/log.stdout")" "the log's stdout bytes"
	cmp -- "$T/log.stdout" <(head -c 104857600 < <(yes "$line" || true)) >&2 ||
		fail "the log's stdout differs from what the container wrote"
	assert_eq 0 "$(grep -c ' stderr ' "$T/container.log" || true)" "stderr records"
}

# ---------------------------------------------------------------------------
# 2. stdout and stderr at once, from many writers.

# Four writers on each stream, each writing its lines one write(2) apiece
# (awk's fflush; at most 308 bytes, so each write is atomic in the pipe).
# Line i of writer w on stream s is "<s><w> <i> " and i % 300 x's. Each
# record must be exactly one such line, on the stream its letter names
# (o: stdout, e: stderr), and each writer's lines must all be there, in
# order.
logging_interleaved_writers() {
	local id script result
	id=$(cid interleaved-writers)
	script=$(
		cat <<'EOF_SCRIPT'
for w in 1 2 3 4; do
	awk -v s=o -v w=$w 'BEGIN {
		pad = sprintf("%300s", ""); gsub(/ /, "x", pad)
		for (i = 1; i <= 5000; i++) { printf "%s%d %d %s\n", s, w, i, substr(pad, 1, i % 300); fflush() }
	}' &
	awk -v s=e -v w=$w 'BEGIN {
		pad = sprintf("%300s", ""); gsub(/ /, "x", pad)
		for (i = 1; i <= 5000; i++) { printf "%s%d %d %s\n", s, w, i, substr(pad, 1, i % 300); fflush() }
	}' >&2 &
done
wait
EOF_SCRIPT
	)
	make_bundle "$T/bundle" -- /bin/sh -c "$script"
	launch_shim "$id" "$T/bundle" --container-log-format k8s-file
	expect_created
	"$RUNC" start "$id"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	assert_log_well_formed "$T/container.log" k8s-file
	# (The time stamps were checked just above; awk need not know them.)
	result=$(awk '
		function bad(why) { print "line " NR ": " why ": " substr($0, 1, 120); failed = 1; exit }
		{
			if ($0 !~ /^[^ ]+ (stdout|stderr) F [oe][1-4] [0-9]+ x*$/) bad("not a whole record")
			stream = $2; key = substr($4, 1, 2); i = $5; xs = length($6)
			if ((stream == "stdout") != (substr(key, 1, 1) == "o")) bad("on the wrong stream")
			if (xs != i % 300) bad("cut or joined")
			if (i != last[key] + 1) bad("out of order or missing: after " last[key] + 0)
			last[key] = i
			count++
		}
		END {
			if (failed) exit
			for (key in last) if (last[key] != 5000) { print key ": " last[key] " lines"; exit }
			print count, length(last)
		}' "$T/container.log")
	assert_eq "40000 8" "$result" "records, writers (or the first bad record)"
}

# ---------------------------------------------------------------------------
# 3. A full disk.

# The log lives on a 1 MiB tmpfs mostly taken by a filler file. The
# container writes 3145700 bytes (31457 lines of 100 bytes) which the disk
# cannot hold; the shim must not block it: the container finishes writing
# (it is then waiting for SIGUSR1, in `sleep`) well within the deadline.
# The filler is removed, SIGUSR1 is sent (the shim forwards it), and the
# container prints a last line and exits.
#
# Expected: exactly one notice record on stderr, "[shim] N bytes of log
# were dropped: No space left on device", just before the last line; the
# exit file says "logDroppedBytes":N with the same N. N counts log bytes
# (the records the file refused, prefixes included: see docs/design.md),
# so what is in the file before the notice plus N is every record the shim
# made of the 3145700 bytes: 31457 records of 40 + 100 bytes, exactly.
#
# The record the disk filled in the middle of is torn: its first part is
# in the file, the rest is in N, and the shim ends it with a newline of
# its own before the notice. That newline is not a record byte. The disk
# fills at a page boundary (tmpfs allocates whole pages), so that newline,
# if there is one, is the byte at offset 0 mod page size just before the
# notice. (Only so can a record torn just before its own newline be told
# from a whole one.)
#: done: the log's disk fills while the container writes 3 MB, then has room again
#: checked: the container never blocks; dropped bytes are counted exactly, noted once in the log and in the exit file
logging_disk_full() {
	local id line disk page before notice notice_offset n inserted records_in_file tail_line
	id=$(cid disk-full)
	line=$(line_of 99 y)
	disk=$T/disk
	mkdir -p "$disk"
	mount -t tmpfs -o size=1m,mode=0755 tmpfs "$disk"
	# shellcheck disable=SC2064 # $disk now: it is local to this function
	trap "unmount_then_cleanup $(printf %q "$disk")" EXIT
	head -c 786432 /dev/zero >"$disk/filler"
	make_bundle "$T/bundle" -- /bin/sh -c "
		trap 'go=1' USR1
		yes $line | head -c 3145700
		until [ -n \"\$go\" ]; do sleep 0.01; done
		echo 'last line'"
	# The log on the small disk (the last --container-logfile wins).
	launch_shim "$id" "$T/bundle" --container-log-format k8s-file \
		--container-logfile "$disk/container.log"
	expect_created
	"$RUNC" start "$id"
	wait_for has_child "$CONTAINER_PID" sleep ||
		fail "the container did not finish writing to the full disk in time"
	assert_no_file "$T/exit.json" "exit file"
	rm -- "$disk/filler"
	kill -USR1 "$SHIM_PID"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0,"logDroppedBytes":([0-9]+)\}$' "exit file"
	n=${BASH_REMATCH[1]}
	((n > 0)) || fail "nothing dropped: the test did not fill the disk"

	assert_eq 1 "$(grep -c '\[shim\]' "$disk/container.log" || true)" "notice records"
	notice=$(grep -ab '\[shim\]' "$disk/container.log")
	notice_offset=${notice%%:*}
	notice=${notice#*:}
	assert_match "$notice" "^$TS_RE stderr F \\[shim\\] $n bytes of log were dropped: No space left on device\$" \
		"the notice (and its N, the exit file's)"
	tail_line=$(tail -c +$((notice_offset + ${#notice} + 2)) "$disk/container.log")
	assert_match "$tail_line" "^$TS_RE stdout F last line\$" "what follows the notice"
	assert_eq "$((notice_offset + ${#notice} + 1 + ${#tail_line} + 1))" "$(stat -L -c %s "$disk/container.log")" \
		"the log's size: records up to the notice, the notice, the last line"

	# Did the shim end a torn record with a newline of its own?
	page=$(getconf PAGESIZE)
	case $((notice_offset % page)) in
	0) inserted=0 ;;
	1) inserted=1 ;;
	*) fail "the notice starts at byte $notice_offset, not at a page boundary (+1): the disk did not fill as expected" ;;
	esac
	records_in_file=$((notice_offset - inserted))
	assert_eq $((31457 * 140)) $((records_in_file + n)) \
		"record bytes in the file before the notice ($records_in_file) + dropped ($n)"
	# Every line before the notice is a whole record, but the last, which
	# may have been cut short: then it is a prefix of one.
	head -c "$notice_offset" "$disk/container.log" >"$T/before"
	before=$(grep -avcxE "$TS_RE stdout F y{99}" "$T/before" || true)
	if ((inserted)); then
		assert_eq 1 "$before" "lines before the notice that are not whole records (the torn one)"
		before=$(tail -n 1 "$T/before")
		((${#before} < 140)) || fail "the torn record is ${#before} bytes long"
		if ((${#before} >= 40)); then
			assert_match "$before" "^$TS_RE stdout F y*\$" "the torn record"
		fi
	else
		assert_eq 0 "$before" "lines before the notice that are not whole records"
	fi
	umount "$disk"
}

# unmount_then_cleanup DIR: the EXIT trap of a test that mounted DIR:
# unmount it whatever happened (lazily: on failure the shim may still hold
# the log open until test_cleanup has waited for it), then the usual
# cleanup, with the test's exit status.
unmount_then_cleanup() {
	local rc=$?
	set +eE
	trap - ERR
	umount -l "$1" 2>/dev/null
	(exit "$rc")
	test_cleanup
}

has_child() { # PID COMM: PID has a child process named COMM
	pgrep -P "$1" -x "$2" >/dev/null
}

# ---------------------------------------------------------------------------
# 4. Rotation with --log-size-max.

# 11000 numbered 100-byte lines, about 1.5 MiB of records, with a 1 MiB
# limit, in both formats: exactly one rotation. PATH.1 and PATH are each
# at most 1 MiB, PATH.1 was rotated only when the next record would not
# fit, every line of both is a whole record, and PATH.1 then PATH hold
# every line exactly once, in order.
logging_rotation() {
	local format id prefix_len size
	make_bundle "$T/bundle" -- /bin/awk 'BEGIN {
		pad = sprintf("%93s", ""); gsub(/ /, "r", pad)
		for (i = 1; i <= 11000; i++) printf "%05d %s\n", i, pad
	}'
	awk 'BEGIN {
		pad = sprintf("%93s", ""); gsub(/ /, "r", pad)
		for (i = 1; i <= 11000; i++) printf "%05d %s\n", i, pad
	}' >"$TEST_DIR/expected"
	for format in shimmy k8s-file; do
		id=$(cid "rotation-$format")
		use_dir "$TEST_DIR/$format"
		launch_shim "$id" "$TEST_DIR/bundle" --container-log-format "$format" --log-size-max 1048576
		expect_created
		"$RUNC" start "$id"
		wait_exit
		assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "$format: exit file"
		[[ -e $T/container.log.1 ]] || fail "$format: no $T/container.log.1"
		prefix_len=38 # "<time> stdout "
		[[ $format == k8s-file ]] && prefix_len=40 # "<time> stdout F "
		size=$(stat -c %s "$T/container.log.1")
		((size <= 1048576)) || fail "$format: container.log.1 is $size bytes"
		((size > 1048576 - prefix_len - 100)) ||
			fail "$format: container.log.1 is $size bytes: rotated before it had to"
		size=$(stat -c %s "$T/container.log")
		((size <= 1048576)) || fail "$format: container.log is $size bytes"
		cat "$T/container.log.1" "$T/container.log" >"$T/both"
		if [[ $format == k8s-file ]]; then
			assert_eq 0 "$(grep -avcE "^$TS_RE stdout F [0-9]{5} r{93}$" "$T/both" || true)" \
				"$format: lines that are not whole records"
			sed -E "s/^$TS_RE stdout F //" "$T/both" >"$T/records"
		else
			assert_eq 0 "$(grep -avcE "^$TS_RE stdout [0-9]{5} r{93}$" "$T/both" || true)" \
				"$format: lines that are not whole records"
			sed -E "s/^$TS_RE stdout //" "$T/both" >"$T/records"
		fi
		assert_file_eq "$TEST_DIR/expected" "$T/records" "$format: the records of both files"
	done
}

# ---------------------------------------------------------------------------
# 5. Reopen through the control FIFO.

# The container writes 1000 lines, waits for SIGUSR1, writes 1000 more. In
# between, the test renames the log away (as logrotate or kubelet would)
# and writes "2 0 0" to the control FIFO; the shim opens a fresh file at
# the path (its appearing is what the test waits for), and SIGUSR1 lets
# the container go on. The first 1000 lines are in the renamed file, the
# others in the new one, none lost or doubled.
logging_reopen() {
	local id fd
	id=$(cid reopen)
	# shellcheck disable=SC2016 # expanded by the container's shell
	make_bundle "$T/bundle" -- /bin/sh -c '
		trap "go=1" USR1
		i=1; while [ $i -le 1000 ]; do echo "before $i"; i=$((i + 1)); done
		until [ -n "$go" ]; do sleep 0.01; done
		i=1; while [ $i -le 1000 ]; do echo "after $i"; i=$((i + 1)); done'
	launch_shim "$id" "$T/bundle" --container-ctlfile "$T/ctl"
	expect_created
	[[ -p $T/ctl ]] || fail "no control FIFO at $T/ctl"
	"$RUNC" start "$id"
	wait_for log_has_lines "$T/container.log" 1000 || fail "the first 1000 lines did not come"
	mv -- "$T/container.log" "$T/container.log.rotated"
	echo "2 0 0" >"$T/ctl"
	wait_for test -e "$T/container.log" || fail "the shim did not reopen $T/container.log"
	# It writes to the new file, and no longer holds the old one.
	for fd in "/proc/$SHIM_PID/fd"/*; do
		[[ $(readlink "$fd") != "$T/container.log.rotated" ]] ||
			fail "the shim still holds the renamed log ($fd)"
	done
	kill -USR1 "$SHIM_PID"
	wait_exit
	assert_match "$EXIT_JSON" '"reason":"exited","exitCode":0\}$' "exit file"
	seq -f 'before %g' 1 1000 >"$T/expected.before"
	seq -f 'after %g' 1 1000 >"$T/expected.after"
	assert_log_well_formed "$T/container.log.rotated"
	assert_log_well_formed "$T/container.log"
	log_records "$T/container.log.rotated" stdout >"$T/records.before"
	log_records "$T/container.log" stdout >"$T/records.after"
	assert_file_eq "$T/expected.before" "$T/records.before" "the renamed log's records"
	assert_file_eq "$T/expected.after" "$T/records.after" "the new log's records"
	assert_no_file "$T/ctl" "control FIFO after the shim exited"
}

SHIM_TESTS+=(
	logging_100mib_complete
	logging_interleaved_writers
	logging_disk_full
	logging_rotation
	logging_reopen
)
