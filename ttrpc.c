/* ttrpc.c: containerd's ttrpc framing (see ttrpc.h). The messages inside
 * the frames are proto/ttrpc.proto's, encoded by protobuf-c's generated
 * code (build/proto/ttrpc.pb-c.c, made at build time). */
#include "ttrpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ttrpc.pb-c.h"

/* containerd sends the namespace in this metadata key (namespaces/ttrpc.go). */
#define NAMESPACE_KEY "containerd-namespace-ttrpc"

void ttrpc_header_put(uint8_t out[TTRPC_HEADER_LEN], const struct ttrpc_header *header)
{
	out[0] = (uint8_t)(header->length >> 24);
	out[1] = (uint8_t)(header->length >> 16);
	out[2] = (uint8_t)(header->length >> 8);
	out[3] = (uint8_t)header->length;
	out[4] = (uint8_t)(header->stream_id >> 24);
	out[5] = (uint8_t)(header->stream_id >> 16);
	out[6] = (uint8_t)(header->stream_id >> 8);
	out[7] = (uint8_t)header->stream_id;
	out[8] = header->type;
	out[9] = header->flags;
}

void ttrpc_header_get(const uint8_t in[TTRPC_HEADER_LEN], struct ttrpc_header *header)
{
	header->length = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	header->stream_id = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
	header->type = in[8];
	header->flags = in[9];
}

int ttrpc_reader_feed(struct ttrpc_reader *reader, const void *data, size_t len)
{
	const uint8_t *bytes = data;

	/* The rest of a frame too large to keep: dropped as it comes. */
	if (reader->skip > 0) {
		size_t dropped = len < reader->skip ? len : (size_t)reader->skip;
		reader->skip -= dropped;
		bytes += dropped;
		len -= dropped;
	}
	if (len == 0)
		return 0;
	/* What was handed out is gone now: move the rest to the front. */
	if (reader->taken > 0) {
		memmove(reader->buf, reader->buf + reader->taken, reader->len - reader->taken);
		reader->len -= reader->taken;
		reader->taken = 0;
	}
	if (reader->len + len > reader->cap) {
		size_t cap = reader->cap ? reader->cap : 4096;
		uint8_t *grown;
		while (cap < reader->len + len)
			cap *= 2;
		grown = realloc(reader->buf, cap);
		if (!grown) {
			errno = ENOMEM;
			return -1;
		}
		reader->buf = grown;
		reader->cap = cap;
	}
	memcpy(reader->buf + reader->len, bytes, len);
	reader->len += len;
	return 0;
}

enum ttrpc_read_result ttrpc_reader_next(struct ttrpc_reader *reader, struct ttrpc_header *header,
					 const uint8_t **data)
{
	size_t available = reader->len - reader->taken;
	const uint8_t *start = reader->buf + reader->taken;

	if (available < TTRPC_HEADER_LEN)
		return TTRPC_NEED_MORE;
	ttrpc_header_get(start, header);
	if (header->length > TTRPC_MESSAGE_MAX) {
		/* Its header is answered; its data, here or to come, dropped. */
		size_t here = available - TTRPC_HEADER_LEN;
		size_t dropped = here < header->length ? here : header->length;
		reader->taken += TTRPC_HEADER_LEN + dropped;
		reader->skip = header->length - dropped;
		return TTRPC_TOO_LARGE;
	}
	if (available - TTRPC_HEADER_LEN < header->length)
		return TTRPC_NEED_MORE;
	*data = start + TTRPC_HEADER_LEN;
	reader->taken += TTRPC_HEADER_LEN + header->length;
	return TTRPC_FRAME;
}

void ttrpc_reader_free(struct ttrpc_reader *reader)
{
	free(reader->buf);
	*reader = (struct ttrpc_reader){ 0 };
}

int ttrpc_request_decode(const uint8_t *data, size_t len, struct ttrpc_request *request)
{
	Ttrpc__Request *message = ttrpc__request__unpack(NULL, len, data);

	*request = (struct ttrpc_request){ 0 };
	if (!message) {
		errno = EBADMSG;
		return -1;
	}
	request->message = message;
	request->service = message->service;
	request->method = message->method;
	request->payload = message->payload.data;
	request->payload_len = message->payload.len;
	for (size_t i = 0; i < message->n_metadata; i++) {
		if (strcmp(message->metadata[i]->key, NAMESPACE_KEY) == 0)
			request->namespace = message->metadata[i]->value;
	}
	return 0;
}

void ttrpc_request_free(struct ttrpc_request *request)
{
	if (request->message)
		ttrpc__request__free_unpacked(request->message, NULL);
	*request = (struct ttrpc_request){ 0 };
}

/* The header, then message packed after it: one allocation. */
static uint8_t *frame(uint32_t stream_id, enum ttrpc_frame_type type,
		      const ProtobufCMessage *message, size_t *frame_len)
{
	size_t len = protobuf_c_message_get_packed_size(message);
	struct ttrpc_header header = { .length = (uint32_t)len, .stream_id = stream_id, .type = type };
	uint8_t *out;

	if (len > TTRPC_MESSAGE_MAX) {
		errno = EMSGSIZE;
		return NULL;
	}
	out = malloc(TTRPC_HEADER_LEN + len);
	if (!out)
		return NULL;
	ttrpc_header_put(out, &header);
	protobuf_c_message_pack(message, out + TTRPC_HEADER_LEN);
	*frame_len = TTRPC_HEADER_LEN + len;
	return out;
}

uint8_t *ttrpc_response_frame(uint32_t stream_id, enum ttrpc_code code, const char *message,
			      const uint8_t *payload, size_t payload_len, size_t *frame_len)
{
	Ttrpc__Response response = TTRPC__RESPONSE__INIT;
	Ttrpc__Status status = TTRPC__STATUS__INIT;

	if (code != TTRPC_OK) {
		status.code = (int32_t)code;
		status.message = (char *)(message ? message : "");
		response.status = &status;
	} else {
		response.payload.data = (uint8_t *)payload;
		response.payload.len = payload_len;
	}
	return frame(stream_id, TTRPC_RESPONSE, &response.base, frame_len);
}

uint8_t *ttrpc_request_frame(uint32_t stream_id, const char *service, const char *method,
			     const uint8_t *payload, size_t payload_len, const char *namespace,
			     size_t *frame_len)
{
	Ttrpc__Request request = TTRPC__REQUEST__INIT;
	Ttrpc__KeyValue namespace_entry = TTRPC__KEY_VALUE__INIT;
	Ttrpc__KeyValue *metadata[1] = { &namespace_entry };

	request.service = (char *)service;
	request.method = (char *)method;
	request.payload.data = (uint8_t *)payload;
	request.payload.len = payload_len;
	if (namespace) {
		namespace_entry.key = NAMESPACE_KEY;
		namespace_entry.value = (char *)namespace;
		request.metadata = metadata;
		request.n_metadata = 1;
	}
	return frame(stream_id, TTRPC_REQUEST, &request.base, frame_len);
}
