/* jsonread.c: shimctl's reader of the shim's reports (the sync pipe) and
 * exit files: flat JSON objects of strings and integers, see jsonread.h.
 * Its own file so that its fuzz target (tests/fuzz/flat_json.c) can link it
 * without shimctl's main. Serves the other side of steps 4 and 5. */
#define _GNU_SOURCE
#include "jsonread.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *skip_space(char *p)
{
	return p + strspn(p, " \t\n\r");
}

/* The value of the four hex digits at p, or -1. Stops at the first
 * non-digit, so never reads past the NUL. */
static long hex4(const char *p)
{
	char digits[5] = { 0 };

	for (int i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		digits[i] = p[i];
	}
	return strtol(digits, NULL, 16);
}

/* Code point cp as UTF-8 at out; returns the end. */
static char *put_utf8(char *out, unsigned long cp)
{
	static const unsigned char lead[] = { 0x00, 0xc0, 0xe0, 0xf0 };
	int more = cp < 0x80 ? 0 : cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;

	*out++ = (char)(lead[more] | cp >> (6 * more));
	while (more-- > 0)
		*out++ = (char)(0x80 | ((cp >> (6 * more)) & 0x3f));
	return out;
}

/* Decode the JSON string whose opening quote is at *p where it stands:
 * decoding never makes a string longer (\uXXXX, 6 bytes, becomes at most
 * 3; a surrogate pair, 12, becomes 4). Moves *p past the closing quote and
 * returns the string, or NULL if it is not valid. \uXXXX becomes UTF-8: a
 * surrogate pair one code point, a lone surrogate U+FFFD. */
static char *decode_string(char **p, size_t *len)
{
	static const char escaped[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
	char *s = *p + 1, *start = s, *out = s;
	const char *e;
	long cp, low;

	if (**p != '"')
		return NULL;
	while (*s != '"') {
		if ((unsigned char)*s < 0x20) /* a control character, or the end: unterminated */
			return NULL;
		if (*s != '\\') {
			*out++ = *s++;
		} else if (s[1] == 'u' && (cp = hex4(s + 2)) >= 0) {
			s += 6;
			if (cp >= 0xd800 && cp <= 0xdbff && s[0] == '\\' && s[1] == 'u' &&
			    (low = hex4(s + 2)) >= 0xdc00 && low <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
				s += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd;
			}
			out = put_utf8(out, (unsigned long)cp);
		} else if (s[1] != '\0' && (e = strchr(escaped, s[1])) != NULL) {
			*out++ = decoded[e - escaped];
			s += 2;
		} else {
			return NULL;
		}
	}
	*p = s + 1;
	*out = '\0'; /* at the closing quote at the latest */
	*len = (size_t)(out - start);
	return start;
}

/* Parse text, which must be one flat object and nothing else. Returns -1
 * with errno EINVAL if it is not (or ENOMEM); otherwise the caller frees
 * obj->text when done. */
int flat_json_parse(const char *text, struct flat_json *obj)
{
	size_t key_len;
	char *p, *end;

	obj->count = 0;
	obj->text = strdup(text);
	if (!obj->text)
		return -1;
	p = skip_space(obj->text);
	if (*p != '{')
		goto invalid;
	p = skip_space(p + 1);
	while (*p != '}') {
		struct json_field *field = &obj->fields[obj->count];

		if (obj->count > 0) { /* a comma, then the next field */
			if (*p != ',')
				goto invalid;
			p = skip_space(p + 1);
		}
		if (obj->count == JSON_FIELDS_MAX)
			goto invalid;
		*field = (struct json_field){ 0 };
		field->key = decode_string(&p, &key_len);
		p = skip_space(p);
		if (!field->key || *p != ':')
			goto invalid;
		p = skip_space(p + 1);
		if (*p == '"') {
			field->string = decode_string(&p, &field->len);
			if (!field->string)
				goto invalid;
		} else if (*p == '-' || isdigit((unsigned char)*p)) {
			/* What follows must be a comma or the end: 1.5 and 1e3
			 * fail there. */
			errno = 0;
			field->number = strtoll(p, &end, 10);
			if (end == p || errno != 0)
				goto invalid;
			p = end;
		} else if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
			/* "oomKilled":true: a boolean reads as the number 1 or 0. */
			field->number = *p == 't';
			field->is_bool = true;
			p += *p == 't' ? 4 : 5;
		} else {
			goto invalid;
		}
		obj->count++;
		p = skip_space(p);
	}
	if (*skip_space(p + 1) == '\0')
		return 0;
invalid:
	free(obj->text);
	errno = EINVAL;
	return -1;
}

const struct json_field *flat_json_get(const struct flat_json *obj, const char *key)
{
	for (size_t i = 0; i < obj->count; i++) {
		if (strcmp(obj->fields[i].key, key) == 0)
			return &obj->fields[i];
	}
	return NULL;
}

/* The string value of key, or NULL if it is missing or not a string. */
const char *flat_json_string(const struct flat_json *obj, const char *key)
{
	const struct json_field *field = flat_json_get(obj, key);

	return field ? field->string : NULL;
}

/* The integer value of key, or false if it is missing or not an integer. */
bool flat_json_number(const struct flat_json *obj, const char *key, long long *value)
{
	const struct json_field *field = flat_json_get(obj, key);

	if (!field || field->string)
		return false;
	*value = field->number;
	return true;
}

