/*
 * Capabilities: PID 1 (and so the workload) keeps docker's default set minus CAP_MKNOD and
 * CAP_SETFCAP, and nothing
 * else (moby oci/caps/defaults.go), unless `sandbox run --cap-add/--cap-drop` gave the stage another
 * set (--caps MASK, computed by supervisor/security.ts). capabilities(7) describes the sets used here.
 *
 * CAP_MKNOD: docker keeps it because its devices cgroup refuses to open any node outside an allow
 * list. We have no devices cgroup (and cgroup v2 would need a BPF program for it), and the current
 * directory is a bind of the host's file system: with CAP_MKNOD a root workload could create
 * ./sda (block 8:0) there and read the host's disk. Without it mknod(2) still makes FIFOs and
 * sockets (mknod(2): only device nodes need the capability).
 *
 * CAP_SETFCAP: docker keeps it. It lets root write the security.capability xattr (setcap(8);
 * capabilities(7), "File capabilities"), and under no_new_privs a file capability grants nothing
 * inside the sandbox (execve ignores it: prctl(2) PR_SET_NO_NEW_PRIVS), so its only effect is on
 * files that are run OUTSIDE later: the current directory and volumes are the host's, and kept
 * uppers and committed layers end up there too. A `cap_dac_override+ep` copy of a program planted
 * in the cwd gave any host user root (issue 19, finding 4). `--cap-add SETFCAP` gives it back.
 * CAP_FSETID stays: a file's owner (uid 0 here) sets S_ISUID on it without any capability
 * (chmod(2)), so dropping it would not stop a set-user-ID-root file being planted, while it would
 * silently clear the set-group-ID bit of files package managers install with another group.
 */
#include "stage.h"
#include "sys.h"

#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#define CAP(c) (1ULL << (c))

/* docker's default capability set, without CAP_MKNOD and CAP_SETFCAP (above). */
const unsigned long long default_capabilities =
	CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FSETID) | CAP(CAP_FOWNER) |
	CAP(CAP_NET_RAW) | CAP(CAP_SETGID) | CAP(CAP_SETUID) | CAP(CAP_SETPCAP) |
	CAP(CAP_NET_BIND_SERVICE) | CAP(CAP_SYS_CHROOT) | CAP(CAP_KILL) | CAP(CAP_AUDIT_WRITE);

/* The highest capability number this kernel knows (capabilities(7), /proc/sys/kernel/cap_last_cap). */
static int cap_last_cap(void)
{
	char buf[16] = { 0 };
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		die("capabilities", "open", "/proc/sys/kernel/cap_last_cap");
	n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		die("capabilities", "read", "/proc/sys/kernel/cap_last_cap");
	close(fd);
	return atoi(buf);
}

/* Shrink the bounding set, then set permitted = effective = inheritable = `keep` (the bits this
 * kernel knows of it: capset(2) refuses to raise what the process's permitted set lacks), no ambient. */
void drop_capabilities(unsigned long long keep)
{
	int last = cap_last_cap();

	if (last < 63)
		keep &= CAP(last + 1) - 1;

	/* The bounding set limits what any later execve can gain (capabilities(7), "Capability bounding
	 * set"); dropping needs CAP_SETPCAP, which we still hold, so this comes before capset. */
	for (int cap = 0; cap <= last && cap < 64; cap++)
		if (!(keep & CAP(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
			die("capabilities", "prctl", "PR_CAPBSET_DROP, %d", cap);
	/* capset(2), version 3 (64-bit sets). A uid-0 workload re-derives permitted = bounding set at
	 * execve, which is this same set, so `keep` is what it runs with. */
	if (sys_capset(keep, keep, keep) != 0)
		die("capabilities", "capset", "0x%llx", keep);
	/* Ambient capabilities survive execve of unprivileged programs (capabilities(7)): none. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		die("capabilities", "prctl", "PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL");
}

/* --user: become UID/GID with no supplementary groups, right before exec. setgroups and setgid
 * first (they need CAP_SETGID, which setuid to a non-zero uid would take away: capabilities(7),
 * "Effect of user ID changes on capabilities" clears permitted and effective when all uids become
 * non-zero). no_new_privs is already set, so no set-id binary can get root back. */
void switch_user(const struct options *opts)
{
	if (!opts->has_user)
		return;
	if (setgroups(0, NULL) != 0)
		die("user", "setgroups", "0, NULL");
	if (setresgid(opts->gid, opts->gid, opts->gid) != 0)
		die("user", "setresgid", "%u", (unsigned)opts->gid);
	if (setresuid(opts->uid, opts->uid, opts->uid) != 0)
		die("user", "setresuid", "%u", (unsigned)opts->uid);
}
