/*
 * Metadata, in the order the kernel needs it:
 *   1. owner: lchown(2) clears the set-user/group-ID bits and security.capability
 *      (fs/attr.c, notify_change -> security_inode_killpriv), so it goes first;
 *   2. mode (chmod(2); a symlink's mode can't be changed and is always 0777);
 *   3. xattrs (llistxattr/lgetxattr/lsetxattr(2)), all namespaces: trusted.overlay.opaque ("y": a
 *      directory that replaced a lower one; Documentation/filesystems/overlayfs.rst, "whiteouts and
 *      opaque directories"), trusted.overlay.redirect and metacopy, security.capability, POSIX
 *      ACLs (system.posix_acl_*), user.*. Not copied: the overlay's bookkeeping about the upper
 *      itself, which names inodes of the old mount (fs/overlayfs/overlayfs.h enum ovl_xattr:
 *      origin, impure, nlink, upper, uuid) and is read only on an upper layer (namei.c ovl_lookup
 *      checks origin for upper dentries only);
 *   4. times last (utimensat(2) with AT_SYMLINK_NOFOLLOW): everything above changes ctime only,
 *      but directories get theirs after their entries were made.
 */
#include "commit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The overlay's per-upper bookkeeping: meaningless in a lower layer. */
static bool skipped_xattr(const char *name)
{
	static const char *const own[] = { "origin", "impure", "nlink", "upper", "uuid" };
	static const char prefix[] = "trusted.overlay.";

	if (strncmp(name, prefix, sizeof prefix - 1) != 0)
		return false;
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		if (strcmp(name + sizeof prefix - 1, own[i]) == 0)
			return true;
	return false;
}

/* A buffer filled by a size-query-then-read call (llistxattr, lgetxattr), grown on ERANGE. */
static ssize_t fill(char **buf, size_t *cap, const char *call, const char *path, ssize_t (*get)(const char *, const char *, char *, size_t), const char *name)
{
	for (;;) {
		ssize_t n = get(path, name, *buf, *cap);

		if (n >= 0)
			return n;
		if (errno != ERANGE)
			fail(call, "%s%s%s", path, name[0] != '\0' ? ", " : "", name);
		n = get(path, name, NULL, 0);
		if (n < 0)
			fail(call, "%s%s%s", path, name[0] != '\0' ? ", " : "", name);
		*cap = (size_t)n + 1;
		*buf = realloc(*buf, *cap);
		if (*buf == NULL)
			fail("realloc", "%zu", *cap);
	}
}

static ssize_t list_names(const char *path, const char *unused, char *buf, size_t len)
{
	(void)unused;
	return llistxattr(path, buf, len);
}

static ssize_t get_value(const char *path, const char *name, char *buf, size_t len)
{
	return lgetxattr(path, name, buf, len);
}

/* Copy every xattr of src but the overlay's own bookkeeping. */
static void copy_xattrs(const char *src, const char *dst)
{
	size_t names_cap = 1024, value_cap = 1024;
	char *names = malloc(names_cap), *value = malloc(value_cap);
	ssize_t len;

	if (names == NULL || value == NULL)
		fail("malloc", "%d", 1024);
	len = fill(&names, &names_cap, "llistxattr", src, list_names, "");
	for (char *name = names; name < names + len; name += strlen(name) + 1) {
		ssize_t size;

		if (skipped_xattr(name))
			continue;
		size = fill(&value, &value_cap, "lgetxattr", src, get_value, name);
		size = (ssize_t)shift_xattr(name, value, (size_t)size);
		if (lsetxattr(dst, name, value, (size_t)size, 0) != 0)
			fail("lsetxattr", "%s, %s", dst, name);
	}
	free(names);
	free(value);
}

void copy_metadata(const char *src, const char *dst, const struct stat *st)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	unsigned uid = shift_uid(st->st_uid), gid = shift_gid(st->st_gid);

	if (lchown(dst, uid, gid) != 0)
		fail("lchown", "%s, %u:%u", dst, uid, gid);
	if (!S_ISLNK(st->st_mode) && chmod(dst, st->st_mode & 07777) != 0)
		fail("chmod", "%s, %04o", dst, (unsigned)(st->st_mode & 07777));
	copy_xattrs(src, dst);
	if (utimensat(AT_FDCWD, dst, times, AT_SYMLINK_NOFOLLOW) != 0)
		fail("utimensat", "%s", dst);
}
