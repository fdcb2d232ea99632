#!/usr/bin/env bash
# make-bundle.sh - write an OCI bundle config.json for tests.
#
# Usage: tests/make-bundle.sh BUNDLE_DIR ROOTFS_DIR [--terminal] -- ARG...
#
# Writes BUNDLE_DIR/config.json, derived from bundle-example/config.json, with
#   root.path         = absolute path of ROOTFS_DIR (readonly: false)
#   process.args      = ARG... (JSON-escaped)
#   process.terminal  = true if --terminal is given, false otherwise
# Everything else (mounts, namespaces, rlimits, ...) is kept from the template.
# Needs only bash and coreutils.
set -euo pipefail
export LC_ALL=C   # byte-wise string handling; UTF-8 passes through untouched

prog=${0##*/}
script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
template="$script_dir/../bundle-example/config.json"

usage() {
    echo "usage: $prog BUNDLE_DIR ROOTFS_DIR [--terminal] -- ARG..." >&2
    exit 2
}
die() { echo "$prog: $*" >&2; exit 1; }

# json_escape VAR STRING: store STRING as a quoted JSON string literal in VAR.
json_escape() {
    local s=$2 i c e
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    for ((i = 1; i < 32; i++)); do
        printf -v c "\\x$(printf %02x "$i")"
        [[ $s == *"$c"* ]] || continue
        case $i in
            8)  e='\b' ;;
            9)  e='\t' ;;
            10) e='\n' ;;
            12) e='\f' ;;
            13) e='\r' ;;
            *)  printf -v e '\\u%04x' "$i" ;;
        esac
        s=${s//"$c"/"$e"}
    done
    printf -v "$1" '"%s"' "$s"
}

terminal=false
positional=()
while (($#)); do
    case $1 in
        --) shift; break ;;
        --terminal) terminal=true ;;
        -h|--help) usage ;;
        --*) echo "$prog: unknown option: $1" >&2; usage ;;
        *) positional+=("$1") ;;
    esac
    shift
done
((${#positional[@]} == 2)) || usage
(($# >= 1)) || { echo "$prog: no process arguments after --" >&2; usage; }

bundle_dir=${positional[0]}
rootfs_dir=$(realpath -m -- "${positional[1]}")
[[ -f $template ]] || die "template not found: $template"
[[ -d $rootfs_dir ]] || echo "$prog: warning: rootfs $rootfs_dir does not exist (yet)" >&2

json_escape rootfs_json "$rootfs_dir"

# Rewrite the template line by line (it is pretty-printed, one key per line).
out=()
seen_terminal=0 seen_root=0 seen_args=0 in_args=0 in_root=0
while IFS= read -r line || [[ -n $line ]]; do
    if ((in_args)); then
        # Skip the template's args up to the closing bracket.
        [[ $line =~ ^[[:space:]]*\],?$ ]] || continue
        in_args=0
        out+=("$line")
        continue
    fi
    if [[ $line =~ ^([[:space:]]*)\"terminal\":\ (true|false)(,?)$ ]]; then
        out+=("${BASH_REMATCH[1]}\"terminal\": $terminal${BASH_REMATCH[3]}")
        ((++seen_terminal))
    elif [[ $line =~ ^([[:space:]]*)\"args\":\ \[$ ]]; then
        indent="${BASH_REMATCH[1]}  "
        out+=("$line")
        n=$#
        for ((i = 1; i <= n; i++)); do
            json_escape a "${!i}"
            ((i < n)) && a+=,
            out+=("$indent$a")
        done
        in_args=1
        ((++seen_args))
    elif [[ $line =~ ^([[:space:]]*)\"root\":\ \{$ ]]; then
        out+=("$line")
        in_root=1
    elif ((in_root)) && [[ $line =~ ^([[:space:]]*)\"path\":\ .*[^,](,?)$ ]]; then
        out+=("${BASH_REMATCH[1]}\"path\": $rootfs_json${BASH_REMATCH[2]}")
        ((++seen_root))
    elif ((in_root)) && [[ $line =~ ^([[:space:]]*)\"readonly\":\ (true|false)(,?)$ ]]; then
        out+=("${BASH_REMATCH[1]}\"readonly\": false${BASH_REMATCH[3]}")
    else
        [[ $line =~ ^[[:space:]]*\},?$ ]] && in_root=0
        out+=("$line")
    fi
done < "$template"

((seen_terminal == 1 && seen_args == 1 && seen_root == 1 && in_args == 0)) ||
    die "unexpected layout in $template (terminal=$seen_terminal args=$seen_args root.path=$seen_root)"

mkdir -p -- "$bundle_dir"
tmp="$bundle_dir/.config.json.$$"
printf '%s\n' "${out[@]}" > "$tmp"
mv -f -- "$tmp" "$bundle_dir/config.json"
