// The reader of `npm run bench -- procfs`: runs inside a sandbox and times open + read to EOF +
// close of view files, the way `cat` reads them (128 KiB reads until one returns 0). C, so the
// reader's own cost stays out of the figures. Commands come on stdin, one per line, and each
// answer is one line on stdout, so the bench can sample the serving daemons' CPU time between them:
//   lat N FILE     N timed reads of FILE        -> "ok T1 T2 ..." (microseconds)
//   tput MS FILE   2 processes read FILE for MS ms -> "ok COUNT"
//   spaced N MS FILE  N timed reads of FILE, MS ms apart -> "ok T1 T2 ..." (microseconds)
//   first FILE     one timed read (call it first) -> "ok T"
//   quit
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char buf[128 * 1024];

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

// One cat-like read; exits on error, so a failed read can never be timed as a fast one.
static void read_once(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "view-reader: open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	ssize_t n, total = 0;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		total += n;
	if (n < 0 || total == 0) {
		fprintf(stderr, "view-reader: read %s: %s\n", path, n < 0 ? strerror(errno) : "empty");
		exit(1);
	}
	close(fd);
}

static void latency(long n, const char *path)
{
	printf("ok");
	for (long i = 0; i < n; i++) {
		double t0 = now_us();
		read_once(path);
		printf(" %.1f", now_us() - t0);
	}
	printf("\n");
}

// Reads spaced further apart than the views' render cache keeps a render (10 ms): each one renders.
static void spaced(long n, long ms, const char *path)
{
	struct timespec gap = { ms / 1000, (ms % 1000) * 1000000L };
	printf("ok");
	for (long i = 0; i < n; i++) {
		nanosleep(&gap, NULL);
		double t0 = now_us();
		read_once(path);
		printf(" %.1f", now_us() - t0);
	}
	printf("\n");
}

static void throughput(long ms, const char *path)
{
	int fds[2];
	if (pipe(fds) < 0)
		exit(1);
	for (int k = 0; k < 2; k++) {
		if (fork() == 0) {
			long count = 0;
			double end = now_us() + ms * 1000.0;
			while (now_us() < end) {
				read_once(path);
				count++;
			}
			if (write(fds[1], &count, sizeof count) != sizeof count)
				_exit(1);
			_exit(0);
		}
	}
	long total = 0, count;
	for (int k = 0; k < 2; k++) {
		if (read(fds[0], &count, sizeof count) == sizeof count)
			total += count;
		wait(NULL);
	}
	close(fds[0]);
	close(fds[1]);
	printf("ok %ld\n", total);
}

int main(void)
{
	char line[4096], path[4000];
	long n, ms;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof line, stdin)) {
		if (sscanf(line, "lat %ld %3999s", &n, path) == 2)
			latency(n, path);
		else if (sscanf(line, "tput %ld %3999s", &n, path) == 2)
			throughput(n, path);
		else if (sscanf(line, "spaced %ld %ld %3999s", &n, &ms, path) == 3)
			spaced(n, ms, path);
		else if (sscanf(line, "first %3999s", path) == 1) {
			double t0 = now_us();
			read_once(path);
			printf("ok %.1f\n", now_us() - t0);
		} else if (strncmp(line, "quit", 4) == 0)
			return 0;
		else {
			fprintf(stderr, "view-reader: unknown command: %s", line);
			return 2;
		}
	}
	return 0;
}
