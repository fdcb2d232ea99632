#!/usr/bin/env bash
# demo.sh: one container through the shim, narrated step by step: create
# it, look at who is whose parent, start it, follow its log, wait for its
# exit status, delete it. `make demo` builds shim and shimctl and fills
# bundle-example/rootfs first; the example prints the time every second
# for 3 seconds.
set -euo pipefail
cd -- "$(dirname -- "${BASH_SOURCE[0]}")"

id=demo-$$
state=${SHIMCTL_ROOT:-/run/shimctl}/$id

say() { printf '==> %s\n' "$*"; }

# If a step fails, do not leave the container behind.
cleanup() { [[ ! -d $state ]] || ./shimctl delete "$id" || true; }
trap cleanup EXIT

if [[ -d $state ]]; then
    say "deleting a leftover container $id"
    ./shimctl delete "$id"
fi

say "creating container $id from bundle-example: ./shimctl create $id --bundle bundle-example"
./shimctl create "$id" --bundle bundle-example
shim_pid=$(<"$state/shim.pid")
container_pid=$(<"$state/container.pid")

say "the shim daemon, pid $shim_pid (from $state/shim.pid); its own parent exited at once, so it was adopted:"
ps -o pid,ppid,args -p "$shim_pid"

if pgrep -f -- "create --bundle .* $id\$" >/dev/null; then
    say "runc create is still running (unexpected):"
    pgrep -a -f -- "create --bundle .* $id\$"
else
    say "runc: none left; runc create exited as soon as the container was created"
fi

container_ppid=$(ps -o ppid= -p "$container_pid" | tr -d ' ')
say "the container, pid $container_pid (from $state/container.pid); it is still 'runc init', waiting for start:"
ps -o pid,ppid,args -p "$container_pid"
if [[ $container_ppid == "$shim_pid" ]]; then
    say "its parent, $container_ppid, is the shim: runc exited and the shim, a child subreaper, adopted it"
else
    say "its parent is $container_ppid, not the shim $shim_pid (unexpected)"
fi

say "starting it: ./shimctl start $id"
./shimctl start "$id"

say "following its output until it exits: ./shimctl logs -f $id"
./shimctl logs -f "$id"

say "its exit status, from $state/exit.json: ./shimctl wait $id"
wait_status=0
exit_json=$(./shimctl wait "$id") || wait_status=$?
printf '%s\n' "$exit_json"
say "shimctl wait exited with $wait_status, the container's exit code"

say "deleting it: ./shimctl delete $id"
./shimctl delete "$id"
say "done: $state is gone"
