/*
 * --layer / --root-at / --upper / --read-only: a root file system of its own (supervisor/rootfs.ts
 * turns --rootfs DIR into the lowest layer). PID 1 builds it inside its private mount namespace:
 *
 *   1. a tmpfs on the empty host directory --root-at (the supervisor's /run/sandbox/<id>/root),
 *      holding "root" (the mount point) and, unless --upper DIR is given, "upper" and "work";
 *   2. an overlay of the layers on root_at/root: lowerdir = the layers, top first, upperdir and
 *      workdir = the tmpfs's (thrown away with the namespace) or --upper DIR/upper, DIR/work
 *      (--keep). The layers are never written: overlayfs copies a file up into upperdir before it
 *      changes it (Documentation/filesystems/overlayfs.rst, "Non-directories"). Pages of the tmpfs
 *      upper are charged to the memory cgroup of the writer: writes to the root count in --mem;
 *   3. the mount points the sandbox needs (/proc /sys /dev /tmp /etc) made if the image lacks them;
 *   4. pivot_root(2) into it, with the old root parked on /tmp (put_old must be at or under
 *      new_root); /proc, /sys and /dev are mounted while the old root is still reachable (a proc
 *      mount in a user namespace needs a fully visible proc in the mount namespace: fs/namespace.c
 *      mount_too_revealing), then the old root is detached (umount2 MNT_DETACH) and /tmp mounted
 *      on the spot it held. Nothing of the host's tree is reachable afterwards: "/.." is "/", and
 *      the detached tree has no path from the new root;
 *   5. with --read-only, once volumes and files are attached on their (created) mount points, the
 *      root mount alone is made read-only (mount_setattr(2) without AT_RECURSIVE): /tmp, /dev,
 *      volumes and --tmpfs keep their own flags.
 *
 * PID 1 keeps the upper directory open on descriptor UPPER_FD (stage.h) for as long as it lives:
 * once the old root is detached no path leads to the tmpfs upper, but /proc/<pid 1>/fd/UPPER_FD
 * does (proc(5): the magic link resolves to the directory itself), and `sandbox commit` copies it
 * from there while the sandbox is frozen. O_CLOEXEC: the workload never holds it.
 *
 * That descriptor is NOT the upper opened by path (issue 19, finding 1): a directory opened on the
 * sandbox's copy of the host mount leads, through "..", to the rest of that file system (with
 * --keep K, K/upper's ".." chain reached the host's root, writable, as the layer path never makes
 * it read-only), and it writes into the upper behind the overlay's back (even with --read-only).
 * It is a detached clone of the upper alone (open_tree(2), OPEN_TREE_CLONE without AT_RECURSIVE):
 * the clone's root is the upper directory and it has no parent mount, so ".." at its root stays
 * there (path_resolution(7); fs/namei.c follow_dotdot: a mount without a parent is not crossed),
 * and it is made read-only, nodev, nosuid, noexec (mount_setattr(2) works on a detached mount).
 * PID 1 is also non-dumpable (pid1.c), so the workload can't reach the descriptor at all.
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

#ifndef SYS_pivot_root
#define SYS_pivot_root 155
#endif

#define RO_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* mkdir that accepts an existing entry (a directory, or a symlink to one, in the image). In a user
 * namespace a directory made here (as host root) is given to root inside, the range's base: the
 * overlay shows an upper's owner as it is on disk, and host 0 is no one inside (overflow uid). */
static void ensure_dir(const struct config *cfg, const char *path, mode_t mode)
{
	if (mkdir(path, mode) != 0) {
		if (errno != EEXIST)
			die("rootfs", "mkdir", "%s", path);
		return;
	}
	if (cfg->opt.userns && lchown(path, cfg->opt.userns_uid, cfg->opt.userns_gid) != 0)
		die("rootfs", "lchown", "%s, %u:%u", path, cfg->opt.userns_uid, cfg->opt.userns_gid);
}

/*
 * --userns: the layers as ID-mapped mounts (mount_setattr(2) MOUNT_ATTR_IDMAP) with the user
 * namespace's own mapping, on-disk 0..COUNT-1 = host BASE.., so an image's root-owned files are
 * root's inside: writable (copy-up), chown-able, chmod-able. Each layer is cloned (open_tree(2)
 * OPEN_TREE_CLONE, recursively), mapped while detached, and attached on root_at/layers/N, in the
 * tmpfs of step 1, private to this namespace; overlayfs takes those paths as its lower layers
 * (ID-mapped layers: Linux 5.19, fs/overlayfs/super.c; Documentation/filesystems/overlayfs.rst,
 * "Permission model": the lower mount's idmapping applies to what the overlay reads and copies
 * up). The upper is not mapped: the overlay writes it with the ids it sees, the range's, so the
 * throwaway tmpfs and a --keep upper hold host-range ids (a set-user-ID file made inside is the
 * range's base on the host, never root's; issue 19, finding 4), and tmpfs needs no ID-mapping
 * support (Linux 6.3). A layer whose file system can't be ID-mapped (overlayfs itself, tmpfs
 * before 6.3, 9p) fails here with one line naming it and the way out (--userns=host). A layer
 * given as --layer-host-ids (the --keep upper of an earlier sandbox of the same range) already
 * holds the range's ids on disk: it is taken as it is, not mapped a second time.
 */
static void map_layers(struct config *cfg)
{
	char dir[4096], path[4096 + 24];

	snprintf(dir, sizeof dir, "%s/layers", cfg->opt.root_at);
	ensure_dir(cfg, dir, 0700);
	for (size_t i = 0; i < cfg->opt.n_layers; i++) {
		int tree;

		if (cfg->opt.layer_host_ids[i])
			continue;
		tree = sys_open_tree(AT_FDCWD, cfg->opt.layers[i], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

		if (tree < 0)
			die("--rootfs/--layer", "open_tree", "%s, OPEN_TREE_CLONE", cfg->opt.layers[i]);
		idmap_tree("--rootfs/--layer", tree, cfg->opt.layers[i], cfg->rt.layers_userns_fd);
		snprintf(path, sizeof path, "%s/%zu", dir, i);
		ensure_dir(cfg, path, 0755);
		if (sys_move_mount(tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) != 0)
			die("--rootfs/--layer", "move_mount", "ID-mapped clone of %s -> %s", cfg->opt.layers[i], path);
		close(tree);
		cfg->opt.layers[i] = strdup(path);
		if (cfg->opt.layers[i] == NULL)
			die("rootfs", "strdup", "%s", path);
	}
	close(cfg->rt.layers_userns_fd);
	cfg->rt.layers_userns_fd = -1;
}

/* The overlay's mount data, "lowerdir=TOP:...:BOTTOM,upperdir=U,workdir=W", or die if it can't fit
 * the page mount(2) copies (fs/namespace.c copy_mount_options: one page). */
static char *overlay_options(const struct config *cfg, const char *upper, const char *work)
{
	size_t cap = 4096, len;
	char *data = malloc(cap);

	if (data == NULL)
		die("rootfs", "malloc", "%zu", cap);
	len = (size_t)snprintf(data, cap, "lowerdir=");
	for (size_t i = cfg->opt.n_layers; i-- > 0 && len < cap;)
		len += (size_t)snprintf(data + len, cap - len, "%s%s", cfg->opt.layers[i], i > 0 ? ":" : "");
	if (len < cap)
		len += (size_t)snprintf(data + len, cap - len, ",upperdir=%s,workdir=%s", upper, work);
	if (len >= cap) {
		errno = E2BIG;
		die("rootfs", "mount", "overlay options of %zu layers longer than %zu bytes", cfg->opt.n_layers, cap - 1);
	}
	return data;
}

/* Hold a read-only, detached clone of the upper directory on UPPER_FD, which must be free (nothing
 * else of ours uses it). The clone's descriptor is O_PATH (open_tree(2)); /proc/<pid>/fd/UPPER_FD
 * opens the directory itself for `sandbox commit`. */
static void keep_upper_open(const char *upper)
{
	int fd = sys_open_tree(AT_FDCWD, upper, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (fd < 0)
		die("rootfs", "open_tree", "%s, OPEN_TREE_CLONE", upper);
	if (sys_mount_setattr(fd, "", AT_EMPTY_PATH, RO_ATTRS, 0) != 0)
		die("rootfs", "mount_setattr", "clone of %s, MOUNT_ATTR_RDONLY|NOSUID|NODEV|NOEXEC", upper);
	if (fcntl(UPPER_FD, F_GETFD) >= 0 || errno != EBADF) {
		errno = EBUSY;
		die("rootfs", "fcntl", "descriptor %d for the upper dir is taken", UPPER_FD);
	}
	if (dup3(fd, UPPER_FD, O_CLOEXEC) != UPPER_FD)
		die("rootfs", "dup3", "%s -> %d", upper, UPPER_FD);
	close(fd);
}

/* Steps 1-4 up to the pivot: after this "/" is the overlay and the old root sits on /tmp. */
void enter_rootfs(struct config *cfg)
{
	char root[4096], upper[4096], work[4096];
	char *data;
	int upper_fd = -1, work_fd = -1;

	/* 1. A tmpfs on the supervisor's empty directory: it is private to this namespace (the
	 * parent "/" is MS_PRIVATE, stage.c), the host sees the directory empty. */
	if (mount("tmpfs", cfg->opt.root_at, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") != 0)
		die("rootfs", "mount", "tmpfs, %s", cfg->opt.root_at);
	snprintf(root, sizeof root, "%s/root", cfg->opt.root_at);
	ensure_dir(cfg, root, 0755);
	if (cfg->rt.layers_userns_fd >= 0)
		map_layers(cfg);
	if (cfg->opt.upper != NULL) {
		/* --keep DIR: DIR/upper and DIR/work are host paths in a directory an earlier sandbox may
		 * have written (its cwd): the supervisor refused symlinks there and resolved DIR once
		 * (supervisor/rootfs.ts); open exactly those directories with no symlink followed and
		 * hand overlayfs the descriptors (/proc/self/fd/N: proc(5), the link resolves to the
		 * open directory), so nothing swapped in since can redirect the writable layer
		 * (issue 19, finding 8). /proc is still the host's here (before pivot_root). */
		snprintf(upper, sizeof upper, "%s/upper", cfg->opt.upper);
		snprintf(work, sizeof work, "%s/work", cfg->opt.upper);
		upper_fd = open_no_symlinks(upper, O_PATH | O_DIRECTORY);
		if (upper_fd < 0)
			die("--keep", "openat2", "%s, O_PATH|O_DIRECTORY, RESOLVE_NO_SYMLINKS", upper);
		work_fd = open_no_symlinks(work, O_PATH | O_DIRECTORY);
		if (work_fd < 0)
			die("--keep", "openat2", "%s, O_PATH|O_DIRECTORY, RESOLVE_NO_SYMLINKS", work);
		/* In a user namespace the upper's root is "/" inside: root's there (ensure_dir says why). */
		if (cfg->opt.userns && fchownat(upper_fd, "", cfg->opt.userns_uid, cfg->opt.userns_gid, AT_EMPTY_PATH) != 0)
			die("--keep", "fchownat", "%s, %u:%u", upper, cfg->opt.userns_uid, cfg->opt.userns_gid);
		snprintf(upper, sizeof upper, "/proc/self/fd/%d", upper_fd);
		snprintf(work, sizeof work, "/proc/self/fd/%d", work_fd);
	} else {
		snprintf(upper, sizeof upper, "%s/upper", cfg->opt.root_at);
		snprintf(work, sizeof work, "%s/work", cfg->opt.root_at);
		ensure_dir(cfg, upper, 0755);
		ensure_dir(cfg, work, 0755);
	}

	/* 2. The overlay. nosuid: set-id files of an image do not grant privileges (no_new_privs does
	 * the same later; this covers PID 1's own exec-free life too). nodev: a device node in an image,
	 * a layer or a kept upper (`opt/kmsg c 1 11`) can't be opened (EACCES; fs/namei.c may_open_dev
	 * checks the overlay's mount): there is no devices cgroup on v1 (issue 19, finding 3). */
	data = overlay_options(cfg, upper, work);
	if (mount("overlay", root, "overlay", MS_NOSUID | MS_NODEV, data) != 0)
		die("rootfs", "mount", "overlay, %s, %s", root, data);
	free(data);
	keep_upper_open(upper);
	if (upper_fd >= 0) {
		close(upper_fd);
		close(work_fd);
	}

	/* 3. Mount points, relative to the new root. */
	if (chdir(root) != 0)
		die("rootfs", "chdir", "%s", root);
	ensure_dir(cfg, "proc", 0555);
	ensure_dir(cfg, "sys", 0555);
	ensure_dir(cfg, "dev", 0755);
	ensure_dir(cfg, "tmp", 01777);
	ensure_dir(cfg, "etc", 0755);

	/* With the host's network the host's sysfs is the right view (mounts.c mount_sys); a second
	 * sysfs mount in the host's network namespace fails with EBUSY here, so clone it now, alone
	 * (no submounts: not the host's cgroupfs, debugfs or fuse connections), read-only. */
	if (!cfg->opt.net_none) {
		cfg->rt.sys_fd = sys_open_tree(AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (cfg->rt.sys_fd < 0)
			die("rootfs", "open_tree", "/sys, OPEN_TREE_CLONE");
		if (sys_mount_setattr(cfg->rt.sys_fd, "", AT_EMPTY_PATH, RO_ATTRS, 0) != 0)
			die("rootfs", "mount_setattr", "/sys clone, MOUNT_ATTR_RDONLY");
	}

	/* 4. pivot_root(2): new_root "." (a mount point: the overlay), put_old "tmp" under it. The
	 * process's root and cwd move to the new root (pivot_root(2), "may change the root directory
	 * and the current working directory of each process"). */
	if (syscall(SYS_pivot_root, ".", "tmp") != 0)
		die("rootfs", "pivot_root", "%s, %s/tmp", root, root);
	if (chdir("/") != 0)
		die("rootfs", "chdir", "/");
}

/* The host's /sys (cloned before the pivot) on the new root's /sys. */
void attach_host_sys(struct config *cfg)
{
	if (sys_move_mount(cfg->rt.sys_fd, "", AT_FDCWD, "/sys", MOVE_MOUNT_F_EMPTY_PATH) != 0)
		die("rootfs", "move_mount", "host /sys clone -> /sys");
	close(cfg->rt.sys_fd);
	cfg->rt.sys_fd = -1;
}

/* Detach the old root from /tmp: from now on no path leads to the host's tree. */
void detach_old_root(void)
{
	/* MNT_DETACH (umount2(2)): the old tree may be busy (the host's files open elsewhere); it is
	 * cut off now and freed when unused. The copies of the host's mounts are private to this
	 * namespace: the host keeps its own (mount_namespaces(7)). */
	if (umount2("/tmp", MNT_DETACH) != 0)
		die("rootfs", "umount2", "/tmp (the old root), MNT_DETACH");
}

/* Step 5: --read-only makes the root mount read-only, after its mount points exist. */
void seal_rootfs(void)
{
	if (sys_mount_setattr(AT_FDCWD, "/", 0, MOUNT_ATTR_RDONLY, 0) != 0)
		die("--read-only", "mount_setattr", "/, MOUNT_ATTR_RDONLY");
}
