/* The one error line of sandbox-commit: "sandbox: commit: CALL(PATH): strerror (errno N)", exit 125
 * (the supervisor's exit code for its own failures). */
#include "commit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fail(const char *call, const char *pathfmt, ...)
{
	int err = errno;
	char path[4096];
	va_list ap;

	va_start(ap, pathfmt);
	vsnprintf(path, sizeof path, pathfmt, ap);
	va_end(ap);
	/* Control characters in a file name would break the one line: print them as '?'. */
	for (char *p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "sandbox: commit: %s(%s): %s (errno %d)\n", call, path, strerror(err), err);
	exit(125);
}
