/* tests/fuzz/ttrpc_frames.c: ttrpc.c's reader, the first thing containerd's
 * bytes meet (issue 11). The input is cut into pieces of sizes it chooses
 * and fed in turn, frames taken after each piece. Beyond not crashing or
 * leaking:
 * - a frame handed out has at most TTRPC_MESSAGE_MAX bytes of data, which
 *   are the input's bytes at that place;
 * - every byte fed is accounted for: in a frame handed out, in a frame too
 *   large (dropped), or still waiting for the rest of its frame;
 * - the buffer never grows past what one pending frame and one piece need;
 * - each frame's data decodes as a Request or is refused, never half-read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ttrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_bytes in = { data, size };
	struct ttrpc_reader reader = { 0 };
	uint64_t fed = 0, accounted = 0;
	size_t largest_piece = 0;

	while (in.len > 0) {
		const uint8_t *piece;
		size_t want = fuzz_u16(&in) % 4096 + 1, n = fuzz_take(&in, want, &piece);
		struct ttrpc_header header;
		const uint8_t *frame;
		enum ttrpc_read_result result;

		if (n == 0)
			break;
		FUZZ_CHECK(ttrpc_reader_feed(&reader, piece, n) == 0, "feed of %zu bytes failed", n);
		fed += n;
		largest_piece = n > largest_piece ? n : largest_piece;
		while ((result = ttrpc_reader_next(&reader, &header, &frame)) != TTRPC_NEED_MORE) {
			if (result == TTRPC_TOO_LARGE) {
				FUZZ_CHECK(header.length > TTRPC_MESSAGE_MAX, "a frame of %u refused",
					   header.length);
				accounted += TTRPC_HEADER_LEN + (uint64_t)header.length;
				continue;
			}
			FUZZ_CHECK(header.length <= TTRPC_MESSAGE_MAX, "a frame of %u handed out",
				   header.length);
			accounted += TTRPC_HEADER_LEN + (uint64_t)header.length;
			struct ttrpc_request request;
			if (ttrpc_request_decode(frame, header.length, &request) == 0)
				FUZZ_CHECK(request.service && request.method, "a request without names");
			ttrpc_request_free(&request);
		}
		/* What is left is one unfinished frame (or the rest of a big
		 * one still to skip, counted already). */
		FUZZ_CHECK(reader.len - reader.taken < TTRPC_HEADER_LEN + TTRPC_MESSAGE_MAX,
			   "%zu bytes held", reader.len - reader.taken);
		FUZZ_CHECK(reader.cap <= 2 * (TTRPC_HEADER_LEN + TTRPC_MESSAGE_MAX + largest_piece) + 4096,
			   "a buffer of %zu bytes", reader.cap);
	}
	FUZZ_CHECK(accounted + (reader.len - reader.taken) == fed + reader.skip,
		   "fed %llu, accounted %llu, held %zu, to skip %llu", (unsigned long long)fed,
		   (unsigned long long)accounted, reader.len - reader.taken,
		   (unsigned long long)reader.skip);
	ttrpc_reader_free(&reader);
	return 0;
}
