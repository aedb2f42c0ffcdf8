/*
 * --userns: the workload runs in a user namespace where uid/gid 0..COUNT-1 are host ids
 * UID..UID+COUNT-1 (an unprivileged range: root inside is nobody special outside).
 *
 * The user namespace is entered LATE, by PID 1, after every mount is in place, and only PID 1 and
 * what it forks live in it; the mount, pid, uts, ipc, net, cgroup and time namespaces stay owned by
 * the host's user namespace (bubblewrap does the same when it nests a user namespace after its set-up,
 * bubblewrap.c "Now that devpts is mounted and we've no need for mount permissions"). Why not the
 * other way round (user namespace first, the others owned by it, as podman does):
 *   - PID 1 clones the FUSE view files by setns(2) into the host's mount namespace (mounts.c
 *     bind_views); mntns_install (fs/namespace.c) needs CAP_SYS_ADMIN in the user namespace that
 *     owns the target, the host's, which a process of a child user namespace never has;
 *   - mknod(2) of /dev/null & co needs CAP_MKNOD in the initial user namespace (fs/namei.c
 *     vfs_mknod, capable());
 *   - mounts copied into a mount namespace of a less privileged user namespace are locked
 *     (fs/namespace.c lock_mnt_tree, MNT_LOCKED): hiding /run/sandbox by detaching them (confine.c)
 *     would fail with EINVAL.
 * So with --userns root inside holds its (docker default) capabilities only over objects of its own
 * user namespace: files whose owner and group are mapped, its own processes. It can't mount (it
 * could not anyway: seccomp), can't change the network, and can't write a host root-owned file:
 * capable_wrt_inode_uidgid() (kernel/capability.c) requires the inode's uid and gid to be mapped.
 *
 * Who writes the maps: user_namespaces(7) lets a process with CAP_SETUID/CAP_SETGID in the PARENT
 * user namespace write any mapping (kernel/user_namespace.c new_idmap_permitted), so the outer stage
 * (host root, PID 1's parent) writes /proc/PID1/{uid_map,gid_map} through a /proc directory it
 * opened before unshare (its own /proc is PID 1's by then, or pivoted away). No newuidmap(1) needed.
 * PID 1 closes its inherited copy of that descriptor at once (pid1.c): it leads to the host's
 * processes and PID 1 lives as long as the sandbox (issue 19, finding 8).
 *
 *   PID 1 (userns_enter)   unshare(CLONE_NEWUSER), sends one byte, waits for the stage's byte,
 *                          drops the host's supplementary groups, becomes uid/gid 0 inside.
 *   stage (userns_map)     waits for the byte, writes both maps, answers with one byte.
 *   `sandbox exec`         (userns_join) after entering the other namespaces as host root, enters
 *                          PID 1's user namespace last and becomes 0 inside, like PID 1.
 */
#include "stage.h"
#include "channel.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Before fork (outer stage): the handshake channel, and the host's /proc to find PID 1's map files. */
void userns_channel(struct config *cfg)
{
	open_channel("userns", cfg->rt.userns_sock); /* [0] the outer stage's end, [1] PID 1's */
	cfg->rt.proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cfg->rt.proc_fd < 0)
		die("userns", "open", "/proc");
}

/* Read one byte; false on EOF or error (the other side died: its own exit status says why). */
static bool read_byte(int fd)
{
	char byte;
	ssize_t n;

	do
		n = read(fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

/* Write "0 BASE COUNT\n" into /proc/PID/NAME (the one line of a map, user_namespaces(7)). */
static void write_map(const struct config *cfg, pid_t pid, const char *name, unsigned base)
{
	char path[64], line[64];
	int fd, len;

	snprintf(path, sizeof path, "%d/%s", (int)pid, name);
	len = snprintf(line, sizeof line, "0 %u %u\n", base, cfg->opt.userns_count);
	fd = openat(cfg->rt.proc_fd, path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("userns", "open", "/proc/%s", path);
	/* A map is written in one write(2) and only once (kernel/user_namespace.c map_write). */
	if (write(fd, line, (size_t)len) != len)
		die("userns", "write", "/proc/%s, \"0 %u %u\"", path, base, cfg->opt.userns_count);
	close(fd);
}

/* Outer stage, right after the fork: map PID 1's new user namespace once it exists. */
void userns_map(struct config *cfg, pid_t pid1)
{
	close(cfg->rt.userns_sock[1]);
	if (read_byte(cfg->rt.userns_sock[0])) {
		write_map(cfg, pid1, "uid_map", cfg->opt.userns_uid);
		write_map(cfg, pid1, "gid_map", cfg->opt.userns_gid);
		if (write(cfg->rt.userns_sock[0], "m", 1) != 1)
			die("userns", "write", "handshake to pid 1 %d", (int)pid1);
	}
	close(cfg->rt.userns_sock[0]);
	close(cfg->rt.proc_fd);
}

/* Become root of the user namespace we are in: no host groups, uid and gid 0 (mapped to the range). */
static void become_root_inside(const char *step)
{
	/* The host's supplementary groups (kgid 0 & co) would stay in the credentials, unmapped but
	 * still granting group access to host files: drop them. setgroups(2) is allowed because the
	 * map was written by a privileged process (no "deny" in /proc/PID/setgroups is needed). */
	if (setgroups(0, NULL) != 0)
		die(step, "setgroups", "0, NULL");
	/* Until now our uid is host 0, unmapped here (shown as the overflow uid 65534); files we create
	 * must belong to the range. cap_emulate_setxuid (security/commoncap.c) keeps the capabilities:
	 * the new euid is the namespace's root. */
	if (setresgid(0, 0, 0) != 0)
		die(step, "setresgid", "0 (inside the user namespace)");
	if (setresuid(0, 0, 0) != 0)
		die(step, "setresuid", "0 (inside the user namespace)");
}

/*
 * Make the range's base the OWNER of the user namespace we are about to create (issue 19, finding
 * 7). create_user_ns (kernel/user_namespace.c) records the creator's euid as the owner, and the
 * namespace's ucounts (ns->ucounts: the parent namespace and that owner) are the next level up of
 * every count charged inside: inc_ucount (kernel/ucount.c) walks the chain to init_user_ns, so with
 * host root as the owner the workload's inotify instances (fs/notify/inotify/inotify_user.c,
 * UCOUNT_INOTIFY_INSTANCES) and POSIX message-queue bytes (ipc/mqueue.c, UCOUNT_RLIMIT_MSGQUEUE)
 * came out of host root's budgets. SECBIT_NO_SETUID_FIXUP keeps our (host) capabilities across the
 * euid change (security/commoncap.c cap_emulate_setxuid is skipped); only the euid and egid change,
 * so the real and saved ids stay 0 until become_root_inside(). The new namespace starts with the
 * default securebits (kernel/user_namespace.c set_cred_user_ns), checked in userns_enter().
 */
static void become_owner(const struct config *cfg)
{
	int bits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);

	if (bits < 0)
		die("userns", "prctl", "PR_GET_SECUREBITS");
	if (prctl(PR_SET_SECUREBITS, (unsigned long)bits | SECBIT_NO_SETUID_FIXUP, 0, 0, 0) != 0)
		die("userns", "prctl", "PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP");
	if (setresgid((gid_t)-1, cfg->opt.userns_gid, (gid_t)-1) != 0)
		die("userns", "setresgid", "-1, %u, -1 (the owner's group)", cfg->opt.userns_gid);
	if (setresuid((uid_t)-1, cfg->opt.userns_uid, (uid_t)-1) != 0)
		die("userns", "setresuid", "-1, %u, -1 (the namespace's owner)", cfg->opt.userns_uid);
}

/* PID 1: enter a new user namespace, get it mapped by the stage, become root in it. */
void userns_enter(struct config *cfg)
{
	struct pollfd pfd = { .fd = cfg->rt.parent_pidfd, .events = POLLIN };

	close(cfg->rt.userns_sock[0]);
	become_owner(cfg);
	/* unshare(2): CLONE_NEWUSER needs a single-threaded caller that is not chrooted (pivot_root
	 * moved the namespace's root with us, so --layer is fine). */
	if (unshare(CLONE_NEWUSER) != 0)
		die("userns", "unshare", "CLONE_NEWUSER (as uid %u)", cfg->opt.userns_uid);
	/* SECBIT_NO_SETUID_FIXUP must not reach the workload: --user relies on the kernel clearing the
	 * capabilities at setuid. The new namespace starts with none (set_cred_user_ns); make sure. */
	if (prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) != 0 && prctl(PR_SET_SECUREBITS, 0, 0, 0, 0) != 0)
		die("userns", "prctl", "PR_SET_SECUREBITS, 0");
	if (write(cfg->rt.userns_sock[1], "u", 1) != 1)
		die("userns", "write", "handshake to the stage");
	if (!read_byte(cfg->rt.userns_sock[1]))
		die_msg("userns: the stage did not write the uid and gid maps of pid 1");
	close(cfg->rt.userns_sock[1]);
	become_root_inside("userns");
	/* commit_creds (kernel/cred.c) clears the parent-death signal when the euid changes, and sets
	 * the dumpable flag to fs.suid_dumpable (0 here, but 1 or 2 on some hosts): make PID 1
	 * non-dumpable again (pid1.c says why), set the signal again, then check the stage did not die
	 * before (the pidfd polls readable once it has). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die("userns", "prctl", "PR_SET_DUMPABLE, 0");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		die("userns", "prctl", "PR_SET_PDEATHSIG, SIGKILL");
	if (poll(&pfd, 1, 0) < 0)
		die("userns", "poll", "parent pidfd %d", cfg->rt.parent_pidfd);
	if (pfd.revents & POLLIN)
		die_msg("the stage exited while pid 1 entered the user namespace");
	close(cfg->rt.parent_pidfd);
}

/* `sandbox exec`, before entering any namespace (our /proc is still the host's): an fd of the user
 * namespace of PID (a sandbox's PID 1, host pid) if it is not ours, else -1. */
int userns_of(pid_t pid)
{
	char path[64];
	struct stat theirs, ours;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("exec: userns", "open", "%s", path);
	if (fstat(fd, &theirs) != 0)
		die("exec: userns", "fstat", "%s", path);
	if (stat("/proc/self/ns/user", &ours) != 0)
		die("exec: userns", "stat", "/proc/self/ns/user");
	if (theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
		close(fd);
		return -1;
	}
	return fd;
}

/* `sandbox exec`: enter the user namespace userns_of() found and become root in it. Call after the
 * other namespaces were entered as host root: they are owned by the host's user namespace, which
 * setns(2) into them requires (mntns_install, fs/namespace.c: CAP_SYS_ADMIN over the owner), and a
 * process of the child user namespace has no capability there. userns_install
 * (kernel/user_namespace.c) needs CAP_SYS_ADMIN in the target, which host root has. */
void userns_join(int ns_fd, pid_t supervisor)
{
	if (setns(ns_fd, CLONE_NEWUSER) != 0)
		die("exec: userns", "setns", "user namespace of pid 1, CLONE_NEWUSER");
	close(ns_fd);
	become_root_inside("exec: userns");
	/* commit_creds cleared the parent-death signal (see userns_enter): set it again and check;
	 * exec.c makes the stage non-dumpable right after. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		die("exec: userns", "prctl", "PR_SET_PDEATHSIG, SIGKILL");
	if (supervisor != 0 && getppid() != supervisor)
		die_msg("sandbox exec %d is gone (parent is now %d)", (int)supervisor, (int)getppid());
}

/*
 * Enter the working directory while still host root, just before entering the user namespace: the
 * workload (or exec's command) then inherits it as its cwd instead of looking the path up as the
 * range's uid, which the directories above it may not let search (a 0700 home above an ID-mapped
 * project: only the bind itself is mapped, idmap.c). A cwd is held without permission checks; what
 * happens in it is checked as the workload. Opened with RESOLVE_NO_MAGICLINKS: the path is looked up
 * in the sandbox's tree, where a workload could have planted a symlink into /proc/PID/fd.
 */
void userns_chdir(const char *what, const char *dir)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof how);

	if (fd < 0)
		die(what, "openat2", "%s, O_PATH|O_DIRECTORY, RESOLVE_NO_MAGICLINKS", dir);
	if (fchdir(fd) != 0)
		die(what, "fchdir", "%s", dir);
	close(fd);
}

/*
 * execvp(3) for the workload and exec's command; returns (with errno) only if nothing ran. In a user
 * namespace a directory of PATH may be one the range can't search (/root/.local/bin under a 0700
 * /root), and execvp then ends with EACCES, which the exit code turns into 126 "cannot execute",
 * for a command that simply is not there. Like a shell's lookup, a PATH entry whose file can't even
 * be looked up counts as "not there": EACCES is kept only for a file that exists but can't be run.
 */
void exec_search(char **argv)
{
	const char *path = getenv("PATH");
	const char *name = argv[0];
	char full[4096];
	bool denied = false;

	if (strchr(name, '/') != NULL || name[0] == '\0') {
		execvp(name, argv);
		return;
	}
	if (path == NULL)
		path = "/bin:/usr/bin"; /* glibc's default when PATH is unset (execvp(3)) */
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t len = (size_t)(end - p);
		struct stat st;

		if (len == 0)
			snprintf(full, sizeof full, "%s", name); /* an empty entry is the cwd */
		else
			snprintf(full, sizeof full, "%.*s/%s", (int)len, p, name);
		execv(full, argv);
		if (errno == EACCES && stat(full, &st) == 0)
			denied = true; /* it is there and can't be run */
		else if (errno == ENOEXEC) {
			execvp(full, argv); /* a script without "#!": execvp(3) hands it to /bin/sh */
			return;
		} else if (errno != ENOENT && errno != ENOTDIR && errno != EACCES)
			return; /* E2BIG, ENOMEM, ...: execvp(3) stops here too */
		if (*end == '\0')
			break;
		p = end;
	}
	errno = denied ? EACCES : ENOENT;
}
