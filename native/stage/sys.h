/*
 * Raw system calls. glibc 2.36 wraps some of these in <sys/mount.h>, but not on every libc the
 * stage may be built with, and its <sys/mount.h> clashes with <linux/mount.h> on some versions; so
 * we use syscall(2) with the kernel's own UAPI headers, as the task requires (no libcap, no
 * libseccomp). Numbers are the same on every architecture for syscalls added after 5.1 (the
 * "unified" syscall table, see arch/.../syscall.tbl), so the fallbacks below are portable.
 */
#ifndef SANDBOX_STAGE_SYS_H
#define SANDBOX_STAGE_SYS_H

#include "stage.h"

#include <linux/capability.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000 /* include/uapi/linux/fcntl.h */
#endif

/* mount_setattr(2): change per-mount flags of one mount or (AT_RECURSIVE) a whole subtree. */
static inline int sys_mount_setattr(int dfd, const char *path, unsigned int flags,
				    unsigned long long set, unsigned long long clr)
{
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr };
	return (int)syscall(SYS_mount_setattr, dfd, path, flags, &attr, sizeof attr);
}

/* openat2(2) of a path the supervisor resolved once (supervisor/rootfs.ts resolvedOnce): with
 * RESOLVE_NO_SYMLINKS any symlink on it, in any component, fails with ELOOP instead of being
 * followed, so a symlink swapped in since then can't redirect us (issue 19, finding 8). */
static inline int open_no_symlinks(const char *path, int flags)
{
	struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC), .resolve = RESOLVE_NO_SYMLINKS };
	return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
}

/* open_tree(2) with OPEN_TREE_CLONE: a detached copy of a mount (a bind mount not yet attached). */
static inline int sys_open_tree(int dfd, const char *path, unsigned int flags)
{
	return (int)syscall(SYS_open_tree, dfd, path, flags);
}

/* move_mount(2): attach a detached mount (from open_tree) at a path. */
static inline int sys_move_mount(int from_dfd, const char *from_path, int to_dfd,
				 const char *to_path, unsigned int flags)
{
	return (int)syscall(SYS_move_mount, from_dfd, from_path, to_dfd, to_path, flags);
}

/* pidfd_open(2): a descriptor that polls readable once the process has terminated. */
static inline int sys_pidfd_open(pid_t pid, unsigned int flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

/* close_range(2) without flags: close every descriptor from first to last. */
static inline int sys_close_range(unsigned int first, unsigned int last)
{
	return (int)syscall(SYS_close_range, first, last, 0);
}

/* capset(2) with the 64-bit (version 3) layout: two 32-bit halves per set. */
static inline int sys_capset(unsigned long long effective, unsigned long long permitted,
			     unsigned long long inheritable)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {
		{ (unsigned)effective, (unsigned)permitted, (unsigned)inheritable },
		{ (unsigned)(effective >> 32), (unsigned)(permitted >> 32), (unsigned)(inheritable >> 32) },
	};
	return (int)syscall(SYS_capset, &hdr, data);
}

#endif
