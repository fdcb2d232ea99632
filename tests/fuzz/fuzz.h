/* tests/fuzz/fuzz.h: what the libFuzzer targets in this directory share.
 *
 * A target is more than "it does not crash": each checks a property of
 * what the code under test returned, and a property that does not hold is
 * reported like a crash (abort), so libFuzzer saves the input. The
 * reference code here (UTF-8 validation, a JSON string reader) is written
 * apart from util.c and jsonread.c on purpose: a check that shares the
 * code it checks shares its bugs. */
#ifndef SHIM_FUZZ_H
#define SHIM_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A property that must hold: if it does not, print why and abort. */
#define FUZZ_CHECK(cond, ...)                                                       \
	do {                                                                        \
		if (!(cond))                                                        \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);          \
	} while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The fuzzer's bytes, taken from the front as typed values. Once they run
 * out every value is 0, so a short input is still a valid program. */
struct fuzz_bytes {
	const uint8_t *data;
	size_t len;
};

uint8_t fuzz_byte(struct fuzz_bytes *in);
uint16_t fuzz_u16(struct fuzz_bytes *in);
uint32_t fuzz_u32(struct fuzz_bytes *in); /* big-endian, as the others */
/* At most want bytes, fewer if the input ends first; *out points at them. */
size_t fuzz_take(struct fuzz_bytes *in, size_t want, const uint8_t **out);

/* The length of the well-formed UTF-8 sequence at s (at most len bytes),
 * or 0: Unicode's table of well-formed byte sequences (Table 3-7), checked
 * byte by byte rather than by decoding. */
size_t utf8_well_formed(const uint8_t *s, size_t len);

/* What json_escape promises to keep of len bytes: each well-formed UTF-8
 * sequence as it is, each other byte as U+FFFD (EF BF BD). out must hold
 * 3 * len bytes; returns the length. */
size_t utf8_sanitize(uint8_t *out, const uint8_t *in, size_t len);

/* Decode the inside of a JSON string, s[0, len) (no quotes), strictly as
 * RFC 8259 says: no raw control characters, no unescaped quote, only the
 * eight short escapes and \uXXXX (surrogates only in pairs), well-formed
 * UTF-8. out must hold len bytes. Returns the decoded length, or -1 with
 * *why saying what was wrong. */
long json_string_decode(uint8_t *out, const char *s, size_t len, const char **why);

/* A growing buffer for building inputs (JSON texts); aborts when out of
 * memory, which in a fuzz target is a finding of its own. */
struct fuzz_buf {
	char *data;
	size_t len, cap;
};

void buf_add(struct fuzz_buf *buf, const void *data, size_t len);
void buf_str(struct fuzz_buf *buf, const char *text);
/* A JSON string: raw[0, len) through json_escape, in quotes. */
void buf_json_string(struct fuzz_buf *buf, const uint8_t *raw, size_t len);
/* 0 to 2 bytes of JSON whitespace, chosen by the input. */
void buf_space(struct fuzz_buf *buf, struct fuzz_bytes *in);
/* NUL-terminated data, so it can be passed as a C string. */
const char *buf_text(struct fuzz_buf *buf);
void buf_free(struct fuzz_buf *buf);

#endif
