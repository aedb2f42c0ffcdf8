/*
 * Attacks of issue 19 (red-team findings), run as the workload of a sandbox by
 * test/integration/escape-redteam.test.ts. Built static so it runs in a busybox image. Every attack
 * aims only at canaries the test created; each prints one line "NAME RESULT", RESULT being "OK" or
 * the errno name (strerrorname_np).
 *
 *   upper REL     finding 1: PID 1's descriptor of the writable upper (UPPER_FD, 99), by
 *                 /proc/1/fd/99 and by pidfd_getfd(2); REL leads from the upper to the canary
 *                 directory (a file "canary" inside it); "-" tries only writes inside the upper.
 *   dev PATH      finding 3: open an existing device node (the test's 1:3 canary) for writing.
 *   fcap PATH     finding 4: give PATH (the test's copy of a program, in the cwd) the file
 *                 capability cap_dac_override+ep, as setcap(8) does: a security.capability xattr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static void report(const char *name, int ok)
{
	const char *e = strerrorname_np(errno);

	printf("%s %s\n", name, ok ? "OK" : (e != NULL ? e : "?"));
	fflush(stdout);
}

/* Read DIR/canary and create DIR/NEW, each through dirfd (AT_FDCWD: DIR is a path). */
static void read_and_create(const char *tag, int dirfd, const char *dir, const char *new_name)
{
	char path[4096], name[128], buf[64];
	int fd;

	snprintf(path, sizeof path, "%s/canary", dir);
	fd = openat(dirfd, path, O_RDONLY);
	snprintf(name, sizeof name, "%s-read", tag);
	report(name, fd >= 0 && read(fd, buf, sizeof buf) > 0);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof path, "%s/%s", dir, new_name);
	fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	snprintf(name, sizeof name, "%s-create", tag);
	report(name, fd >= 0);
	if (fd >= 0)
		close(fd);
}

static void upper(const char *rel)
{
	char dir[4096];
	int pidfd, fd;

	/* The path: the magic link of PID 1's descriptor, then ".." out of the upper. */
	snprintf(dir, sizeof dir, "/proc/1/fd/99/%s", rel);
	if (strcmp(rel, "-") != 0)
		read_and_create("proc", AT_FDCWD, dir, "planted-by-proc");
	fd = open("/proc/1/fd/99/planted-in-upper", O_WRONLY | O_CREAT | O_EXCL, 0644);
	report("proc-upper-write", fd >= 0);
	if (fd >= 0)
		close(fd);

	/* The descriptor itself: pidfd_getfd(2) needs PTRACE_MODE_ATTACH_REALCREDS over PID 1. */
	pidfd = (int)syscall(SYS_pidfd_open, 1, 0);
	if (pidfd < 0) {
		report("pidfd_open", 0);
		return;
	}
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, 99, 0);
	report("getfd", fd >= 0);
	if (fd < 0)
		return;
	if (strcmp(rel, "-") != 0)
		read_and_create("getfd", fd, rel, "planted-by-getfd");
	pidfd = openat(fd, "planted-in-upper-by-getfd", O_WRONLY | O_CREAT | O_EXCL, 0644);
	report("getfd-upper-write", pidfd >= 0);
}

static void dev(const char *path)
{
	int fd = open(path, O_WRONLY);

	report("dev-open", fd >= 0);
	if (fd >= 0) {
		report("dev-write", write(fd, "x", 1) == 1);
		close(fd);
	}
}

/* struct vfs_cap_data, revision 2 (include/uapi/linux/capability.h): magic_etc, then permitted and
 * inheritable for capabilities 0-31 and 32-63. */
static void fcap(const char *path)
{
	const uint32_t revision_2 = 0x02000000, effective = 0x000001, dac_override = 1u << 1;
	uint32_t cap[5] = { revision_2 | effective, dac_override, 0, 0, 0 };

	report("fcap", setxattr(path, "security.capability", cap, sizeof cap, 0) == 0);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "upper") == 0)
		upper(argv[2]);
	else if (argc == 3 && strcmp(argv[1], "dev") == 0)
		dev(argv[2]);
	else if (argc == 3 && strcmp(argv[1], "fcap") == 0)
		fcap(argv[2]);
	else {
		fprintf(stderr, "usage: redteam-probe upper REL|- | dev PATH | fcap PATH\n");
		return 2;
	}
	return 0;
}
