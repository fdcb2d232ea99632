/* tests/fuzz/log_frame.c: log.c's log_writer_frame, both formats, which
 * turns whatever the container writes into log records (step 5).
 *
 * The input is a small program: its first byte picks the format (shimmy
 * or k8s-file) and the stream, the next eight the clock, and the rest is
 * a list of reads: literal bytes, long runs of one byte (lines past
 * LOG_RECORD_MAX, thousands of empty lines), many lines of one length in
 * one big read (past the stage buffer and IOV_MAX in one call), or bytes
 * delivered one read each. The harness is the caller io.c is: it presents each read after
 * the unfinished line kept from before, in a buffer of exactly that size
 * (so ASan sees a read past it), keeps what was not consumed, and ends
 * with at_eof. After each call it reads back what the call appended to a
 * real file and checks, beyond not crashing or leaking:
 * - the file holds whole lines only, each one record: the clock as RFC
 *   3339 (30 characters), the stream, for k8s-file a P or F tag, then
 *   content of at most LOG_RECORD_MAX bytes;
 * - the contents are exactly the consumed input, in order: an F record
 *   (k8s-file) ends where the input has its newline; a P record is a
 *   piece of LOG_RECORD_MAX bytes of a longer line, or, at the end of the
 *   stream only, its unfinished last line (never empty); a line that fits
 *   one record is never split within one call. shimmy has no tags, so
 *   there a record that is not followed by a newline in the input must be
 *   such a piece;
 * - what is not consumed is less than LOG_RECORD_MAX bytes without a
 *   newline (at_eof: nothing), so the caller's buffer stays bounded;
 * - nothing was dropped (the file takes everything). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Enough for a few records past LOG_STAGE_SIZE, and quick. */
#define STREAM_MAX (512 * 1024)

static char log_dir[4096], log_path[4096 + 16];
static int read_fd = -1; /* our own fd on the log, to read it back and empty it */

static void remove_log_dir(void)
{
	if (unlink(log_path) < 0 && errno != ENOENT)
		fprintf(stderr, "remove %s: %m\n", log_path);
	if (rmdir(log_dir) < 0)
		fprintf(stderr, "remove %s: %m\n", log_dir);
}

/* A private directory under $TMPDIR (run.sh points it into build/), with
 * the log in it; removed at exit. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	int len;

	(void)argc;
	(void)argv;
	len = snprintf(log_dir, sizeof(log_dir), "%s/shim-fuzz-log.XXXXXX",
		       tmp && *tmp ? tmp : "/tmp");
	FUZZ_CHECK(len > 0 && (size_t)len < sizeof(log_dir), "TMPDIR too long: %s", tmp);
	FUZZ_CHECK(mkdtemp(log_dir) != NULL, "mkdtemp %s: %m", log_dir);
	len = snprintf(log_path, sizeof(log_path), "%s/container.log", log_dir);
	FUZZ_CHECK(len > 0 && (size_t)len < sizeof(log_path), "path too long in %s", log_dir);
	read_fd = open(log_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FUZZ_CHECK(read_fd >= 0, "create %s: %m", log_path);
	FUZZ_CHECK(atexit(remove_log_dir) == 0, "atexit failed");
	return 0;
}

/* The one place that knows how a log writer is opened: when
 * log_writer_open changes its arguments, this is the edit. */
static void open_log(struct log_writer *log, enum log_format format)
{
	FUZZ_CHECK(ftruncate(read_fd, 0) == 0, "empty %s: %m", log_path);
	FUZZ_CHECK(log_writer_open(log, log_path, format, 0) == 0, "open %s: %m", log_path);
}

struct frame_case {
	struct log_writer log;
	enum log_format format;
	enum stream_id stream;
	struct timespec now;
	char prefix[64]; /* "<time> <stream> " as every record must start */
	size_t prefix_len;
	off_t read_so_far;   /* of the file */
	size_t total_in;     /* bytes of the stream given to the framer */
	size_t total_framed; /* ... and consumed by it */
	char *pending;       /* the unfinished line, kept as io.c keeps it */
	size_t pending_len;
};

/* "2026-11-22T04:09:41.473641854Z", checked character by character. */
static bool is_rfc3339(const char *text)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddddddddZ";

	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? text[i] < '0' || text[i] > '9' : text[i] != shape[i])
			return false;
	}
	return true;
}

/* The records one call appended, out[0, out_len), against the bytes it
 * consumed, data[0, consumed). */
static void check_records(const struct frame_case *c, const char *out, size_t out_len,
			  const char *data, size_t consumed, bool at_eof)
{
	size_t pos = 0, at = 0;

	while (at < out_len) {
		const char *line = out + at, *content;
		const char *end = memchr(line, '\n', out_len - at);
		size_t line_len, content_len;
		bool last, newline_follows;
		char tag = 0;

		FUZZ_CHECK(end != NULL, "the output ends inside a record (%zu bytes)", out_len - at);
		line_len = (size_t)(end - line);
		at += line_len + 1;
		last = at == out_len;
		FUZZ_CHECK(line_len >= c->prefix_len && memcmp(line, c->prefix, c->prefix_len) == 0,
			   "record without the prefix \"%s\": \"%.*s\"", c->prefix,
			   (int)(line_len < 80 ? line_len : 80), line);
		content = line + c->prefix_len;
		content_len = line_len - c->prefix_len;
		if (c->format == LOG_FORMAT_K8S_FILE) {
			FUZZ_CHECK(content_len >= 2 && (content[0] == 'P' || content[0] == 'F') &&
					   content[1] == ' ',
				   "k8s-file record without its P or F tag");
			tag = content[0];
			content += 2;
			content_len -= 2;
		}
		FUZZ_CHECK(content_len <= LOG_RECORD_MAX, "a record of %zu bytes", content_len);
		FUZZ_CHECK(pos + content_len <= consumed && memcmp(data + pos, content, content_len) == 0,
			   "a record of %zu bytes is not the input at %zu (%zu consumed)", content_len,
			   pos, consumed);
		pos += content_len;
		newline_follows = pos < consumed && data[pos] == '\n';

		if (tag == 'F' || (tag == 0 && newline_follows)) {
			/* The line's end: the record's newline is the input's. */
			FUZZ_CHECK(newline_follows, "an F record where the input has no newline (at %zu)",
				   pos);
			pos++;
			continue;
		}
		/* A piece: of a line too long for one record, or at the end of
		 * the stream the unfinished last line, never an empty one. */
		FUZZ_CHECK(!newline_follows,
			   "a line of %zu bytes, which fits one record, was split (at %zu)",
			   content_len, pos);
		FUZZ_CHECK(content_len == LOG_RECORD_MAX ||
				   (at_eof && last && pos == consumed && content_len > 0),
			   "a piece of %zu bytes, not LOG_RECORD_MAX, before the end (at %zu, %s)",
			   content_len, pos, at_eof ? "at eof" : "not at eof");
	}
	FUZZ_CHECK(pos == consumed, "the records hold %zu bytes of input, but %zu were consumed", pos,
		   consumed);
}

/* Like io_pump's one read: the unfinished line and the new bytes, framed;
 * the rest kept. */
static void frame(struct frame_case *c, const uint8_t *bytes, size_t len, bool at_eof)
{
	size_t data_len = c->pending_len + len, consumed, out_len;
	char *data = malloc(data_len ? data_len : 1), *out;
	struct stat info;

	FUZZ_CHECK(data != NULL, "out of memory for %zu bytes", data_len);
	if (c->pending_len > 0)
		memcpy(data, c->pending, c->pending_len);
	if (len > 0)
		memcpy(data + c->pending_len, bytes, len);
	c->total_in += len;

	consumed = log_writer_frame(&c->log, c->stream, data, data_len, at_eof, &c->now);
	FUZZ_CHECK(consumed <= data_len, "consumed %zu of %zu bytes", consumed, data_len);
	if (at_eof) {
		FUZZ_CHECK(consumed == data_len, "at eof, %zu of %zu bytes left", data_len - consumed,
			   data_len);
	} else {
		FUZZ_CHECK(data_len - consumed < LOG_RECORD_MAX,
			   "%zu bytes left: the caller's buffer would grow without bound",
			   data_len - consumed);
		FUZZ_CHECK(!memchr(data + consumed, '\n', data_len - consumed),
			   "a complete line was left unconsumed");
	}

	FUZZ_CHECK(fstat(read_fd, &info) == 0, "fstat %s: %m", log_path);
	FUZZ_CHECK(info.st_size >= c->read_so_far, "the log shrank");
	out_len = (size_t)(info.st_size - c->read_so_far);
	out = malloc(out_len ? out_len : 1);
	FUZZ_CHECK(out != NULL, "out of memory for %zu bytes", out_len);
	FUZZ_CHECK(pread(read_fd, out, out_len, c->read_so_far) == (ssize_t)out_len,
		   "read back %zu bytes of %s: %m", out_len, log_path);
	c->read_so_far = info.st_size;
	check_records(c, out, out_len, data, consumed, at_eof);
	c->total_framed += consumed;

	free(c->pending);
	c->pending_len = data_len - consumed;
	c->pending = malloc(c->pending_len ? c->pending_len : 1);
	FUZZ_CHECK(c->pending != NULL, "out of memory");
	memcpy(c->pending, data + consumed, c->pending_len);
	free(data);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_bytes in = { data, size };
	struct frame_case c = { 0 };
	uint8_t setup = fuzz_byte(&in);
	char time_text[RFC3339_LEN + 1];
	uint8_t *run = NULL;

	c.format = setup & 1 ? LOG_FORMAT_K8S_FILE : LOG_FORMAT_SHIMMY;
	c.stream = setup & 2 ? STREAM_STDERR : STREAM_STDOUT;
	/* Any time from 1970 to 2106, as the real clock could say. */
	c.now.tv_sec = (time_t)fuzz_u32(&in);
	c.now.tv_nsec = (long)(fuzz_u32(&in) % 1000000000u);
	format_rfc3339(time_text, &c.now);
	FUZZ_CHECK(strlen(time_text) == RFC3339_LEN && is_rfc3339(time_text),
		   "the clock reads \"%s\"", time_text);
	c.prefix_len = (size_t)snprintf(c.prefix, sizeof(c.prefix), "%s %s ", time_text,
					c.stream == STREAM_STDOUT ? "stdout" : "stderr");
	open_log(&c.log, c.format);

	while (in.len > 0 && c.total_in < STREAM_MAX) {
		uint8_t op = fuzz_byte(&in);
		const uint8_t *bytes;
		size_t len;

		switch (op % 6) {
		case 0:
		case 1:
		case 2: /* one read of literal bytes */
			len = fuzz_take(&in, fuzz_byte(&in), &bytes);
			frame(&c, bytes, len, false);
			break;
		case 3: { /* one read of a run of one byte: long lines, many empty ones */
			uint8_t byte = fuzz_byte(&in), shape = fuzz_byte(&in);
			/* Often right around the record size, where pieces are cut. */
			len = shape >= 192 ? LOG_RECORD_MAX - 2 + (shape & 3) : fuzz_u16(&in);
			run = realloc(run, len ? len : 1);
			FUZZ_CHECK(run != NULL, "out of memory for %zu bytes", len);
			memset(run, byte, len);
			frame(&c, run, len, false);
			break;
		}
		case 4: /* a few bytes, one read each, as a slow writer sends them */
			len = fuzz_take(&in, fuzz_byte(&in) % 32, &bytes);
			for (size_t i = 0; i < len; i++)
				frame(&c, bytes + i, 1, false);
			break;
		default: { /* one big read of many lines of one length, then an
			    * unfinished one: more short records than the stage
			    * buffer holds, or more long ones than one writev
			    * takes (IOV_MAX), with pieces of a long line last */
			uint8_t byte = fuzz_byte(&in);
			size_t line = fuzz_u16(&in) % 2048, count = fuzz_u16(&in), tail = fuzz_u16(&in);

			len = (line + 1) * count + tail;
			if (len > STREAM_MAX)
				len = STREAM_MAX;
			run = realloc(run, len ? len : 1);
			FUZZ_CHECK(run != NULL, "out of memory for %zu bytes", len);
			memset(run, byte, len);
			for (size_t i = line; i < len - tail && i < len; i += line + 1)
				run[i] = '\n';
			frame(&c, run, len, false);
			break;
		}
		}
	}
	frame(&c, NULL, 0, true);

	FUZZ_CHECK(c.total_framed == c.total_in, "%zu bytes in, %zu framed", c.total_in,
		   c.total_framed);
	FUZZ_CHECK(c.log.dropped_bytes == 0 && c.log.write_errno == 0,
		   "%llu bytes dropped (%s)", c.log.dropped_bytes, strerror(c.log.write_errno));
	log_writer_close(&c.log);
	free(c.pending);
	free(run);
	return 0;
}
