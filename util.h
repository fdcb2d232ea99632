/* util.h: the few helpers every step needs: writing fully, closing fds,
 * escaping JSON, RFC 3339 time, atomic status files and the diagnostic
 * logger. Shared by the shim and shimctl. */
#ifndef SHIM_UTIL_H
#define SHIM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* Write all of buf, retrying on EINTR and short writes; on EAGAIN (a
 * non-blocking fd) wait with poll until the fd is writable again. */
int write_all(int fd, const void *buf, size_t len);

/* Close *fd if it is open and set it to -1. errno is preserved, so this
 * may be used on error paths before reporting %m. */
void close_fd(int *fd);

/* Escape len bytes of src as the inside of a JSON string, NUL-terminated,
 * into dst. dst must hold JSON_ESCAPED_MAX(len) bytes. Control characters
 * become \n, \t, ... or \u00XX; bytes that are not valid UTF-8 become
 * U+FFFD, so the output is always valid JSON whatever runc printed. */
#define JSON_ESCAPED_MAX(len) ((len) * 6 + 1)
size_t json_escape(char *dst, const char *src, size_t len);

/* "2026-11-22T04:09:41.473641854Z": RFC 3339, UTC, nanoseconds. */
#define RFC3339_LEN 30
void format_rfc3339(char out[RFC3339_LEN + 1], const struct timespec *ts);

/* Write data to path so a reader never sees it half-written: create
 * path.tmp with O_EXCL, write it fully, rename it over path. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Read at most cap-1 bytes of a small file into buf, NUL-terminated. */
ssize_t read_small_file(const char *path, char *buf, size_t cap);

/* A PID file as runc and the shim write them: digits, perhaps a newline.
 * -1 with EINVAL for anything else. */
int read_pid_file(const char *path, pid_t *pid);

/* The shim's own diagnostics: to syslog (ident "shim") or, when a path
 * is given, appended to that file. Levels follow --shimmy-log-level. */
enum diag_level { DIAG_TRACE, DIAG_DEBUG, DIAG_INFO, DIAG_WARN, DIAG_ERROR };

struct diag {
	int fd; /* -1: syslog */
	enum diag_level min_level;
};

int diag_level_parse(const char *name, enum diag_level *level);
void diag_open(struct diag *diag, const char *logfile, enum diag_level level);
void diag_log(const struct diag *diag, enum diag_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(d, ...) do { diag_log((d), DIAG_ERROR, __VA_ARGS__); } while (0)
#define log_warn(d, ...) do { diag_log((d), DIAG_WARN, __VA_ARGS__); } while (0)
#define log_info(d, ...) do { diag_log((d), DIAG_INFO, __VA_ARGS__); } while (0)
#define log_debug(d, ...) do { diag_log((d), DIAG_DEBUG, __VA_ARGS__); } while (0)

#endif
