#!/usr/bin/env bash
# tests/man.sh: the man pages docs/man/shim.1 and docs/man/shimctl.1 lint
# clean, render, and say what the programs say (make man-check, run by
# make check). Needs the built ./shim and ./shimctl and mandoc.
#
#   lint      mandoc -T lint -W warning reports nothing
#   flags     shim.1's OPTIONS (.It Fl) list exactly the flags of
#             `shim --help` and of args.c's long_options: a flag missing
#             from either side is named
#   synopsis  shim.1's SYNOPSIS names the flags of --help's Usage lines
#   commands  shimctl.1's COMMANDS (.It Cm) list exactly the commands of
#             `shimctl help`, and each with the flags of its synopsis
#   render    man -l (or, without man, mandoc -T ascii) formats the page
#             without a message, and the text shows every flag or command
#
# Prints "ok man CHECK PAGE" or "FAIL man CHECK PAGE: why" per check and
# exits 1 if any failed.
set -uo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.." || exit 1

SHIM=${SHIM:-./shim}
SHIMCTL=${SHIMCTL:-./shimctl}
MAN_DIR=docs/man
failed=0

pass() { echo "ok man $*"; }
fail() {
	echo "FAIL man $*"
	failed=1
}

# compare WHAT LEFT-NAME LEFT-LIST RIGHT-NAME RIGHT-LIST: print, one per
# line, each word of one sorted list that the other lacks; nothing if the
# lists are equal.
compare() {
	local what=$1 left_name=$2 left=$3 right_name=$4 right=$5 word
	while IFS= read -r word; do
		[[ -n $word ]] && echo "$what $word is in $left_name but not in $right_name"
	done < <(comm -23 <(echo "$left") <(echo "$right"))
	while IFS= read -r word; do
		[[ -n $word ]] && echo "$what $word is in $right_name but not in $left_name"
	done < <(comm -13 <(echo "$left") <(echo "$right"))
}

# report CHECK PAGE PROBLEMS: one line for the check, then each problem.
report() {
	local check=$1 page=$2 problems=$3
	if [[ -z $problems ]]; then
		pass "$check $page"
	else
		fail "$check $page: $(echo "$problems" | wc -l) problem(s)"
		echo "$problems" | sed 's/^/    /'
	fi
}

# section PAGE NAME: the lines of the page's section NAME (.Sh NAME up to
# the next .Sh).
section() {
	awk -v name="$2" '/^\.Sh / { inside = ($0 == ".Sh " name); next } inside' "$1"
}

for tool in mandoc "$SHIM" "$SHIMCTL"; do
	if ! command -v "$tool" >/dev/null; then
		fail "setup: $tool not found (make all; make deps installs mandoc)"
		exit 1
	fi
done

# ---- lint ----
for page in shim.1 shimctl.1; do
	messages=$(mandoc -T lint -W warning "$MAN_DIR/$page" 2>&1)
	status=$?
	if ((status != 0)) && [[ -z $messages ]]; then
		messages="mandoc exited with status $status"
	fi
	report lint "$page" "$messages"
done

# ---- shim: flags ----
help=$("$SHIM" --help) || fail "flags shim.1: shim --help exited with status $?"
# The flag list: every line of --help beginning "  --FLAG".
help_flags=$(echo "$help" | sed -n 's/^  \(--[a-z0-9-]*\).*/\1/p' | sort -u)
# What the parser takes: args.c's long_options table.
code_flags=$(sed -n '/long_options\[\] = {/,/^};/s/^[[:space:]]*{ "\([a-z0-9-]*\)".*/--\1/p' args.c | sort -u)
# What the page documents: the entries of OPTIONS, ".It Fl -FLAG ...".
page_flags=$(section "$MAN_DIR/shim.1" OPTIONS | sed -n 's/^\.It Fl \\\{0,1\}\(-[a-z0-9-]*\).*/-\1/p' | sort -u)
problems=""
[[ -n $help_flags ]] || problems+="no flags found in shim --help"$'\n'
[[ -n $code_flags ]] || problems+="no flags found in args.c's long_options"$'\n'
problems+=$(compare flag "shim --help" "$help_flags" "shim.1 OPTIONS" "$page_flags")$'\n'
problems+=$(compare flag "args.c long_options" "$code_flags" "shim --help" "$help_flags")
report flags shim.1 "$(echo "$problems" | sed '/^$/d')"

# ---- shim: synopsis ----
# --help's Usage lines (up to the first line that is not one) name the
# required flags; the page's SYNOPSIS names them and --help, --version.
usage_flags=$(echo "$help" | awk 'NR == 1 || /^            / { print; next } { exit }' |
	grep -o -- '--[a-z0-9-]*' | sort -u)
synopsis_flags=$(section "$MAN_DIR/shim.1" SYNOPSIS | grep -v -- '-help' |
	sed -n 's/^\.Fl \\\{0,1\}\(-[a-z0-9-]*\).*/-\1/p' | sort -u)
problems=$(compare flag "shim --help's Usage" "$usage_flags" "shim.1 SYNOPSIS" "$synopsis_flags")
[[ -n $usage_flags ]] || problems="no flags found in shim --help's Usage lines"
report synopsis shim.1 "$problems"

# ---- shimctl: commands, and each command's flags ----
ctl_help=$("$SHIMCTL" help) || fail "commands shimctl.1: shimctl help exited with status $?"
# Each synopsis line "  shimctl NAME ARGS...  description": the name, then
# the words of the synopsis (flags, [OPTIONAL], METAVARS) up to the first
# word of the description.
help_synopses=$(echo "$ctl_help" | awk '
	$1 == "shimctl" && /^  shimctl / {
		line = $2
		for (i = 3; i <= NF; i++) {
			word = $i
			gsub(/[][]/, "", word)
			if (word ~ /^-/ || word ~ /^[A-Z][A-Z_]*$/) {
				if (word ~ /^-/) line = line " " word
			} else if (word != "") break
		}
		print line
	}' | sort)
# The page: ".It Cm NAME ..." in COMMANDS, with each "Fl X" as -X.
page_synopses=$(section "$MAN_DIR/shimctl.1" COMMANDS | awk '
	/^\.It Cm / {
		line = $3
		for (i = 4; i < NF; i++)
			if ($i == "Fl") { word = $(i + 1); gsub(/\\/, "", word); line = line " -" word }
		print line
	}' | sort)
help_commands=$(echo "$help_synopses" | awk '{ print $1 }' | sort -u)
page_commands=$(echo "$page_synopses" | awk '{ print $1 }' | sort -u)
problems=$(compare command "shimctl help" "$help_commands" "shimctl.1 COMMANDS" "$page_commands")
[[ -n $help_commands ]] || problems="no commands found in shimctl help"
report commands shimctl.1 "$problems"

problems=""
for command in $(comm -12 <(echo "$help_commands") <(echo "$page_commands")); do
	help_words=$(echo "$help_synopses" | awk -v c="$command" '$1 == c { $1 = ""; print }' | tr ' ' '\n' | sed '/^$/d' | sort -u)
	page_words=$(echo "$page_synopses" | awk -v c="$command" '$1 == c { $1 = ""; print }' | tr ' ' '\n' | sed '/^$/d' | sort -u)
	more=$(compare "$command: flag" "shimctl help" "$help_words" "shimctl.1" "$page_words")
	[[ -n $more ]] && problems+="$more"$'\n'
done
report "command-flags" shimctl.1 "$(echo "$problems" | sed '/^$/d')"

# ---- render ----
# man-db formats with groff, which reads mdoc through its own macros: a
# second formatter besides mandoc. The text must show what the page lists.
render() {
	if command -v man >/dev/null; then
		MANWIDTH=80 MANPAGER=cat PAGER=cat man -l "$1"
	else
		mandoc -T ascii "$1"
	fi
}
if command -v man >/dev/null; then renderer="man -l"; else renderer="mandoc -T ascii"; fi
scratch=$(mktemp -d)
trap 'rm -rf -- "$scratch"' EXIT
for page in shim.1 shimctl.1; do
	if [[ $page == shim.1 ]]; then
		expected=$help_flags
	else
		expected=$help_commands
	fi
	problems=""
	if ! render "$MAN_DIR/$page" >"$scratch/out" 2>"$scratch/err"; then
		problems+="$renderer exited with status $?"$'\n'
	fi
	[[ -s $scratch/err ]] && problems+="$(sed "s/^/$renderer: /" "$scratch/err")"$'\n'
	# Bold and underline come as overstrikes when the output is a file.
	sed -i 's/.\x08//g' "$scratch/out"
	grep -q '^NAME' "$scratch/out" || problems+="no NAME section in the output"$'\n'
	for word in $expected; do
		grep -Eq -e "(^|[[:space:]([])$word([]),.;:[:space:]]|\$)" "$scratch/out" ||
			problems+="$word does not appear in the output"$'\n'
	done
	report "render ($renderer)" "$page" "$(echo "$problems" | sed '/^$/d')"
done

exit "$failed"
