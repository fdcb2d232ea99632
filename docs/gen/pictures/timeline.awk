# timeline.awk: the events timeline-events.awk picked, as text (-v txt=)
# and as an SVG (-v svg=): a lane per process, a row per syscall in time
# order (not to scale), arrows for forks, exits reaped, and data passed.
BEGIN {
	FS = "\t"
	lanes = 6
	split("shimctl create (the manager)|shim parent|shim daemon|predecessor, then runc create|the container (runc init, then sh)|runc start (forked by shimctl start)", lane_name, "|")
	split("shimctl|shim|shim|runc|container|runc", head1, "|")
	split("create|parent|daemon|create||start", head2, "|")
	split("#7b3294|#2166ac|#b2182b|#d9730d|#1b7837|#8c510a", color, "|")
	row_h = 17; top = 96; lane_x0 = 150; lane_dx = 62; text_x = lane_x0 + lanes * lane_dx
	max_chars = 92; width = text_x + int(max_chars * 6.7) + 16
}
function xml(s) {
	gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); gsub(/>/, "\\&gt;", s); gsub(/"/, "\\&quot;", s)
	return s
}
function clip(s) { return length(s) > max_chars ? substr(s, 1, max_chars - 1) "…" : s }
$1 == "E" {
	n++
	ev_lane[n] = $3; ev_ms[n] = $4; ev_text[n] = $5; row_of[$2] = n
	if (!(($3) in first_row))
		first_row[$3] = n
	last_row[$3] = n
	next
}
$1 == "A" { na++; a_from[na] = $2; a_to[na] = $3; a_kind[na] = $4; next }
$1 == "S" { step_event[$2] = $3; next }
END {
	for (i = 1; i <= na; i++)
		arrows_from[row_of[a_from[i]]] = arrows_from[row_of[a_from[i]]] "  -> " lane_name[ev_lane[row_of[a_to[i]]]]

	print "A container's lifecycle from a real run under strace -f -tt (docs/gen/pictures.sh):" > txt
	print "the syscalls that make each step, per process, in the order that process" > txt
	print "made them. Times are since the manager's execve. \"-> X\": an arrow in" > txt
	print "timeline.svg, from this syscall to X's (a fork to the child's first" > txt
	print "syscall, an exit to the wait4 that reaps it, data to its reader)." > txt
	print "The steps of README.md marked on it begin at: 1 the manager's execve," > txt
	print "2 the daemon's setsid, 3 its fork of the predecessor, 4 its read of the" > txt
	print "SIGCHLD of runc's exit, 5 the first syscall after the manager has read" > txt
	print "the report." > txt
	for (l = 1; l <= lanes; l++) {
		printf "\n%d. %s\n", l, lane_name[l] > txt
		for (i = 1; i <= n; i++)
			if (ev_lane[i] == l)
				printf "  +%.3f ms  %s%s\n", ev_ms[i], ev_text[i], arrows_from[i] > txt
	}
	close(txt)

	height = top + n * row_h + 56
	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"11\">\n", width, height, width, height > svg
	print "<defs>" > svg
	split("fork|exit|data", kinds, "|"); split("#222222|#777777|#7b3294", kind_color, "|")
	for (k = 1; k <= 3; k++)
		printf "<marker id=\"%s\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"%s\"/></marker>\n", kinds[k], kind_color[k] > svg
	print "</defs>" > svg
	printf "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", width, height > svg
	printf "<text x=\"12\" y=\"22\" font-size=\"15\" font-weight=\"bold\" font-family=\"Helvetica, Arial, sans-serif\">A container's lifecycle, syscall by syscall (strace -f -tt of shimctl create and start)</text>\n" > svg
	printf "<text x=\"12\" y=\"40\" fill=\"#555555\" font-family=\"Helvetica, Arial, sans-serif\">One row per syscall, in time order (rows are not to scale); ms since the manager's execve. Black: fork. Grey, dashed: exit, to the wait4 that reaps it. Purple: data.</text>\n" > svg
	# The five steps: a band each, from the row where it begins.
	for (k = 1; k <= 5; k++)
		step_row[k] = (k in step_event) ? row_of[step_event[k]] : 0
	step_row[6] = n + 1
	for (k = 1; k <= 5; k++) {
		if (!step_row[k])
			continue
		for (next_k = k + 1; !step_row[next_k]; next_k++)
			;
		y = top + (step_row[k] - 1) * row_h - row_h / 2
		printf "<rect x=\"4\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n", y, width - 8, (step_row[next_k] - step_row[k]) * row_h, k % 2 ? "#eef3f9" : "#fbf6ee" > svg
		printf "<line x1=\"4\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#b8c4d2\"/>\n", y, width - 4, y > svg
		printf "<text x=\"10\" y=\"%d\" font-weight=\"bold\" fill=\"#4a5a6a\" font-family=\"Helvetica, Arial, sans-serif\">step %d</text>\n", y + 13, k > svg
	}
	for (l = 1; l <= lanes; l++) {
		x = lane_x0 + (l - 1) * lane_dx
		printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\" fill=\"%s\">%s</text>\n", x, top - 32, color[l], head1[l] > svg
		printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\" fill=\"%s\">%s</text>\n", x, top - 19, color[l], head2[l] > svg
		if (l in first_row)
			printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\" stroke-opacity=\"0.3\"/>\n", x, top + (first_row[l] - 1) * row_h, x, top + (last_row[l] - 1) * row_h, color[l] > svg
	}
	printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-weight=\"bold\">ms</text>\n", lane_x0 - 34, top - 19 > svg
	printf "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">syscall</text>\n", text_x, top - 19 > svg
	for (i = 1; i <= n; i++) {
		y = top + (i - 1) * row_h
		x = lane_x0 + (ev_lane[i] - 1) * lane_dx
		printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#555555\">+%.3f</text>\n", lane_x0 - 34, y + 4, ev_ms[i] > svg
		printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#cccccc\" stroke-dasharray=\"1,3\"/>\n", x + 6, y, text_x - 6, y > svg
		printf "<circle cx=\"%d\" cy=\"%d\" r=\"4.5\" fill=\"%s\"/>\n", x, y, color[ev_lane[i]] > svg
		printf "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>\n", text_x, y + 4, color[ev_lane[i]], xml(clip(ev_text[i])) > svg
	}
	for (i = 1; i <= na; i++) {
		r1 = row_of[a_from[i]]; r2 = row_of[a_to[i]]
		x1 = lane_x0 + (ev_lane[r1] - 1) * lane_dx; y1 = top + (r1 - 1) * row_h
		x2 = lane_x0 + (ev_lane[r2] - 1) * lane_dx; y2 = top + (r2 - 1) * row_h
		# Stop short of the target dot, along the line.
		dx = x2 - x1; dy = y2 - y1; len = sqrt(dx * dx + dy * dy)
		if (len < 1)
			continue
		x2 -= dx / len * 6; y2 -= dy / len * 6
		k = a_kind[i] == "fork" ? 1 : a_kind[i] == "exit" ? 2 : 3
		printf "<line x1=\"%d\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\"%s marker-end=\"url(#%s)\"/>\n", x1, y1, x2, y2, kind_color[k], a_kind[i] == "exit" ? " stroke-dasharray=\"4,3\"" : "", kinds[k] > svg
	}
	y = top + n * row_h + 20
	printf "<text x=\"12\" y=\"%d\" fill=\"#555555\" font-family=\"Helvetica, Arial, sans-serif\">Drawn by docs/gen/pictures.sh from the trace; the text version, with every line whole, is timeline.txt.</text>\n", y > svg
	print "</svg>" > svg
	close(svg)
}
