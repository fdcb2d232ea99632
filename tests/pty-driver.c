/* pty-driver.c: run a command on a real pseudoterminal and talk to it
 * through a tiny script, as a person at a terminal would. For the terminal
 * tests (tests/terminal.sh): `shimctl attach` only goes raw, follows the
 * window size and reads detach keys when its stdin is a real terminal.
 *
 * Usage: pty-driver [OPTION]... -- COMMAND [ARG]...
 *   --script FILE        steps, one a line (blank lines and # comments skipped)
 *   -s STEP              one step; steps run in the order given, files and -s mixed
 *   --transcript FILE    everything the command printed, byte for byte
 *   --timeout SECONDS    the deadline of each step (default 10)
 *   --winsize ROWS COLS  the terminal's size before the command starts (default 0 0)
 *   --verbose            say on stderr how each step went
 *
 * Steps:
 *   winsize ROWS COLS    resize the terminal (TIOCSWINSZ on the master): the
 *                        kernel sends SIGWINCH to the foreground process group
 *   send TEXT            type TEXT; C escapes: \n \r \t \e \\ \xHH (\x10 is
 *                        ctrl-p, \x11 ctrl-q)
 *   expect TEXT          wait until TEXT (same escapes) appears in the output
 *                        read since the end of the last match
 *   wait-raw             wait until the command has put the terminal in raw
 *                        mode (ICANON and ECHO off)
 *   wait-exit CODE       wait for the command to exit with status CODE
 *   check-termios-restored
 *                        the terminal's settings are those it had before the
 *                        command started (use after wait-exit)
 *   run SHELL-COMMAND    run SHELL-COMMAND with sh -c, off the terminal (stdin
 *                        /dev/null, output to our stderr, $PTY_DRIVER_PID the
 *                        command's PID), reading the terminal meanwhile; it
 *                        must exit 0: for what the test does from outside in
 *                        mid-session
 *   timeout SECONDS      the deadline of each later step
 *
 * Exit status: 0 when every step passed; 1 when one failed, with a message
 * that shows what was seen instead; 2 for a usage error. The command still
 * running at the end is hung up (the master is closed: SIGHUP), then killed.
 *
 * Nothing sleeps for a fixed time: every step polls the master and a pidfd
 * of the child, with the step's deadline. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 10000
#define STEPS_MAX 256
#define TEXT_MAX 4096		      /* one send or expect, after the escapes */
#define OUTPUT_KEEP_MAX (1024 * 1024) /* output kept for expect */
#define SHOW_MAX 2000		      /* bytes of output shown in a failure message */
#define RAW_POLL_MS 20		      /* termios changes wake nothing: look this often */
#define HANGUP_WAIT_MS 2000	      /* for the command to go after SIGHUP, then SIGKILL */

enum step_kind {
	STEP_WINSIZE,
	STEP_SEND,
	STEP_EXPECT,
	STEP_WAIT_RAW,
	STEP_WAIT_EXIT,
	STEP_CHECK_TERMIOS,
	STEP_RUN,
	STEP_TIMEOUT
};

struct step {
	enum step_kind kind;
	char *source; /* the step as written, for messages */
	char *text;   /* send, expect: after the escapes; run: the command */
	size_t text_len;
	long numbers[2]; /* winsize ROWS COLS, wait-exit CODE, timeout ms */
};

/* The command and what we know of it. */
struct session {
	int master;
	bool eof;  /* the master read EIO: every slave fd is closed */
	int pidfd; /* readable when the child has exited */
	pid_t pid;
	bool exited;
	int wait_status;
	int transcript;	       /* -1 without --transcript */
	struct termios before; /* the slave's settings before the command started */
	char *output;	       /* read since the end of the last match */
	size_t output_len;
	bool verbose;
};

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("pty-driver: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static long long now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Print len bytes on stderr, control characters and non-ASCII as escapes,
 * so that what a terminal would swallow is visible. */
static void show(const char *data, size_t len)
{
	fputc('"', stderr);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c == '\n')
			fputs("\\n", stderr);
		else if (c == '\r')
			fputs("\\r", stderr);
		else if (c == '\t')
			fputs("\\t", stderr);
		else if (c == '\\' || c == '"')
			fprintf(stderr, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fputc('"', stderr);
}

/* ---- The script ---- */

/* Decode the C escapes of src into a malloc'd buffer. -1 for a bad escape. */
static int unescape(const char *src, char **out, size_t *out_len)
{
	char *buf = malloc(strlen(src) + 1), *o = buf;

	if (!buf)
		die_usage("out of memory");
	while (*src) {
		if (*src != '\\') {
			*o++ = *src++;
			continue;
		}
		src++;
		switch (*src++) {
		case 'n':
			*o++ = '\n';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'e':
			*o++ = '\033';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case 'x': {
			unsigned value = 0;
			int digits = 0;

			for (; digits < 2; digits++, src++) {
				char c = *src;

				if (c >= '0' && c <= '9')
					value = value * 16 + (unsigned)(c - '0');
				else if (c >= 'a' && c <= 'f')
					value = value * 16 + (unsigned)(c - 'a' + 10);
				else if (c >= 'A' && c <= 'F')
					value = value * 16 + (unsigned)(c - 'A' + 10);
				else
					break;
			}
			if (digits == 0)
				goto invalid;
			*o++ = (char)value;
			break;
		}
		default:
			goto invalid;
		}
	}
	*out = buf;
	*out_len = (size_t)(o - buf);
	if (*out_len == 0 || *out_len > TEXT_MAX)
		goto invalid;
	return 0;
invalid:
	free(buf);
	return -1;
}

static long parse_number(const char *text, const char *what, const char *step)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < 0)
		die_usage("%s: %s %s is not a number", step, what, text);
	return value;
}

static long parse_seconds_ms(const char *text, const char *step)
{
	char *end;
	double seconds;

	errno = 0;
	seconds = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || seconds <= 0 || seconds > 3600)
		die_usage("%s: %s is not a number of seconds (0 to 3600)", step, text);
	return (long)(seconds * 1000);
}

/* Parse one step, as written in a script line or a -s argument. */
static void parse_step(struct step *step, const char *line)
{
	char *copy = strdup(line), *word, *rest, *arg2;

	if (!copy)
		die_usage("out of memory");
	step->source = strdup(line);
	if (!step->source)
		die_usage("out of memory");
	word = copy;
	rest = strchr(copy, ' ');
	if (rest)
		*rest++ = '\0';

	if (strcmp(word, "send") == 0 || strcmp(word, "expect") == 0) {
		step->kind = word[0] == 's' ? STEP_SEND : STEP_EXPECT;
		if (!rest || unescape(rest, &step->text, &step->text_len) < 0)
			die_usage(
			    "%s: needs TEXT (1 to %d bytes; escapes \\n \\r \\t \\e \\\\ \\xHH)",
			    line, TEXT_MAX);
	} else if (strcmp(word, "winsize") == 0) {
		step->kind = STEP_WINSIZE;
		arg2 = rest ? strchr(rest, ' ') : NULL;
		if (!arg2)
			die_usage("%s: usage: winsize ROWS COLS", line);
		*arg2++ = '\0';
		step->numbers[0] = parse_number(rest, "ROWS", line);
		step->numbers[1] = parse_number(arg2, "COLS", line);
		if (step->numbers[0] > 65535 || step->numbers[1] > 65535)
			die_usage("%s: ROWS and COLS go up to 65535", line);
	} else if (strcmp(word, "wait-exit") == 0) {
		step->kind = STEP_WAIT_EXIT;
		if (!rest)
			die_usage("%s: usage: wait-exit CODE", line);
		step->numbers[0] = parse_number(rest, "CODE", line);
		if (step->numbers[0] > 255)
			die_usage("%s: CODE goes up to 255", line);
	} else if (strcmp(word, "timeout") == 0) {
		step->kind = STEP_TIMEOUT;
		if (!rest)
			die_usage("%s: usage: timeout SECONDS", line);
		step->numbers[0] = parse_seconds_ms(rest, line);
	} else if (strcmp(word, "run") == 0) {
		step->kind = STEP_RUN;
		if (!rest || !(step->text = strdup(rest)))
			die_usage("%s: usage: run SHELL-COMMAND", line);
		step->text_len = strlen(rest);
	} else if (strcmp(word, "wait-raw") == 0 && !rest) {
		step->kind = STEP_WAIT_RAW;
	} else if (strcmp(word, "check-termios-restored") == 0 && !rest) {
		step->kind = STEP_CHECK_TERMIOS;
	} else {
		die_usage("unknown step: %s", line);
	}
	free(copy);
}

/* Add the steps of a script file. */
static void read_script(const char *path, struct step *steps, size_t *count)
{
	FILE *file = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (!file)
		die_usage("open script %s: %s", path, strerror(errno));
	while ((len = getline(&line, &cap, file)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (*count == STEPS_MAX)
			die_usage("%s: more than %d steps", path, STEPS_MAX);
		parse_step(&steps[(*count)++], line);
	}
	if (ferror(file))
		die_usage("read script %s: %s", path, strerror(errno));
	free(line);
	fclose(file);
}

/* ---- The command ---- */

/* The child: a new session whose controlling terminal is the slave, on 0,
 * 1 and 2, with the signal dispositions and mask of a fresh login. */
static void default_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL); /* EINVAL for the few reserved ones: fine */
	}
}

static _Noreturn void run_child(int slave, char **argv)
{
	default_signals();
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) {
		dprintf(STDERR_FILENO, "pty-driver: make the pty the controlling terminal: %s\n",
			strerror(errno));
		_exit(126);
	}
	for (int fd = 0; fd < 3; fd++) {
		if (dup2(slave, fd) < 0) {
			dprintf(STDERR_FILENO, "pty-driver: dup2 the pty to %d: %s\n", fd,
				strerror(errno));
			_exit(126);
		}
	}
	if (slave > 2)
		close(slave);
	execvp(argv[0], argv);
	/* stderr is the pty now: the message lands in the transcript. */
	dprintf(STDERR_FILENO, "pty-driver: exec %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static int pidfd_open_child(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec, always */
}

/* Keep what was read for expect; drop the oldest half if it grows huge. */
static void keep_output(struct session *s, const char *data, size_t len)
{
	if (s->output_len + len > OUTPUT_KEEP_MAX) {
		size_t drop = s->output_len / 2;

		memmove(s->output, s->output + drop, s->output_len - drop);
		s->output_len -= drop;
	}
	if (s->output_len + len > OUTPUT_KEEP_MAX) { /* one read cannot be this big */
		data += len - OUTPUT_KEEP_MAX / 2;
		len = OUTPUT_KEEP_MAX / 2;
	}
	memcpy(s->output + s->output_len, data, len);
	s->output_len += len;
}

/* Read all the master has now. EIO: every slave fd is closed and all that
 * was written is read (pty(7); a non-blocking read flushes the kernel's
 * pending buffer before saying EAGAIN or EIO); the master leaves the poll
 * set, which would report it forever, but stays open: the slave's settings
 * can still be read through it. */
static void read_master(struct session *s)
{
	char buf[16384];

	while (!s->eof) {
		ssize_t n = read(s->master, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (n < 0 && errno != EIO)
				fprintf(stderr, "pty-driver: read the pty master: %s\n",
					strerror(errno));
			s->eof = true;
			return;
		}
		if (s->transcript >= 0) {
			for (ssize_t done = 0, w; done < n; done += w) {
				w = write(s->transcript, buf + done, (size_t)(n - done));
				if (w < 0 && errno == EINTR) {
					w = 0;
				} else if (w < 0) {
					fprintf(stderr, "pty-driver: write the transcript: %s\n",
						strerror(errno));
					close(s->transcript);
					s->transcript = -1;
					break;
				}
			}
		}
		keep_output(s, buf, (size_t)n);
	}
}

static void reap(struct session *s)
{
	pid_t pid;

	if (s->exited)
		return;
	do
		pid = waitpid(s->pid, &s->wait_status, WNOHANG);
	while (pid < 0 && errno == EINTR);
	if (pid == s->pid) {
		s->exited = true;
		close(s->pidfd);
		s->pidfd = -1;
		/* Its last words are in the master already. */
		read_master(s);
	}
}

/* Wait for something to happen, at most until deadline (and at most
 * max_wait_ms when that is >= 0), then take it in: output, the exit.
 * With want_write, also return when the master takes input; with
 * other_fd >= 0, when that is readable. Returns false once the deadline
 * has passed. */
static bool pump_with(struct session *s, long long deadline, int max_wait_ms, bool want_write,
		      int other_fd)
{
	struct pollfd fds[3] = {
	    {.fd = s->eof ? -1 : s->master, .events = POLLIN | (want_write ? POLLOUT : 0)},
	    {.fd = s->pidfd, .events = POLLIN},
	    {.fd = other_fd, .events = POLLIN},
	};
	long long left = deadline - now_ms();
	int wait_ms;

	if (left < 0)
		return false;
	wait_ms = left > 60000 ? 60000 : (int)left;
	if (max_wait_ms >= 0 && wait_ms > max_wait_ms)
		wait_ms = max_wait_ms;
	if (poll(fds, 3, wait_ms) < 0 && errno != EINTR) {
		fprintf(stderr, "pty-driver: poll: %s\n", strerror(errno));
		return false;
	}
	read_master(s);
	reap(s);
	return true;
}

static bool pump(struct session *s, long long deadline, int max_wait_ms, bool want_write)
{
	return pump_with(s, deadline, max_wait_ms, want_write, -1);
}

static void describe_exit(const struct session *s)
{
	if (!s->exited)
		fputs("is still running", stderr);
	else if (WIFEXITED(s->wait_status))
		fprintf(stderr, "exited with status %d", WEXITSTATUS(s->wait_status));
	else if (WIFSIGNALED(s->wait_status))
		fprintf(stderr, "was killed by signal %d (%s)", WTERMSIG(s->wait_status),
			strsignal(WTERMSIG(s->wait_status)));
	else
		fprintf(stderr, "wait status %#x", (unsigned)s->wait_status);
}

/* The step failed: say which, why, and what the command printed. */
static int step_failed(const struct session *s, size_t index, const struct step *step,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int step_failed(const struct session *s, size_t index, const struct step *step,
		       const char *fmt, ...)
{
	size_t shown = s->output_len > SHOW_MAX ? SHOW_MAX : s->output_len;
	va_list ap;

	fprintf(stderr, "pty-driver: step %zu (%s) failed: ", index + 1, step->source);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\npty-driver: the command ", stderr);
	describe_exit(s);
	fprintf(stderr, "; output since the last match (%zu bytes%s): ", s->output_len,
		shown < s->output_len ? ", the last ones" : "");
	show(s->output + s->output_len - shown, shown);
	fputc('\n', stderr);
	return 1;
}

static bool termios_equal(const struct termios *a, const struct termios *b)
{
	return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
	       a->c_lflag == b->c_lflag && a->c_line == b->c_line &&
	       memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) == 0 && cfgetispeed(a) == cfgetispeed(b) &&
	       cfgetospeed(a) == cfgetospeed(b);
}

static void show_termios(const char *label, const struct termios *t)
{
	fprintf(stderr, "pty-driver:   %s: iflag %#x oflag %#x cflag %#x lflag %#x cc", label,
		(unsigned)t->c_iflag, (unsigned)t->c_oflag, (unsigned)t->c_cflag,
		(unsigned)t->c_lflag);
	for (size_t i = 0; i < NCCS; i++)
		fprintf(stderr, " %02x", t->c_cc[i]);
	fputc('\n', stderr);
}

/* Send text, reading output while the master is full so neither side
 * waits for the other. */
static int do_send(struct session *s, size_t index, const struct step *step, long long deadline)
{
	size_t done = 0;

	while (done < step->text_len) {
		ssize_t n;

		if (s->eof)
			return step_failed(s, index, step,
					   "the terminal is closed (%zu of %zu bytes sent)", done,
					   step->text_len);
		n = write(s->master, step->text + done, step->text_len - done);
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return step_failed(s, index, step, "write the pty master: %s",
					   strerror(errno));
		if (!pump(s, deadline, -1, true))
			return step_failed(s, index, step, "the terminal took %zu of %zu bytes",
					   done, step->text_len);
	}
	return 0;
}

static int do_expect(struct session *s, size_t index, const struct step *step, long long deadline,
		     long timeout_ms)
{
	for (;;) {
		char *match = memmem(s->output, s->output_len, step->text, step->text_len);

		if (match) {
			size_t end = (size_t)(match - s->output) + step->text_len;

			memmove(s->output, s->output + end, s->output_len - end);
			s->output_len -= end;
			return 0;
		}
		/* No more output can come. */
		if (s->eof)
			return step_failed(s, index, step, "not seen, and the terminal is closed");
		if (!pump(s, deadline, -1, false))
			return step_failed(s, index, step, "not seen within %.1f s",
					   (double)timeout_ms / 1000);
	}
}

static int do_wait_raw(struct session *s, size_t index, const struct step *step, long long deadline,
		       long timeout_ms)
{
	struct termios now;

	for (;;) {
		/* On a master, tcgetattr reads the slave's settings (the tty
		 * layer forwards termios ioctls to the other end). */
		if (tcgetattr(s->master, &now) < 0)
			return step_failed(s, index, step, "tcgetattr: %s", strerror(errno));
		if (!(now.c_lflag & (ICANON | ECHO)))
			return 0;
		if (s->exited || s->eof)
			return step_failed(s, index, step, "the terminal is not raw (lflag %#x)",
					   (unsigned)now.c_lflag);
		if (!pump(s, deadline, RAW_POLL_MS, false))
			return step_failed(
			    s, index, step,
			    "still not raw after %.1f s (lflag %#x: ICANON or ECHO on)",
			    (double)timeout_ms / 1000, (unsigned)now.c_lflag);
	}
}

static int do_wait_exit(struct session *s, size_t index, const struct step *step,
			long long deadline, long timeout_ms)
{
	while (!s->exited) {
		if (!pump(s, deadline, -1, false))
			return step_failed(s, index, step, "still running after %.1f s",
					   (double)timeout_ms / 1000);
	}
	if (!WIFEXITED(s->wait_status) || WEXITSTATUS(s->wait_status) != step->numbers[0])
		return step_failed(s, index, step, "expected exit status %ld", step->numbers[0]);
	return 0;
}

/* The child side of run: sh -c, with our stderr for its output. */
static _Noreturn void run_outside(const char *command, pid_t command_pid)
{
	int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	char pid_text[16];

	default_signals();
	snprintf(pid_text, sizeof(pid_text), "%d", (int)command_pid);
	setenv("PTY_DRIVER_PID", pid_text, 1);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
	    dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		dprintf(STDERR_FILENO, "pty-driver: run %s: stdio: %s\n", command, strerror(errno));
		_exit(126);
	}
	execl("/bin/sh", "sh", "-c", command, (char *)NULL);
	dprintf(STDERR_FILENO, "pty-driver: run %s: exec /bin/sh: %s\n", command, strerror(errno));
	_exit(127);
}

static int do_run(struct session *s, size_t index, const struct step *step, long long deadline,
		  long timeout_ms)
{
	int pidfd, status;
	pid_t pid;

	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return step_failed(s, index, step, "fork: %s", strerror(errno));
	if (pid == 0)
		run_outside(step->text, s->pid);
	pidfd = pidfd_open_child(pid);
	if (pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return step_failed(s, index, step, "pidfd_open: %s", strerror(errno));
	}
	for (;;) {
		pid_t done = waitpid(pid, &status, WNOHANG);

		if (done == pid)
			break;
		if (done < 0 && errno != EINTR) {
			close(pidfd);
			return step_failed(s, index, step, "waitpid: %s", strerror(errno));
		}
		if (done <= 0 && !pump_with(s, deadline, -1, false, pidfd)) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pidfd);
			return step_failed(s, index, step, "still running after %.1f s (killed)",
					   (double)timeout_ms / 1000);
		}
	}
	close(pidfd);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return step_failed(s, index, step, "it ended with wait status %#x (exit status %d)",
				   (unsigned)status, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

static int do_check_termios(struct session *s, size_t index, const struct step *step)
{
	struct termios now;

	if (tcgetattr(s->master, &now) < 0)
		return step_failed(s, index, step, "tcgetattr: %s", strerror(errno));
	if (termios_equal(&s->before, &now))
		return 0;
	step_failed(s, index, step, "the terminal's settings differ from before the command");
	show_termios("before", &s->before);
	show_termios("now   ", &now);
	return 1;
}

/* Run the steps in order; 0 if all passed, 1 at the first that failed. */
static int run_steps(struct session *s, const struct step *steps, size_t count, long timeout_ms)
{
	for (size_t i = 0; i < count; i++) {
		const struct step *step = &steps[i];
		long long start = now_ms(), deadline = start + timeout_ms;
		struct winsize size;
		int failed = 0;

		switch (step->kind) {
		case STEP_TIMEOUT:
			timeout_ms = step->numbers[0];
			break;
		case STEP_WINSIZE:
			size = (struct winsize){.ws_row = (unsigned short)step->numbers[0],
						.ws_col = (unsigned short)step->numbers[1]};
			if (ioctl(s->master, TIOCSWINSZ, &size) < 0)
				failed = step_failed(s, i, step, "TIOCSWINSZ: %s", strerror(errno));
			break;
		case STEP_SEND:
			failed = do_send(s, i, step, deadline);
			break;
		case STEP_EXPECT:
			failed = do_expect(s, i, step, deadline, timeout_ms);
			break;
		case STEP_WAIT_RAW:
			failed = do_wait_raw(s, i, step, deadline, timeout_ms);
			break;
		case STEP_WAIT_EXIT:
			failed = do_wait_exit(s, i, step, deadline, timeout_ms);
			break;
		case STEP_CHECK_TERMIOS:
			failed = do_check_termios(s, i, step);
			break;
		case STEP_RUN:
			failed = do_run(s, i, step, deadline, timeout_ms);
			break;
		}
		if (failed)
			return 1;
		if (s->verbose)
			fprintf(stderr, "pty-driver: step %zu (%s): ok after %lld ms\n", i + 1,
				step->source, now_ms() - start);
	}
	return 0;
}

/* The end, whatever happened: a command still running is hung up, as when
 * a terminal window closes, and killed if that is not enough. */
static void finish_command(struct session *s)
{
	long long deadline;

	if (!s->exited && s->master >= 0) {
		close(s->master);
		s->master = -1;
		s->eof = true;
	}
	deadline = now_ms() + HANGUP_WAIT_MS;
	while (!s->exited && pump(s, deadline, -1, false))
		;
	if (!s->exited) {
		fprintf(stderr,
			"pty-driver: the command is still running after SIGHUP; killing it\n");
		kill(s->pid, SIGKILL);
		while (waitpid(s->pid, &s->wait_status, 0) < 0 && errno == EINTR)
			;
		s->exited = true;
	}
	/* Whatever came last, if the master is still open. */
	read_master(s);
}

int main(int argc, char **argv)
{
	static struct step steps[STEPS_MAX];
	struct session s = {.master = -1, .pidfd = -1, .transcript = -1};
	struct winsize start_size = {0};
	const char *transcript = NULL;
	long timeout_ms = DEFAULT_TIMEOUT_MS;
	size_t count = 0;
	int slave = -1, i, status;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		} else if (strcmp(arg, "--script") == 0 && i + 1 < argc) {
			read_script(argv[++i], steps, &count);
		} else if (strcmp(arg, "-s") == 0 && i + 1 < argc) {
			if (count == STEPS_MAX)
				die_usage("more than %d steps", STEPS_MAX);
			parse_step(&steps[count++], argv[++i]);
		} else if (strcmp(arg, "--transcript") == 0 && i + 1 < argc) {
			transcript = argv[++i];
		} else if (strcmp(arg, "--timeout") == 0 && i + 1 < argc) {
			timeout_ms = parse_seconds_ms(argv[++i], "--timeout");
		} else if (strcmp(arg, "--winsize") == 0 && i + 2 < argc) {
			start_size.ws_row =
			    (unsigned short)parse_number(argv[i + 1], "ROWS", "--winsize");
			start_size.ws_col =
			    (unsigned short)parse_number(argv[i + 2], "COLS", "--winsize");
			i += 2;
		} else if (strcmp(arg, "--verbose") == 0) {
			s.verbose = true;
		} else {
			die_usage("unexpected argument %s; usage: pty-driver [--script FILE] [-s "
				  "STEP]... "
				  "[--transcript FILE] [--timeout SECONDS] [--winsize ROWS COLS] "
				  "[--verbose] -- COMMAND [ARG]...",
				  arg);
		}
	}
	if (i >= argc)
		die_usage("no command after --");

	s.output = malloc(OUTPUT_KEEP_MAX);
	if (!s.output)
		die_usage("out of memory");
	if (transcript) {
		s.transcript = open(transcript, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (s.transcript < 0)
			die_usage("open transcript %s: %s", transcript, strerror(errno));
	}
	if (openpty(&s.master, &slave, NULL, NULL, &start_size) < 0) {
		fprintf(stderr, "pty-driver: openpty: %s\n", strerror(errno));
		return 1;
	}
	/* openpty's fds are inheritable: only the child's dup2 onto 0-2 may be. */
	if (fcntl(s.master, F_SETFD, FD_CLOEXEC) < 0 || fcntl(slave, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(s.master, F_SETFL, O_NONBLOCK) < 0 || tcgetattr(slave, &s.before) < 0) {
		fprintf(stderr, "pty-driver: set up the pty: %s\n", strerror(errno));
		return 1;
	}

	fflush(stderr);
	s.pid = fork();
	if (s.pid < 0) {
		fprintf(stderr, "pty-driver: fork: %s\n", strerror(errno));
		return 1;
	}
	if (s.pid == 0)
		run_child(slave, argv + i);
	/* The child holds the only slave fd: when it (and whatever it leaves
	 * behind) closes it, the master reads EIO. */
	close(slave);
	s.pidfd = pidfd_open_child(s.pid);
	if (s.pidfd < 0) {
		fprintf(stderr, "pty-driver: pidfd_open %d: %s\n", (int)s.pid, strerror(errno));
		kill(s.pid, SIGKILL);
		waitpid(s.pid, NULL, 0);
		return 1;
	}

	status = run_steps(&s, steps, count, timeout_ms);
	finish_command(&s);
	if (status != 0 && transcript)
		fprintf(stderr, "pty-driver: the whole session is in %s\n", transcript);
	if (s.master >= 0)
		close(s.master);
	if (s.transcript >= 0 && close(s.transcript) < 0) {
		fprintf(stderr, "pty-driver: close the transcript: %s\n", strerror(errno));
		status = 1;
	}
	for (size_t j = 0; j < count; j++) {
		free(steps[j].source);
		free(steps[j].text);
	}
	free(s.output);
	return status;
}
