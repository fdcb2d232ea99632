#!/usr/bin/env bash
# docs/gen/run.sh: run the generators of docs/ (see docs/gen/lib.sh).
#
#   docs/gen/run.sh write [NAME...]   regenerate docs/ from real runs (make docs)
#   docs/gen/run.sh check [NAME...]   regenerate into a scratch directory and
#                                     fail if a committed file is stale in
#                                     what it shows (make check)
#
# NAME is a generator, docs/gen/NAME.sh; default: all of them. Needs root
# (runc), the built binaries and the example rootfs (make docs does both).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/../.."
# shellcheck source=docs/gen/lib.sh
source docs/gen/lib.sh

mode=${1:-}
[[ $mode == write || $mode == check ]] || {
	echo "usage: docs/gen/run.sh write|check [NAME...]" >&2
	exit 2
}
shift
if (($#)); then
	generators=("$@")
else
	generators=()
	for script in docs/gen/*.sh; do
		name=${script##*/}
		name=${name%.sh}
		[[ $name == lib || $name == run ]] || generators+=("$name")
	done
fi

if [[ $mode == write ]]; then
	for name in "${generators[@]}"; do
		echo "docs: $name"
		"docs/gen/$name.sh" "$PWD/docs"
	done
	exit 0
fi

scratch=$PWD/build/docs-check
stale=0
for name in "${generators[@]}"; do
	rm -rf -- "$scratch/$name"
	mkdir -p -- "$scratch/$name"
	if ! "docs/gen/$name.sh" "$scratch/$name" >"$scratch/$name.out" 2>&1; then
		echo "FAIL docs $name: the generator failed; its output: $scratch/$name.out"
		tail -n 30 "$scratch/$name.out" | sed 's/^/    /'
		stale=1
		continue
	fi
	while IFS= read -r -d '' file; do
		relative=${file#"$scratch/$name/"}
		committed=docs/$relative
		if [[ ! -e $committed ]]; then
			echo "FAIL docs $name: $committed is missing; run make docs and commit it"
			stale=1
		elif ! diff -u <(mask_shape <"$committed") <(mask_shape <"$file") >"$scratch/$name.diff" 2>&1; then
			echo "FAIL docs $name: $committed is stale in what it shows; run make docs and commit it:"
			head -n 20 "$scratch/$name.diff" | sed 's/^/    /'
			stale=1
		fi
	done < <(find "$scratch/$name" -type f ! -name '*.svg' -print0 | sort -z)
	((stale)) || echo "ok docs $name"
done
exit "$stale"
