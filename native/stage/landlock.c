/*
 * Landlock scoping (Linux 6.12, Landlock ABI 6; Documentation/userspace-api/landlock.rst, "Scope
 * flags"): a sandbox that shares the host's network namespace (--net host, or a join of such a
 * sandbox) also shares its abstract unix socket names (unix(7): the abstract namespace belongs to
 * the network namespace, not to a file system), so a root workload could connect(2) to any host
 * daemon's "@name" socket (containerd shims, X11, D-Bus, systemd's) whatever the mounts say.
 *
 * PID 1 puts itself, right after its lock-down and before it forks the workload, into a Landlock
 * domain that handles no file system or network access (nothing else changes) and only scopes:
 *   LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET  connect(2)/sendto(2) to an abstract socket bound by a
 *                                        process outside the domain: EPERM
 *                                        (security/landlock/task.c hook_unix_stream_connect)
 *   LANDLOCK_SCOPE_SIGNAL                kill(2), pidfd_send_signal(2), F_SETOWN's SIGIO to a
 *                                        process outside the domain: EPERM (hook_task_kill)
 * Every process of the sandbox inherits the domain (fork keeps the credentials). Processes outside
 * it are unrestricted towards it: the outer stage's forwarding to PID 1, the supervisor's `sandbox
 * kill` and cgroup kill, `sandbox exec`'s stage all still signal in. Landlock also confines ptrace
 * (and /proc/PID/fd, mem, environ) to the domain and its descendants, whatever the scopes.
 *
 * A kernel without ABI 6 (or without Landlock) gets nothing: the sandbox runs as before, `sandbox
 * doctor` warns, SECURITY.md says what is then open. No libc wrapper: raw system calls.
 */
#include "stage.h"

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

/* include/uapi/linux/landlock.h (Linux 6.12): the build machine's headers may predate `scoped`. */
struct landlock_attr_v6 {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};
#define CREATE_RULESET_VERSION (1U << 0)
#define SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)
#define FIRST_ABI_WITH_SCOPES 6

/* The kernel's Landlock ABI version, or 0 when it has none (ENOSYS; EOPNOTSUPP: built but off). */
int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, CREATE_RULESET_VERSION);

	return abi > 0 ? (int)abi : 0;
}

/* Whether the process is in the network namespace it started in (the caller's: the host's for a
 * sandbox the supervisor starts). Call before and after the namespaces are made: same inode, same
 * namespace (namespaces(7), "The /proc/[pid]/ns/ directory"). */
bool same_netns(ino_t before)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 && st.st_ino == before;
}

/* The inode of our network namespace now, for same_netns(); 0 if /proc can't tell. */
ino_t netns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? st.st_ino : 0;
}

/* Enter a scope-only Landlock domain (see the top of this file); nothing on a kernel before ABI 6.
 * landlock_restrict_self(2) needs no_new_privs or CAP_SYS_ADMIN: called after lock_down(). */
void landlock_scope(void)
{
	struct landlock_attr_v6 attr = { .scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL };
	int fd;

	if (landlock_abi() < FIRST_ABI_WITH_SCOPES)
		return;
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (fd < 0)
		die("landlock", "landlock_create_ruleset", "scoped abstract unix sockets and signals");
	if (syscall(SYS_landlock_restrict_self, fd, 0) != 0)
		die("landlock", "landlock_restrict_self", "fd %d", fd);
	close(fd);
}
