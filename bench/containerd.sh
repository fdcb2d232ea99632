#!/usr/bin/env bash
# bench/containerd.sh - containerd 1.6 with our containerd-shim-cshim-v2
# and with its own containerd-shim-runc-v2, side by side in one run: one
# containerd of the script's own, the same runc, rootfs and workloads, the
# two shims taking turns. Prints a Markdown section on stdout (bench/run.sh
# puts it into docs/performance.md); progress on stderr. As root.
#
# Environment:
#   BENCH_RUNS   runs per measurement and per shim (default 5); run and
#                exec get 4 times as many; medians reported
#   BENCH_CONTAINERD_LOG_MIB  MiB of 100-byte lines each throughput
#                container writes to its stdout FIFO (default 256)
#   BENCH_CONTAINERD_FLEET    idle containers at once per shim (default 20)
#   BENCH_DIR    where containerd keeps its state (default /var/tmp)
set -eEuo pipefail
export LC_ALL=C

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${BENCH_RUNS:-5}
LOG_MIB=${BENCH_CONTAINERD_LOG_MIB:-256}
FLEET=${BENCH_CONTAINERD_FLEET:-20}
BASE_DIR=${BENCH_DIR:-/var/tmp}
ROOTFS=$REPO/bundle-example/rootfs
OURS=$REPO/containerd-shim-cshim-v2
GO_SHIM=/usr/bin/containerd-shim-runc-v2
KINDS=(ours go)

say() { printf '%s\n' "bench containerd: $*" >&2; }
die() { say "$*"; exit 1; }

((EUID == 0)) || die "containerd here runs as root"
command -v containerd >/dev/null || die "containerd not found; apt-get install containerd"
[[ -x $GO_SHIM ]] || die "$GO_SHIM not found; apt-get install containerd"
[[ -x $OURS ]] || die "$OURS is not built; run make containerd-shim-cshim-v2"
[[ -x $ROOTFS/bin/busybox ]] || die "$ROOTFS is not prepared; run bundle-example/prepare.sh"

WORK=$(mktemp -d "$BASE_DIR/shim-bench-containerd.XXXXXX")
IN_ROOTFS=/shim-bench-containerd.$$
SOCK=$WORK/containerd.sock
c() { ctr --address "$SOCK" "$@"; }
shim_of() { [[ $1 == ours ]] && echo "$OURS" || echo "$GO_SHIM"; }
cleanup() {
	local status=$? id
	trap - EXIT INT TERM
	for id in $(c containers ls -q 2>/dev/null); do
		c task kill -s KILL "$id" >/dev/null 2>&1 || true
		c task delete -f "$id" >/dev/null 2>&1 || true
		c containers delete "$id" >/dev/null 2>&1 || true
	done
	pkill -TERM -f -- "containerd --config $WORK/containerd.toml" || true
	sleep 1
	rm -rf -- "$WORK" "${ROOTFS:?}$IN_ROOTFS"
	exit "$status"
}
trap cleanup EXIT
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

cat >"$WORK/containerd.toml" <<EOF
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
EOF
(containerd --config "$WORK/containerd.toml" >"$WORK/containerd.log" 2>&1 &)
for _ in $(seq 100); do c version >/dev/null 2>&1 && break; sleep 0.1; done
c version >/dev/null || die "containerd did not start: $(tail -3 "$WORK/containerd.log")"

mkdir -p "$WORK/results" "$ROOTFS$IN_ROOTFS"
LINE=$(head -c 99 /dev/zero | tr '\0' x)
{ yes "$LINE" || true; } | head -n 83886 >"$ROOTFS$IN_ROOTFS/lines-100.txt"
REPS=$((LOG_MIB / 8))
BYTES=$((83886 * 100 * REPS))

record() { printf '%s\n' "$3" >>"$WORK/results/$1.$2"; }
now_ns() { local t=$EPOCHREALTIME; echo $((${t/./} * 1000)); }
order() { if (($1 % 2)); then echo ours go; else echo go ours; fi; }
median() { sort -g "$WORK/results/$1.$2" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
samples() { paste -sd ' ' "$WORK/results/$1.$2" | sed 's/ /, /g'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 <= 0) print "n/a"; else printf "%.3f", a / b }'; }
paired_ratio() {
	paste "$WORK/results/$1.ours" "$WORK/results/$1.go" | awk '{ printf "%.6f\n", $1 / $2 }' |
		sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# The shim's processes for container ID: ours is the task server (which
# hosts the init's core daemon) and a daemon per running exec; the Go shim
# is one process.
shim_pids() { pgrep -f -- "-address $SOCK .*-id $1( |\$)|-id $1 -address $SOCK" || true; }
cpu_ticks() { # the sum of utime + stime over PIDS
	local pid total=0 stat
	for pid in "$@"; do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		read -r -a f <<<"$stat"
		total=$((total + f[11] + f[12]))
	done
	echo "$total"
}

say "work directory $WORK, $RUNS runs each"
for kind in "${KINDS[@]}"; do # warm: the first run pays for cold caches
	c run --rm --runtime "$(shim_of "$kind")" --env PATH=/bin --rootfs "$ROOTFS" "warm-$kind" /bin/true
	c run -d --runtime "$(shim_of "$kind")" --env PATH=/bin --rootfs "$ROOTFS" "base-$kind" /bin/sleep 1000
done

# ---- ctr run --rm true, and ctr task exec, paired ----------------------------
for ((i = 1; i <= RUNS * 4; i++)); do
	for kind in $(order "$i"); do
		start=$(now_ns)
		c run --rm --runtime "$(shim_of "$kind")" --env PATH=/bin --rootfs "$ROOTFS" "r$i-$kind" /bin/true
		record run "$kind" $(($(now_ns) - start))
		start=$(now_ns)
		c task exec --exec-id "x$i" "base-$kind" /bin/true
		record exec "$kind" $(($(now_ns) - start))
	done
done
say "run and exec done"

# ---- the shim's CPU while the container writes to its stdout FIFO -----------
hz=$(getconf CLK_TCK)
for ((i = 1; i <= RUNS; i++)); do
	for kind in $(order "$i"); do
		id=tp$i-$kind
		start=$(now_ns)
		# The container writes, then waits to be told the bytes were all
		# read, so its shim is still there to be measured.
		c run --rm --runtime "$(shim_of "$kind")" --env PATH=/bin --rootfs "$ROOTFS" "$id" /bin/sh -c \
			"i=0; while [ \$i -lt $REPS ]; do cat $IN_ROOTFS/lines-100.txt; i=\$((i + 1)); done; \
			 until [ -e $IN_ROOTFS/done-$id ]; do sleep 0.01; done" | wc -c >"$WORK/count" &
		reader=$!
		for _ in $(seq 600); do [[ -n $(shim_pids "$id") ]] && break; sleep 0.01; done
		pids=$(shim_pids "$id")
		# Read until the reader has every byte (its count is written at EOF,
		# so watch the FIFO's consumer through the shim's idleness instead).
		prev=-1
		while :; do
			sleep 0.2
			ticks=$(cpu_ticks $pids)
			[[ $ticks == "$prev" ]] && break
			prev=$ticks
		done
		wall=$(($(now_ns) - start - 200000000))
		touch "$ROOTFS$IN_ROOTFS/done-$id"
		wait "$reader"
		[[ $(<"$WORK/count") == "$BYTES" ]] || die "$kind: $(<"$WORK/count") bytes read, not $BYTES"
		record cpu "$kind" "$(awk -v t="$ticks" -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')"
		record mibs "$kind" "$(awk -v b="$BYTES" -v ns="$wall" 'BEGIN { printf "%.1f", b / 1048576 / (ns / 1e9) }')"
	done
done
say "throughput done"

# ---- idle memory: FLEET containers of sleep under each -----------------------
for kind in "${KINDS[@]}"; do
	for ((n = 1; n <= FLEET; n++)); do
		c run -d --runtime "$(shim_of "$kind")" --env PATH=/bin --rootfs "$ROOTFS" "idle-$kind-$n" /bin/sleep 1000
	done
	sleep 2
	for ((n = 1; n <= FLEET; n++)); do
		pss=0 rss=0
		for pid in $(shim_pids "idle-$kind-$n"); do
			read -r p r < <(awk '/^Pss:/ { p = $2 } /^Rss:/ { r = $2 } END { print p, r }' "/proc/$pid/smaps_rollup")
			pss=$((pss + p))
			rss=$((rss + r))
		done
		record pss "$kind" "$pss"
		record rss "$kind" "$rss"
	done
	for ((n = 1; n <= FLEET; n++)); do
		c task kill -s KILL "idle-$kind-$n" >/dev/null 2>&1 || true
	done
	sleep 1
	for ((n = 1; n <= FLEET; n++)); do
		c task delete "idle-$kind-$n" >/dev/null 2>&1 || true
		c containers delete "idle-$kind-$n" >/dev/null 2>&1 || true
	done
done
say "memory done"

declare -A M
for metric in run exec cpu mibs pss rss; do
	for kind in "${KINDS[@]}"; do
		M[$metric.$kind]=$(median "$metric" "$kind")
	done
done
ms() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1e6 }'; }
verdict() { awk -v r="$1" -v op="$2" -v l="$3" 'BEGIN { ok = (op == "<=") ? r <= l : r >= l; printf "%s (%s)", ok ? "met" : "**missed**", r }'; }
row() { printf '| %s | %s | %s | %s |\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
r_pss=$(ratio "${M[pss.ours]}" "${M[pss.go]}")
r_cpu=$(ratio "${M[cpu.ours]}" "${M[cpu.go]}")
cat <<EOF
## Under containerd: containerd-shim-cshim-v2 against containerd-shim-runc-v2

\`bench/containerd.sh\`: containerd $(containerd --version | awk '{ print $3 }') of the script's own,
running the same runc, rootfs (\`bundle-example/rootfs\`, \`ctr run --rootfs\`)
and workloads under our shim and under containerd's own Go shim
(\`containerd-shim-runc-v2\`), the two taking turns. Each is one process
per idle container: ours is the task server, which hosts the core's shim
daemon for the container's process (\`shim_host\`); every process of the
shim is counted.

| measurement | ours | runc-v2 (Go) | ours / runc-v2 |
|---|---|---|---|
$(row "\`ctr run --rm ... true\`, wall (ms)" "$(ms "${M[run.ours]}")" "$(ms "${M[run.go]}")")
$(row "\`ctr task exec ... true\`, wall (ms)" "$(ms "${M[exec.ours]}")" "$(ms "${M[exec.go]}")")
$(row "shim CPU while the container writes $LOG_MIB MiB of 100-byte lines to its stdout FIFO (s)" "${M[cpu.ours]}" "${M[cpu.go]}")
$(row "&nbsp;&nbsp;the same, MiB/s to the reader (wall, less 0.2 s of settling)" "${M[mibs.ours]}" "${M[mibs.go]}")
$(row "idle shim PSS per container, $FLEET at once (kB, median)" "${M[pss.ours]}" "${M[pss.go]}")
$(row "idle shim RSS per container, the same (kB, median)" "${M[rss.ours]}" "${M[rss.go]}")

| target (issue 11) | result |
|---|---|
| idle PSS at most 1/20 of the Go shim's | $(verdict "$r_pss" '<=' 0.05) |
| \`ctr run --rm true\` no slower (paired, 5% for noise) | $(verdict "$(paired_ratio run)" '<=' 1.05) |
| \`ctr task exec\` no slower (paired, 5% for noise) | $(verdict "$(paired_ratio exec)" '<=' 1.05) |
| shim CPU while writing at most 1/3 of the Go shim's | $(verdict "$r_cpu" '<=' 0.3333) |

Our shim's idle cost is one process per container with some 60 kB of its
own (data, heap and stack; glibc's static data is most of it, and the
stack and heap pages a burst of work touched are given back after a
second idle) and its share of the code, which every shim on the machine
shares; the Go shim's is one process with some megabytes of its own.

The CPU is utime + stime of the shim's processes from \`/proc/PID/stat\`,
read once they have stopped moving (the container then waits to be told
the reader has everything); runc and the container are not counted.

Samples, in run order (ms; s; kB):
$(for kind in "${KINDS[@]}"; do
	printf -- '- %s run: %s\n' "$kind" "$(for v in $(cat "$WORK/results/run.$kind"); do ms "$v"; echo; done | paste -sd ' ' | sed 's/ /, /g')"
	printf -- '- %s exec: %s\n' "$kind" "$(for v in $(cat "$WORK/results/exec.$kind"); do ms "$v"; echo; done | paste -sd ' ' | sed 's/ /, /g')"
	printf -- '- %s CPU: %s s; MiB/s: %s\n' "$kind" "$(samples cpu "$kind")" "$(samples mibs "$kind")"
	printf -- '- %s idle PSS: %s\n' "$kind" "$(samples pss "$kind")"
done)
EOF
