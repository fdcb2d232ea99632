/* tests/unit-ttrpc.c: Check unit tests for ttrpc.c, against frames
 * captured between containerd 1.6 and its own runc shim (tests/data/ttrpc/,
 * see its README): every request containerd sent for one `ctr run --rm`
 * is read back, whole or in pieces, and our responses are built to the
 * byte of the runc shim's. Also the mount options of an image's rootfs
 * (rootfs.c). Linked into tests/unit. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "containerd.h"
#include "task.pb-c.h"
#include "ttrpc.h"
#include "ttrpc.pb-c.h"

Suite *ttrpc_suite(void);

#ifndef TTRPC_DATA_DIR
#define TTRPC_DATA_DIR "tests/data/ttrpc"
#endif

struct bytes {
	uint8_t *data;
	size_t len;
};

/* A captured frame: one line of hex. */
static struct bytes load(const char *name)
{
	char path[512], *hex = NULL;
	size_t cap = 0;
	ssize_t len;
	struct bytes out;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", TTRPC_DATA_DIR, name);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "open %s", path);
	len = getline(&hex, &cap, f);
	fclose(f);
	ck_assert_int_gt(len, 0);
	while (len > 0 && (hex[len - 1] == '\n' || hex[len - 1] == '\r'))
		hex[--len] = '\0';
	out.len = (size_t)len / 2;
	out.data = malloc(out.len + 1);
	for (size_t i = 0; i < out.len; i++) {
		unsigned byte;
		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &byte), 1);
		out.data[i] = (uint8_t)byte;
	}
	free(hex);
	return out;
}

/* Feed the frame to a reader in pieces of `piece` bytes: exactly one
 * frame comes out, at the last piece, and nothing before it. */
static void read_frame(const struct bytes *frame, size_t piece, struct ttrpc_header *header,
		       uint8_t **data)
{
	struct ttrpc_reader reader = { 0 };
	const uint8_t *found = NULL;
	size_t fed = 0;

	while (fed < frame->len) {
		size_t n = frame->len - fed < piece ? frame->len - fed : piece;
		ck_assert_int_eq(ttrpc_reader_next(&reader, header, &found), TTRPC_NEED_MORE);
		ck_assert_int_eq(ttrpc_reader_feed(&reader, frame->data + fed, n), 0);
		fed += n;
	}
	ck_assert_int_eq(ttrpc_reader_next(&reader, header, &found), TTRPC_FRAME);
	ck_assert_uint_eq(TTRPC_HEADER_LEN + header->length, frame->len);
	*data = malloc(header->length + 1);
	memcpy(*data, found, header->length);
	ck_assert_int_eq(ttrpc_reader_next(&reader, header, &found), TTRPC_NEED_MORE);
	ttrpc_reader_free(&reader);
}

static const struct {
	const char *file, *method;
	uint32_t stream_id;
} requests[] = {
	{ "01-create.request.hex", "Create", 1 },
	{ "03-connect.request.hex", "Connect", 3 },
	{ "05-connect-again.request.hex", "Connect", 5 },
	{ "07-start.request.hex", "Start", 7 },
	{ "09-wait.request.hex", "Wait", 9 },
	{ "11-state.request.hex", "State", 11 },
	{ "13-state-after-exit.request.hex", "State", 13 },
	{ "15-delete.request.hex", "Delete", 15 },
};

/* Each request, fed whole, a byte at a time, and in 7-byte pieces. */
START_TEST(test_captured_requests)
{
	static const size_t pieces[] = { 1 << 20, 1, 7 };
	struct bytes frame = load(requests[_i].file);

	for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
		struct ttrpc_header header;
		struct ttrpc_request request;
		uint8_t *data;

		read_frame(&frame, pieces[p], &header, &data);
		ck_assert_uint_eq(header.stream_id, requests[_i].stream_id);
		ck_assert_uint_eq(header.type, TTRPC_REQUEST);
		ck_assert_uint_eq(header.flags, 0);
		ck_assert_int_eq(ttrpc_request_decode(data, header.length, &request), 0);
		ck_assert_str_eq(request.service, "containerd.task.v2.Task");
		ck_assert_str_eq(request.method, requests[_i].method);
		/* containerd 1.6.20 sends its task calls without metadata: the
		 * namespace is the one `start` was given (-namespace). */
		ck_assert_ptr_null(request.namespace);
		ttrpc_request_free(&request);
		free(data);
	}
	free(frame.data);
}
END_TEST

/* What containerd asks for in Create, decoded with our task.proto. */
START_TEST(test_create_request_fields)
{
	struct bytes frame = load("01-create.request.hex");
	struct ttrpc_request request;
	Task__CreateTaskRequest *create;

	ck_assert_int_eq(ttrpc_request_decode(frame.data + TTRPC_HEADER_LEN,
					      frame.len - TTRPC_HEADER_LEN, &request),
			 0);
	create = task__create_task_request__unpack(NULL, request.payload_len, request.payload);
	ck_assert_ptr_nonnull(create);
	ck_assert_str_eq(create->id, "cap2");
	ck_assert_str_eq(create->bundle, "/tmp/ctd/state/io.containerd.runtime.v2.task/default/cap2");
	ck_assert(!create->terminal);
	/* ctr passes a stdin FIFO even for a container that reads none. */
	ck_assert_str_eq(create->stdin, "/run/containerd/fifo/606381684/cap2-stdin");
	ck_assert_str_eq(create->stdout, "/run/containerd/fifo/606381684/cap2-stdout");
	ck_assert_str_eq(create->stderr, "/run/containerd/fifo/606381684/cap2-stderr");
	/* --rootfs DIR: the bundle names it; no mounts come. */
	ck_assert_uint_eq(create->n_rootfs, 0);
	task__create_task_request__free_unpacked(create, NULL);
	ttrpc_request_free(&request);
	free(frame.data);
}
END_TEST

static void assert_frame_eq(uint8_t *built, size_t built_len, const char *captured_file)
{
	struct bytes captured = load(captured_file);

	ck_assert_ptr_nonnull(built);
	ck_assert_uint_eq(built_len, captured.len);
	ck_assert_msg(memcmp(built, captured.data, built_len) == 0, "%s differs", captured_file);
	free(captured.data);
	free(built);
}

/* Our responses, to the byte of what the runc shim sent. */
START_TEST(test_responses_as_captured)
{
	uint8_t payload[64], *built;
	size_t payload_len, built_len;
	Task__CreateTaskResponse created = TASK__CREATE_TASK_RESPONSE__INIT;
	Task__ConnectResponse connected = TASK__CONNECT_RESPONSE__INIT;
	Task__WaitResponse waited = TASK__WAIT_RESPONSE__INIT;
	Task__Timestamp exited_at = TASK__TIMESTAMP__INIT;
	struct bytes wait_frame = load("09-wait.response.hex");
	Ttrpc__Response *response;

	created.pid = 24439;
	payload_len = task__create_task_response__pack(&created, payload);
	built = ttrpc_response_frame(1, TTRPC_OK, NULL, payload, payload_len, &built_len);
	assert_frame_eq(built, built_len, "01-create.response.hex");

	connected.shim_pid = 24416;
	connected.task_pid = 24439;
	payload_len = task__connect_response__pack(&connected, payload);
	built = ttrpc_response_frame(3, TTRPC_OK, NULL, payload, payload_len, &built_len);
	assert_frame_eq(built, built_len, "03-connect.response.hex");

	/* The exit: status 3, and the time it was seen, from the capture. */
	response = ttrpc__response__unpack(NULL, wait_frame.len - TTRPC_HEADER_LEN,
					   wait_frame.data + TTRPC_HEADER_LEN);
	ck_assert_ptr_nonnull(response);
	ck_assert_ptr_null(response->status);
	{
		Task__WaitResponse *captured = task__wait_response__unpack(NULL, response->payload.len,
									   response->payload.data);
		ck_assert_ptr_nonnull(captured);
		ck_assert_uint_eq(captured->exit_status, 3);
		ck_assert_ptr_nonnull(captured->exited_at);
		exited_at.seconds = captured->exited_at->seconds;
		exited_at.nanos = captured->exited_at->nanos;
		task__wait_response__free_unpacked(captured, NULL);
	}
	ttrpc__response__free_unpacked(response, NULL);
	free(wait_frame.data);
	waited.exit_status = 3;
	waited.exited_at = &exited_at;
	payload_len = task__wait_response__pack(&waited, payload);
	built = ttrpc_response_frame(9, TTRPC_OK, NULL, payload, payload_len, &built_len);
	assert_frame_eq(built, built_len, "09-wait.response.hex");

	/* Start returns its pid as Create did: the same bytes, stream 7. */
	payload_len = task__create_task_response__pack(&created, payload);
	built = ttrpc_response_frame(7, TTRPC_OK, NULL, payload, payload_len, &built_len);
	assert_frame_eq(built, built_len, "07-start.response.hex");
}
END_TEST

/* An error is a status alone; an empty success is a zero-length frame. */
START_TEST(test_status_and_empty_responses)
{
	size_t len;
	uint8_t *built = ttrpc_response_frame(41, TTRPC_UNIMPLEMENTED, "method Checkpoint", NULL, 0, &len);
	struct ttrpc_header header;
	Ttrpc__Response *response;

	ttrpc_header_get(built, &header);
	ck_assert_uint_eq(header.stream_id, 41);
	ck_assert_uint_eq(header.type, TTRPC_RESPONSE);
	ck_assert_uint_eq(header.length, len - TTRPC_HEADER_LEN);
	response = ttrpc__response__unpack(NULL, header.length, built + TTRPC_HEADER_LEN);
	ck_assert_ptr_nonnull(response->status);
	ck_assert_int_eq(response->status->code, 12);
	ck_assert_str_eq(response->status->message, "method Checkpoint");
	ck_assert_uint_eq(response->payload.len, 0);
	ttrpc__response__free_unpacked(response, NULL);
	free(built);

	built = ttrpc_response_frame(43, TTRPC_OK, NULL, NULL, 0, &len);
	ck_assert_uint_eq(len, TTRPC_HEADER_LEN);
	ttrpc_header_get(built, &header);
	ck_assert_uint_eq(header.length, 0);
	free(built);
}
END_TEST

/* A frame over 4 MiB: its header is reported (to answer its stream), its
 * data dropped as it arrives however it is cut, and the next frame, in
 * the same read as the end of it, comes out whole. */
START_TEST(test_frame_too_large)
{
	struct bytes next = load("07-start.request.hex");
	struct ttrpc_header big = { .length = TTRPC_MESSAGE_MAX + 1, .stream_id = 17, .type = 1 }, header;
	struct ttrpc_reader reader = { 0 };
	uint8_t head[TTRPC_HEADER_LEN], *chunk = calloc(1, 1 << 20);
	const uint8_t *data;
	size_t left = big.length;

	ttrpc_header_put(head, &big);
	ck_assert_int_eq(ttrpc_reader_feed(&reader, head, sizeof(head)), 0);
	ck_assert_int_eq(ttrpc_reader_feed(&reader, chunk, 100), 0);
	left -= 100;
	ck_assert_int_eq(ttrpc_reader_next(&reader, &header, &data), TTRPC_TOO_LARGE);
	ck_assert_uint_eq(header.stream_id, 17);
	while (left > (1 << 20)) {
		ck_assert_int_eq(ttrpc_reader_feed(&reader, chunk, 1 << 20), 0);
		left -= 1 << 20;
		ck_assert_int_eq(ttrpc_reader_next(&reader, &header, &data), TTRPC_NEED_MORE);
	}
	/* The last of it, then the next frame, in one piece. */
	{
		uint8_t *tail = malloc(left + next.len);
		memset(tail, 0, left);
		memcpy(tail + left, next.data, next.len);
		ck_assert_int_eq(ttrpc_reader_feed(&reader, tail, left + next.len), 0);
		free(tail);
	}
	ck_assert_int_eq(ttrpc_reader_next(&reader, &header, &data), TTRPC_FRAME);
	ck_assert_uint_eq(header.stream_id, 7);
	/* Nothing of the big one was kept. */
	ck_assert_uint_lt(reader.cap, 4u << 20);
	ttrpc_reader_free(&reader);
	free(chunk);
	free(next.data);
}
END_TEST

/* Bytes that are not a Request are refused, not half-read. */
START_TEST(test_request_not_protobuf)
{
	static const uint8_t garbage[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x' };
	struct ttrpc_request request;

	ck_assert_int_eq(ttrpc_request_decode(garbage, sizeof(garbage), &request), -1);
	ck_assert_ptr_null(request.message);
}
END_TEST

/* A request we make (events' Forward) reads back as containerd reads it. */
START_TEST(test_request_frame_round_trip)
{
	static const uint8_t payload[] = { 1, 2, 3 };
	size_t len;
	uint8_t *built = ttrpc_request_frame(1, "containerd.services.events.ttrpc.v1.Events", "Forward",
					     payload, sizeof(payload), "default", &len);
	struct ttrpc_request request;

	ck_assert_int_eq(ttrpc_request_decode(built + TTRPC_HEADER_LEN, len - TTRPC_HEADER_LEN, &request), 0);
	ck_assert_str_eq(request.service, "containerd.services.events.ttrpc.v1.Events");
	ck_assert_str_eq(request.method, "Forward");
	ck_assert_str_eq(request.namespace, "default");
	ck_assert_uint_eq(request.payload_len, 3);
	ck_assert_mem_eq(request.payload, payload, 3);
	ttrpc_request_free(&request);
	free(built);
}
END_TEST

/* An image's mounts: containerd's options, split as its parseMountOptions
 * does (rootfs.c). */
START_TEST(test_mount_options)
{
	char *bind[] = { "rbind", "ro" };
	char *overlay[] = { "index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2" };
	char *toggled[] = { "ro", "rw", "nosuid", "suid", "noexec", "defaults" };
	char *propagation[] = { "rprivate", "nodev" };
	char *mixed[] = { "nodev", "size=64k", "mode=755" };
	char data[64];
	unsigned long flags;

	ck_assert_int_eq(mount_options_parse(bind, 2, &flags, data, sizeof(data)), 0);
	ck_assert_uint_eq(flags, MS_BIND | MS_REC | MS_RDONLY);
	ck_assert_str_eq(data, "");
	ck_assert_int_eq(mount_options_parse(overlay, 4, &flags, data, sizeof(data)), 0);
	ck_assert_uint_eq(flags, 0);
	ck_assert_str_eq(data, "index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2");
	ck_assert_int_eq(mount_options_parse(toggled, 6, &flags, data, sizeof(data)), 0);
	ck_assert_uint_eq(flags, MS_NOEXEC);
	ck_assert_int_eq(mount_options_parse(propagation, 2, &flags, data, sizeof(data)), 0);
	ck_assert_uint_eq(flags, MS_PRIVATE | MS_REC | MS_NODEV);
	ck_assert_int_eq(mount_options_parse(mixed, 3, &flags, data, sizeof(data)), 0);
	ck_assert_uint_eq(flags, MS_NODEV);
	ck_assert_str_eq(data, "size=64k,mode=755");
	ck_assert_int_eq(mount_options_parse(NULL, 0, &flags, data, sizeof(data)), 0);
	ck_assert_str_eq(data, "");
	/* Data that would not fit (the kernel takes a page) is refused. */
	ck_assert_int_eq(mount_options_parse(overlay, 4, &flags, data, 20), -1);
	ck_assert_int_eq(errno, E2BIG);
	ck_assert_int_eq(mount_options_parse(mixed, 2, &flags, data, 9), 0); /* "size=64k" */
	ck_assert_int_eq(mount_options_parse(mixed, 2, &flags, data, 8), -1);
}
END_TEST

/* An overlay of many layers: named from their common parent, as
 * containerd's compactLowerdirOption does. */
START_TEST(test_overlay_lowerdir_compact)
{
	char data[256], dir[64];

	strcpy(data, "index=off,lowerdir=/r/snapshots/12/fs:/r/snapshots/3/fs:/r/snapshots/1/fs,"
		     "upperdir=/r/snapshots/13/fs,workdir=/r/snapshots/13/work");
	ck_assert_int_eq(overlay_lowerdir_compact(data, dir, sizeof(dir)), 1);
	ck_assert_str_eq(dir, "/r/snapshots/");
	ck_assert_str_eq(data, "index=off,lowerdir=12/fs:3/fs:1/fs,"
			       "upperdir=/r/snapshots/13/fs,workdir=/r/snapshots/13/work");
	/* First, and last, with layers sharing "snapshots/1" but not as a directory. */
	strcpy(data, "lowerdir=/r/snapshots/10/fs:/r/snapshots/11/fs");
	ck_assert_int_eq(overlay_lowerdir_compact(data, dir, sizeof(dir)), 1);
	ck_assert_str_eq(dir, "/r/snapshots/");
	ck_assert_str_eq(data, "lowerdir=10/fs:11/fs");
	/* Nothing to do: one layer, nothing but "/" in common, no lowerdir. */
	strcpy(data, "lowerdir=/r/snapshots/1/fs,upperdir=/u");
	ck_assert_int_eq(overlay_lowerdir_compact(data, dir, sizeof(dir)), 0);
	ck_assert_str_eq(data, "lowerdir=/r/snapshots/1/fs,upperdir=/u");
	strcpy(data, "lowerdir=/a/fs:/b/fs");
	ck_assert_int_eq(overlay_lowerdir_compact(data, dir, sizeof(dir)), 0);
	ck_assert_str_eq(data, "lowerdir=/a/fs:/b/fs");
	strcpy(data, "xlowerdir=/r/1:/r/2,index=off");
	ck_assert_int_eq(overlay_lowerdir_compact(data, dir, sizeof(dir)), 0);
	ck_assert_str_eq(dir, "");
}
END_TEST

Suite *ttrpc_suite(void)
{
	Suite *suite = suite_create("ttrpc framing (containerd)");
	TCase *tc = tcase_create("captured");

	tcase_add_loop_test(tc, test_captured_requests, 0, (int)(sizeof(requests) / sizeof(requests[0])));
	tcase_add_test(tc, test_create_request_fields);
	tcase_add_test(tc, test_responses_as_captured);
	suite_add_tcase(suite, tc);
	tc = tcase_create("framing");
	tcase_add_test(tc, test_status_and_empty_responses);
	tcase_add_test(tc, test_frame_too_large);
	tcase_add_test(tc, test_request_not_protobuf);
	tcase_add_test(tc, test_request_frame_round_trip);
	tcase_add_test(tc, test_mount_options);
	tcase_add_test(tc, test_overlay_lowerdir_compact);
	suite_add_tcase(suite, tc);
	return suite;
}
