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
set -u
mode= pidfile=
while (($#)); do
	case $1 in
	--mode=*) mode=${1#--mode=} ;;
	--pid-file) pidfile=$2; shift ;;
	esac
	shift
done
[[ -n $mode && -n $pidfile ]] || { echo "fake-runtime: need --mode= and --pid-file" >&2; exit 2; }
: >"$pidfile.started"

# start_container CMD: run CMD in a grandchild, so that it is reparented to
# the shim (a child subreaper) as a real container is once runc exits.
start_container() {
	(sh -c "$1" & echo $! >"$pidfile")
}

case $mode in
hang)
	exec sleep 1000
	;;
early-exit)
	start_container 'exit 5'
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
*)
	echo "fake-runtime: unknown mode $mode" >&2
	exit 2
	;;
esac
