/* log.h: the container log writer (step 5). Turns the bytes read from the
 * container's stdout and stderr into timestamped records in one file. */
#ifndef SHIM_LOG_H
#define SHIM_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util.h"

/* shimmy: "<time> <stream> <line>\n", what conman parses.
 * k8s-file: "<time> <stream> <F|P> <line>\n", the CRI format that kubelet,
 * crictl and podman read; P marks a piece of a longer line. */
enum log_format { LOG_FORMAT_SHIMMY, LOG_FORMAT_K8S_FILE };

/* The stream ids double as the attach protocol's frame ids. */
enum stream_id { STREAM_STDOUT = 1, STREAM_STDERR = 2 };

/* The longest content one record carries; a longer line becomes several
 * records (k8s-file: P records, then an F). */
#define LOG_RECORD_MAX 16384

/* Pieces up to this size are copied into the stage buffer (see log.c);
 * longer ones are written from where they lie. */
#define LOG_COPY_MAX 512
#define LOG_STAGE_SIZE (256 * 1024)

struct log_writer {
	int fd;
	struct dir_file file;             /* its directory, held (see util.h) */
	enum log_format format;
	unsigned long long size_max;      /* rotate before passing this; 0: never */
	unsigned long long size;          /* bytes in the current file */
	unsigned long long dropped_bytes; /* log bytes the file refused, in all */
	unsigned long long dropped_unreported; /* ... not yet told in a record */
	int dropped_errno;                /* why output was last dropped */
	int rotate_errno;                 /* why rotating failed; the caller resets it */
	char *stage;                      /* LOG_STAGE_SIZE bytes, mapped, see log.c */
	size_t stage_touched;             /* bytes of it used since they were given back */
	int write_errno;                  /* why, the last time it happened; the caller resets it */
};

int log_format_parse(const char *name, enum log_format *format);

/* Open path for appending, mode 0600: a regular file only, never through
 * a symlink (errno ELOOP or EINVAL, see open_regular_append). Its
 * directory is held, so rotation and reopening stay in it. With size_max,
 * before a record
 * would take the file past size_max bytes, the file is renamed to
 * PATH.1 (replacing an older one) and a fresh one started; a record is
 * never split between the two. */
int log_writer_open(struct log_writer *log, const char *path, enum log_format format,
		    unsigned long long size_max);
void log_writer_close(struct log_writer *log);

/* Give the stage buffer's pages back to the kernel, but for its first
 * few, after a burst: called when the container's output pauses. */
void log_writer_release(struct log_writer *log);

/* Open the path again, for a rotator that renamed the file away. */
int log_writer_reopen(struct log_writer *log);

/* If output was dropped (a full disk), append the one record that says
 * how much, and return 0 once it is written. Called before every batch,
 * so the record appears as soon as writing works again, and at exit. */
int log_writer_report_drops(struct log_writer *log, const struct timespec *now);

/* Append the complete lines in data[0, len) as records stamped with now,
 * and return how many bytes were consumed. What is left is an unfinished
 * line shorter than LOG_RECORD_MAX: the caller keeps it and presents it
 * again with the next bytes, so a line that arrives in pieces is one
 * record. With at_eof everything is consumed, an unfinished last line
 * becoming one record (a P record in k8s-file). A writer never opened
 * (the manager keeps no log) consumes everything and writes nothing.
 * A failed write never stops the framing: the bytes of the records it
 * held are counted in dropped_bytes and write_errno says why, so the pipes
 * keep draining and the container never waits for the disk. */
size_t log_writer_frame(struct log_writer *log, enum stream_id stream, const char *data,
			size_t len, bool at_eof, const struct timespec *now);

#endif
