/* events.c: what the containerd front end tells containerd (issue 11):
 * each event is a Forward call to containerd's events service at
 * TTRPC_ADDRESS, its Envelope naming the namespace and topic. The
 * connection is made when first needed and made again once when
 * containerd has gone away (restarted, say); an event that cannot be
 * delivered is logged and dropped, as containerd's own shim does after
 * its retries. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "containerd.h"
#include "events.pb-c.h"
#include "util.h"

#define EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"
#define EVENTS_TIMEOUT_MS 5000

static int events_connect(struct task_server *server)
{
	const char *path = server->events_address;

	if (strncmp(path, "unix://", 7) == 0)
		path += 7;
	server->events_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (server->events_fd < 0)
		return -1;
	if (connect_unix(server->events_fd, path) < 0) {
		close_fd(&server->events_fd);
		return -1;
	}
	server->events_stream = 1;
	return 0;
}

/* Read the one response frame to our request, within the timeout. */
static int events_await_response(struct task_server *server)
{
	struct ttrpc_reader reader = { 0 };
	struct ttrpc_header header;
	const uint8_t *data;
	int result = -1;

	for (;;) {
		char buf[4096];
		struct pollfd pfd = { .fd = server->events_fd, .events = POLLIN };
		ssize_t n;
		enum ttrpc_read_result got = ttrpc_reader_next(&reader, &header, &data);

		if (got == TTRPC_FRAME) {
			result = header.length == 0 || data[0] != 0x0a ? 0 : -1; /* a status: refused */
			if (result < 0)
				errno = EPROTO;
			break;
		}
		if (poll(&pfd, 1, EVENTS_TIMEOUT_MS) <= 0) {
			errno = ETIMEDOUT;
			break;
		}
		n = read(server->events_fd, buf, sizeof(buf));
		if (n <= 0) {
			errno = n == 0 ? ECONNRESET : errno;
			break;
		}
		if (ttrpc_reader_feed(&reader, buf, (size_t)n) < 0)
			break;
	}
	ttrpc_reader_free(&reader);
	return result;
}

void events_publish(struct task_server *server, const char *topic, const char *type_name,
		    const uint8_t *event, size_t event_len)
{
	Events__ForwardRequest forward = EVENTS__FORWARD_REQUEST__INIT;
	Events__Envelope envelope = EVENTS__ENVELOPE__INIT;
	Task__Timestamp timestamp = TASK__TIMESTAMP__INIT;
	Task__Any any = TASK__ANY__INIT;
	struct timespec now;
	uint8_t *payload, *frame;
	size_t payload_len, frame_len;

	if (!server->events_address || !server->events_address[0])
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	timestamp.seconds = now.tv_sec;
	timestamp.nanos = (int32_t)now.tv_nsec;
	any.type_url = (char *)type_name;
	any.value.data = (uint8_t *)event;
	any.value.len = event_len;
	envelope.timestamp = &timestamp;
	envelope.namespace_ = (char *)server->namespace;
	envelope.topic = (char *)topic;
	envelope.event = &any;
	forward.envelope = &envelope;
	payload_len = events__forward_request__get_packed_size(&forward);
	payload = malloc(payload_len ? payload_len : 1);
	if (!payload)
		return;
	events__forward_request__pack(&forward, payload);
	/* Twice at most: a connection containerd closed (it restarted) is
	 * seen only when used. */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (server->events_fd < 0 && events_connect(server) < 0)
			break;
		frame = ttrpc_request_frame(server->events_stream, EVENTS_SERVICE, "Forward", payload,
					    payload_len, server->namespace, &frame_len);
		server->events_stream += 2;
		if (frame && write_all(server->events_fd, frame, frame_len) == 0 &&
		    events_await_response(server) == 0) {
			free(frame);
			free(payload);
			return;
		}
		free(frame);
		close_fd(&server->events_fd);
	}
	syslog(LOG_WARNING, "containerd shim %s: event %s not delivered to %s: %m", server->id, topic,
	       server->events_address);
	free(payload);
}
