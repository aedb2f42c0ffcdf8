/*
 * --idmap UID:GID (with --userns): the writable workdir and volumes that belong to UID:GID are
 * ID-mapped mounts (mount_setattr(2) MOUNT_ATTR_IDMAP), so what root inside writes there belongs on
 * disk to UID:GID (the user behind sudo, or the workdir's owner; supervisor/idmap.ts), never to host
 * root, and what that user owns there is root's inside (issue 19, finding 4: a set-user-ID file planted in the cwd is
 * then set-user-ID-UID, which any host user could already make).
 *
 * An idmapped mount takes its mapping from a user namespace (Documentation/filesystems/
 * idmappings.rst): an inode's on-disk id is looked up as an id INSIDE that namespace and mapped down
 * to the id the caller sees (fs/mnt_idmapping.c make_vfsuid), and a new file's owner is the caller's
 * fsuid mapped back up (from_vfsuid). The namespace's uid_map is "UID HOST 1" where HOST is the
 * workload's host uid (the range's base, plus the --user uid): on-disk UID appears as HOST, HOST writes
 * land as UID, and every other on-disk id is unmapped (shown as nobody; root inside gets no capability
 * over it, and creating a file as any other id fails with EOVERFLOW). The gid_map is the same for GID.
 *
 * The namespace is made by a throwaway child: clone(2) with CLONE_NEWUSER puts the child in a new user
 * namespace at once; the outer stage (host root: CAP_SETUID over the parent namespace,
 * kernel/user_namespace.c new_idmap_permitted) writes its maps, keeps a descriptor of it
 * (/proc/CHILD/ns/user) and reaps the child. The namespace lives as long as the descriptor. PID 1
 * applies it to the detached clones of the binds (mounts.c) and closes it.
 */
#include "stage.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000 /* include/uapi/linux/mount.h, Linux 5.12 */
#endif

/* Write one map line into /proc/PID/NAME in one write(2) (a map is written once, map_write). */
static void write_idmap(pid_t pid, const char *name, unsigned disk, unsigned host, unsigned count)
{
	char path[64], line[64];
	int fd, len;

	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	len = snprintf(line, sizeof line, "%u %u %u\n", disk, host, count);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("idmap", "open", "%s", path);
	if (write(fd, line, (size_t)len) != len)
		die("idmap", "write", "%s, \"%u %u %u\"", path, disk, host, count);
	close(fd);
}

/* A descriptor of a new user namespace mapping on-disk disk_uid/disk_gid and the count-1 ids after
 * them to host_uid/host_gid onwards. Call with the host's /proc mounted (before unshare) and
 * SIGCHLD not blocked. */
int idmap_userns(unsigned disk_uid, unsigned disk_gid, unsigned host_uid, unsigned host_gid, unsigned count)
{
	int hold[2], fd, status;
	char path[64];
	pid_t child;

	/* The child waits on a pipe until we are done with its namespace: EOF lets it go. */
	if (pipe2(hold, O_CLOEXEC) != 0)
		die("idmap", "pipe2", "%s", "");
	/* Raw clone(2) without a stack: a fork whose child is born in a new user namespace. With every
	 * pointer argument NULL the architectures' differing argument orders do not matter. */
	child = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (child < 0)
		die("idmap", "clone", "CLONE_NEWUSER");
	if (child == 0) {
		char byte;

		close(hold[1]);
		while (read(hold[0], &byte, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(hold[0]);
	write_idmap(child, "uid_map", disk_uid, host_uid, count);
	write_idmap(child, "gid_map", disk_gid, host_gid, count);
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)child);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("idmap", "open", "%s", path);
	close(hold[1]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	return fd;
}

/* Make a detached tree (open_tree clone) an ID-mapped mount, recursively, or die naming the path:
 * a filesystem that can't be ID-mapped (no FS_ALLOW_IDMAP: fs/namespace.c can_idmap_mount) refuses
 * with EINVAL, an already ID-mapped one with EPERM. */
void idmap_tree(const char *what, int tree_fd, const char *path, int userns_fd)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned long long)userns_fd };

	if (syscall(SYS_mount_setattr, tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
		die(what, "mount_setattr", "%s, MOUNT_ATTR_IDMAP: its file system can't be ID-mapped; --userns=host runs without", path);
}

/*
 * PID 1: ID-map a detached clone of a writable bind when its root directory belongs to exactly the
 * on-disk owner (--idmap UID:GID); else leave it as it is. Through an ID-mapped mount the kernel
 * refuses every write to an inode whose owner or group the mapping lacks (fs/namei.c
 * inode_permission, HAS_UNMAPPED_ID: EACCES), the mode bits notwithstanding: a root-owned 1777
 * directory (/tmp) or one of another user, mapped, could not be written at all, while unmapped it
 * takes what its mode bits let others write, as host uid BASE. Checked on the clone itself (fstat
 * of the open_tree descriptor), so it is the directory that gets bound.
 */
void idmap_bind(const char *what, int tree_fd, const char *path, const struct config *cfg)
{
	struct stat st;

	if (cfg->rt.idmap_fd < 0)
		return;
	if (fstat(tree_fd, &st) != 0)
		die(what, "fstat", "clone of %s", path);
	if (st.st_uid == cfg->opt.idmap_uid && st.st_gid == cfg->opt.idmap_gid)
		idmap_tree(what, tree_fd, path, cfg->rt.idmap_fd);
}

/* `sandbox doctor`: can DIR be ID-mapped under a user namespace? Prints "ok" and exits 0, or dies
 * with the failing call (exit 125). The clone is detached and never attached anywhere. */
__attribute__((noreturn)) void idmap_probe(const char *dir)
{
	int userns_fd = idmap_userns(65534, 65534, 100000, 100000, 1);
	int tree = sys_open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (tree < 0)
		die("idmap", "open_tree", "%s, OPEN_TREE_CLONE", dir);
	idmap_tree("idmap", tree, dir, userns_fd);
	close(tree);
	close(userns_fd);
	puts("ok");
	_exit(0);
}
