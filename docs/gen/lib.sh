# docs/gen/lib.sh: what the generators of docs/ share (sourced, not run).
#
# Every picture and transcript in docs/ comes from a real run, made by a
# generator in docs/gen/ (docs/gen/run.sh lists how they are run). A
# generator is `docs/gen/NAME.sh OUT`: it writes its files under OUT, at
# the paths they have under docs/ (OUT is docs/ for `make docs`, a scratch
# directory for the staleness check of `make check`).
#
# The check compares each file written, but the SVGs (drawn from files that
# are compared), with the committed one after mask_shape: what differs from
# run to run (pids, times, ids, inode numbers, temporary paths) is masked,
# so what is compared is the shape of what the page shows.
# shellcheck shell=bash

# mask_shape: stdin to stdout, with what varies between runs masked.
# Generators write variable things in these forms, so they can be masked:
#   RFC 3339 times        2026-11-30T08:12:17.384275456Z, 2026-11-30T08:12:17Z
#   clock times           08:12:17.384275, Mon Nov 30 08:12:17 UTC 2026
#   pids                  "pid 1234", "PID 1234", "(1234)", "[1234]" in shim logs
#   ps columns            lines of `ps -o pid,ppid,...`: the first two numbers
#   inodes                pipe:[1234], socket:[1234], anon_inode:[pidfd]
#   O_TMPFILE files       /dir/#1234 in /proc/PID/fd (named by their inode)
#   pids in strace        \"pid\":1234 (JSON in a string strace printed)
#   durations             12.3 ms, 0.25 s, 417 us
#   generated ids         lab-NN-1234 (a generator's own suffix: -$$ or -$RANDOM)
#   temporary paths       /tmp/tmp.AbC123, /tmp/shim-console-AbC123, /tmp/docs.AbC123
#   cgroup paths          /sys/fs/cgroup/memory/.../memory.oom_control (where the
#                         machine puts its cgroups)
#   mktemp -d's default  /tmp/tmp.AbC123dEf4 (ten characters)
#   pids in JSON          "pid":1234, "pid": 1234 (runc state), "shimPid":1234
#   shimctl create        "lab-NN-1234 5678": the ID, then the container's PID
#   sha256 in hex         shimctl's attach socket, /run/shimctl/s/<64 hex digits>
#   the repository        /home/me/shim/shim, .../shimctl, .../bundle-example/ (where
#                         the clone is: ps shows the shim that shimctl ran)
#   ps padding            ps right-aligns its PID columns: the spaces around
#                         the masked pids vary with their number of digits
mask_shape() {
	sed -E \
		-e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})/<TIME>/g' \
		-e 's/(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +[0-9]+ [0-9:]+ [A-Z]+ [0-9]{4}/<DATE>/g' \
		-e 's/\b[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?\b/<CLOCK>/g' \
		-e 's/\b(pid|PID|pids|ppid|PPID|daemon|shim|container|runc|predecessor)( |=|: )[0-9]+/\1\2<PID>/g' \
		-e 's/\((pid )?[0-9]+\)/(<PID>)/g' \
		-e 's/\[[0-9]+\]/[<N>]/g' \
		-e 's@/#[0-9]+\b@/#<INODE>@g' \
		-e 's/\\"pid\\":[0-9]+/\\"pid\\":<PID>/g' \
		-e 's/\b[0-9]+(\.[0-9]+)? ?(ms|us|µs|s)\b/<DURATION>/g' \
		-e 's/\b(lab|demo|docs|pic)-([0-9]+-)*[0-9]+\b/\1-<ID>/g' \
		-e 's#(/[A-Za-z0-9._+-]+)+/(shim|shimctl)([ "]|$)#<REPO>/\2\3#g' \
		-e 's#(/[A-Za-z0-9._+-]+)+/bundle-example/#<REPO>/bundle-example/#g' \
		-e 's#/tmp/[A-Za-z._-]*\.[A-Za-z0-9]{6}\b#/tmp/<TMP>#g' \
		-e 's#/tmp/shim-console-[A-Za-z0-9]{6}#/tmp/shim-console-<TMP>#g' \
		-e 's/^( *)[0-9]+( +)[0-9]+( )/\1<PID>\2<PID>\3/' \
		-e 's#/tmp/tmp\.[A-Za-z0-9]{10}\b#/tmp/<TMP>#g' \
		-e 's/"(pid|shimPid)":( ?)[0-9]+/"\1":\2<PID>/g' \
		-e 's/^((lab|demo|docs|pic)-<ID>[A-Za-z0-9-]*) [0-9]+$/\1 <PID>/' \
		-e 's/\b[0-9a-f]{64}\b/<SHA256>/g' \
		-e 's/^ *<PID> +<PID> /<PID> <PID> /' \
		-e 's#/sys/fs/cgroup/[^ )]*/(memory\.oom_control|memory\.events)#/sys/fs/cgroup/<CGROUP>/\1#g'
}
