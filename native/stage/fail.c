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

/* Write a whole line with one write(2), so lines of the stage and PID 1 never interleave. */
static void write_line(const char *line)
{
	size_t len = strlen(line);
	while (len > 0) {
		ssize_t n = write(STDERR_FILENO, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		line += n;
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
	snprintf(line, sizeof line, "sandbox: stage: %s: %s(%s): %s (errno %d)\n", what, call, arg,
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
	snprintf(line, sizeof line, "sandbox: stage: %s\n", msg);
	write_line(line);
	_exit(EXIT_SANDBOX);
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
