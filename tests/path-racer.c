/* path-racer.c: a hostile neighbour for the tests of planted paths
 * (tests/trust.sh). It swaps a file for a symlink the moment the file
 * appears, to catch a program that sets up a file by path in several
 * steps (create, then chmod) and so follows the symlink in the second.
 *
 *   path-racer DIR NAME TARGET
 *     each time a file named NAME is created in DIR (inotify), rename a
 *     fresh symlink to TARGET over it at once; run until killed. Prints
 *     "ready" on stdout once it is watching.
 *
 * Exit status: 1 when a system call fails, 2 for a usage error. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char events[sizeof(struct inotify_event) + NAME_MAX + 1]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	char link_path[PATH_MAX], final_path[PATH_MAX];
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: path-racer DIR NAME TARGET\n");
		return 2;
	}
	snprintf(link_path, sizeof(link_path), "%s/.path-racer", argv[1]);
	snprintf(final_path, sizeof(final_path), "%s/%s", argv[1], argv[2]);
	fd = inotify_init1(IN_CLOEXEC);
	if (fd < 0 || inotify_add_watch(fd, argv[1], IN_CREATE) < 0) {
		fprintf(stderr, "path-racer: watch %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	puts("ready");
	fflush(stdout);
	for (;;) {
		ssize_t n = read(fd, events, sizeof(events));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "path-racer: read inotify: %s\n", strerror(errno));
			return 1;
		}
		for (char *p = events; p < events + n;) {
			struct inotify_event *event = (struct inotify_event *)p;

			if (event->len > 0 && strcmp(event->name, argv[2]) == 0) {
				unlink(link_path);
				if (symlink(argv[3], link_path) < 0 || rename(link_path, final_path) < 0)
					fprintf(stderr, "path-racer: plant %s: %s\n", final_path,
						strerror(errno));
			}
			p += sizeof(*event) + event->len;
		}
	}
}
