/* tests/fuzz/attach_frames.c: the attach output path of io.c (step 5):
 * broadcast, the shared output ring, client_flush and dropping clients
 * that fall off the ring, over real socketpairs of both types.
 *
 * io.c is compiled into this target with a 64 KiB ring (the shim's is
 * 4 MiB), so a few frames are enough to wrap it and to leave a client
 * behind. The input is a small program: the first byte picks the socket
 * type (SOCK_STREAM or SOCK_SEQPACKET) and 1 to 4 clients, each with a
 * small send buffer; then a list of steps: output of a chosen length on
 * stdout or stderr (broadcast), a client reading some of what it was sent,
 * a client taking what it is owed (client_flush, as on EPOLLOUT), a client
 * joining or hanging up. At the end every client still connected is
 * drained. Checked, beyond not crashing or leaking:
 * - a client still connected got exactly the frames broadcast since it
 *   joined, in order: on a stream socket the same bytes, on a seqpacket
 *   socket one packet per frame;
 * - a client that was dropped got a prefix of that (a stream client may
 *   stop mid-frame, a seqpacket client only between frames);
 * - every frame is a stream byte (1 or 2) and 1 to 32 KiB of data;
 * - a client is dropped only when it was more than the ring behind, or
 *   hung up; and once every client has caught up the ring is unmapped. */
#define OUTPUT_RING_SIZE (64 * 1024)
#include "../../io.c"

#include <signal.h>

#include "fuzz.h"

/* The frames of shimmy's dialect, io_init's default (checked below). */
#define FRAME_DATA_MAX (32 * 1024)
#define CLIENTS_MAX 8
#define OUTPUT_MAX (1024 * 1024) /* bytes broadcast in one run, at most */

struct peer {
	int fd;               /* the client's end; -1 once it hung up */
	unsigned id;          /* the shim's client id */
	struct fuzz_buf want; /* the frames broadcast since it joined */
	struct fuzz_buf got;  /* what it received */
	size_t packets;       /* seqpacket: frames received */
	bool hung_up;
};

static bool seqpacket;
static struct diag quiet = { .fd = -1, .min_level = DIAG_ERROR + 1 };

static bool connected(struct container_io *io, const struct peer *peer)
{
	return !peer->hung_up && find_client(io, peer->id) != NULL;
}

/* A client joins, as io_attach_accept would make it. */
static void join(struct container_io *io, struct peer *peer, int sndbuf)
{
	struct attach_client *client = calloc(1, sizeof(*client));
	int fds[2];

	FUZZ_CHECK(client != NULL, "out of memory");
	FUZZ_CHECK(socketpair(AF_UNIX, (seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0,
			      fds) == 0,
		   "socketpair: %m");
	FUZZ_CHECK(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0 && fcntl(fds[1], F_SETFL, O_NONBLOCK) == 0,
		   "O_NONBLOCK: %m");
	setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	*peer = (struct peer){ .fd = fds[1], .id = io->next_client_id };
	client->id = io->next_client_id++;
	client->fd = fds[0];
	client->pos = io->ring.head;
	client->input_done = true; /* these clients send nothing */
	client->next = io->clients;
	io->clients = client;
	io_watch(io, EPOLL_CTL_ADD, client->fd, 0, WATCH_TAG(WATCH_ATTACH_CLIENT, client->id));
	client_update_events(io, client);
}

/* The client reads at most max bytes (0: all there is); on a seqpacket
 * socket, whole packets. */
static void receive(struct peer *peer, size_t max)
{
	char buf[FRAME_DATA_MAX + 16];
	size_t taken = 0;

	while (peer->fd >= 0 && (max == 0 || taken < max)) {
		size_t want = sizeof(buf);
		ssize_t n;

		if (!seqpacket && max != 0 && max - taken < want)
			want = max - taken;
		n = recv(peer->fd, buf, want, MSG_DONTWAIT);
		if (n <= 0)
			return;
		if (seqpacket) {
			FUZZ_CHECK(n >= 2 && n <= FRAME_DATA_MAX + 1, "a packet of %zd bytes", n);
			peer->packets++;
		}
		buf_add(&peer->got, buf, (size_t)n);
		taken += (size_t)n;
	}
}

/* Every frame in buf is well formed; returns how many. */
static size_t check_frames(const struct fuzz_buf *frames)
{
	size_t pos = 0, count = 0;

	/* Frames are recorded as [len u32][stream][data] in want. */
	while (pos < frames->len) {
		uint32_t len;
		memcpy(&len, frames->data + pos, sizeof(len));
		FUZZ_CHECK(len >= 2 && len <= FRAME_DATA_MAX + 1, "a frame of %u bytes", len);
		FUZZ_CHECK(frames->data[pos + 4] == 1 || frames->data[pos + 4] == 2, "stream byte %d",
			   frames->data[pos + 4]);
		pos += 4 + len;
		count++;
	}
	return count;
}

/* want holds [len][frame]...; the bytes a stream client should see are the
 * frames without their lengths. */
static void expected_bytes(const struct fuzz_buf *want, struct fuzz_buf *out)
{
	for (size_t pos = 0; pos < want->len;) {
		uint32_t len;
		memcpy(&len, want->data + pos, sizeof(len));
		buf_add(out, want->data + pos + 4, len);
		pos += 4 + len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_bytes in = { data, size };
	struct peer peers[CLIENTS_MAX];
	struct container_io io;
	size_t peer_count, output_total = 0;
	uint8_t setup = fuzz_byte(&in);
	static char output[FRAME_DATA_MAX * 3];
	int sndbuf = 1024 + (setup >> 4) * 1024;

	signal(SIGPIPE, SIG_IGN);
	seqpacket = setup & 1;
	io_init(&io);
	FUZZ_CHECK(io.frame_data_max == FRAME_DATA_MAX, "io_init's frames carry %zu bytes",
		   io.frame_data_max);
	io.diag = &quiet;
	io.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	FUZZ_CHECK(io.epoll_fd >= 0, "epoll_create1: %m");
	peer_count = 1 + ((setup >> 1) & 3);
	for (size_t i = 0; i < peer_count; i++)
		join(&io, &peers[i], sndbuf);

	while (in.len > 0 && output_total < OUTPUT_MAX) {
		uint8_t op = fuzz_byte(&in);
		struct peer *peer = &peers[(op >> 3) % peer_count];

		switch (op & 7) {
		case 0: case 1: case 2: { /* output */
			size_t len = fuzz_u16(&in) % sizeof(output);
			uint8_t fill = fuzz_byte(&in);
			enum stream_id stream = (op & 1) ? STREAM_STDERR : STREAM_STDOUT;
			for (size_t i = 0; i < len; i++)
				output[i] = (char)(fill + i * 7);
			for (size_t i = 0; i < peer_count; i++) {
				if (!connected(&io, &peers[i]))
					continue;
				for (size_t pos = 0; pos < len; pos += FRAME_DATA_MAX) {
					size_t chunk = len - pos < FRAME_DATA_MAX ? len - pos : FRAME_DATA_MAX;
					uint32_t frame_len = (uint32_t)chunk + 1;
					unsigned char byte = (unsigned char)stream;
					buf_add(&peers[i].want, &frame_len, sizeof(frame_len));
					buf_add(&peers[i].want, &byte, 1);
					buf_add(&peers[i].want, output + pos, chunk);
				}
			}
			broadcast(&io, stream, output, len);
			output_total += len;
			break;
		}
		case 3: case 4: /* a client reads a little */
			receive(peer, 1 + fuzz_u16(&in) % 8192);
			break;
		case 5: { /* it is owed something: EPOLLOUT */
			struct attach_client *client = find_client(&io, peer->id);
			if (client && !peer->hung_up && client_flush(&io, client) < 0)
				client_close(&io, client);
			break;
		}
		case 6: /* it hangs up */
			if (peer->fd >= 0 && (fuzz_byte(&in) & 3) == 0) {
				close(peer->fd);
				peer->fd = -1;
				peer->hung_up = true;
			}
			break;
		case 7: /* a new client, replacing one that left */
			if (!connected(&io, peer)) {
				struct attach_client *client = find_client(&io, peer->id);
				if (client)
					client_close(&io, client);
				if (peer->fd >= 0)
					close(peer->fd);
				buf_free(&peer->want);
				buf_free(&peer->got);
				join(&io, peer, sndbuf);
			}
			break;
		}
	}

	/* The end: a client that hung up is closed (the shim sees EPOLLHUP),
	 * everyone else takes all it is owed. */
	for (size_t i = 0; i < peer_count; i++) {
		struct attach_client *client = find_client(&io, peers[i].id);
		if (client && peers[i].hung_up)
			client_close(&io, client);
	}
	for (int round = 0; round < 10000; round++) {
		bool moved = false;
		for (size_t i = 0; i < peer_count; i++) {
			struct attach_client *client = find_client(&io, peers[i].id);
			size_t before = peers[i].got.len;
			if (!client || peers[i].hung_up)
				continue;
			if (client_flush(&io, client) < 0) {
				client_close(&io, client);
				continue;
			}
			receive(&peers[i], 0);
			moved |= peers[i].got.len != before;
		}
		if (!moved)
			break;
	}
	for (size_t i = 0; i < peer_count; i++) {
		struct peer *peer = &peers[i];
		struct fuzz_buf expected = { 0 };
		size_t frames = check_frames(&peer->want);

		expected_bytes(&peer->want, &expected);
		if (connected(&io, peer)) {
			FUZZ_CHECK(peer->got.len == expected.len &&
					   (expected.len == 0 ||
					    memcmp(peer->got.data, expected.data, expected.len) == 0),
				   "a connected client got %zu bytes, not the %zu broadcast", peer->got.len,
				   expected.len);
			if (seqpacket)
				FUZZ_CHECK(peer->packets == frames, "%zu packets for %zu frames", peer->packets,
					   frames);
		} else {
			FUZZ_CHECK(peer->got.len <= expected.len &&
					   (peer->got.len == 0 ||
					    memcmp(peer->got.data, expected.data, peer->got.len) == 0),
				   "a dropped client got bytes that were not broadcast to it");
		}
		buf_free(&expected);
	}
	/* Everyone has caught up or is gone: the ring is given back. */
	for (struct attach_client *client = io.clients; client; client = client->next)
		FUZZ_CHECK(client->pos == io.ring.head, "a connected client is still behind after the drain");
	FUZZ_CHECK(io.clients != NULL || io.ring.data == NULL,
		   "the ring is still mapped with no client left");
	while (io.clients)
		client_close(&io, io.clients);
	FUZZ_CHECK(io.ring.data == NULL, "the ring is still mapped with no client behind");
	for (size_t i = 0; i < peer_count; i++) {
		if (peers[i].fd >= 0)
			close(peers[i].fd);
		buf_free(&peers[i].want);
		buf_free(&peers[i].got);
	}
	close(io.epoll_fd);
	return 0;
}
