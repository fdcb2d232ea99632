/* ttrpc-poke.c: send raw bytes to a shim's ttrpc socket, as a broken or
 * hostile client would, for tests/containerd.sh.
 *
 * Usage: ttrpc-poke SOCKET MODE
 *   garbage    a frame whose data is not a Request: print the answer's status code
 *   unknown    a Request for a method no shim has: print the status code
 *   even       a Request on an even stream id: print the status code
 *   huge       a header announcing 4 GiB, then 1 MiB of it, then a hang-up
 *   half       half a header, then a hang-up
 * Prints "code N" for an answer (0 when none came within 5 s and the
 * connection closed), exit 0; exit 1 if the socket cannot be reached. */
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void header(uint8_t out[10], uint32_t length, uint32_t stream, uint8_t type)
{
	out[0] = (uint8_t)(length >> 24);
	out[1] = (uint8_t)(length >> 16);
	out[2] = (uint8_t)(length >> 8);
	out[3] = (uint8_t)length;
	out[4] = (uint8_t)(stream >> 24);
	out[5] = (uint8_t)(stream >> 16);
	out[6] = (uint8_t)(stream >> 8);
	out[7] = (uint8_t)stream;
	out[8] = type;
	out[9] = 0;
}

/* A protobuf Request{service=1, method=2}: two length-delimited strings. */
static size_t request(uint8_t *out, const char *service, const char *method)
{
	size_t n = 0, s = strlen(service), m = strlen(method);

	out[n++] = 0x0a;
	out[n++] = (uint8_t)s;
	memcpy(out + n, service, s);
	n += s;
	out[n++] = 0x12;
	out[n++] = (uint8_t)m;
	memcpy(out + n, method, m);
	return n + m;
}

/* The status code of the answer: Response{status=1{code=1}}. */
static int answer_code(int fd)
{
	uint8_t buf[4096];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&pfd, 1, 5000) <= 0)
		return -1;
	n = read(fd, buf, sizeof(buf));
	if (n < 12 || buf[10] != 0x0a)
		return 0;
	/* 0x0a LEN 0x08 CODE */
	return buf[12] == 0x08 ? buf[13] : 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un address = { .sun_family = AF_UNIX };
	uint8_t frame[1 << 16];
	const char *path;
	size_t len;
	int fd;

	if (argc != 3)
		return fprintf(stderr, "usage: ttrpc-poke SOCKET garbage|unknown|even|huge|half\n"), 2;
	path = strncmp(argv[1], "unix://", 7) == 0 ? argv[1] + 7 : argv[1];
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0)
		return perror("ttrpc-poke: connect"), 1;
	if (strcmp(argv[2], "garbage") == 0) {
		static const uint8_t junk[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x' };
		header(frame, sizeof(junk), 1, 1);
		memcpy(frame + 10, junk, sizeof(junk));
		len = 10 + sizeof(junk);
	} else if (strcmp(argv[2], "unknown") == 0 || strcmp(argv[2], "even") == 0) {
		len = request(frame + 10, "containerd.task.v2.Task",
			      argv[2][0] == 'u' ? "Frobnicate" : "State");
		header(frame, (uint32_t)len, argv[2][0] == 'u' ? 1 : 2, 1);
		len += 10;
	} else if (strcmp(argv[2], "huge") == 0) {
		header(frame, 0xffffffffu, 1, 1);
		if (write(fd, frame, 10) != 10)
			return 1;
		memset(frame, 0, sizeof(frame));
		for (int i = 0; i < 16; i++)
			if (write(fd, frame, sizeof(frame)) < 0)
				break;
		printf("code %d\n", answer_code(fd));
		return 0;
	} else if (strcmp(argv[2], "half") == 0) {
		header(frame, 100, 1, 1);
		len = 5;
		if (write(fd, frame, len) < 0)
			return 1;
		close(fd);
		printf("code 0\n");
		return 0;
	} else {
		return fprintf(stderr, "ttrpc-poke: unknown mode %s\n", argv[2]), 2;
	}
	if (write(fd, frame, len) != (ssize_t)len)
		return perror("ttrpc-poke: write"), 1;
	printf("code %d\n", answer_code(fd));
	return 0;
}
