/*
 * Error reporting. Every failure before the workload's exec is one line on stderr,
 *   sandbox: stage: <what>: <syscall>(<path or value>): <strerror> (errno N)
 * and exit status 125 (docker's "the container runtime failed"). PID 1 exits 125 and the outer
 * stage relays it, so the supervisor sees 125 whichever process failed.
 */
#include "stage.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Write msg and a newline with one write(2), so lines of the stage and PID 1 never interleave.
 * Control characters in msg (a newline in a command's path, an escape sequence) are written as \n,
 * \t or \xNN: one message is always exactly one line. */
static void write_line(const char *msg)
{
	static const char hex[] = "0123456789abcdef";
	char line[4 * 1100 + 2];
	size_t len = 0;

	for (const unsigned char *p = (const unsigned char *)msg; *p != '\0' && len < sizeof line - 6; p++) {
		if (*p >= 0x20 && *p != 0x7f) {
			line[len++] = (char)*p;
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			line[len++] = '\\';
			line[len++] = *p == '\n' ? 'n' : (*p == '\t' ? 't' : 'r');
		} else {
			line[len++] = '\\';
			line[len++] = 'x';
			line[len++] = hex[*p >> 4];
			line[len++] = hex[*p & 15];
		}
	}
	line[len++] = '\n';
	for (const char *p = line; len > 0;) {
		ssize_t n = write(STDERR_FILENO, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* Report a failed system call (errno is read first, before anything can clobber it) and exit 125. */
void die(const char *what, const char *call, const char *argfmt, ...)
{
	int err = errno;
	char arg[1024], line[1536];
	va_list ap;

	va_start(ap, argfmt);
	vsnprintf(arg, sizeof arg, argfmt, ap);
	va_end(ap);
	snprintf(line, sizeof line, "sandbox: stage: %s: %s(%s): %s (errno %d)", what, call, arg,
		 strerror(err), err);
	write_line(line);
	_exit(EXIT_SANDBOX);
}

/* Report a failure that has no errno (bad usage, a dead supervisor) and exit 125. */
void die_msg(const char *fmt, ...)
{
	char msg[1024], line[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(line, sizeof line, "sandbox: stage: %s", msg);
	write_line(line);
	_exit(EXIT_SANDBOX);
}

/* One line on stderr, escaped like die()'s, without exiting (the workload's exec failure). */
void say(const char *fmt, ...)
{
	char msg[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	write_line(msg);
}

/* A wait(2) status as a shell-style exit code: the exit status, or 128+N when killed by signal N. */
int exit_code_of(int wait_status)
{
	if (WIFEXITED(wait_status))
		return WEXITSTATUS(wait_status);
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return EXIT_SANDBOX;
}

/* After a SIGCHLD: `child`'s exit code (exit_code_of) once it has ended, else -1 (still running,
 * or the SIGCHLD was another child's); reaps it without blocking (waitpid(2) WNOHANG). */
int exit_code_if_ended(pid_t child)
{
	int status;

	if (waitpid(child, &status, WNOHANG) == child && (WIFEXITED(status) || WIFSIGNALED(status)))
		return exit_code_of(status);
	return -1;
}
