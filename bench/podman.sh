#!/usr/bin/env bash
# bench/podman.sh - podman 4.3.1 with shim-conmon and with Debian's conmon,
# side by side in one run: the same runc, rootfs and workloads, the two
# taking turns. Prints a Markdown section on stdout (bench/run.sh puts it
# into docs/performance.md); progress on stderr. As root.
#
# Environment:
#   BENCH_RUNS       runs per measurement and per conmon (default 5); run
#                    and exec get 4 times as many; medians reported
#   BENCH_PODMAN_LOG_MIB  MiB of 100-byte lines each throughput container
#                    writes (default 256)
#   BENCH_DIR        podman's storage and the logs: a disk (default /var/tmp)
#   BENCH_PODMAN_FLEET  containers at once for the idle memory (default 20)
set -eEuo pipefail
export LC_ALL=C

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${BENCH_RUNS:-5}
LOG_MIB=${BENCH_PODMAN_LOG_MIB:-256}
FLEET=${BENCH_PODMAN_FLEET:-20}
BASE_DIR=${BENCH_DIR:-/var/tmp}
ROOTFS=$REPO/bundle-example/rootfs
SHIM_CONMON=$REPO/shim-conmon
CONMON=/usr/bin/conmon
KINDS=(shim conmon)

say() { printf '%s\n' "bench podman: $*" >&2; }
die() { say "$*"; exit 1; }

((EUID == 0)) || die "podman here runs as root"
command -v podman >/dev/null || die "podman not found; apt-get install podman"
[[ -x $CONMON ]] || die "$CONMON not found; apt-get install conmon"
[[ -x $SHIM_CONMON ]] || die "$SHIM_CONMON is not built; run make"
[[ -x $ROOTFS/bin/busybox ]] || die "$ROOTFS is not prepared; run bundle-example/prepare.sh"

WORK=$(mktemp -d "$BASE_DIR/shim-bench-podman.XXXXXX")
IN_ROOTFS=/shim-bench-podman.$$
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	for kind in "${KINDS[@]}"; do
		CONTAINERS_CONF=$WORK/$kind.conf pm rm -a -f -t 0 >/dev/null 2>&1 || true
	done
	rm -rf -- "$WORK" "${ROOTFS:?}$IN_ROOTFS"
	exit "$status"
}
trap cleanup EXIT
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

printf '[engine]\nconmon_path = ["%s"]\n' "$SHIM_CONMON" >"$WORK/shim.conf"
printf '[engine]\nconmon_path = ["%s"]\n' "$CONMON" >"$WORK/conmon.conf"
pm() {
	podman --root "$WORK/root" --runroot "$WORK/runroot" --tmpdir "$WORK/tmp" \
		--storage-driver vfs --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}
RUN=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --rootfs "$ROOTFS")
mkdir -p "$WORK/results" "$ROOTFS$IN_ROOTFS"

# 8 MiB of 100-byte lines, catted until LOG_MIB MiB.
LINES_FILE=$IN_ROOTFS/lines-100.txt
LINE=$(head -c 99 /dev/zero | tr '\0' x)
{ yes "$LINE" || true; } | head -n 83886 >"$ROOTFS$LINES_FILE"
REPS=$((LOG_MIB / 8))
BYTES=$((83886 * 100 * REPS))

record() { printf '%s\n' "$3" >>"$WORK/results/$1.$2"; }
now_ns() { local t=$EPOCHREALTIME; echo $((${t/./} * 1000)); }
with() { CONTAINERS_CONF=$WORK/$1.conf "${@:2}"; }
order() { if (($1 % 2)); then echo shim conmon; else echo conmon shim; fi; }
median() { sort -g "$WORK/results/$1.$2" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
samples() { paste -sd ' ' "$WORK/results/$1.$2" | sed 's/ /, /g'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 <= 0) print "n/a"; else printf "%.2f", a / b }'; }
# The median over rounds of shim / conmon in the same round: podman's own
# time drifts over a run by more than the difference measured, and a pair
# shares the drift.
paired_ratio() {
	paste "$WORK/results/$1.shim" "$WORK/results/$1.conmon" | awk '{ printf "%.6f\n", $1 / $2 }' |
		sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The timing helper (bench/benchhelp.c): its `reap` mode is the monitor's
# subreaper, so it reads the monitor's final CPU time from its zombie.
HELPER=$WORK/benchhelp
cc -std=gnu11 -O2 -Wall -Wextra -o "$HELPER" "$REPO/bench/benchhelp.c" "$REPO/bench/benchfleet.c" \
	"$REPO/bench/benchutil.c"
get() { sed -n "s/^$1=//p" <<<"$RESULT"; }

say "work directory $WORK, $RUNS runs each"
# Warm both: podman's first run creates its storage.
for kind in "${KINDS[@]}"; do
	with "$kind" pm run --rm "${RUN[@]}" /bin/true
	with "$kind" pm run -d --name "warm-$kind" "${RUN[@]}" /bin/sleep 1000 >/dev/null
done

# ---- podman run --rm true, and podman exec, paired -------------------------
for ((i = 1; i <= RUNS * 4; i++)); do
	for kind in $(order "$i"); do
		start=$(now_ns)
		with "$kind" pm run --rm "${RUN[@]}" /bin/true
		record run "$kind" $(($(now_ns) - start))
		start=$(now_ns)
		with "$kind" pm exec "warm-$kind" /bin/true
		record exec "$kind" $(($(now_ns) - start))
	done
done
say "run and exec done"
for kind in "${KINDS[@]}"; do
	with "$kind" pm rm -f -t 0 "warm-$kind" >/dev/null
done

# ---- log throughput: 100-byte lines into podman's k8s-file log ---------------
hz=$(getconf CLK_TCK)
export WORK
for ((i = 1; i <= RUNS; i++)); do
	for kind in $(order "$i"); do
		with "$kind" pm create --name "tp-$kind" "${RUN[@]}" /bin/sh -c \
			"i=0; while [ \$i -lt $REPS ]; do cat $LINES_FILE; i=\$((i + 1)); done" >/dev/null
		comm=$([[ $kind == shim ]] && echo shim-conmon || echo conmon)
		RESULT=$(CONTAINERS_CONF=$WORK/$kind.conf "$HELPER" reap --comm "$comm" -- \
			bash -c "$(declare -f pm); pm start tp-$kind >/dev/null && pm wait tp-$kind >/dev/null")
		[[ $(get command_status) == 0 && $(get monitors) == 1 ]] ||
			die "$kind: podman start/wait failed, or no $comm was seen: $RESULT"
		wall=$(get wall_ns)
		ticks=$(get cpu_ticks)
		log=$(pm inspect --format '{{.HostConfig.LogConfig.Path}}' "tp-$kind")
		# Nobody wins by dropping lines: every one is in the log.
		lines=$(grep -c ' stdout F ' "$log")
		[[ $lines == $((83886 * REPS)) ]] || die "$kind: $lines lines in the log, not $((83886 * REPS))"
		record mibs "$kind" "$(awk -v b="$BYTES" -v ns="$wall" 'BEGIN { printf "%.1f", b / 1048576 / (ns / 1e9) }')"
		record cpu "$kind" "$(awk -v t="$ticks" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')"
		with "$kind" pm rm "tp-$kind" >/dev/null
		sync
	done
done
say "throughput done"

# ---- idle memory: FLEET containers of sleep under each, at once -------------
for kind in "${KINDS[@]}"; do
	for ((n = 1; n <= FLEET; n++)); do
		with "$kind" pm run -d --name "idle-$kind-$n" "${RUN[@]}" /bin/sleep 1000 >/dev/null
	done
	sleep 2 # every monitor idle in its loop
	for ((n = 1; n <= FLEET; n++)); do
		monitor=$(pm inspect --format '{{.State.ConmonPid}}' "idle-$kind-$n")
		awk '/^Pss:/ { pss = $2 } /^Private_(Clean|Dirty):/ { uss += $2 } /^Rss:/ { rss = $2 }
			END { print pss, uss, rss }' "/proc/$monitor/smaps_rollup" >"$WORK/mem"
		read -r pss uss rss <"$WORK/mem"
		record pss "$kind" "$pss"
		record uss "$kind" "$uss"
		record rss "$kind" "$rss"
	done
	with "$kind" pm rm -a -f -t 0 >/dev/null
done
say "memory done"

# ---- the section -------------------------------------------------------------
declare -A M
for metric in run exec mibs cpu pss uss rss; do
	for kind in "${KINDS[@]}"; do
		M[$metric.$kind]=$(median "$metric" "$kind")
	done
done
ms() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1e6 }'; }
verdict() { # RATIO OP LIMIT
	awk -v r="$1" -v op="$2" -v l="$3" 'BEGIN { ok = (op == "<=") ? r <= l : r >= l; printf "%s (%s)", ok ? "met" : "**missed**", r }'
}
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
r_run=$(paired_ratio run)
r_exec=$(paired_ratio exec)
r_mibs=$(ratio "${M[mibs.shim]}" "${M[mibs.conmon]}")
r_cpu=$(ratio "${M[cpu.shim]}" "${M[cpu.conmon]}")
r_pss=$(ratio "${M[pss.shim]}" "${M[pss.conmon]}")
cat <<EOF
## Under podman: shim-conmon against conmon

\`bench/podman.sh\`: podman $(podman --version | awk '{ print $3 }') with \`conmon_path\` set to
\`shim-conmon\` or to Debian's conmon $(conmon --version | awk 'NR == 1 { print $3 }'), through a
\`containers.conf\` each, the same runc, rootfs (\`bundle-example/rootfs\`) and
flags (\`--network none\`, the ulimits this machine needs), podman's
storage in a directory of its own. The two take turns going first.

| measurement | shim-conmon | conmon | shim-conmon / conmon |
|---|---|---|---|
$(row "\`podman run --rm ... true\`, wall (ms)" "$(ms "${M[run.shim]}")" "$(ms "${M[run.conmon]}")")
$(row "\`podman exec ... true\`, wall (ms)" "$(ms "${M[exec.shim]}")" "$(ms "${M[exec.conmon]}")")
$(row "log throughput, 100-byte lines, \`podman start\` to \`podman wait\` (MiB/s)" "${M[mibs.shim]}" "${M[mibs.conmon]}")
$(row "monitor CPU time for those $LOG_MIB MiB (s)" "${M[cpu.shim]}" "${M[cpu.conmon]}")
$(row "idle monitor PSS, $FLEET containers at once (kB, median)" "${M[pss.shim]}" "${M[pss.conmon]}")
$(row "idle monitor USS, the same (kB, median)" "${M[uss.shim]}" "${M[uss.conmon]}")
$(row "idle monitor RSS, the same (kB, median)" "${M[rss.shim]}" "${M[rss.conmon]}")

| target (issue 10) | result |
|---|---|
| \`podman run\` no slower than with conmon (paired) | $(verdict "$r_run" '<=' 1.05) |
| \`podman exec\` no slower than with conmon (paired) | $(verdict "$r_exec" '<=' 1.05) |
| log throughput at least 2x conmon's | $(verdict "$r_mibs" '>=' 2) |
| ... at no more than 1/3 of its CPU | $(verdict "$r_cpu" '<=' 0.3333) |
| idle PSS at most 1/3 of conmon's | $(verdict "$r_pss" '<=' 0.3333) |

"No slower" is judged by the median of the ratios within each round
(the two run back to back, taking turns going first), and allows 5% for
noise: both walls are mostly podman's own work (well over a hundred
milliseconds of Go before and after the monitor runs), which drifts
upwards over a run by more than the monitors' difference (see the
samples), and a pair shares the drift. The throughput's wall time includes \`podman start\` and
\`podman wait\`, so the ratio understates the monitors' own difference;
the CPU row is the monitor's alone (utime + stime from \`/proc/PID/stat\`
of its zombie: \`benchhelp reap\` is its subreaper; not its children, so
neither runc nor the exit command). Every log was checked
to hold every line. PSS is each monitor's share of the pages it maps, with
$FLEET monitors of its kind running: \`shim-conmon\` is linked statically,
so its code is shared only among its own; conmon's libc and glib are shared
with the rest of the machine.

Samples, in run order (ms; MiB/s; s; kB):
$(for kind in "${KINDS[@]}"; do
	printf -- '- %s run: %s\n' "$kind" "$(for v in $(cat "$WORK/results/run.$kind"); do ms "$v"; echo; done | paste -sd ' ' | sed 's/ /, /g')"
	printf -- '- %s exec: %s\n' "$kind" "$(for v in $(cat "$WORK/results/exec.$kind"); do ms "$v"; echo; done | paste -sd ' ' | sed 's/ /, /g')"
	printf -- '- %s throughput: %s MiB/s; CPU %s s\n' "$kind" "$(samples mibs "$kind")" "$(samples cpu "$kind")"
	printf -- '- %s idle PSS: %s\n' "$kind" "$(samples pss "$kind")"
done)
EOF
