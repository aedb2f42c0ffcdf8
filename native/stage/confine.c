/*
 * What PID 1 hides or pins down besides mounts.c's layout and the seccomp filter:
 *   - docker's masked paths (moby oci/defaults.go, MaskedPaths): kernel memory, keyrings, timer and
 *     scheduler internals, firmware tables. A file is covered by /dev/null, a directory by an empty
 *     read-only tmpfs, as runc does (libcontainer/rootfs_linux.go, maskPath).
 *   - the supervisor's state root (/run/sandbox): unshare(CLONE_NEWNS) copied every mount that
 *     existed then, other sandboxes' FUSE views included, and their state.json files name their
 *     commands. Those copies are detached and an empty tmpfs covers the directory.
 *   - oom_score_adj of the sandbox: the supervisor lowers its own (supervisor/oom.ts), and fork
 *     copies it; PID 1 puts the sandbox back to the value the supervisor started with.
 * The workload cannot undo any of this: unmounting needs CAP_SYS_ADMIN (dropped) and umount2 is
 * denied by the filter; lowering oom_score_adj below the value a privileged writer set needs
 * CAP_SYS_RESOURCE (fs/proc/base.c, __set_oom_adj: oom_score_adj_min).
 */
#include "stage.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define RO_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* Cover path with an empty read-only tmpfs (a directory) or a read-only /dev/null (a file). */
static void mask(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return; /* not on this kernel (e.g. /proc/kcore without CONFIG_PROC_KCORE) */
		die("masked path", "stat", "%s", path);
	}
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555") != 0)
			die("masked path", "mount", "tmpfs, %s, ro", path);
		return;
	}
	/* Our own /dev/null (mounts.c mount_dev): reads give EOF, writes vanish; read-only anyway.
	 * Not nodev: that would make the bound device node itself unopenable (EACCES). */
	if (mount("/dev/null", path, NULL, MS_BIND, NULL) != 0)
		die("masked path", "mount", "/dev/null, %s, MS_BIND", path);
	if (sys_mount_setattr(AT_FDCWD, path, 0, RO_ATTRS & ~MOUNT_ATTR_NODEV, 0) != 0)
		die("masked path", "mount_setattr", "%s, MOUNT_ATTR_RDONLY", path);
}

/* Mask docker's list; call after /proc, /sys and /dev are mounted. */
void mask_paths(void)
{
	static const char *const masked[] = {
		"/proc/acpi",
		"/proc/asound",
		"/proc/interrupts",
		"/proc/kcore",
		"/proc/keys",
		"/proc/latency_stats",
		"/proc/sched_debug",
		"/proc/scsi",
		"/proc/timer_list",
		"/proc/timer_stats",
		"/sys/devices/virtual/powercap",
		"/sys/firmware",
	};

	for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++)
		mask(masked[i]);
}

/* Decode mountinfo's octal escapes (\040 for a space, \011, \012, \134) in place (proc(5)). */
static void unescape(char *s)
{
	char *out = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Detach every mount at or below dir in this namespace (dir itself too, if it is a mount point). */
void detach_below(const char *what, const char *dir)
{
	size_t dlen = strlen(dir), n = 0, cap = 0, linecap = 0;
	char **points = NULL, *line = NULL;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		die(what, "fopen", "/proc/self/mountinfo");
	/* proc(5), /proc/PID/mountinfo: the mount point is the 5th space-separated field. */
	while (getline(&line, &linecap, f) > 0) {
		char *p = line, *end;

		for (int field = 0; field < 4 && p != NULL; field++)
			if ((p = strchr(p, ' ')) != NULL)
				p++;
		if (p == NULL || (end = strchr(p, ' ')) == NULL)
			continue;
		*end = '\0';
		unescape(p);
		if (strncmp(p, dir, dlen) != 0 || (p[dlen] != '/' && p[dlen] != '\0'))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			points = realloc(points, cap * sizeof *points);
			if (points == NULL)
				die(what, "realloc", "%zu", cap);
		}
		if ((points[n++] = strdup(p)) == NULL)
			die(what, "strdup", "%s", p);
	}
	free(line);
	fclose(f);
	/* mountinfo lists a parent before its children: detach in reverse. MNT_DETACH never waits on a
	 * FUSE server (a copy of another sandbox's view may belong to one that is gone: ENOTCONN); EINVAL
	 * means an earlier detach already took it along. This namespace is private, the host keeps its
	 * mounts (mount_namespaces(7)). */
	for (size_t i = n; i-- > 0;) {
		if (umount2(points[i], MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
			die(what, "umount2", "%s, MNT_DETACH", points[i]);
		free(points[i]);
	}
	free(points);
}

/* Detach every mount at or below dir in this namespace, then cover dir with an empty read-only tmpfs. */
void hide_dir(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		if (errno == ENOENT)
			return;
		die("--hide", "stat", "%s", dir);
	}
	detach_below("--hide", dir);
	if (mount("tmpfs", dir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") != 0)
		die("--hide", "mount", "tmpfs, %s, ro", dir);
}

/* Write oom_score_adj of PID 1 (inherited by the workload); as a privileged writer this also sets
 * the floor the workload cannot go below (fs/proc/base.c, __set_oom_adj). */
void set_oom_score_adj(int value)
{
	char text[16];
	int fd, len = snprintf(text, sizeof text, "%d", value);

	fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("oom_score_adj", "open", "/proc/self/oom_score_adj");
	if (write(fd, text, (size_t)len) != len)
		die("oom_score_adj", "write", "/proc/self/oom_score_adj, %d", value);
	close(fd);
}
