/* log.c: frames container output into log records (step 5).
 *
 * Speed matters here: a container can write hundreds of MB/s. So there is
 * one clock reading per read, not per line, and a batch of records is one
 * writev whose iovecs alternate between a shared prefix ("<time> stdout F ")
 * and the line itself, pointing into the caller's read buffer. No payload
 * byte is copied and nothing is allocated per line. */
#define _GNU_SOURCE
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
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

int log_writer_open(struct log_writer *log, const char *path, enum log_format format)
{
	log->path = path;
	log->format = format;
	log->dropped_bytes = 0;
	log->write_errno = 0;
	log->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	return log->fd < 0 ? -1 : 0;
}

int log_writer_reopen(struct log_writer *log)
{
	/* Open the new file before closing the old, so a failure leaves the
	 * writer where it was rather than nowhere. */
	int fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	close_fd(&log->fd);
	log->fd = fd;
	return 0;
}

void log_writer_close(struct log_writer *log)
{
	close_fd(&log->fd);
}

/* A batch of records on its way to one writev. */
struct record_batch {
	struct log_writer *log;
	struct iovec iov[IOV_MAX];
	int count;
	size_t bytes;
};

/* Write the batch, finishing short writes. Bytes the file refuses are
 * counted, not retried: the container must never wait for the disk. */
static void batch_flush(struct record_batch *batch)
{
	struct iovec *iov = batch->iov;
	int count = batch->count;
	size_t left = batch->bytes;

	while (count > 0) {
		ssize_t n = writev(batch->log->fd, iov, count);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			batch->log->dropped_bytes += left;
			batch->log->write_errno = errno;
			break;
		}
		left -= (size_t)n;
		while (count > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			count--;
		}
		if (count > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	batch->count = 0;
	batch->bytes = 0;
}

static void batch_add(struct record_batch *batch, const char *data, size_t len)
{
	batch->iov[batch->count].iov_base = (void *)data;
	batch->iov[batch->count].iov_len = len;
	batch->count++;
	batch->bytes += len;
}

/* One record: prefix, content, and the newline when content lacks one. */
static void batch_add_record(struct record_batch *batch, const char *prefix, size_t prefix_len,
			     const char *content, size_t content_len, bool add_newline)
{
	/* Keep a record within one writev. */
	if (batch->count + 3 > IOV_MAX)
		batch_flush(batch);
	batch_add(batch, prefix, prefix_len);
	batch_add(batch, content, content_len);
	if (add_newline)
		batch_add(batch, "\n", 1);
}

size_t log_writer_frame(struct log_writer *log, enum stream_id stream, const char *data,
			size_t len, bool at_eof, const struct timespec *now)
{
	/* Sized for "<time> stdout F " with room to spare. */
	char full_prefix[64], partial_prefix[64], time_text[RFC3339_LEN + 1];
	const char *stream_name = stream == STREAM_STDOUT ? "stdout" : "stderr";
	struct record_batch batch = { .log = log };
	size_t full_len, partial_len, pos = 0;

	format_rfc3339(time_text, now);
	if (log->format == LOG_FORMAT_K8S_FILE) {
		full_len = (size_t)snprintf(full_prefix, sizeof(full_prefix), "%s %s F ",
					    time_text, stream_name);
		partial_len = (size_t)snprintf(partial_prefix, sizeof(partial_prefix), "%s %s P ",
					       time_text, stream_name);
	} else {
		/* shimmy's format has no P/F tag: every piece is a plain record. */
		full_len = (size_t)snprintf(full_prefix, sizeof(full_prefix), "%s %s ", time_text,
					    stream_name);
		memcpy(partial_prefix, full_prefix, full_len + 1);
		partial_len = full_len;
	}

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
