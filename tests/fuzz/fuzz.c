/* tests/fuzz/fuzz.c: the helpers every fuzz target links (see fuzz.h). */
#define _GNU_SOURCE
#include "fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\n%s:%d: property failed: %s\n  ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* abort, not exit: libFuzzer treats it as a crash and saves the input. */
	abort();
}

uint8_t fuzz_byte(struct fuzz_bytes *in)
{
	if (in->len == 0)
		return 0;
	in->len--;
	return *in->data++;
}

uint16_t fuzz_u16(struct fuzz_bytes *in)
{
	uint16_t high = fuzz_byte(in);

	return (uint16_t)(high << 8 | fuzz_byte(in));
}

uint32_t fuzz_u32(struct fuzz_bytes *in)
{
	uint32_t high = fuzz_u16(in);

	return high << 16 | fuzz_u16(in);
}

size_t fuzz_take(struct fuzz_bytes *in, size_t want, const uint8_t **out)
{
	size_t n = want < in->len ? want : in->len;

	*out = in->data;
	in->data += n;
	in->len -= n;
	return n;
}

static bool in_range(uint8_t byte, uint8_t low, uint8_t high)
{
	return byte >= low && byte <= high;
}

size_t utf8_well_formed(const uint8_t *s, size_t len)
{
	/* Each row: a lead byte range, then the range allowed for the
	 * second byte; any further bytes are 80..BF. */
	static const struct {
		uint8_t lead_low, lead_high, second_low, second_high, length;
	} rows[] = {
		{ 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 },
		{ 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 }, /* not the surrogates D800..DFFF */
		{ 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 },
		{ 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 }, /* not past U+10FFFF */
	};

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (!in_range(s[0], rows[r].lead_low, rows[r].lead_high))
			continue;
		if (len < rows[r].length || !in_range(s[1], rows[r].second_low, rows[r].second_high))
			return 0;
		for (size_t i = 2; i < rows[r].length; i++)
			if (!in_range(s[i], 0x80, 0xbf))
				return 0;
		return rows[r].length;
	}
	return 0;
}

size_t utf8_sanitize(uint8_t *out, const uint8_t *in, size_t len)
{
	size_t i = 0, n = 0;

	while (i < len) {
		size_t seq = utf8_well_formed(in + i, len - i);
		if (seq == 0) {
			memcpy(out + n, "\xef\xbf\xbd", 3);
			n += 3;
			i++;
		} else {
			memcpy(out + n, in + i, seq);
			n += seq;
			i += seq;
		}
	}
	return n;
}

/* The four hex digits at s[0, 4), or -1. */
static long hex4(const char *s, size_t len)
{
	long value = 0;

	if (len < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int digit = c >= '0' && c <= '9'   ? c - '0'
			    : c >= 'a' && c <= 'f' ? c - 'a' + 10
			    : c >= 'A' && c <= 'F' ? c - 'A' + 10
						   : -1;
		if (digit < 0)
			return -1;
		value = value * 16 + digit;
	}
	return value;
}

static size_t put_code_point(uint8_t *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

long json_string_decode(uint8_t *out, const char *s, size_t len, const char **why)
{
	static const char short_escapes[] = "\"\\/bfnrt", short_values[] = "\"\\/\b\f\n\r\t";
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0, n = 0;

	while (i < len) {
		if (u[i] == '"') {
			*why = "an unescaped quote";
			return -1;
		}
		if (u[i] < 0x20) {
			*why = "a raw control character";
			return -1;
		}
		if (u[i] >= 0x80) {
			size_t seq = utf8_well_formed(u + i, len - i);
			if (seq == 0) {
				*why = "bytes that are not UTF-8";
				return -1;
			}
			memcpy(out + n, u + i, seq);
			n += seq;
			i += seq;
			continue;
		}
		if (u[i] != '\\') {
			out[n++] = u[i++];
			continue;
		}
		if (i + 1 == len) {
			*why = "a backslash at the end";
			return -1;
		}
		if (s[i + 1] == 'u') {
			long cp = hex4(s + i + 2, len - i - 2), low;
			if (cp < 0) {
				*why = "\\u without four hex digits";
				return -1;
			}
			i += 6;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				*why = "a lone low surrogate";
				return -1;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (len - i < 6 || s[i] != '\\' || s[i + 1] != 'u' ||
				    (low = hex4(s + i + 2, len - i - 2)) < 0xdc00 || low > 0xdfff) {
					*why = "a lone high surrogate";
					return -1;
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
				i += 6;
			}
			n += put_code_point(out + n, (unsigned long)cp);
			continue;
		}
		const char *e = s[i + 1] ? strchr(short_escapes, s[i + 1]) : NULL;
		if (!e) {
			*why = "an unknown escape";
			return -1;
		}
		out[n++] = (uint8_t)short_values[e - short_escapes];
		i += 2;
	}
	return (long)n;
}

void buf_add(struct fuzz_buf *buf, const void *data, size_t len)
{
	if (buf->len + len + 1 > buf->cap) {
		size_t cap = buf->cap ? buf->cap : 256;
		while (cap < buf->len + len + 1)
			cap *= 2;
		char *grown = realloc(buf->data, cap);
		FUZZ_CHECK(grown != NULL, "realloc %zu bytes failed", cap);
		buf->data = grown;
		buf->cap = cap;
	}
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
}

void buf_str(struct fuzz_buf *buf, const char *text)
{
	buf_add(buf, text, strlen(text));
}

void buf_json_string(struct fuzz_buf *buf, const uint8_t *raw, size_t len)
{
	char *escaped = malloc(JSON_ESCAPED_MAX(len));
	size_t escaped_len;

	FUZZ_CHECK(escaped != NULL, "malloc %zu bytes failed", JSON_ESCAPED_MAX(len));
	escaped_len = json_escape(escaped, (const char *)raw, len);
	buf_add(buf, "\"", 1);
	buf_add(buf, escaped, escaped_len);
	buf_add(buf, "\"", 1);
	free(escaped);
}

void buf_space(struct fuzz_buf *buf, struct fuzz_bytes *in)
{
	static const char space[] = " \t\n\r";
	uint8_t choice = fuzz_byte(in);

	/* Most often none, as the shim writes it; sometimes what a person
	 * or another encoder would put there. */
	for (int i = 0; i < (choice >> 6) - 1; i++)
		buf_add(buf, &space[(choice >> (2 * i)) & 3], 1);
}

const char *buf_text(struct fuzz_buf *buf)
{
	if (!buf->data)
		buf_add(buf, "", 0);
	return buf->data;
}

void buf_free(struct fuzz_buf *buf)
{
	free(buf->data);
	*buf = (struct fuzz_buf){ 0 };
}
