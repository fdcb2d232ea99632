/* tests/fuzz/ctl_line.c: ctl.c's parse_ctl_line, which reads the lines a
 * manager (or anyone who can open the FIFO) writes to the control FIFO
 * (step 5): "TYPE WIDTH HEIGHT", the newline already removed.
 *
 * The input is what a writer puts into the FIFO: it is cut into lines at
 * each newline, as ctl.c cuts them, and each line (in a buffer of exactly
 * its size, cut at a NUL as the shim's C string would be) is parsed.
 * Beyond not crashing or reading past the NUL:
 * - an accepted line's values are bounded: TYPE is one of the three
 *   known types, WIDTH and HEIGHT fit a struct winsize (65535);
 * - an accepted line, written back as "%d %u %u", parses to the same
 *   values;
 * - the line is accepted exactly when it matches the grammar written
 *   here apart from ctl.c: spaces, three decimal numbers separated by
 *   spaces, then only spaces or a '\r' (a line from a CRLF writer). A
 *   parser that takes a sign, a tab, a fourth number or a trailing word
 *   is caught. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The grammar, by hand: " *N +N +N[ \r]*" where each N is decimal digits
 * worth at most 65535 and the first at most CTL_REOPEN_LOG. */
static bool reference_parse(const char *line, unsigned long values[3])
{
	const char *p = line;

	for (int i = 0; i < 3; i++) {
		const char *start;
		if (i > 0 && *p != ' ')
			return false; /* numbers are separated by at least one space */
		while (*p == ' ')
			p++;
		start = p;
		values[i] = 0;
		while (*p >= '0' && *p <= '9') {
			if (values[i] <= 65535) /* stop counting, not overflowing, past the bound */
				values[i] = values[i] * 10 + (unsigned long)(*p - '0');
			p++;
		}
		if (p == start || values[i] > 65535)
			return false;
	}
	while (*p == ' ' || *p == '\r')
		p++;
	return *p == '\0' && values[0] <= CTL_REOPEN_LOG;
}

/* One line, the newline removed. */
static void check_line(const uint8_t *data, size_t size)
{
	/* Exactly the line and its NUL, so ASan sees a read one byte past. */
	char *line = malloc(size + 1), again[64];
	unsigned long expected[3];
	unsigned width = 0, height = 0, width2, height2;
	int type = -1, type2, result;
	bool accept;

	FUZZ_CHECK(line != NULL, "out of memory for %zu bytes", size);
	memcpy(line, data, size);
	line[size] = '\0';

	errno = 0;
	result = parse_ctl_line(line, &type, &width, &height);
	accept = reference_parse(line, expected);
	FUZZ_CHECK(result == 0 || result == -1, "returned %d", result);
	FUZZ_CHECK(result == -1 || accept, "accepted a line outside the grammar: \"%s\"", line);
	FUZZ_CHECK(result == 0 || !accept, "refused a line of the grammar: \"%s\"", line);
	if (result < 0) {
		FUZZ_CHECK(errno == EINVAL, "refused with errno %d, not EINVAL", errno);
	} else {
		FUZZ_CHECK(type >= CTL_CLOSE_STDIN && type <= CTL_REOPEN_LOG, "type %d", type);
		FUZZ_CHECK(width <= 65535 && height <= 65535, "size %ux%u", width, height);
		FUZZ_CHECK((unsigned long)type == expected[0] && width == expected[1] &&
				   height == expected[2],
			   "\"%s\" read as %d %u %u, expected %lu %lu %lu", line, type, width,
			   height, expected[0], expected[1], expected[2]);

		snprintf(again, sizeof(again), "%d %u %u", type, width, height);
		FUZZ_CHECK(parse_ctl_line(again, &type2, &width2, &height2) == 0,
			   "\"%s\" (written back from \"%s\") refused", again, line);
		FUZZ_CHECK(type2 == type && width2 == width && height2 == height,
			   "\"%s\" read back as %d %u %u", again, type2, width2, height2);
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t start = 0;

	for (size_t i = 0; i <= size; i++) {
		/* The last piece is a line too: one without its newline yet. */
		if (i == size || data[i] == '\n') {
			check_line(data + start, i - start);
			start = i + 1;
		}
	}
	return 0;
}
