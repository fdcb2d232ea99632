/* tests/fuzz/config_terminal.c: runtime.c's config_wants_terminal, the
 * scan of the bundle's config.json for process.terminal that decides
 * whether --terminal agrees with the bundle (step 3). config.json is
 * written by whoever made the bundle, so it is any text.
 *
 * The first byte picks one of two kinds of input:
 * - raw (even): the rest of the input as the file's text, NUL-terminated
 *   in a buffer of exactly that size, so ASan sees any read past the NUL.
 *   It returns 0, -1 with EINVAL (not a bool) or -1 with EBADMSG (not
 *   JSON), and a text without the word "terminal" is never said to want
 *   one;
 * - built (odd): a real JSON object made from the input: top-level keys
 *   with values of every JSON kind (nested objects whose keys are often
 *   "process" and "terminal" themselves, strings holding those words),
 *   and one "process" object among them whose own keys hold "terminal"
 *   at a chosen position with true, false, another kind of value, or not
 *   at all. The answer must be exactly right: true, false, false (absent,
 *   the OCI default, or null, which Go's decoder takes as "leave it"), or
 *   -1 with EINVAL (not a bool). Repeated "process" and "terminal" keys,
 *   case variants and keys spelt with \u escapes are read as runc's Go
 *   decoder reads them (the last wins, a second process object updates
 *   the first); the unit tests hold those cases, and this generator does
 *   not repeat the two keys, to keep its model simple. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEPTH_MAX 4
#define FIELDS_MAX 4

enum terminal_value { TERMINAL_TRUE, TERMINAL_FALSE, TERMINAL_ABSENT, TERMINAL_OTHER };

/* A key: often one of the words the scan looks for, so that they turn up
 * where they must not count; otherwise bytes from the input. */
static void add_key(struct fuzz_buf *json, struct fuzz_bytes *in, const char *forbidden)
{
	static const char *const words[] = { "process", "terminal", "args", "Terminal",
					     "processes", "terminal ", "" };
	uint8_t choice = fuzz_byte(in);
	const uint8_t *raw;
	size_t len;

	if (choice < 128) {
		const char *word = words[choice % (sizeof(words) / sizeof(words[0]))];
		raw = (const uint8_t *)word;
		len = strlen(word);
	} else {
		len = fuzz_take(in, choice & 15, &raw);
	}
	/* The one key that must not be repeated where we are (Go matches it
	 * in any case): the model here does not follow Go's repeats. */
	if (forbidden && len == strlen(forbidden) && strncasecmp((const char *)raw, forbidden, len) == 0)
		len--;
	buf_json_string(json, raw, len);
}

static void add_value(struct fuzz_buf *json, struct fuzz_bytes *in, int depth);

/* An object of up to FIELDS_MAX fields; with terminal set, the process
 * object, holding "terminal" at the chosen position. */
static void add_object(struct fuzz_buf *json, struct fuzz_bytes *in, int depth,
		       const char *forbidden, const char *special_key, size_t special_at,
		       const char *special_value)
{
	size_t fields = depth < DEPTH_MAX ? fuzz_byte(in) % (FIELDS_MAX + 1) : 0, written = 0;

	buf_str(json, "{");
	for (size_t i = 0; i <= fields; i++) {
		bool special = special_key && i == special_at % (fields + 1);
		if (i == fields && !special)
			break;
		if (written++ > 0)
			buf_str(json, ",");
		buf_space(json, in);
		if (special)
			buf_json_string(json, (const uint8_t *)special_key, strlen(special_key));
		else
			add_key(json, in, forbidden);
		buf_space(json, in);
		buf_str(json, ":");
		buf_space(json, in);
		if (special)
			buf_str(json, special_value);
		else
			add_value(json, in, depth + 1);
		buf_space(json, in);
	}
	buf_str(json, "}");
}

static void add_value(struct fuzz_buf *json, struct fuzz_bytes *in, int depth)
{
	static const char *const literals[] = { "true", "false", "null", "0", "-12.5e3", "42" };
	static const char *const words[] = { "terminal", "process", "\"terminal\": true", "{", "}" };
	uint8_t choice = fuzz_byte(in);
	const uint8_t *raw;
	size_t len;

	switch (choice % 5) {
	case 0:
		buf_str(json, literals[(choice >> 3) % (sizeof(literals) / sizeof(literals[0]))]);
		break;
	case 1:
		if (choice & 0x80) {
			const char *word = words[(choice >> 3) % (sizeof(words) / sizeof(words[0]))];
			buf_json_string(json, (const uint8_t *)word, strlen(word));
		} else {
			len = fuzz_take(in, fuzz_byte(in) % 32, &raw);
			buf_json_string(json, raw, len);
		}
		break;
	case 2:
	case 3:
		if (depth >= DEPTH_MAX) {
			buf_str(json, "null");
			break;
		}
		if (choice % 5 == 2) {
			add_object(json, in, depth, NULL, NULL, 0, NULL);
			break;
		}
		buf_str(json, "[");
		for (size_t i = 0, n = fuzz_byte(in) % (FIELDS_MAX + 1); i < n; i++) {
			if (i > 0)
				buf_str(json, ",");
			buf_space(json, in);
			add_value(json, in, depth + 1);
			buf_space(json, in);
		}
		buf_str(json, "]");
		break;
	default:
		buf_str(json, "\"\"");
		break;
	}
}

static void check_built(struct fuzz_bytes *in)
{
	static const char *const others[] = { "\"true\"", "1", "null", "{}", "[true]", "\"\"" };
	struct fuzz_buf json = { 0 }, process = { 0 };
	uint8_t choice = fuzz_byte(in);
	enum terminal_value want = choice % 4;
	const char *value = want == TERMINAL_TRUE ? "true" : "false";
	size_t top_fields = fuzz_byte(in) % (FIELDS_MAX + 1), process_at = fuzz_byte(in);
	bool terminal = !(want == TERMINAL_TRUE);
	int result;

	if (want == TERMINAL_OTHER)
		value = others[(choice >> 2) % (sizeof(others) / sizeof(others[0]))];

	/* The process object first, into a buffer of its own. */
	if (want == TERMINAL_ABSENT)
		add_object(&process, in, 1, "terminal", NULL, 0, NULL);
	else
		add_object(&process, in, 1, "terminal", "terminal", fuzz_byte(in), value);

	/* Then the top level, with it among fuzzed fields. */
	buf_space(&json, in);
	buf_str(&json, "{");
	for (size_t i = 0; i <= top_fields; i++) {
		if (i > 0)
			buf_str(&json, ",");
		buf_space(&json, in);
		if (i == process_at % (top_fields + 1)) {
			buf_str(&json, "\"process\"");
			buf_space(&json, in);
			buf_str(&json, ":");
			buf_space(&json, in);
			buf_add(&json, process.data, process.len);
		} else {
			add_key(&json, in, "process");
			buf_space(&json, in);
			buf_str(&json, ":");
			buf_space(&json, in);
			add_value(&json, in, 1);
		}
		buf_space(&json, in);
	}
	buf_str(&json, "}\n");

	/* null is Go's "leave it as it was": absent. */
	if (want == TERMINAL_OTHER && strcmp(value, "null") == 0)
		want = TERMINAL_ABSENT;
	errno = 0;
	result = config_wants_terminal(buf_text(&json), &terminal);
	if (want == TERMINAL_OTHER) {
		FUZZ_CHECK(result == -1 && errno == EINVAL,
			   "\"terminal\": %s: returned %d (errno %d), expected -1 (EINVAL) for %s",
			   value, result, errno, json.data);
	} else {
		FUZZ_CHECK(result == 0, "returned %d (errno %d) for %s", result, errno, json.data);
		FUZZ_CHECK(terminal == (want == TERMINAL_TRUE), "said %s, the object says %s: %s",
			   terminal ? "true" : "false",
			   want == TERMINAL_ABSENT ? "nothing" : value, json.data);
	}
	buf_free(&json);
	buf_free(&process);
}

static void check_raw(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	bool terminal = false;
	int result;

	FUZZ_CHECK(text != NULL, "out of memory for %zu bytes", size);
	memcpy(text, data, size);
	text[size] = '\0';
	errno = 0;
	result = config_wants_terminal(text, &terminal);
	FUZZ_CHECK(result == 0 || (result == -1 && (errno == EINVAL || errno == EBADMSG)),
		   "returned %d, errno %d", result, errno);
	if (!strcasestr(text, "terminal") && !strstr(text, "\\u"))
		FUZZ_CHECK(result != 0 || !terminal, "found a terminal in a text without the word");
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_bytes in = { data, size };

	if (fuzz_byte(&in) & 1)
		check_built(&in);
	else
		check_raw(in.data, in.len);
	return 0;
}
