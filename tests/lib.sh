# lib.sh: the framework and helpers of tests/integration.sh (sourced, not run).
#
# The tests drive the built shim binary directly, against real runc and real
# busybox containers. Each test is a shell function run by run_test in its
# own subshell, with `set -euo pipefail` and a fresh directory $T; a test
# fails by exiting non-zero (the assert_* helpers and `fail` do that).
#
# After every test, whatever its outcome, the test's cleanup trap:
#   - deletes (runc delete --force) every container the test launched,
#   - waits for every shim daemon the test launched to exit, and fails the
#     test if one is still alive (a stray daemon), killing it,
#   - fails the test if any other process naming the test's directory in
#     its command line is still there (a fake runtime, a helper), killing it,
#   - fails the test if a zombie remains whose parent is the test shell,
#     the suite shell or a shim,
# and run_test fails it if ASan or UBSan wrote a report ($WORK/asan.*,
# $WORK/ubsan.*: the daemon's stdio is /dev/null, so reports go to files).
#
# No fixed sleeps: everything waits with wait_for, polling a condition
# every 20 ms until a deadline.
# shellcheck shell=bash

export LC_ALL=C # byte-wise sed, grep, awk, sort

REPO_ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
RUNC=${RUNC:-runc}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-10} # seconds, the default deadline of wait_for

# An RFC 3339 UTC time with nanoseconds, as the shim writes it (ERE).
TS_RE='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z'

# default_binary NAME: the ASan/UBSan build if there is one, else ./NAME.
default_binary() {
	if [[ -x $REPO_ROOT/build/asan/$1 ]]; then
		printf '%s\n' "$REPO_ROOT/build/asan/$1"
	else
		printf '%s\n' "$REPO_ROOT/$1"
	fi
}

# absolute PATH: PATH made absolute (tests cd around); a bare name is left
# for PATH lookup.
absolute() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*/*) realpath -ms -- "$1" ;;
	*) printf '%s\n' "$1" ;;
	esac
}

# ---------------------------------------------------------------------------
# The suite

PASSED=0
FAILED=0
FAILED_NAMES=()

# suite_init: the binaries, the work dir, the sanitizers, the rootfs.
suite_init() {
	SHIM=$(absolute "${SHIM:-$(default_binary shim)}")
	SHIMCTL=$(absolute "${SHIMCTL:-$(default_binary shimctl)}")
	SHIM_COMM=${SHIM##*/}
	SHIM_COMM=${SHIM_COMM:0:15} # what /proc/PID/comm holds
	ID_PREFIX="shimtest-$$-"

	if [[ ! -x $SHIM ]]; then
		echo "integration.sh: $SHIM is not an executable; run make (or make build/asan/shim)" >&2
		exit 2
	fi
	if ((EUID != 0)); then
		echo "integration.sh: runc needs root" >&2
		exit 2
	fi
	command -v "$RUNC" >/dev/null || {
		echo "integration.sh: $RUNC not found; apt-get install runc" >&2
		exit 2
	}

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/shimtest.XXXXXX")
	export ASAN_OPTIONS="log_path=$WORK/asan:abort_on_error=0:detect_leaks=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$WORK/ubsan"

	# One busybox rootfs shared by every test's bundle.
	if [[ -z ${ROOTFS:-} ]]; then
		ROOTFS=$WORK/rootfs
		"$REPO_ROOT/bundle-example/prepare.sh" "$ROOTFS" >/dev/null
	fi
	ROOTFS=$(absolute "$ROOTFS")
	[[ -x $ROOTFS/bin/busybox ]] || {
		echo "integration.sh: no busybox in $ROOTFS; run bundle-example/prepare.sh $ROOTFS" >&2
		exit 2
	}
	echo "# shim: $SHIM"
	echo "# work dir: $WORK"
	SUITE_START=$EPOCHREALTIME
}

# run_test NAME: run the function NAME as one test and count it.
run_test() {
	local name=$1 dir=$WORK/$1 rc report
	mkdir -p -- "$dir"
	(
		T=$dir
		TEST_DIR=$dir # $T may be pointed elsewhere by a test; this is not
		set -Eeuo pipefail
		trap 'test_failed_command $? "$BASH_COMMAND" "$LINENO"' ERR
		trap test_cleanup EXIT
		"$name"
	) >"$dir/output" 2>&1 </dev/null
	rc=$?
	# The daemons are gone by now (the cleanup waited), so any report
	# they were going to write is there.
	for report in "$WORK"/asan.* "$WORK"/ubsan.*; do
		[[ -e $report ]] || continue
		{
			echo "sanitizer report ${report##*/}:"
			cat -- "$report"
		} >>"$dir/output"
		mv -- "$report" "$dir/"
		rc=1
	done
	if ((rc == 0)); then
		echo "$name ok" >>"$WORK/results"
		PASSED=$((PASSED + 1))
		echo "ok $name"
	else
		echo "$name FAIL" >>"$WORK/results"
		FAILED=$((FAILED + 1))
		FAILED_NAMES+=("$name")
		echo "FAIL $name"
		sed 's/^/    /' "$dir/output"
		while IFS= read -r -d '' diag; do
			echo "    --- shim diagnostics ${diag#"$WORK"/}:"
			sed 's/^/    /' "$diag"
		done < <(find "$dir" -name shim.log -print0 | sort -z)
	fi
}

# skip_test NAME REASON: say why a test does not run; not counted.
skip_test() {
	echo "skip $1: $2"
}

# suite_finish [full]: sweep up, print the one summary line, exit 1 on
# failure. After a full run (every test), docs/reliability.md is written
# anew from the results; if that changed it, the run fails: the committed
# page must say what the suite does.
suite_finish() {
	local id elapsed page=$REPO_ROOT/docs/reliability.md
	# A test whose cleanup was itself interrupted may have left a container.
	while read -r id _; do
		[[ $id == "$ID_PREFIX"* ]] && "$RUNC" delete --force "$id" >/dev/null 2>&1
	done < <("$RUNC" list -q 2>/dev/null)
	if [[ ${1:-} == full ]]; then
		"$REPO_ROOT/tests/reliability.sh" "$WORK/results" >"$WORK/reliability.md"
		if ! cmp -s "$WORK/reliability.md" "$page"; then
			cp -- "$WORK/reliability.md" "$page"
			echo "FAIL docs/reliability.md was stale; it has been regenerated: review and commit it"
			FAILED=$((FAILED + 1))
			FAILED_NAMES+=(docs/reliability.md)
		fi
	fi
	elapsed=$(($(us_now) - $(us_from "$SUITE_START")))
	printf '# took %d.%03d s\n' $((elapsed / 1000000)) $((elapsed / 1000 % 1000))
	if ((FAILED > 0)); then
		echo "# failed: ${FAILED_NAMES[*]}; work dir kept: $WORK"
	else
		rm -rf -- "$WORK"
	fi
	echo "$PASSED passed, $FAILED failed"
	((FAILED == 0))
}

# ---------------------------------------------------------------------------
# Inside a test

fail() {
	echo "FAILED: $*" >&2
	exit 1
}

test_failed_command() {
	echo "FAILED: line $3: \`$2\` exited with status $1" >&2
}

# test_cleanup: the EXIT trap of every test (see the top of this file).
test_cleanup() {
	local rc=$? bad=0 id root pidfile pid job
	set +eE
	trap - ERR
	for job in $(jobs -p); do
		kill "$job" 2>/dev/null
	done
	if [[ -e $TEST_DIR/containers ]]; then
		while read -r id root; do
			"$RUNC" ${root:+--root "$root"} delete --force "$id" >/dev/null 2>&1
		done <"$TEST_DIR/containers"
	fi
	if [[ -e $TEST_DIR/shims ]]; then
		while read -r pidfile; do
			[[ -s $pidfile ]] || continue
			pid=$(<"$pidfile")
			# A test that stopped it (SIGSTOP) may have failed before
			# letting it go on.
			shim_alive "$pid" && kill -CONT "$pid" 2>/dev/null
			if ! wait_for shim_gone "$pid" 2>/dev/null; then
				echo "FAILED: stray shim daemon: pid $pid (from $pidfile) still running after the test:" >&2
				ps -o stat,pid,ppid,args -p "$pid" >&2
				kill -KILL "$pid" 2>/dev/null
				bad=1
			fi
		done <"$TEST_DIR/shims"
	fi
	# Anything else the test started names its directory in its command
	# line (a fake runtime, a helper, a writer a runtime left): none may
	# outlive the test.
	if ! wait_for -t 3 no_process_in "$TEST_DIR/"; then
		echo "FAILED: stray processes left behind, naming $TEST_DIR in their command lines:" >&2
		pgrep -a -f -- "$TEST_DIR/" >&2
		pkill -KILL -f -- "$TEST_DIR/"
		bad=1
	fi
	if ! wait_for -t 3 zombie_free "$$" "$BASHPID"; then
		echo "FAILED: zombies left behind (parent: the test shell $BASHPID, the suite $$ or a shim):" >&2
		zombies "$$" "$BASHPID" >&2
		bad=1
	fi
	if ((rc == 0 && bad)); then
		rc=1
	fi
	exit "$rc"
}

# us_now: microseconds since the epoch. us_from SECONDS: the same for a
# decimal number of seconds ("1.5", "10", or an $EPOCHREALTIME).
us_from() {
	local s=$1 int frac=0
	int=${s%%.*}
	[[ $s == *.* ]] && frac=${s#*.}
	frac=${frac}000000
	echo $((10#${int:-0} * 1000000 + 10#${frac:0:6}))
}
us_now() {
	us_from "$EPOCHREALTIME"
}

# wait_for [-t SECONDS] COMMAND...: run COMMAND every 20 ms until it
# succeeds (return 0) or the deadline passes (message, return 1).
wait_for() {
	local timeout=$WAIT_TIMEOUT deadline
	if [[ ${1:-} == -t ]]; then
		timeout=$2
		shift 2
	fi
	deadline=$(($(us_now) + $(us_from "$timeout")))
	while :; do
		if "$@"; then
			return 0
		fi
		if (($(us_now) > deadline)); then
			echo "timed out after ${timeout}s waiting for: $*" >&2
			return 1
		fi
		sleep 0.02
	done
}

# shim_alive PID: PID is a shim that has not exited (a zombie has). The
# comm check guards against a reused PID. shim_gone: the opposite.
shim_alive() {
	local stat
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	# "PID (COMM) STATE ..." where COMM may hold spaces or parentheses.
	[[ $stat == "$1 ($SHIM_COMM) "* ]] || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}
shim_gone() {
	! shim_alive "$1"
}

# wait_size ROWS COLS: a shell line that waits until the terminal is ROWS
# x COLS, then prints stty size: a resize travels through the manager
# (podman, or ctr and containerd) to the shim while the line is typed.
# (The line itself does not hold "ROWS COLS", so expect sees only stty's
# answer.)
wait_size() {
	printf 'until [ "$(stty size)" = "$((%d)) $((%d))" ]; do sleep 0.02; done; stty size' "$1" "$2"
}

# stack_given_back PID: PID, asleep in a system call, holds no page of
# its stack more than a page below the page it is using (what
# release_idle_memory in util.c does to an idle loop). From
# /proc/PID/syscall (its stack pointer), maps and pagemap (bit 63: present).
stack_given_back() {
	local sp low high page first count present
	read -r -a sp <"/proc/$1/syscall" || return 1
	((${#sp[@]} >= 9)) || return 1 # running, not in a system call
	read -r low high < <(awk '/ \[stack\]$/ { split($1, r, "-"); print r[1], r[2] }' "/proc/$1/maps")
	[[ -n $low ]] || return 1
	page=4096
	first=$((0x$low / page))
	count=$(((${sp[7]} / page - 1) - first))
	((count > 0)) || return 0
	present=$(dd if="/proc/$1/pagemap" bs=8 skip="$first" count="$count" status=none | od -An -v -t x8 | tr ' ' '\n' | grep -c '^[89a-f]') || true
	((present == 0))
}

# no_process_in TEXT: no live process (zombies aside) has TEXT in its
# command line.
no_process_in() {
	local pid
	for pid in $(pgrep -f -- "$1"); do
		[[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) == Z ]] || return 1
	done
	return 0
}

# zombies PID...: print the zombies whose parent is one of PID... or a shim.
zombies() {
	local parents=" $* " stat pid ppid comm args z
	local -A comm_of=()
	local -a zs=()
	while read -r stat pid ppid comm args; do
		comm_of[$pid]=$comm
		[[ $stat == Z* ]] && zs+=("$stat $pid $ppid $comm $args")
	done < <(ps -eo stat=,pid=,ppid=,comm=,args=)
	for z in "${zs[@]}"; do
		read -r stat pid ppid _ <<<"$z"
		if [[ $parents == *" $ppid "* || ${comm_of[$ppid]:-} == "$SHIM_COMM" ]]; then
			echo "zombie: $z (parent $ppid ${comm_of[$ppid]:-?})"
		fi
	done
}
zombie_free() {
	[[ -z $(zombies "$@") ]]
}

# slurp VAR FILE: VAR = the exact bytes of FILE (trailing newlines kept).
slurp() {
	IFS= read -r -d '' "$1" <"$2" || true
}

# show VALUE: VALUE for a message: in quotes, or with control characters
# made visible, and cut short.
show() {
	local s
	if [[ $1 == *[[:cntrl:]]* ]]; then
		printf -v s '%q' "$1"
	else
		s="'$1'"
	fi
	((${#s} > 300)) && s="${s:0:300}...(${#1} bytes)"
	printf '%s' "$s"
}

assert_eq() { # EXPECTED ACTUAL [WHAT]
	[[ $1 == "$2" ]] || fail "${3:-value}: expected $(show "$1"), got $(show "$2")"
}

assert_ne() { # UNEXPECTED ACTUAL [WHAT]
	[[ $1 != "$2" ]] || fail "${3:-value}: expected anything but $(show "$1")"
}

assert_contains() { # HAYSTACK NEEDLE [WHAT]
	[[ $1 == *"$2"* ]] || fail "${3:-value}: $(show "$1") does not contain $(show "$2")"
}

assert_match() { # STRING ERE [WHAT]
	[[ $1 =~ $2 ]] || fail "${3:-value}: $(show "$1") does not match /$2/"
}

assert_file_eq() { # EXPECTED_FILE ACTUAL_FILE [WHAT]
	cmp -- "$1" "$2" >&2 || {
		# diff exits 1 when the files differ: not this test's failure.
		{ diff -- "$1" "$2" | head -c 3000 >&2; } || true
		fail "${3:-file}: $2 differs from the expected $1"
	}
}

assert_no_file() { # PATH [WHAT]
	[[ ! -e $1 && ! -L $1 ]] || fail "${2:-file} $1 exists and should not"
}

# cid NAME: a container ID no other run of the suite uses.
cid() {
	printf '%s\n' "$ID_PREFIX$1"
}

# make_bundle DIR [--terminal] -- ARG...: a bundle on the shared rootfs.
make_bundle() {
	local dir=$1
	shift
	"$REPO_ROOT/tests/make-bundle.sh" "$dir" "$ROOTFS" "$@"
}

# use_dir DIR: from now on $T is DIR (made if need be): for a test that
# runs several shims, each with its own files. $TEST_DIR stays the test's.
use_dir() {
	T=$1
	mkdir -p -- "$T"
}

# register_container ID [RUNC_ROOT]: delete ID when the test ends.
register_container() {
	printf '%s %s\n' "$1" "${2:-}" >>"$TEST_DIR/containers"
}

# shim_flags ID BUNDLE: SHIM_FLAGS = the usual flags, every path in $T.
shim_flags() {
	SHIM_FLAGS=(
		--bundle "$2"
		--container-id "$1"
		--container-pidfile "$T/container.pid"
		--container-logfile "$T/container.log"
		--container-exitfile "$T/exit.json"
		--shimmy-pidfile "$T/shim.pid"
		--shim-logfile "$T/shim.log"
		--shimmy-log-level DEBUG
	)
}

# launch_shim ID BUNDLE [FLAG...]: start the shim as a manager would, with
# its sync pipe (an anonymous pipe) on fd 3, and wait for the report.
# The flags are shim_flags's (every path in $T), then FLAG...; a later
# flag wins over an earlier one. See launch_argv for what it sets.
launch_shim() {
	local id=$1 bundle=$2
	shift 2
	register_container "$id"
	shim_flags "$id" "$bundle"
	launch_argv "$T/shim.pid" "${SHIM_FLAGS[@]}" --syncpipe-fd 3 "$@"
}

# launch_argv PIDFILE ARG...: run "$SHIM" ARG... exactly, with the write
# end of an anonymous pipe on fd 3 (the sync pipe: pass --syncpipe-fd 3 or
# export _OCI_SYNCPIPE=3), and wait for the report. PIDFILE is where ARG...
# tell the shim to write its PID (the test's cleanup waits for that
# daemon). For a manager's exact invocation.
# Sets:
#   SHIM_RC    the shim parent's exit status (also $T/shim.rc)
#   SHIM_PID   the daemon's PID from PIDFILE (empty if none)
#   SYNC       the report: everything read from the pipe until EOF
#              (also $T/sync.json)
# and writes $T/sync.pipe (the pipe's identity, "pipe:[INODE]"),
# $T/shim.exited_at and $T/sync.done (times: parent exit, report EOF),
# $T/shim.stdout and $T/shim.stderr (the parent's).
# The pipeline ends only when the daemon closes fd 3, i.e. after the
# report; it runs in the background so that a shim that never reports
# fails the test at the deadline instead of hanging it.
launch_argv() {
	local pidfile=$1 job
	shift
	mkdir -p -- "$T"
	echo "$pidfile" >>"$TEST_DIR/shims"
	rm -f -- "$T/sync.done" "$T/shim.rc" "$pidfile"
	{
		readlink "/proc/$BASHPID/fd/1" >"$T/sync.pipe"
		rc=0
		"$SHIM" "$@" 3>&1 >"$T/shim.stdout" 2>"$T/shim.stderr" || rc=$?
		echo "$EPOCHREALTIME" >"$T/shim.exited_at"
		echo "$rc" >"$T/shim.rc"
	} | {
		cat >"$T/sync.json"
		echo "$EPOCHREALTIME" >"$T/sync.done"
	} &
	job=$!
	wait_for test -e "$T/sync.done" || fail "no report on the sync pipe from the shim ($*)"
	wait "$job"
	wait_for test -e "$T/shim.rc"
	SHIM_RC=$(<"$T/shim.rc")
	SHIM_PID=
	[[ -e $pidfile ]] && SHIM_PID=$(<"$pidfile")
	slurp SYNC "$T/sync.json"
}

# expect_created: the report of a launch_shim is a container PID; sets
# CONTAINER_PID.
expect_created() {
	assert_eq 0 "$SHIM_RC" "shim parent exit status"
	assert_match "$SYNC" '^\{"kind":"container_pid","pid":([0-9]+)\}$' "sync pipe report"
	# shellcheck disable=SC2034 # for the tests
	CONTAINER_PID=${BASH_REMATCH[1]}
}

# wait_exit: wait for the exit file and then for the daemon to exit; sets
# EXIT_JSON to the exit file's exact bytes.
wait_exit() {
	wait_for test -e "$T/exit.json" || fail "no exit file $T/exit.json"
	slurp EXIT_JSON "$T/exit.json"
	[[ -z ${SHIM_PID:-} ]] || wait_for shim_gone "$SHIM_PID" || fail "shim daemon $SHIM_PID did not exit after writing the exit file"
}

# log_records FILE STREAM: the content of STREAM's records in FILE, one a
# line, in order (for k8s-file, each starts with its P/F tag).
log_records() {
	sed -nE "s/^$TS_RE $2 //p" "$1"
}

# assert_log_well_formed FILE [k8s-file]: every line is a record.
assert_log_well_formed() {
	local re="^$TS_RE (stdout|stderr) "
	[[ ${2:-} == k8s-file ]] && re+='[PF] '
	local bad
	bad=$(grep -avcE "$re" "$1" || true)
	[[ $bad == 0 ]] || {
		grep -avnE "$re" "$1" | head -5 | cut -c1-200 >&2
		fail "$1: $bad lines are not log records"
	}
}
