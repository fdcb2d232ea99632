/* tests/fuzz/flat_json.c: jsonread.c's flat_json_parse and its getters,
 * shimctl's reader of the shim's reports and exit files (the manager's
 * side of steps 4 and 5). A report carries runc's stderr, so its strings
 * hold anything.
 *
 * The first byte picks one of two kinds of input:
 * - built (odd): an object of up to JSON_FIELDS_MAX fields made from the
 *   input (the keys the shim writes, or fuzzed ones; fuzzed strings
 *   written by json_escape or as another encoder would, all \u escapes
 *   and surrogate pairs; integers from LLONG_MIN to LLONG_MAX), with
 *   fuzzed whitespace. It must parse, and give back every field in
 *   order: each key (up to a \u0000, where the C string ends), each
 *   string to the byte with its length (invalid UTF-8 as U+FFFD, as
 *   json_escape wrote it), each integer exactly; flat_json_get finds the
 *   first field of each key, flat_json_string and flat_json_number
 *   agree with it. The same text cut anywhere before its closing brace
 *   is refused.
 * - raw (even): the rest of the input as text, NUL-terminated in a buffer
 *   of exactly that size, so ASan sees a read past the NUL. It is
 *   accepted only if it is a flat object by the grammar written here
 *   apart from jsonread.c (allowing what jsonread.c knowingly allows:
 *   leading zeros, bytes that are not UTF-8, lone surrogates), and it is
 *   accepted whenever it is one by RFC 8259's stricter rules; then every
 *   key and value is what the grammar's own decoder makes of it. What it
 *   accepts, written back with json_escape, parses to the same values. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "jsonread.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the grammar, by hand ---- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

/* A string or an integer as the grammar read it (strict only). */
struct grammar_value {
	uint8_t *string; /* decoded, malloc'd; NULL for an integer */
	size_t len;
	long long number;
};

/* The string whose opening quote is at p: its end, past the closing
 * quote, or NULL. strict: RFC 8259 to the letter (fuzz.c's reader), the
 * decoded string into *value; otherwise only its structure (no raw
 * control characters, known escapes with their hex digits), as
 * jsonread.c reads it. */
static const char *grammar_string(const char *p, bool strict, struct grammar_value *value)
{
	const char *start = p + 1, *why;
	uint8_t *decoded;
	long len;

	if (*p != '"')
		return NULL;
	for (p = start; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL; /* a control character, or the end */
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++) {
				char c = p[i];
				if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
				      (c >= 'A' && c <= 'F')))
					return NULL;
			}
			p += 4;
		} else if (*p == '\0' || !strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	if (!strict)
		return p + 1;
	decoded = malloc((size_t)(p - start) + 1);
	FUZZ_CHECK(decoded != NULL, "out of memory");
	len = json_string_decode(decoded, start, (size_t)(p - start), &why);
	if (len < 0) {
		free(decoded);
		return NULL;
	}
	*value = (struct grammar_value){ .string = decoded, .len = (size_t)len };
	return p + 1;
}

/* An integer that fits a long long: -?(0|[1-9][0-9]*), or with leading
 * zeros when not strict. */
static const char *grammar_integer(const char *p, bool strict, struct grammar_value *value)
{
	const char *digits = *p == '-' ? p + 1 : p, *end = digits;
	char *number_end;
	long long number;

	while (*end >= '0' && *end <= '9')
		end++;
	if (end == digits || (strict && *digits == '0' && end - digits > 1))
		return NULL;
	errno = 0;
	number = strtoll(p, &number_end, 10);
	if (errno != 0 || number_end != end)
		return NULL;
	*value = (struct grammar_value){ .number = number };
	return end;
}

/* true or false: the numbers 1 and 0 (the exit file's "oomKilled":true). */
static const char *grammar_literal(const char *p, struct grammar_value *value)
{
	if (strncmp(p, "true", 4) == 0) {
		*value = (struct grammar_value){ .number = 1 };
		return p + 4;
	}
	if (strncmp(p, "false", 5) == 0) {
		*value = (struct grammar_value){ .number = 0 };
		return p + 5;
	}
	return NULL;
}

/* Is text one flat object? When strict, values gets its keys and values
 * in order (two per field), to be freed with free_values. */
static bool grammar_flat_object(const char *p, bool strict,
				struct grammar_value values[2 * JSON_FIELDS_MAX], size_t *fields)
{
	struct grammar_value ignored;

	*fields = 0;
	p = skip_ws(p);
	if (*p++ != '{')
		return false;
	p = skip_ws(p);
	while (*p != '}') {
		struct grammar_value *key = strict ? &values[2 * *fields] : &ignored;
		struct grammar_value *value = strict ? key + 1 : &ignored;

		if (*fields > 0 && *p++ != ',')
			return false;
		if (*fields == JSON_FIELDS_MAX)
			return false;
		if (!(p = grammar_string(skip_ws(p), strict, key)))
			return false;
		*value = (struct grammar_value){ 0 };
		++*fields; /* the key is held: free_values frees it */
		p = skip_ws(p);
		if (*p++ != ':')
			return false;
		p = skip_ws(p);
		p = *p == '"'		     ? grammar_string(p, strict, value)
		    : (*p == 't' || *p == 'f') ? grammar_literal(p, value)
					     : grammar_integer(p, strict, value);
		if (!p)
			return false;
		p = skip_ws(p);
	}
	return *skip_ws(p + 1) == '\0';
}

static void free_values(struct grammar_value values[2 * JSON_FIELDS_MAX], size_t fields)
{
	for (size_t i = 0; i < 2 * fields; i++)
		free(values[i].string);
}

/* ---- writing objects ---- */

struct field_spec {
	const uint8_t *key;
	size_t key_len;
	bool is_string;
	const uint8_t *string;
	size_t string_len;
	long long number;
	bool foreign; /* written as another encoder would, not by json_escape */
};

/* A JSON string as an encoder other than ours may write it: everything
 * outside printable ASCII as \uXXXX (upper or lower case hex), code
 * points past U+FFFF as surrogate pairs, '/' as \/, what is not UTF-8 as
 * \ufffd. It must read back exactly as json_escape's form does. */
static void add_u_escape(struct fuzz_buf *json, unsigned long value, bool upper)
{
	char escape[8];

	snprintf(escape, sizeof(escape), upper ? "\\u%04lX" : "\\u%04lx", value);
	buf_str(json, escape);
}

static void buf_json_string_foreign(struct fuzz_buf *json, const uint8_t *raw, size_t len,
				    bool upper)
{
	buf_str(json, "\"");
	for (size_t i = 0; i < len;) {
		size_t seq = utf8_well_formed(raw + i, len - i);
		unsigned long cp;

		if (seq == 0) {
			buf_str(json, "\\ufffd");
			i++;
			continue;
		}
		/* The code point, from the lead byte's bits and 6 per byte after. */
		cp = seq == 1 ? raw[i] : raw[i] & (0x7f >> seq);
		for (size_t k = 1; k < seq; k++)
			cp = cp << 6 | (raw[i + k] & 0x3f);
		i += seq;
		if (cp >= 0x10000) {
			add_u_escape(json, 0xd800 + ((cp - 0x10000) >> 10), upper);
			add_u_escape(json, 0xdc00 + ((cp - 0x10000) & 0x3ff), upper);
		} else if (cp < 0x20 || cp >= 0x7f || cp == '"' || cp == '\\') {
			add_u_escape(json, cp, upper);
		} else if (cp == '/') {
			buf_str(json, "\\/");
		} else {
			char c = (char)cp;
			buf_add(json, &c, 1);
		}
	}
	buf_str(json, "\"");
}

static void write_object(struct fuzz_buf *json, const struct field_spec *fields, size_t count,
			 struct fuzz_bytes *in)
{
	buf_space(json, in);
	buf_str(json, "{");
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			buf_str(json, ",");
		buf_space(json, in);
		if (fields[i].foreign)
			buf_json_string_foreign(json, fields[i].key, fields[i].key_len, i & 1);
		else
			buf_json_string(json, fields[i].key, fields[i].key_len);
		buf_space(json, in);
		buf_str(json, ":");
		buf_space(json, in);
		if (fields[i].is_string && fields[i].foreign) {
			buf_json_string_foreign(json, fields[i].string, fields[i].string_len, i & 1);
		} else if (fields[i].is_string) {
			buf_json_string(json, fields[i].string, fields[i].string_len);
		} else {
			char number[32];
			snprintf(number, sizeof(number), "%lld", fields[i].number);
			buf_str(json, number);
		}
		buf_space(json, in);
	}
	buf_str(json, "}");
	buf_space(json, in);
}

/* Check that obj holds exactly fields[0, count): what json_escape wrote,
 * read back. */
static void check_fields(const struct flat_json *obj, const struct field_spec *fields,
			 size_t count)
{
	FUZZ_CHECK(obj->count == count, "%zu fields read, %zu written", obj->count, count);
	for (size_t i = 0; i < count; i++) {
		const struct json_field *field = &obj->fields[i], *first = NULL;
		uint8_t *key = malloc(3 * fields[i].key_len + 1);
		size_t key_len;
		long long number;

		FUZZ_CHECK(key != NULL, "out of memory");
		key_len = utf8_sanitize(key, fields[i].key, fields[i].key_len);
		key[key_len] = '\0'; /* a C string ends at a \u0000: so does the key */
		FUZZ_CHECK(field->key && strcmp(field->key, (char *)key) == 0,
			   "field %zu: key \"%s\" read as \"%s\"", i, key, field->key);

		for (size_t j = 0; j < count && !first; j++)
			if (strcmp(obj->fields[j].key, field->key) == 0)
				first = &obj->fields[j];
		FUZZ_CHECK(flat_json_get(obj, field->key) == first,
			   "flat_json_get(\"%s\") is not its first field", field->key);
		FUZZ_CHECK(flat_json_string(obj, field->key) == first->string,
			   "flat_json_string(\"%s\") disagrees with its field", field->key);
		FUZZ_CHECK(flat_json_number(obj, field->key, &number) == !first->string &&
				   (first->string || number == first->number),
			   "flat_json_number(\"%s\") disagrees with its field", field->key);

		if (fields[i].is_string) {
			uint8_t *expected = malloc(3 * fields[i].string_len + 1);
			size_t expected_len;

			FUZZ_CHECK(expected != NULL, "out of memory");
			expected_len = utf8_sanitize(expected, fields[i].string, fields[i].string_len);
			FUZZ_CHECK(field->string != NULL, "field %zu: a string read as an integer", i);
			FUZZ_CHECK(field->len == expected_len &&
					   memcmp(field->string, expected, expected_len) == 0 &&
					   field->string[field->len] == '\0',
				   "field %zu: a string of %zu bytes read as %zu bytes", i, expected_len,
				   field->len);
			free(expected);
		} else {
			FUZZ_CHECK(field->string == NULL && field->number == fields[i].number,
				   "field %zu: %lld read as %lld", i, fields[i].number, field->number);
		}
		free(key);
	}
}

static void check_built(struct fuzz_bytes *in)
{
	/* The keys the shim writes, so the getters meet them and repeats. */
	static const char *const keys[] = { "kind", "pid", "status", "stderr", "message",
					    "at", "reason", "exitCode", "signal", "logDroppedBytes" };
	static const long long numbers[] = { 0, 1, -1, 42, 255, LLONG_MAX, LLONG_MIN };
	struct field_spec fields[JSON_FIELDS_MAX];
	size_t count = fuzz_byte(in) % (JSON_FIELDS_MAX + 1);
	struct fuzz_buf json = { 0 };
	struct flat_json obj;
	size_t cut;

	for (size_t i = 0; i < count; i++) {
		uint8_t choice = fuzz_byte(in);
		struct field_spec *f = &fields[i];

		*f = (struct field_spec){ 0 };
		if (choice & 1) {
			const char *key = keys[(choice >> 1) % (sizeof(keys) / sizeof(keys[0]))];
			f->key = (const uint8_t *)key;
			f->key_len = strlen(key);
		} else {
			f->key_len = fuzz_take(in, (choice >> 1) % 24, &f->key);
		}
		f->is_string = choice & 0x40;
		if (f->is_string) {
			uint8_t length = fuzz_byte(in);
			f->foreign = length & 0x80;
			f->string_len = fuzz_take(in, length & 0x7f, &f->string);
		} else if (choice & 0x80) {
			f->number = numbers[fuzz_byte(in) % (sizeof(numbers) / sizeof(numbers[0]))];
		} else {
			uint64_t bits = 0;
			for (int b = 0; b < 8; b++)
				bits = bits << 8 | fuzz_byte(in);
			memcpy(&f->number, &bits, sizeof(f->number));
		}
	}
	cut = fuzz_u16(in);
	write_object(&json, fields, count, in);

	FUZZ_CHECK(flat_json_parse(buf_text(&json), &obj) == 0, "refused %s", json.data);
	check_fields(&obj, fields, count);
	free(obj.text);

	/* Cut before the closing brace: never an object. */
	cut %= (size_t)(strrchr(json.data, '}') - json.data);
	json.data[cut] = '\0';
	FUZZ_CHECK(flat_json_parse(json.data, &obj) == -1 && errno == EINVAL,
		   "accepted a cut object: %s", json.data);
	buf_free(&json);
}

static void check_raw(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct grammar_value values[2 * JSON_FIELDS_MAX];
	struct field_spec fields[JSON_FIELDS_MAX];
	struct fuzz_buf json = { 0 };
	struct flat_json obj, again;
	size_t strict_fields, lenient_fields;
	bool strict;
	int result;

	FUZZ_CHECK(text != NULL, "out of memory");
	memcpy(text, data, size);
	text[size] = '\0';

	errno = 0;
	result = flat_json_parse(text, &obj);
	FUZZ_CHECK(result == 0 || (result == -1 && errno == EINVAL), "returned %d, errno %d",
		   result, errno);
	strict = grammar_flat_object(text, true, values, &strict_fields);
	if (result < 0) {
		FUZZ_CHECK(!strict, "refused a flat object: %s", text);
		free_values(values, strict_fields);
		free(text);
		return;
	}
	FUZZ_CHECK(grammar_flat_object(text, false, NULL, &lenient_fields),
		   "accepted what is not a flat object: %s", text);
	FUZZ_CHECK(obj.count == lenient_fields, "%zu fields read, the text has %zu", obj.count,
		   lenient_fields);

	/* A strictly valid text: every key and value as the grammar decoded
	 * it (\u escapes, surrogate pairs, integers to the last digit). */
	for (size_t i = 0; strict && i < obj.count; i++) {
		const struct json_field *field = &obj.fields[i];
		const struct grammar_value *key = &values[2 * i], *value = key + 1;

		FUZZ_CHECK(strncmp(field->key, (const char *)key->string, key->len) == 0 &&
				   field->key[strnlen((const char *)key->string, key->len)] == '\0',
			   "field %zu: key read as \"%s\" in %s", i, field->key, text);
		if (value->string)
			FUZZ_CHECK(field->string && field->len == value->len &&
					   memcmp(field->string, value->string, value->len) == 0,
				   "field %zu: a string of %zu bytes read differently in %s", i,
				   value->len, text);
		else
			FUZZ_CHECK(!field->string && field->number == value->number,
				   "field %zu: %lld read as %lld in %s", i, value->number,
				   field->number, text);
	}
	free_values(values, strict_fields);

	/* Written back as the shim would write it, it reads the same. */
	for (size_t i = 0; i < obj.count; i++) {
		const struct json_field *field = &obj.fields[i];
		FUZZ_CHECK(field->key != NULL, "field %zu has no key", i);
		FUZZ_CHECK(!field->string || field->string[field->len] == '\0',
			   "field %zu: its string is not NUL-terminated", i);
		fields[i] = (struct field_spec){
			.key = (const uint8_t *)field->key,
			.key_len = strlen(field->key),
			.is_string = field->string != NULL,
			.string = (const uint8_t *)field->string,
			.string_len = field->len,
			.number = field->number,
		};
	}
	write_object(&json, fields, obj.count, &(struct fuzz_bytes){ 0 });
	FUZZ_CHECK(flat_json_parse(buf_text(&json), &again) == 0, "refused %s, written back from %s",
		   json.data, text);
	check_fields(&again, fields, obj.count);
	free(again.text);
	free(obj.text);
	buf_free(&json);
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
