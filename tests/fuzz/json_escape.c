/* tests/fuzz/json_escape.c: util.c's json_escape, the one JSON writer
 * behind every report and exit file (steps 4 and 5).
 *
 * The input is any bytes (runc's stderr can be). Beyond not crashing:
 * - the output fits JSON_ESCAPED_MAX(len), the size every caller allocates
 *   (the buffer here is exactly that, so ASan sees one byte too many), and
 *   the returned length is the string's;
 * - it holds no raw control character, no unescaped quote or backslash:
 *   it is a valid JSON string's inside, read back by a strict reader
 *   written apart from util.c (fuzz.c);
 * - read back, it is the input byte for byte where the input is UTF-8,
 *   with U+FFFD for each byte that is not: valid UTF-8 comes back
 *   identical. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *escaped = malloc(JSON_ESCAPED_MAX(size));
	uint8_t *decoded = malloc(JSON_ESCAPED_MAX(size)), *expected = malloc(3 * size + 1);
	const char *why = NULL;
	size_t len, expected_len;
	long decoded_len;

	FUZZ_CHECK(escaped && decoded && expected, "out of memory for %zu bytes", size);
	len = json_escape(escaped, (const char *)data, size);
	FUZZ_CHECK(len < JSON_ESCAPED_MAX(size), "%zu bytes escaped to %zu", size, len);
	FUZZ_CHECK(strlen(escaped) == len, "returned %zu, but the string is %zu bytes", len,
		   strlen(escaped));
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)escaped[i] >= 0x20, "raw control byte 0x%02x at %zu",
			   (unsigned char)escaped[i], i);

	decoded_len = json_string_decode(decoded, escaped, len, &why);
	FUZZ_CHECK(decoded_len >= 0, "not a valid JSON string's inside: %s", why);

	expected_len = utf8_sanitize(expected, data, size);
	FUZZ_CHECK((size_t)decoded_len == expected_len &&
			   memcmp(decoded, expected, expected_len) == 0,
		   "read back as %ld bytes, expected %zu (input %zu bytes)", decoded_len,
		   expected_len, size);
	free(escaped);
	free(decoded);
	free(expected);
	return 0;
}
