/* util.h: the few helpers every step needs: writing fully, closing fds,
 * escaping JSON, RFC 3339 time, atomic status files and the diagnostic
 * logger. Shared by the shim and shimctl. */
#ifndef SHIM_UTIL_H
#define SHIM_UTIL_H

#include <stdarg.h>
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

/* A file the shim writes as root, reached through its directory, opened
 * once and held: a directory swapped for a symlink later cannot send our
 * writes, renames or removals anywhere else. The directory's own path is
 * resolved once, when it is opened; the file's name is never followed. */
struct dir_file {
	int dir_fd;       /* O_PATH fd of the directory; -1 until opened */
	const char *name; /* the last component of path */
	const char *path; /* as given, for messages */
};

/* Open the directory that holds path. dir_file_close is safe at any point. */
int dir_file_open(struct dir_file *file, const char *path);
void dir_file_close(struct dir_file *file);

/* Open (creating, mode 0600) a file for appending, but only a regular
 * file of ours with one name: never through a symlink (-1, ELOOP), never
 * blocking on a FIFO (opened non-blocking: a FIFO without a reader gives
 * ENXIO, a directory EISDIR), and after opening, -1 with EINVAL for
 * anything but a regular file, EPERM for a file owned by another user or
 * with another name (a hard link). *size gets the file's current size. */
int open_regular_append(int dir_fd, const char *name, unsigned long long *size);

/* Why open_regular_append (or a status file) failed, worded for a user. */
const char *file_error(int errnum);

/* A status file for others to read (pid file, exit file): a reader never
 * sees half of one, and nobody can swap it. status_file_begin makes an
 * unnamed file in the held directory (O_TMPFILE) and reserves a page for
 * it, so a directory that cannot take the file, or a disk with no room,
 * is found before the file is needed; status_file_commit writes it, gives
 * it the name NAME.tmp and renames that into place. (Where a filesystem
 * has no O_TMPFILE, NAME.tmp is created at once with O_EXCL instead.) */
struct status_file {
	struct dir_file file;
	int fd;              /* the file's content goes here; -1 when none */
	bool named;          /* fd is NAME.tmp already (no O_TMPFILE) */
	char tmp_name[256];  /* NAME.tmp, checked to fit NAME_MAX at begin */
};
int status_file_begin(struct status_file *status, const char *path, mode_t mode);
int status_file_commit(struct status_file *status, const void *data, size_t len);
/* Remove what was made, if anything, and close everything. */
void status_file_abandon(struct status_file *status);

/* begin and commit in one: for a file written at once. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* What a process wrote to a pipe, kept for a report but bounded: the
 * first CAPTURE_HEAD bytes and the last CAPTURE_TAIL, with a count of
 * what fell between. Memory is taken only once a byte arrives. */
#define CAPTURE_HEAD (16 * 1024)
#define CAPTURE_TAIL (16 * 1024)
struct capture {
	char *buf;                /* CAPTURE_HEAD + CAPTURE_TAIL bytes, or NULL */
	unsigned long long total; /* bytes appended in all */
};
/* Never fails: without memory, the bytes are counted as not shown. */
void capture_append(struct capture *capture, const char *data, size_t len);
/* The kept bytes in order: the head, then (if anything was dropped) a
 * line "[... N bytes not shown ...]", then the tail. malloc'd, NULL when
 * out of memory; *len gets its length. */
char *capture_render(const struct capture *capture, size_t *len);
void capture_free(struct capture *capture);

/* A large buffer in a mapping of its own (not the heap): pages never
 * touched cost nothing, and pages given back with buffer_release are
 * really gone, so a burst of output does not stay resident for the rest
 * of the container's life. NULL with errno when out of memory. */
void *buffer_map(size_t size);
void buffer_unmap(void **buf, size_t size);
/* Give back the pages of buf past its first keep bytes (they read as
 * zeros afterwards). keep is rounded up to a page. */
void buffer_release(void *buf, size_t size, size_t keep);

/* Give back what an idle daemon holds but does not need: free heap pages
 * (malloc_trim) and the stack pages below the caller's frame, which
 * start-up, a fork's parent and deep calls touched once and which would
 * otherwise stay resident, and private, for the container's life. Call it
 * from the loop, with nothing of value on the stack below the call. 0, or
 * -1 with errno from madvise. */
int release_idle_memory(void);
/* How long a loop waits with nothing to do before it calls it. */
#define IDLE_AFTER_MS 1000

/* Read at most cap-1 bytes of a small file into buf, NUL-terminated. */
ssize_t read_small_file(const char *path, char *buf, size_t cap);

/* A PID file as runc and the shim write them: digits, perhaps a newline,
 * in a regular file (not reached through a symlink, not a FIFO or a tty,
 * which would block or become our terminal). -1 with EINVAL for anything
 * else. */
int read_pid_file(const char *path, pid_t *pid);

/* The shim's own diagnostics: to syslog (ident "shim") or, when a path
 * is given, appended to that file. Levels follow --shimmy-log-level.
 * Messages quote text from others (runc's errors, control lines), so
 * control characters are written escaped (\n, \x1b, \xc2\x9b) and so is
 * the backslash itself: no one can forge a line or send escape sequences
 * to whoever reads the log. */
enum diag_level { DIAG_TRACE, DIAG_DEBUG, DIAG_INFO, DIAG_WARN, DIAG_ERROR };

struct diag {
	int fd; /* -1: syslog */
	enum diag_level min_level;
};

int diag_level_parse(const char *name, enum diag_level *level);
/* Open the log file (a regular file, never through a symlink), or fall
 * back to syslog: then -1, with errno saying why the file was refused. */
int diag_open(struct diag *diag, const char *logfile, enum diag_level level);
/* Escape src (NUL-terminated) into dst of cap bytes, cutting if need be:
 * the C0 controls, DEL, the C1 controls (U+0080 to U+009F, which many
 * terminals obey), bytes that are not UTF-8, and the backslash. Returns
 * the length written. */
size_t escape_control(char *dst, size_t cap, const char *src);
/* Format a message, then escape it into dst: a message that quotes what
 * a caller passed stays one line and sends no escape sequences. */
void escape_vformat(char *dst, size_t cap, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
void diag_log(const struct diag *diag, enum diag_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(d, ...) do { diag_log((d), DIAG_ERROR, __VA_ARGS__); } while (0)
#define log_warn(d, ...) do { diag_log((d), DIAG_WARN, __VA_ARGS__); } while (0)
#define log_info(d, ...) do { diag_log((d), DIAG_INFO, __VA_ARGS__); } while (0)
#define log_debug(d, ...) do { diag_log((d), DIAG_DEBUG, __VA_ARGS__); } while (0)

/* Close every fd from 3 up but those in kept (any order; < 3 ignored). */
int close_fds_except(const int *kept, size_t count);

/* Create path, empty, if it is not there (O_NOFOLLOW: never through a
 * symlink planted at it). */
int touch_file(const char *path);

/* A file descriptor given as text (a flag, $_OCI_SYNCPIPE): a decimal
 * number that is open. 0, or -1 with errno EINVAL (not a number) or EBADF
 * (not open). */
int parse_open_fd(const char *text, int *fd);

/* Read fd until EOF into a malloc'd, NUL-terminated string: a report on
 * a sync pipe, what a command printed. More than READ_UNTIL_EOF_MAX bytes
 * is EMSGSIZE; with timeout_ms >= 0, ETIMEDOUT after that long. */
#define READ_UNTIL_EOF_MAX (1024 * 1024)
int read_until_eof(int fd, int timeout_ms, char **out);

/* Connect fd to the unix socket at path, of any length (see util.c). */
int connect_unix(int fd, const char *path);

#endif
