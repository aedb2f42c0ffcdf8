/*
 * bench-busy: the bench's CPU workloads (bench/quota.ts, burst.ts, enforce.ts, cost.ts).
 *
 *   bench-busy spin THREADS SECONDS     THREADS threads spin for SECONDS of wall time (0: forever)
 *   bench-busy gaps THRESH_US SECONDS   one thread spins reading CLOCK_MONOTONIC; prints
 *                                       "start NS" once, then "gap FROM_NS TO_NS" for every gap
 *                                       longer than THRESH_US (it was not running: throttled or
 *                                       preempted), line-buffered, then "end NS CPU_NS" (its own
 *                                       CPU time, CLOCK_PROCESS_CPUTIME_ID) and lingers 300 ms so
 *                                       the bench can read its cgroup's usage before it exits
 *   bench-busy burst WORK_US PERIOD_US COUNT
 *                                       every PERIOD_US (absolute deadlines), burn WORK_US of its own
 *                                       CPU time (CLOCK_THREAD_CPUTIME_ID), and record the wall time
 *                                       each burst took; prints "lat US US …" at the end, then
 *                                       lingers 300 ms (the bench reads its cgroup's counters)
 *
 * Self-timing (../../shared/BENCH.md): the workload records its own gaps, so no observer busy-polls.
 * CLOCK_MONOTONIC is not offset by the sandbox's time namespace (only boottime is, stage.c), so its
 * timestamps compare with the bench's process.hrtime.bigint() (libuv uv_hrtime: CLOCK_MONOTONIC).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long deadline_ns;

static void *spin(void *arg)
{
	volatile unsigned long x = 0;
	(void)arg;
	for (;;) {
		for (int i = 0; i < 1000000; i++)
			x += (unsigned long)i;
		if (deadline_ns > 0 && now_ns(CLOCK_MONOTONIC) >= deadline_ns)
			return NULL;
	}
}

static int spin_main(int threads, double seconds)
{
	pthread_t tid[64];
	if (threads < 1 || threads > 64) {
		fprintf(stderr, "bench-busy: spin: THREADS must be 1..64, got %d\n", threads);
		return 125;
	}
	deadline_ns = seconds > 0 ? now_ns(CLOCK_MONOTONIC) + (long long)(seconds * 1e9) : 0;
	for (int i = 1; i < threads; i++)
		if (pthread_create(&tid[i], NULL, spin, NULL) != 0) {
			perror("bench-busy: pthread_create");
			return 1;
		}
	spin(NULL);
	for (int i = 1; i < threads; i++)
		pthread_join(tid[i], NULL);
	return 0;
}

static int gaps_main(long long thresh_us, double seconds)
{
	long long start = now_ns(CLOCK_MONOTONIC), last = start;
	long long end = seconds > 0 ? start + (long long)(seconds * 1e9) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("start %lld\n", start);
	for (;;) {
		long long t = now_ns(CLOCK_MONOTONIC);
		if (t - last > thresh_us * 1000)
			printf("gap %lld %lld\n", last, t);
		last = t;
		if (end > 0 && t >= end)
			break;
	}
	printf("end %lld %lld\n", last, now_ns(CLOCK_PROCESS_CPUTIME_ID));
	struct timespec linger = { 0, 300000000L };
	nanosleep(&linger, NULL);
	return 0;
}

static int burst_main(long long work_us, long long period_us, int count)
{
	long long *lat = calloc((size_t)count, sizeof *lat);
	struct timespec next;
	if (lat == NULL || count < 1)
		return 125;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (int i = 0; i < count; i++) {
		long long t0 = now_ns(CLOCK_MONOTONIC);
		long long c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		volatile unsigned long x = 0;
		while (now_ns(CLOCK_THREAD_CPUTIME_ID) - c0 < work_us * 1000)
			for (int k = 0; k < 1000; k++)
				x += (unsigned long)k;
		lat[i] = (now_ns(CLOCK_MONOTONIC) - t0) / 1000;
		next.tv_nsec += (long)(period_us * 1000);
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	printf("lat");
	for (int i = 0; i < count; i++)
		printf(" %lld", lat[i]);
	printf("\n");
	fflush(stdout);
	free(lat);
	struct timespec linger = { 0, 300000000L }; /* the bench reads the cgroup's counters now */
	nanosleep(&linger, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "spin") == 0)
		return spin_main(atoi(argv[2]), atof(argv[3]));
	if (argc == 4 && strcmp(argv[1], "gaps") == 0)
		return gaps_main(atoll(argv[2]), atof(argv[3]));
	if (argc == 5 && strcmp(argv[1], "burst") == 0)
		return burst_main(atoll(argv[2]), atoll(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: bench-busy spin THREADS SECONDS | gaps THRESH_US SECONDS | burst WORK_US PERIOD_US COUNT\n");
	return 125;
}
