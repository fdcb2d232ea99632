/* ttrpc.h: containerd's ttrpc framing, for the containerd front end
 * (issue 11; not part of the five steps). A frame is a 10-byte header,
 * big-endian: the length of the data that follows (4 bytes), a stream id
 * (4; a client's are odd), a type (1: request, 2: response) and flags (0
 * in ttrpc 1.1, containerd 1.6's); then the data, a protobuf Request or
 * Response (proto/ttrpc.proto). Pure logic: no sockets here. */
#ifndef SHIM_TTRPC_H
#define SHIM_TTRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TTRPC_HEADER_LEN 10
#define TTRPC_MESSAGE_MAX (4u << 20) /* ttrpc's messageLengthMax */

enum ttrpc_frame_type { TTRPC_REQUEST = 1, TTRPC_RESPONSE = 2 };

/* gRPC's status codes, as ttrpc carries them. */
enum ttrpc_code {
	TTRPC_OK = 0,
	TTRPC_INVALID_ARGUMENT = 3,
	TTRPC_NOT_FOUND = 5,
	TTRPC_ALREADY_EXISTS = 6,
	TTRPC_RESOURCE_EXHAUSTED = 8,
	TTRPC_FAILED_PRECONDITION = 9,
	TTRPC_UNIMPLEMENTED = 12,
	TTRPC_INTERNAL = 13,
};

struct ttrpc_header {
	uint32_t length;
	uint32_t stream_id;
	uint8_t type;
	uint8_t flags;
};

void ttrpc_header_put(uint8_t out[TTRPC_HEADER_LEN], const struct ttrpc_header *header);
void ttrpc_header_get(const uint8_t in[TTRPC_HEADER_LEN], struct ttrpc_header *header);

/* Frames out of a byte stream that arrives in pieces of any size. */
struct ttrpc_reader {
	uint8_t *buf;
	size_t len;     /* bytes in buf */
	size_t cap;
	size_t taken;   /* bytes at the front already handed out as a frame */
	uint64_t skip;  /* data of a frame too large, still to be dropped */
};

enum ttrpc_read_result {
	TTRPC_NEED_MORE, /* no complete frame yet */
	TTRPC_FRAME,     /* *header and *data: a frame, valid until the next call */
	TTRPC_TOO_LARGE, /* *header of a frame over TTRPC_MESSAGE_MAX: answer it
	                  * (its stream id), its data is dropped as it comes */
};

/* Append len bytes; 0, or -1 (ENOMEM). Memory grows with the largest
 * frame pending, never past TTRPC_MESSAGE_MAX plus one read. */
int ttrpc_reader_feed(struct ttrpc_reader *reader, const void *data, size_t len);
enum ttrpc_read_result ttrpc_reader_next(struct ttrpc_reader *reader, struct ttrpc_header *header,
					 const uint8_t **data);
void ttrpc_reader_free(struct ttrpc_reader *reader);

/* A request, decoded: service and method NUL-terminated, payload pointing
 * into the message, the namespace from the metadata (or NULL). */
struct ttrpc_request {
	char *service;
	char *method;
	const uint8_t *payload;
	size_t payload_len;
	const char *namespace;
	void *message; /* the decoded protobuf, freed by ttrpc_request_free */
};

/* Decode a request frame's data: 0, or -1 (EBADMSG) for bytes that are
 * not a Request. */
int ttrpc_request_decode(const uint8_t *data, size_t len, struct ttrpc_request *request);
void ttrpc_request_free(struct ttrpc_request *request);

/* A whole response frame, malloc'd, *frame_len its size: the payload on
 * success (code TTRPC_OK), else the status alone. NULL when out of memory. */
uint8_t *ttrpc_response_frame(uint32_t stream_id, enum ttrpc_code code, const char *message,
			      const uint8_t *payload, size_t payload_len, size_t *frame_len);

/* A whole request frame, for calls the shim makes (events' Forward). */
uint8_t *ttrpc_request_frame(uint32_t stream_id, const char *service, const char *method,
			     const uint8_t *payload, size_t payload_len, const char *namespace,
			     size_t *frame_len);

#endif
