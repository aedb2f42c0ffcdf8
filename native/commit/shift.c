/*
 * --shift UID:GID:COUNT: the upper of a sandbox that ran in a user namespace holds the range's host
 * ids (root inside = host UID; native/stage/rootfs.c map_layers), and a layer is stored 0-based, as
 * an image or an OCI layer is, so it reads the same under either --userns mode (the stage ID-maps a
 * layer with the namespace's own mapping). Ids in [UID, UID+COUNT) become id - UID; an id outside
 * the range is kept: only the overlay itself writes such entries, as host root (its whiteouts,
 * fs/overlayfs/dir.c ovl_whiteout, run with the mounter's credentials).
 *
 * Ids stored inside xattrs follow the owner:
 *   - security.capability: a file capability set inside a user namespace is stored as revision 3
 *     with the namespace's root as "rootid" (security/commoncap.c cap_convert_nscap); a layer's
 *     capability is root's, revision 2 (no rootid), as the kernel itself writes it for host root;
 *   - system.posix_acl_access/default: ACL_USER and ACL_GROUP entries name ids
 *     (include/uapi/linux/posix_acl_xattr.h), read from the upper as host ids.
 */
#include "commit.h"

#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static struct {
	bool on;
	unsigned uid, gid, count;
} range;

bool parse_shift(const char *value)
{
	unsigned uid, gid, count;
	char end;

	if (sscanf(value, "%u:%u:%u%c", &uid, &gid, &count, &end) != 3 || count == 0 || uid == 0 || gid == 0)
		return false;
	range.on = true;
	range.uid = uid;
	range.gid = gid;
	range.count = count;
	return true;
}

/* One id, host to 0-based, if it lies in the range. */
static unsigned shift(unsigned id, unsigned base)
{
	return range.on && id >= base && id - base < range.count ? id - base : id;
}

unsigned shift_uid(unsigned uid)
{
	return shift(uid, range.uid);
}

unsigned shift_gid(unsigned gid)
{
	return shift(gid, range.gid);
}

/* include/uapi/linux/capability.h and posix_acl_xattr.h, little-endian on disk. */
#define VFS_CAP_REVISION_MASK 0xFF000000u
#define VFS_CAP_REVISION_2 0x02000000u
#define VFS_CAP_REVISION_3 0x03000000u
#define XATTR_CAPS_SZ_2 20
#define XATTR_CAPS_SZ_3 24
#define ACL_USER 0x02
#define ACL_GROUP 0x08

size_t shift_xattr(const char *name, char *value, size_t size)
{
	if (!range.on)
		return size;
	if (strcmp(name, "security.capability") == 0 && size == XATTR_CAPS_SZ_3) {
		uint32_t magic, rootid;

		memcpy(&magic, value, 4);
		memcpy(&rootid, value + 20, 4);
		if ((le32toh(magic) & VFS_CAP_REVISION_MASK) != VFS_CAP_REVISION_3)
			return size;
		rootid = shift_uid(le32toh(rootid));
		if (rootid != 0) {
			rootid = htole32(rootid);
			memcpy(value + 20, &rootid, 4);
			return size;
		}
		magic = htole32((le32toh(magic) & ~VFS_CAP_REVISION_MASK) | VFS_CAP_REVISION_2);
		memcpy(value, &magic, 4);
		return XATTR_CAPS_SZ_2;
	}
	if (strcmp(name, "system.posix_acl_access") == 0 || strcmp(name, "system.posix_acl_default") == 0) {
		/* A 4-byte header, then entries of { le16 tag, le16 perm, le32 id }. */
		for (size_t off = 4; off + 8 <= size; off += 8) {
			uint16_t tag;
			uint32_t id;

			memcpy(&tag, value + off, 2);
			memcpy(&id, value + off + 4, 4);
			tag = le16toh(tag);
			if (tag != ACL_USER && tag != ACL_GROUP)
				continue;
			id = htole32(tag == ACL_USER ? shift_uid(le32toh(id)) : shift_gid(le32toh(id)));
			memcpy(value + off + 4, &id, 4);
		}
	}
	return size;
}
