/* log.c: frames container output into log records (step 5).
 *
 * Speed matters here: a container can write hundreds of MB/s. So there is
 * one clock reading per read, not per line, and a batch of records is one
 * writev: short records are gathered in a stage buffer, long lines are
 * pointed at where they lie in the caller's read buffer. Nothing is
 * allocated per line. */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"

int log_format_parse(const char *name, enum log_format *format)
{
	if (strcmp(name, "shimmy") == 0)
		*format = LOG_FORMAT_SHIMMY;
	else if (strcmp(name, "k8s-file") == 0)
		*format = LOG_FORMAT_K8S_FILE;
	else {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int log_writer_open(struct log_writer *log, const char *path, enum log_format format,
		    unsigned long long size_max)
{
	*log = (struct log_writer){ .fd = -1, .format = format, .size_max = size_max };
	if (dir_file_open(&log->file, path) < 0)
		return -1;
	log->fd = open_regular_append(log->file.dir_fd, log->file.name, &log->size);
	if (log->fd < 0)
		return -1;
	/* Last, so a log that cannot be opened costs no memory; mapped, so
	 * pages a batch never reaches cost none either. */
	log->stage = buffer_map(LOG_STAGE_SIZE);
	return log->stage ? 0 : -1;
}

/* Batches of short records use the stage from its start: most never pass
 * its first pages. */
#define STAGE_KEPT (64 * 1024)

void log_writer_release(struct log_writer *log)
{
	if (log->stage_touched > STAGE_KEPT) {
		buffer_release(log->stage, LOG_STAGE_SIZE, STAGE_KEPT);
		log->stage_touched = 0;
	}
}

int log_writer_reopen(struct log_writer *log)
{
	/* Open the new file before closing the old, so a failure leaves the
	 * writer where it was rather than nowhere. */
	unsigned long long size;
	int fd = open_regular_append(log->file.dir_fd, log->file.name, &size);

	if (fd < 0)
		return -1;
	close_fd(&log->fd);
	log->fd = fd;
	log->size = size;
	return 0;
}

void log_writer_close(struct log_writer *log)
{
	close_fd(&log->fd);
	dir_file_close(&log->file);
	buffer_unmap((void **)&log->stage, LOG_STAGE_SIZE);
}

/* PATH becomes PATH.1, replacing an older PATH.1, and a fresh PATH is
 * started. Renaming keeps every byte (conmon truncates instead, and its
 * users lost logs: containers/conmon#211). */
static int rotate(struct log_writer *log)
{
	char old_name[NAME_MAX + 1];
	int len = snprintf(old_name, sizeof(old_name), "%s.1", log->file.name);

	if (len < 0 || (size_t)len >= sizeof(old_name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* ENOENT: the file is gone already (moved by someone else, or our
	 * earlier rename worked and the reopen did not): just open anew. */
	if (renameat(log->file.dir_fd, log->file.name, log->file.dir_fd, old_name) < 0 &&
	    errno != ENOENT)
		return -1;
	return log_writer_reopen(log);
}

/* A batch of records on its way to one writev. Short pieces (prefixes,
 * short lines) are copied into the writer's stage buffer, where they join
 * into one iovec: for 100-byte lines the kernel then copies one large
 * buffer instead of walking millions of tiny iovecs, which costs far more
 * CPU than the copy. Longer lines are passed by pointer, uncopied. */
struct record_batch {
	struct log_writer *log;
	struct iovec iov[IOV_MAX];
	int count;
	size_t bytes;
	size_t staged; /* bytes of log->stage in use */
};

/* Write the batch, finishing short writes. Bytes the file refuses are
 * counted, not retried: the container must never wait for the disk.
 * -1 if anything was refused. */
static int batch_flush(struct record_batch *batch)
{
	struct log_writer *log = batch->log;
	bool refused = false;
	int first = 0;

	while (first < batch->count) {
		ssize_t n = writev(log->fd, batch->iov + first, batch->count - first);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			for (int i = first; i < batch->count; i++) {
				log->dropped_bytes += batch->iov[i].iov_len;
				log->dropped_unreported += batch->iov[i].iov_len;
			}
			log->write_errno = log->dropped_errno = errno;
			refused = true;
			break;
		}
		log->size += (unsigned long long)n;
		while (first < batch->count && (size_t)n >= batch->iov[first].iov_len) {
			n -= (ssize_t)batch->iov[first].iov_len;
			first++;
		}
		if (first < batch->count) {
			batch->iov[first].iov_base = (char *)batch->iov[first].iov_base + n;
			batch->iov[first].iov_len -= (size_t)n;
		}
	}
	batch->count = 0;
	batch->bytes = 0;
	batch->staged = 0;
	return refused ? -1 : 0;
}

static void batch_add(struct record_batch *batch, const char *data, size_t len)
{
	struct iovec *last = batch->count > 0 ? &batch->iov[batch->count - 1] : NULL;

	if (len <= LOG_COPY_MAX) {
		char *staged = batch->log->stage + batch->staged;
		memcpy(staged, data, len);
		batch->staged += len;
		if (batch->staged > batch->log->stage_touched)
			batch->log->stage_touched = batch->staged;
		/* Right after the previous staged piece: grow that iovec. */
		if (last && (char *)last->iov_base + last->iov_len == staged) {
			last->iov_len += len;
			batch->bytes += len;
			return;
		}
		data = staged;
	}
	batch->iov[batch->count].iov_base = (void *)data;
	batch->iov[batch->count].iov_len = len;
	batch->count++;
	batch->bytes += len;
}

/* One record: prefix, content, and the newline when content lacks one. */
static void batch_add_record(struct record_batch *batch, const char *prefix, size_t prefix_len,
			     const char *content, size_t content_len, bool add_newline)
{
	struct log_writer *log = batch->log;
	size_t record_len = prefix_len + content_len + (add_newline ? 1 : 0);

	/* Room for the whole record (three iovecs, and the stage for the
	 * pieces that get copied), so it goes out in one writev... */
	if (batch->count + 3 > IOV_MAX || batch->staged + record_len > LOG_STAGE_SIZE)
		batch_flush(batch);
	/* ...and into one file. */
	if (log->size_max > 0 && log->size + batch->bytes + record_len > log->size_max) {
		batch_flush(batch);
		if (log->size > 0 && rotate(log) < 0)
			log->rotate_errno = errno; /* keep writing to the old file */
	}
	batch_add(batch, prefix, prefix_len);
	batch_add(batch, content, content_len);
	if (add_newline)
		batch_add(batch, "\n", 1);
}

/* "<time> stdout F " (k8s-file) or "<time> stdout " (shimmy). */
static size_t format_prefix(char *out, size_t cap, enum log_format format, const char *time_text,
			    enum stream_id stream, char tag)
{
	const char *stream_name = stream == STREAM_STDOUT ? "stdout" : "stderr";

	if (format == LOG_FORMAT_K8S_FILE)
		return (size_t)snprintf(out, cap, "%s %s %c ", time_text, stream_name, tag);
	/* shimmy's format has no P/F tag: every piece is a plain record. */
	return (size_t)snprintf(out, cap, "%s %s ", time_text, stream_name);
}

int log_writer_report_drops(struct log_writer *log, const struct timespec *now)
{
	char time_text[RFC3339_LEN + 1], prefix[64], message[160], last_byte = '\n';
	struct record_batch batch = { .log = log };
	unsigned long long dropped = log->dropped_unreported, dropped_total = log->dropped_bytes;
	size_t prefix_len, message_len;
	struct stat info;
	int read_fd;

	if (dropped == 0)
		return 0;
	/* The disk may have filled in the middle of a record: end that torn
	 * record first, so the notice starts a line of its own. (Our fd is
	 * write-only; this rare path opens the file to read its last byte.) */
	read_fd = openat(log->file.dir_fd, log->file.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (read_fd >= 0 && fstat(read_fd, &info) == 0 && info.st_size > 0 &&
	    pread(read_fd, &last_byte, 1, info.st_size - 1) == 1 && last_byte != '\n')
		batch_add(&batch, "\n", 1);
	close_fd(&read_fd);
	format_rfc3339(time_text, now);
	prefix_len = format_prefix(prefix, sizeof(prefix), log->format, time_text, STREAM_STDERR, 'F');
	message_len = (size_t)snprintf(message, sizeof(message),
				       "[shim] %llu bytes of log were dropped: %s\n",
				       dropped, strerror(log->dropped_errno));
	batch_add_record(&batch, prefix, prefix_len, message, message_len, false);
	/* If the notice is refused too, it is not itself counted as dropped
	 * (it is not the container's); it is tried again with the next batch. */
	if (batch_flush(&batch) < 0) {
		log->dropped_bytes = dropped_total;
		log->dropped_unreported = dropped;
		return -1;
	}
	log->dropped_unreported = 0;
	return 0;
}

size_t log_writer_frame(struct log_writer *log, enum stream_id stream, const char *data,
			size_t len, bool at_eof, const struct timespec *now)
{
	/* Sized for "<time> stdout F " with room to spare. */
	char full_prefix[64], partial_prefix[64], time_text[RFC3339_LEN + 1];
	struct record_batch batch = { .log = log };
	size_t full_len, partial_len, pos = 0;

	/* Never opened: the manager keeps no log (conmon's "-l none"); the
	 * output goes to attach clients only. */
	if (log->fd < 0 && !log->stage)
		return len;
	if (log->dropped_unreported > 0)
		log_writer_report_drops(log, now);
	format_rfc3339(time_text, now);
	full_len = format_prefix(full_prefix, sizeof(full_prefix), log->format, time_text, stream, 'F');
	partial_len = format_prefix(partial_prefix, sizeof(partial_prefix), log->format, time_text,
				    stream, 'P');

	while (pos < len) {
		size_t left = len - pos;
		size_t scan = left < LOG_RECORD_MAX + 1 ? left : LOG_RECORD_MAX + 1;
		const char *newline = memchr(data + pos, '\n', scan);

		if (newline) {
			/* A complete line of at most LOG_RECORD_MAX bytes,
			 * written with its own newline. */
			size_t line_len = (size_t)(newline - (data + pos)) + 1;
			batch_add_record(&batch, full_prefix, full_len, data + pos, line_len, false);
			pos += line_len;
		} else if (left >= LOG_RECORD_MAX) {
			/* Too long for one record: cut off a piece. */
			batch_add_record(&batch, partial_prefix, partial_len, data + pos,
					 LOG_RECORD_MAX, true);
			pos += LOG_RECORD_MAX;
		} else if (at_eof) {
			/* The stream ended inside a line: one last P record. */
			batch_add_record(&batch, partial_prefix, partial_len, data + pos, left, true);
			pos = len;
		} else {
			break; /* unfinished line: wait for more bytes */
		}
	}
	batch_flush(&batch);
	return pos;
}
