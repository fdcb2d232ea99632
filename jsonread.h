/* jsonread.h: shimctl's reader of what the shim writes for it: the report
 * on the sync pipe and the exit file. Both are flat JSON objects whose
 * values are strings or integers, e.g. {"kind":"container_pid","pid":42};
 * this reads exactly that and nothing more: no nesting, no floats, no
 * true/false/null. (The shim itself only writes JSON, with util.c's
 * json_escape; it never reads any.) */
#ifndef SHIM_JSONREAD_H
#define SHIM_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>

/* The shim writes at most 4 fields (an exit file with logDroppedBytes). */
#define JSON_FIELDS_MAX 8

struct json_field {
	const char *key;    /* decoded, NUL-terminated (cut at a \u0000) */
	const char *string; /* decoded, NUL-terminated; NULL for an integer */
	size_t len;         /* of string, which may hold a NUL, from \u0000 */
	long long number;   /* for true and false too: 1 and 0 */
	bool is_bool;
};

struct flat_json {
	char *text; /* a copy of the object; its strings are decoded in place */
	struct json_field fields[JSON_FIELDS_MAX];
	size_t count;
};

/* Parse text, which must be one flat object and nothing else. Returns -1
 * with errno EINVAL if it is not (or ENOMEM); otherwise the caller frees
 * obj->text when done. Strings are decoded: \uXXXX becomes UTF-8, a
 * surrogate pair one code point, a lone surrogate U+FFFD. */
int flat_json_parse(const char *text, struct flat_json *obj);

/* The first field named key, or NULL. */
const struct json_field *flat_json_get(const struct flat_json *obj, const char *key);

/* The string value of key, or NULL if it is missing or not a string. */
const char *flat_json_string(const struct flat_json *obj, const char *key);

/* The integer value of key, or false if it is missing or not an integer. */
bool flat_json_number(const struct flat_json *obj, const char *key, long long *value);

#endif
