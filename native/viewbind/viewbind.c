/*
 * sandbox-viewbind: bind FUSE view files read-only over files of a container's /proc and /sys,
 * for the procfs daemon and `sandbox oci-hook` (procfs/daemon/). Node can't do this itself: setns(2)
 * into a mount namespace fails with EINVAL in a multi-threaded process (kernel/nsproxy.c
 * validate_nsset -> mntns_install: "if (!current_is_single_threaded()) ... -EINVAL" via
 * fs/namespace.c), and Node runs ~7 threads.
 *
 *   sandbox-viewbind [--pid PID] SRC:DST...
 *
 *   --pid PID   enter the mount namespace of PID (/proc/PID/ns/mnt) before attaching: DST is then a
 *               path as PID sees it. Without it DST is a path in our own namespace (the OCI
 *               createContainer hook runs inside the container's namespace already).
 *   SRC:DST     SRC a file on the daemon's FUSE mount, DST the file it covers. Split at the first ':'.
 *
 * Each SRC is cloned first (open_tree(2) OPEN_TREE_CLONE: a detached bind mount), made read-only
 * (mount_setattr(2) MOUNT_ATTR_RDONLY), and attached after setns with move_mount(2): a detached mount
 * can be attached in another mount namespace (native/stage/mounts.c bind_views does the same).
 * Before attaching, dead view mounts left on DST by a daemon that died are detached: a FUSE mount
 * whose server is gone answers every request, statfs included, with ENOTCONN
 * (fs/fuse/dev.c fuse_request_queue_and_wait: "if (!fc->connected) ... -ENOTCONN").
 * DST must then be a file of procfs or sysfs: nothing else is ever covered. A missing DST (a
 * container without /sys) is skipped with a line on stderr.
 *
 * Exit 0 when every present DST is bound; 1 with one line "sandbox-viewbind: CALL ARG: strerror
 * (errno N)" on the first failure; 2 for bad arguments.
 */
#define _GNU_SOURCE
#include "../stage/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

/* include/uapi/linux/magic.h */
#define PROC_SUPER_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572
#define FUSE_SUPER_MAGIC 0x65735546
/* At most this many dead mounts are peeled off one target (one per daemon crash without a re-bind). */
#define MAX_DEAD 16
#define MAX_PAIRS 32

struct bind {
	const char *src;
	char *dst;
	int tree_fd;
};

/* Print "sandbox-viewbind: CALL ARG: strerror (errno N)" and exit 1. */
static void fail(const char *call, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "sandbox-viewbind: %s ", call);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s (errno %d)\n", strerror(err), err);
	exit(1);
}

/* Bad arguments: one line naming the value, exit 2. */
static void usage(const char *what, const char *value)
{
	fprintf(stderr, "sandbox-viewbind: %s: \"%s\" (usage: sandbox-viewbind [--pid PID] SRC:DST...)\n", what, value);
	exit(2);
}

/* Detach dead FUSE mounts stacked on dst; return 0 when dst is procfs/sysfs, -1 when missing. */
static int clear_target(const char *dst)
{
	struct statfs st;

	for (int i = 0; i <= MAX_DEAD; i++) {
		if (statfs(dst, &st) == 0)
			break;
		if (errno == ENOENT)
			return -1;
		if (errno != ENOTCONN || i == MAX_DEAD)
			fail("statfs", "%s", dst);
		/* umount2(2) MNT_DETACH: the path walk to a dead FUSE root needs no request to it. */
		if (umount2(dst, MNT_DETACH | UMOUNT_NOFOLLOW) != 0)
			fail("umount2", "%s, MNT_DETACH (a dead view mount)", dst);
	}
	if (st.f_type == FUSE_SUPER_MAGIC) {
		/* A live FUSE view (an earlier bind of ours, or lxcfs's): replaced, never stacked on. */
		if (umount2(dst, MNT_DETACH | UMOUNT_NOFOLLOW) != 0)
			fail("umount2", "%s, MNT_DETACH (a FUSE view)", dst);
		if (statfs(dst, &st) != 0)
			fail("statfs", "%s", dst);
	}
	if (st.f_type != PROC_SUPER_MAGIC && st.f_type != SYSFS_MAGIC) {
		errno = EXDEV;
		fail("refusing", "%s: not a file of procfs or sysfs (f_type 0x%lx)", dst, (unsigned long)st.f_type);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct bind binds[MAX_PAIRS];
	size_t n = 0;
	long pid = 0;
	int i = 1;

	if (i + 1 < argc && strcmp(argv[i], "--pid") == 0) {
		char *end = NULL;

		errno = 0;
		pid = strtol(argv[i + 1], &end, 10);
		if (argv[i + 1][0] < '1' || argv[i + 1][0] > '9' || *end != '\0' || errno != 0 || pid > INT_MAX)
			usage("invalid --pid", argv[i + 1]);
		i += 2;
	}
	for (; i < argc; i++) {
		char *colon = strchr(argv[i], ':');

		if (colon == NULL || colon == argv[i] || colon[1] != '/' || n == MAX_PAIRS)
			usage("expected SRC:/DST", argv[i]);
		*colon = '\0';
		binds[n].src = argv[i];
		binds[n].dst = colon + 1;
		n++;
	}
	if (n == 0)
		usage("nothing to bind", "");

	for (size_t k = 0; k < n; k++) {
		binds[k].tree_fd = sys_open_tree(AT_FDCWD, binds[k].src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (binds[k].tree_fd < 0)
			fail("open_tree", "%s, OPEN_TREE_CLONE", binds[k].src);
		if (sys_mount_setattr(binds[k].tree_fd, "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0) != 0)
			fail("mount_setattr", "%s, MOUNT_ATTR_RDONLY", binds[k].src);
	}
	if (pid != 0) {
		char path[64];
		int ns;

		snprintf(path, sizeof path, "/proc/%ld/ns/mnt", pid);
		ns = open(path, O_RDONLY | O_CLOEXEC);
		if (ns < 0)
			fail("open", "%s", path);
		/* setns(2) CLONE_NEWNS also sets our root and cwd to the namespace's root (the
		 * container's pivoted root), so DST resolves as the container sees it. */
		if (setns(ns, CLONE_NEWNS) != 0)
			fail("setns", "%s, CLONE_NEWNS", path);
		close(ns);
	}
	for (size_t k = 0; k < n; k++) {
		if (clear_target(binds[k].dst) != 0) {
			fprintf(stderr, "sandbox-viewbind: skipped %s: not present\n", binds[k].dst);
			continue;
		}
		if (sys_move_mount(binds[k].tree_fd, "", AT_FDCWD, binds[k].dst, MOVE_MOUNT_F_EMPTY_PATH) != 0)
			fail("move_mount", "%s -> %s", binds[k].src, binds[k].dst);
		close(binds[k].tree_fd);
	}
	return 0;
}
