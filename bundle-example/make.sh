#!/usr/bin/env bash
# make.sh - write a ready OCI bundle for the workshop's labs (docs/labs/).
#
# Usage: bundle-example/make.sh NAME DIR
#        bundle-example/make.sh --list
#
# Writes DIR/config.json for the variant NAME, derived from
# bundle-example/config.json by tests/make-bundle.sh (only process.args,
# process.terminal and root.path change). Every variant shares the busybox
# rootfs of bundle-example/prepare.sh, named by its absolute, symlink-free
# path: runc refuses a rootfs reached through a symlink. Run prepare.sh
# first (make demo and ./run demo do).
#
# The variants (what the container runs):
#   example      the example: the time, every second, three times
#   waiter       part 1's "Hi, my PID is $$", then it waits until the file
#                /var/go exists (DIR/var/go on the host: touch it), says
#                "Bye Bye" and exits 3
#   trap         part 1's SIGPIPE trap script: "time is ..." every second;
#                on SIGPIPE it writes "got SIGPIPE, exiting..." to
#                /var/trap.log (DIR/var/trap.log on the host) and exits 1
#   cat          cat: a stdin reader, for attach
#   tty          /bin/sh on a terminal (process.terminal: true)
#   bahs         part 2's typo: the command is "bahs", which does not exist
#   no-rootfs    the example, with root.path naming DIR/rootfs, which is
#                not there
#   ignore-term  says "ready", then says "got SIGTERM, ignoring it" for each
#                SIGTERM and runs on; only SIGKILL ends it
#   logs         one line on stdout, one on stderr, a 20000-byte line (cut
#                into records at 16 KiB) and a last line with no newline
#   lines        2000 numbered lines, "line 0001" to "line 2000", at once
#
# In waiter and trap, DIR/var is bind-mounted on the container's /var, so
# the host and the container share a directory (the rootfs is shared by
# every bundle and is left alone).
#
# shellcheck disable=SC2016 # the containers' scripts: their $, not ours
set -euo pipefail
export LC_ALL=C

prog=${0##*/}
script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
rootfs=$script_dir/rootfs
make_bundle=$script_dir/../tests/make-bundle.sh

variants=(example waiter trap cat tty bahs no-rootfs ignore-term logs lines)

usage() {
	local names=${variants[*]}
	echo "usage: $prog NAME DIR (NAME: ${names// /, }); $prog --list" >&2
	exit 2
}

[[ ${1:-} == --list ]] && { printf '%s\n' "${variants[@]}"; exit 0; }
(($# == 2)) || usage
name=$1 dir=$2
[[ -x $rootfs/bin/busybox ]] || {
	echo "$prog: no busybox in $rootfs; run bundle-example/prepare.sh first" >&2
	exit 1
}

# The scripts, as the container's /bin/sh runs them.
example='for i in 1 2 3; do date; sleep 1; done'
waiter='echo "Hi, my PID is $$"
until [ -e /var/go ]; do sleep 0.1; done
echo "Bye Bye"
exit 3'
# Part 1's entrypoint.sh, with a POSIX function definition (busybox sh).
trap_script='report_sigpipe() {
    echo "got SIGPIPE, exiting..." > /var/trap.log
    exit 1
}

trap report_sigpipe PIPE

while sleep 1
do
    echo "time is $(date)"
done'
ignore_term='trap "echo \"got SIGTERM, ignoring it\"" TERM
echo ready
while :; do sleep 0.1; done'
logs='echo "to stdout"
echo "to stderr" >&2
head -c 20000 /dev/zero | tr "\0" x
echo
printf "a last line with no newline"'
lines='seq -w 1 2000 | sed "s/^/line /"'

terminal=() bind_var=0 root=$rootfs
case $name in
example) args=(/bin/sh -c "$example") ;;
waiter) args=(/bin/sh -c "$waiter") bind_var=1 ;;
trap) args=(/bin/sh -c "$trap_script") bind_var=1 ;;
cat) args=(cat) ;;
tty) args=(/bin/sh) terminal=(--terminal) ;;
bahs) args=(bahs) ;;
no-rootfs) args=(/bin/sh -c "$example") root=$(realpath -m -- "$dir")/rootfs ;;
ignore-term) args=(/bin/sh -c "$ignore_term") ;;
logs) args=(/bin/sh -c "$logs") ;;
lines) args=(/bin/sh -c "$lines") ;;
*) echo "$prog: unknown bundle $name" >&2; usage ;;
esac

mkdir -p -- "$dir"
# make-bundle.sh warns about a rootfs that is not there: for no-rootfs,
# that is the point.
"$make_bundle" "$dir" "$root" "${terminal[@]}" -- "${args[@]}" 2>/dev/null

if ((bind_var)); then
	# Bind DIR/var on /var: the first entry of "mounts".
	mkdir -p -- "$dir/var"
	var=$(realpath -- "$dir/var")
	[[ $var != *[\"\\]* ]] || { echo "$prog: $var: no quotes or backslashes, please" >&2; exit 1; }
	grep -q '^  "mounts": \[$' "$dir/config.json" || {
		echo "$prog: unexpected layout of $dir/config.json" >&2
		exit 1
	}
	tmp=$dir/.config.json.$$
	awk -v var="$var" '
		{ print }
		/^  "mounts": \[$/ {
			print "    {"
			print "      \"destination\": \"/var\","
			print "      \"type\": \"bind\","
			print "      \"source\": \"" var "\","
			print "      \"options\": [\"rbind\", \"rw\"]"
			print "    },"
		}' "$dir/config.json" >"$tmp"
	mv -f -- "$tmp" "$dir/config.json"
fi
