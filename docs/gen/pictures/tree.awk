# tree.awk: one moment's processes and their open fds, as text (-v txt=)
# and as a graphviz source (-v dot=), from what pictures.sh read in /proc.
#
# Inputs, in order:
#   roles   "PID KEY RANK LABEL NOTE": the processes we know (a key names
#           the graph node, the rank orders siblings, the note says what
#           the process is doing at this moment)
#   pipes   "INODE NAME": the pipes named so far (the sync pipe, the
#           container's stdin, stdout and stderr, ...)
#   subst   "FROM TO": display substitutions for paths
#   raw     "proc PID PPID STATE COMM CMDLINE", "fd PID FD TARGET FLAGS
#           EXTRA" (EXTRA: a pidfd's Pid, an epoll fd's watched fds, a
#           path's file type), "unix INODE TYPE ST FLAGS PATH"
#           (/proc/net/unix)
#   files   "NAME LINE WRITER": files on disk worth showing, a line each
#           (NAME as displayed; WRITER, the key of who wrote it)
# All tab-separated. What varies from run to run is written in forms
# docs/gen/lib.sh masks: "pid N", inodes as "[N]" (and an O_TMPFILE's
# link, "/#N"), times, the container's ID.
BEGIN {
	FS = "\t"
	pipe_color["sync pipe"] = "#7b3294"
	pipe_color["container stdin"] = "#2166ac"
	pipe_color["container stdout"] = "#1b7837"
	pipe_color["container stderr"] = "#b2182b"
	role_color["manager"] = "#eadff0"
	role_color["parent"] = "#dbe6f3"
	role_color["daemon"] = "#f6dcdc"
	role_color["runc"] = "#fbe5cf"
	role_color["container"] = "#dcefdc"
	role_color["hook"] = "#eeeeee"
}
FILENAME == ARGV[1] { key[$1] = $2; rank[$1] = $3; label[$1] = $4; note[$1] = $5; next }
FILENAME == ARGV[2] { pipe_name[$1] = $2; next }
FILENAME == ARGV[3] { nsub++; sub_from[nsub] = $1; sub_to[nsub] = $2; next }
FILENAME == ARGV[5] {
	if (!($1 in file_lines))
		file_order[++nfiles] = $1
	file_lines[$1]++
	file_line[$1, file_lines[$1]] = $2
	file_writer[$1] = $3
	next
}
$1 == "proc" {
	np++; pids[np] = $2; ppid[$2] = $3; state[$2] = $4; comm[$2] = $5; cmd[$2] = $6
	shown[$2] = 1
	next
}
$1 == "fd" {
	nfd[$2]++; fds[$2, nfd[$2]] = $3
	target[$2, $3] = $4; flags[$2, $3] = $5; extra[$2, $3] = $6
	next
}
$1 == "unix" { utype[$2] = $3; ust[$2] = $4; uflags[$2] = $5; upath[$2] = $6; next }

function display(s,   i, at, file) {
	for (i = 1; i <= nsub; i++)
		while ((at = index(s, sub_from[i])) > 0)
			s = substr(s, 1, at - 1) sub_to[i] substr(s, at + length(sub_from[i]))
	# Where the machine keeps its cgroups is the machine's business.
	if (match(s, /\/sys\/fs\/cgroup\/[^ )]*\/memory\.(oom_control|events)/)) {
		file = substr(s, RSTART, RLENGTH)
		sub(/.*\//, "", file)
		s = substr(s, 1, RSTART - 1) "CGROUP/" file substr(s, RSTART + RLENGTH)
	}
	return s
}
function octal(s,   i, v) {
	v = 0
	for (i = 1; i <= length(s); i++)
		v = v * 8 + substr(s, i, 1)
	return v
}
function inode(t) {
	sub(/^[a-z_]+:\[/, "", t)
	sub(/\]$/, "", t)
	return t
}
function bit(value, b) { return int(value / b) % 2 }
function who(p) { return (p in label) ? label[p] : comm[p] }
function node(p) { return (p in key) ? key[p] : "pid" p }
function html(s) {
	gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); gsub(/"/, "\\&quot;", s)
	return s
}
function quote(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }

# The end of a pipe an fd is (0 read, 1 write), from its open flags.
function pipe_end(p, fd) { return octal(flags[p, fd]) % 4 == 1 ? 1 : 0 }

# What fd is, in words (WHAT[p, fd]), and who holds the pipe's other end
# (PEER[p, fd]); COLOR[p, fd] for a named pipe.
function describe(p, fd,   t, f, acc, ino, name, i, q, g, other, kind, s, path, dir) {
	t = target[p, fd]
	f = octal(flags[p, fd])
	acc = f % 4
	color[p, fd] = ""
	peer[p, fd] = ""
	if (t ~ /^pipe:\[/) {
		ino = inode(t)
		name = (ino in pipe_name) ? pipe_name[ino] : "pipe"
		color[p, fd] = (name in pipe_color) ? pipe_color[name] : "#777777"
		other = ""
		for (i = 1; i <= nholder[ino]; i++) {
			q = holder_pid[ino, i]; g = holder_fd[ino, i]
			if (q == p && g == fd)
				continue
			if (pipe_end(q, g) == pipe_end(p, fd) && q == p)
				continue
			s = (q == p ? "this process" : who(q)) " fd " g
			if (pipe_end(q, g) == pipe_end(p, fd))
				s = "also " s
			other = other (other == "" ? "" : ", ") s
		}
		if (name == "pipe" && bothends[ino] == p)
			name = "a pipe of its own"
		peer[p, fd] = other == "" ? (pipe_end(p, fd) ? "no reader among these" : "no writer among these") \
			: (pipe_end(p, fd) ? "read by " : "written by ") other
		return name ", " (pipe_end(p, fd) ? "write end" : "read end")
	}
	if (t ~ /^socket:\[/) {
		ino = inode(t)
		kind = utype[ino] == "0001" ? "stream" : utype[ino] == "0002" ? "datagram" : utype[ino] == "0005" ? "seqpacket" : "unix"
		s = "unix socket, " kind
		if (bit(octal(uflags[ino]), 65536))
			s = s ", listening"
		else if (ust[ino] == "03")
			s = s ", connected"
		if (upath[ino] ~ /sha256\(ID\)$/ || display(upath[ino]) ~ /sha256\(ID\)$/)
			s = s ": the attach socket, bound as " display(upath[ino])
		else if (upath[ino] != "")
			s = s ", at " display(upath[ino])
		if (!(ino in utype))
			s = "socket (not a unix socket here)"
		return s
	}
	if (t == "anon_inode:[signalfd]")
		return "signalfd: the blocked signals, read as data"
	if (t == "anon_inode:[eventpoll]")
		return key[p] == "daemon" && extra[p, fd] != "" ? "epoll, watching fds " extra[p, fd] : "epoll"
	if (t == "anon_inode:[pidfd]")
		return "pidfd of " (extra[p, fd] in shown ? who(extra[p, fd]) : "pid " extra[p, fd])
	if (t ~ /^anon_inode:/)
		return t
	path = display(t)
	if (path ~ /^CGROUP\/memory\.(oom_control|events)$/)
		return "the container's memory cgroup: its OOM-kill count, " path ", read"
	if (bit(f, 2097152))
		return path ", O_PATH (a " extra[p, fd] ", held)"
	if (path ~ /\/#[0-9]+( \(deleted\))?$/) {
		dir = path
		sub(/#[0-9]+( \(deleted\))?$/, "", dir)
		return "an unnamed file in " dir " (O_TMPFILE), " (acc == 0 ? "read" : acc == 1 ? "write" : "read/write")
	}
	return path ", " (acc == 0 ? "read" : acc == 1 ? "write" : "read/write") (bit(f, 1024) ? ", append" : "")
}

# Children before grandchildren, siblings by rank, then pid.
function sort_children(p,   i, j, a, b, tmp) {
	for (i = 2; i <= nchild[p]; i++)
		for (j = i; j > 1; j--) {
			a = child[p, j - 1]; b = child[p, j]
			if (order(a) <= order(b))
				break
			tmp = child[p, j - 1]; child[p, j - 1] = child[p, j]; child[p, j] = tmp
		}
}
function order(p) { return sprintf("%03d %012d", (p in rank) ? rank[p] : 999, p) }
function sorted_fds(p,   i, j, tmp) {
	for (i = 2; i <= nfd[p]; i++)
		for (j = i; j > 1 && fds[p, j - 1] + 0 > fds[p, j] + 0; j--) {
			tmp = fds[p, j - 1]; fds[p, j - 1] = fds[p, j]; fds[p, j] = tmp
		}
}

function text_tree(p, indent,   i, fd, c) {
	printf "%s%s, pid %s, state %s\n", indent, who(p), p, state[p] > txt
	if (parent_note(p) != "")
		printf "%s    %s\n", indent, parent_note(p) > txt
	if (p in note)
		printf "%s    now: %s\n", indent, note[p] > txt
	printf "%s    command: %s\n", indent, display(cmd[p]) > txt
	for (i = 1; i <= nfd[p]; i++) {
		fd = fds[p, i]
		printf "%s    fd %-3s %s%s  (%s)\n", indent, fd, what[p, fd], peer[p, fd] == "" ? "" : "; " peer[p, fd], display(target[p, fd]) > txt
	}
	for (i = 1; i <= nchild[p]; i++) {
		c = child[p, i]
		printf "%s  |\n", indent > txt
		text_tree(c, indent "  ")
	}
}

function set_depth(p, d,   i) {
	depth[p] = d
	for (i = 1; i <= nchild[p]; i++)
		set_depth(child[p, i], d + 1)
}
# Where a process's parent is, when it is not drawn.
function parent_note(p) {
	if (ppid[p] in shown)
		return ""
	if (key[p] == "daemon")
		return ppid[p] == 1 ? "parent: PID 1 (init), which adopted it when the shim parent exited" \
			: "parent: pid " ppid[p] ", a subreaper, which adopted it when the shim parent exited"
	if (key[p] == "manager")
		return "parent: the generator (not shown)"
	return "parent: pid " ppid[p] " (not shown)"
}
function dot_node(p,   i, fd, bg, c) {
	bg = (key[p] in role_color) ? role_color[key[p]] : "#eeeeee"
	printf "  %s [label=<<table border=\"1\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"2\" color=\"#555555\">\n", node(p) > dot
	printf "    <tr><td colspan=\"2\" bgcolor=\"%s\"><b>%s</b></td></tr>\n", bg, html(who(p)) > dot
	printf "    <tr><td colspan=\"2\" bgcolor=\"%s\">pid %s, state %s</td></tr>\n", bg, p, html(state[p]) > dot
	if (parent_note(p) != "")
		printf "    <tr><td colspan=\"2\" bgcolor=\"%s\">%s</td></tr>\n", bg, html(parent_note(p)) > dot
	if (p in note)
		printf "    <tr><td colspan=\"2\" bgcolor=\"%s\"><i>%s</i></td></tr>\n", bg, html(note[p]) > dot
	for (i = 1; i <= nfd[p]; i++) {
		fd = fds[p, i]
		c = color[p, fd] == "" ? "#000000" : color[p, fd]
		printf "    <tr><td align=\"right\" port=\"l%s\"><font color=\"%s\">%s</font></td><td align=\"left\" port=\"r%s\"><font color=\"%s\">%s</font></td></tr>\n", fd, c, fd, fd, c, html(what[p, fd]) > dot
	}
	print "  </table>>]" > dot
}

END {
	# Nodes by rank, then pid: the order the snapshot found them in
	# depends on which of runc's children started first.
	for (i = 2; i <= np; i++)
		for (j = i; j > 1 && order(pids[j - 1]) > order(pids[j]); j--) {
			tmp = pids[j - 1]; pids[j - 1] = pids[j]; pids[j] = tmp
		}
	# Who holds which pipe: the ends, matched by inode across processes.
	for (i = 1; i <= np; i++) {
		p = pids[i]
		sorted_fds(p)
		for (j = 1; j <= nfd[p]; j++) {
			fd = fds[p, j]
			if (target[p, fd] !~ /^pipe:\[/)
				continue
			ino = inode(target[p, fd])
			n = ++nholder[ino]
			holder_pid[ino, n] = p; holder_fd[ino, n] = fd
		}
	}
	for (ino in nholder) {
		bothends[ino] = ""
		same = 1; r = 0; w = 0
		for (n = 1; n <= nholder[ino]; n++) {
			if (holder_pid[ino, n] != holder_pid[ino, 1])
				same = 0
			if (pipe_end(holder_pid[ino, n], holder_fd[ino, n]))
				w = 1
			else
				r = 1
		}
		if (same && r && w)
			bothends[ino] = holder_pid[ino, 1]
	}
	for (i = 1; i <= np; i++) {
		p = pids[i]
		for (j = 1; j <= nfd[p]; j++)
			what[p, fds[p, j]] = describe(p, fds[p, j])
		if (ppid[p] in shown) {
			child[ppid[p], ++nchild[ppid[p]]] = p
		} else {
			roots++
			root[roots] = p
		}
	}
	for (i = 1; i <= np; i++)
		sort_children(pids[i])
	for (i = 2; i <= roots; i++)
		for (j = i; j > 1 && order(root[j - 1]) > order(root[j]); j--) {
			tmp = root[j - 1]; root[j - 1] = root[j]; root[j] = tmp
		}

	# The text.
	print title > txt
	print "" > txt
	n = split(caption, word, " ")
	line = ""
	for (i = 1; i <= n; i++) {
		if (length(line) + length(word[i]) + 1 > 74) {
			print line > txt
			line = ""
		}
		line = line (line == "" ? "" : " ") word[i]
	}
	print line > txt
	print "" > txt
	print "Each process: its parent above it, its state and command line, and each" > txt
	print "open fd: what it is, and for a pipe who holds the other end (pipes are" > txt
	print "matched by inode), then the fd's link in /proc/PID/fd. state/ is the" > txt
	print "container's directory in $SHIMCTL_ROOT, tmp/ the generator's own," > txt
	print "CGROUP/ the container's memory cgroup." > txt
	for (i = 1; i <= roots; i++) {
		p = root[i]
		print "" > txt
		text_tree(p, "")
	}
	for (i = 1; i <= nfiles; i++) {
		f = file_order[i]
		printf "\nOn disk, %s:\n", f > txt
		for (j = 1; j <= file_lines[f]; j++)
			printf "    %s\n", file_line[f, j] > txt
	}
	close(txt)

	# The graph: parents left of their children, so that a pipe runs from
	# the right side of one box to the left side of the other.
	printf "digraph \"%s\" {\n", name > dot
	printf "  graph [rankdir=LR, nodesep=0.35, ranksep=0.9, fontname=\"Liberation Sans\", fontsize=16, labelloc=t, labeljust=l,\n" > dot
	printf "    label=<<b>%s</b><br/><font point-size=\"11\">Solid arrows: parent to child. Dashed: a pipe, from the fd of its write end to the fd of its read end (matched by inode in /proc/PID/fd).<br/> </font>>]\n", html(title) > dot
	print "  node [shape=plain, fontname=\"Liberation Sans\", fontsize=10]" > dot
	print "  edge [fontname=\"Liberation Sans\", fontsize=9]" > dot
	for (i = 1; i <= roots; i++)
		set_depth(root[i], 0)
	for (i = 1; i <= np; i++)
		dot_node(pids[i])
	for (i = 1; i <= np; i++) {
		p = pids[i]
		for (j = 1; j <= nchild[p]; j++)
			printf "  %s -> %s [penwidth=2]\n", node(p), node(child[p, j]) > dot
	}
	# Files on disk, as notes beside whoever wrote them.
	for (i = 1; i <= nfiles; i++) {
		f = file_order[i]
		printf "  file%d [shape=note, style=filled, fillcolor=\"#fffbe6\", margin=\"0.25,0.1\", fontname=\"Liberation Mono\", fontsize=9, label=\"%s:\\l", i, quote(f) > dot
		for (j = 1; j <= file_lines[f]; j++)
			printf "%s\\l", quote(file_line[f, j]) > dot
		print "\"]" > dot
		for (j = 1; j <= np; j++)
			if (key[pids[j]] == file_writer[f])
				printf "  %s -> file%d [style=dotted, arrowhead=none]\n", node(pids[j]), i > dot
	}
	# Pipes: from each write end to each read end in another process. An
	# edge always runs left to right; toward a reader on the left, it is
	# drawn from the reader with its arrowhead at the tail (dir=back).
	for (i = 1; i <= np; i++) {
		p = pids[i]
		for (j = 1; j <= nfd[p]; j++) {
			fd = fds[p, j]
			if (target[p, fd] !~ /^pipe:\[/ || !pipe_end(p, fd))
				continue
			ino = inode(target[p, fd])
			for (n = 1; n <= nholder[ino]; n++) {
				q = holder_pid[ino, n]; g = holder_fd[ino, n]
				if (q == p || pipe_end(q, g))
					continue
				if (depth[p] <= depth[q])
					printf "  %s:r%s:e -> %s:l%s:w [style=dashed, color=\"%s\", constraint=false]\n", node(p), fd, node(q), g, color[p, fd] > dot
				else
					printf "  %s:r%s:e -> %s:l%s:w [style=dashed, color=\"%s\", constraint=false, dir=back]\n", node(q), g, node(p), fd, color[p, fd] > dot
			}
		}
	}
	print "}" > dot
	close(dot)
}
