# strace-join.awk: strace -f -tt output, one line per syscall.
#
# Input: one or more files of `strace -f -tt -o FILE` lines, "PID
# HH:MM:SS.UUUUUU CALL". Output: "PID<TAB>SECONDS<TAB>CALL", where a call
# strace split in two ("... <unfinished ...>", then "<... NAME resumed>
# ...") is joined, at the time it returned; but a fork (clone, clone3,
# fork, vfork) keeps the time it was made, which comes before anything
# the child does, and so does a call that never returns (exit_group). SECONDS counts from midnight,
# and keeps counting past the next one, so the lines sort by time.
# Exit lines ("+++ exited with N +++") are kept as they are.
function seconds(clock,   part) {
	split(clock, part, ":")
	t = part[1] * 3600 + part[2] * 60 + part[3]
	if (first == "")
		first = t
	if (t < first - 43200)
		t += 86400
	return t
}
{
	pid = $1
	t = seconds($2)
	call = $0
	sub(/^[0-9]+ +[0-9:.]+ /, "", call)
	if (call ~ / <unfinished \.\.\.>$/) {
		sub(/ <unfinished \.\.\.>$/, "", call)
		pending[pid] = call
		pending_t[pid] = t
		next
	}
	if (call ~ /^<\.\.\. [a-z0-9_]+ resumed>/) {
		sub(/^<\.\.\. [a-z0-9_]+ resumed> ?/, "", call)
		call = pending[pid] call
		if (call ~ /^(clone|clone3|fork|vfork)\(/)
			t = pending_t[pid]
		delete pending[pid]
	} else if (call ~ /^\+\+\+ / && pid in pending) {
		printf "%s\t%.6f\t%s\n", pid, pending_t[pid], pending[pid]
		delete pending[pid]
	}
	printf "%s\t%.6f\t%s\n", pid, t, call
}
