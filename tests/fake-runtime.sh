#!/usr/bin/env bash
# fake-runtime.sh: a stand-in for runc, for what real runc cannot be made
# to do on demand. Called by the shim as
#   fake-runtime.sh --mode=MODE create --bundle B --pid-file P ID
# (the mode comes through the shim's --runtime-arg). It writes
# P.started when it runs, so a test can act while "create" is under way.
#
#   hang        never finishes: a signal is the only way out
#   early-exit  the "container" (a host process, reparented to the shim,
#               its subreaper) exits 5 before the runtime itself exits 0
#   wait-go     starts a container that exits 42 on SIGUSR1, then waits
#               for the file P.go before exiting 0
# and runtimes that lie or misbehave (issue 8):
#   pid-1       writes PID 1 to the pid file and exits 0
#   pid-self    writes the shim's own PID (its parent's) and exits 0
#   pid-other   writes the PID in BUNDLE/other.pid (a process the test
#               started, not the shim's child) and exits 0
#   hang-child  starts a child (sleep) and another in a session of its
#               own (setsid sleep, as runc's init is), and hangs; their
#               PIDs go to P.child and P.session
#   pid-fifo    puts a FIFO where the pid file goes and exits 0
#   fail-leaving-writer  leaves two processes writing to stderr without
#               end (one fast, one ignoring SIGPIPE), and exits 1; their
#               PIDs go to P.writer
#   flood-stderr  writes 3,000,000 bytes to stderr, more than a pipe
#               holds, then "the real error" and exits 1
set -u
mode= pidfile= bundle=
while (($#)); do
	case $1 in
	--mode=*) mode=${1#--mode=} ;;
	--pid-file) pidfile=$2; shift ;;
	--bundle) bundle=$2; shift ;;
	esac
	shift
done
[[ -n $mode && -n $pidfile ]] || { echo "fake-runtime: need --mode= and --pid-file" >&2; exit 2; }
: >"$pidfile.started"

# start_container CMD: run CMD in a grandchild, so that it is reparented to
# the shim (a child subreaper) as a real container is once runc exits. CMD
# gets the PID of its first parent, a subshell, as $1.
start_container() {
	(subshell=$BASHPID; sh -c "$1" sh "$subshell" & echo $! >"$pidfile")
}

case $mode in
hang)
	exec sleep 1000
	;;
early-exit)
	# It exits only once it is the shim's: exiting while its first parent
	# (the subshell) is still there, it would be reaped by that subshell
	# and never reach the shim at all.
	start_container 'while [ -e /proc/$1 ]; do sleep 0.01; done; exit 5'
	pid=$(<"$pidfile")
	# Gone from /proc once the shim has reaped it: then runc "finishes".
	while [[ -e /proc/$pid ]]; do sleep 0.01; done
	exit 0
	;;
wait-go)
	start_container 'trap "echo got USR1; exit 42" USR1; while :; do sleep 0.02; done'
	while [[ ! -e $pidfile.go ]]; do sleep 0.01; done
	exit 0
	;;
pid-1)
	echo 1 >"$pidfile"
	exit 0
	;;
pid-self)
	echo "$PPID" >"$pidfile"
	exit 0
	;;
pid-other)
	cat "$bundle/other.pid" >"$pidfile"
	exit 0
	;;
hang-child)
	sleep 1001 &
	echo $! >"$pidfile.child"
	# As runc's container init does: a session, and a group, of its own.
	setsid sleep 1002 &
	echo $! >"$pidfile.session"
	wait
	;;
pid-fifo)
	rm -f "$pidfile"
	mkfifo "$pidfile"
	exit 0
	;;
fail-leaving-writer)
	# Fails, leaving behind two processes that write to stderr without
	# end: one as fast as it can, one that survives a closed pipe.
	echo "the real error" >&2
	cat /dev/zero >&2 &
	echo $! >"$pidfile.writer"
	(trap '' PIPE; while :; do echo "left behind"; done) >&2 2>/dev/null &
	echo $! >>"$pidfile.writer"
	exit 1
	;;
flood-stderr)
	head -c 3000000 /dev/zero | tr '\0' x >&2
	echo "the real error" >&2
	exit 1
	;;
*)
	echo "fake-runtime: unknown mode $mode" >&2
	exit 2
	;;
esac
