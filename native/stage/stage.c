/*
 * sandbox-stage: the outer process. The Node supervisor cannot create namespaces itself (it runs
 * about 7 threads: unshare(CLONE_NEWUSER) and setns() into a mount namespace fail with EINVAL in a
 * threaded process, and child_process.spawn has no pre-exec hook), so it spawns this small
 * single-threaded program, like runc's C nsexec.
 *
 * The outer stage:
 *   1. ties itself to the supervisor (PR_SET_PDEATHSIG) and takes its own process group;
 *   2. opens what must refer to the host: the cgroup.procs files (before the root becomes read-only
 *      in the new mount namespace) and the host mount namespace (to clone the FUSE view files);
 *   3. unshare()s mount, pid, uts, ipc, time (and net) namespaces and makes "/" private; with
 *      --userns and a network namespace of its own, opens low ports and ping in it (netns.c);
 *   4. writes the time namespace's boot-time offset, then forks PID 1 (pid1.c); with --userns it
 *      writes PID 1's uid and gid maps when PID 1 has entered its user namespace (userns.c);
 *   5. forwards SIGINT/TERM/HUP/QUIT/USR1/USR2 to PID 1 and exits with PID 1's status; with
 *      --monitor-fd it may be handed the sandbox (a detached one) and then outlives the supervisor,
 *      records PID 1's status and runs the teardown command (monitor.c).
 * The stage never joins the sandbox's cgroups: only PID 1 does, right before it forks the workload;
 * on cgroup v2 it is instead created inside the leaf by clone3(CLONE_INTO_CGROUP) when the kernel
 * has it (clone.c), so its set-up (mounts, views) is charged to the sandbox there.
 * The argv contract (what supervisor/stage.ts passes) is documented at the top of options.c.
 */
#include "stage.h"
#include "signals.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* include/uapi/linux/sched.h, Linux 5.6 */
#endif

/* SIGKILL the stage when its parent (the supervisor) dies, and refuse to start if it already has. */
static void tie_to_supervisor(pid_t supervisor)
{
	/* prctl(2): the signal is sent when the parent *thread* exits; Node's main thread spawns us and
	 * lives as long as the process. The setting survives our own execve (we are not set-id). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		die("supervisor", "prctl", "PR_SET_PDEATHSIG, SIGKILL");
	/* If the supervisor died before the prctl, we were already reparented: check after setting. */
	if (supervisor != 0 && getppid() != supervisor)
		die_msg("supervisor %d is gone (parent is now %d)", (int)supervisor, (int)getppid());
}

/* Close every inherited descriptor but stdio, the sync fd and the monitor channel, before anything else. The supervisor
 * cannot give us a clean table: libuv's spawn closes nothing itself and relies on O_CLOEXEC, and
 * libfuse 2 receives the /dev/fuse descriptor from fusermount (recvmsg(2) without
 * MSG_CMSG_CLOEXEC), so it arrives here open. Kept by the stage, PID 1 and the workload, it keeps
 * the FUSE connection alive after the supervisor dies: a process of the sandbox then waits forever
 * in a FUSE request (D state in request_wait_answer, deaf to SIGKILL; found by test/soak). It would
 * also hand the workload a host descriptor. close_range(2), Linux 5.9. */
static void close_inherited_fds(int keep, int keep_too)
{
	int low = keep < keep_too ? keep : keep_too;
	int high = keep < keep_too ? keep_too : keep;
	unsigned from = 3;

	/* Below, between and above the kept ones (a -1 keeps nothing). */
	for (int k = 0; k < 2; k++) {
		int fd = k == 0 ? low : high;

		if (fd < 3)
			continue;
		if ((unsigned)fd > from && sys_close_range(from, (unsigned)fd - 1) != 0)
			die("stage", "close_range", "%u, %d", from, fd - 1);
		from = (unsigned)fd + 1;
	}
	if (sys_close_range(from, ~0U) != 0)
		die("stage", "close_range", "%u, ~0", from);
}

/* Open every cgroup.procs file now, on the host's writable cgroupfs mounts. */
static void open_cgroup_procs(struct config *cfg)
{
	/* In the new mount namespace every mount is a read-only copy (mounts.c), so a later open would
	 * fail with EROFS; and an fd open for writing on a copy would make mount_setattr(MOUNT_ATTR_RDONLY)
	 * fail with EBUSY (mount_setattr(2)). An fd opened here refers to the host's mount instead. For v1
	 * the write of "0" later moves the writer, i.e. PID 1 (Documentation/admin-guide/cgroup-v1/cgroups.rst). */
	for (size_t i = 0; i < cfg->opt.n_cgroup_procs; i++) {
		cfg->rt.procs_fds[i] = open(cfg->opt.cgroup_procs[i], O_WRONLY | O_CLOEXEC);
		if (cfg->rt.procs_fds[i] < 0)
			die("cgroup", "open", "%s", cfg->opt.cgroup_procs[i]);
	}
}

/* v2 with one leaf: open its directory for clone3(CLONE_INTO_CGROUP) (clone.c); -1 otherwise. */
static void open_cgroup_dir(struct config *cfg)
{
	char *dir;
	char *slash;

	cfg->rt.cgroup_dir_fd = -1;
	if (!cfg->opt.cgroup_v2 || cfg->opt.n_cgroup_procs != 1)
		return;
	dir = strdup(cfg->opt.cgroup_procs[0]);
	slash = dir ? strrchr(dir, '/') : NULL;
	if (slash == NULL || strcmp(slash, "/cgroup.procs") != 0)
		die_msg("cgroup: expected DIR/cgroup.procs, got \"%s\"", cfg->opt.cgroup_procs[0]);
	*slash = '\0';
	cfg->rt.cgroup_dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfg->rt.cgroup_dir_fd < 0)
		die("cgroup", "open", "%s", dir);
	free(dir);
}

/* Create the namespaces; the caller enters all of them now except pid and time (only its children do). */
static void create_namespaces(const struct config *cfg)
{
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;

	if (cfg->opt.timens)
		flags |= CLONE_NEWTIME;
	if (cfg->opt.net_join != 0)
		join_netns(cfg->opt.net_join); /* instead of a new one; PID 1 and the workload inherit it */
	else if (cfg->opt.net_none)
		flags |= CLONE_NEWNET;
	if (unshare(flags) != 0)
		die("namespaces", "unshare", "0x%x", (unsigned)flags);
	/* Before any other mount: with MS_PRIVATE nothing we mount propagates back to the host, and
	 * nothing the host mounts later appears here (Documentation/filesystems/sharedsubtree.rst,
	 * mount_namespaces(7)). unshare(CLONE_NEWNS) copies the host's propagation types, which are
	 * "shared" on systemd hosts. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		die("namespaces", "mount", "/, MS_REC|MS_PRIVATE");
}

/* Shift CLOCK_BOOTTIME of the new time namespace so that it reads ~0 when PID 1 starts. */
static void set_boottime_offset(void)
{
	struct timespec now;
	char line[64];
	int fd, len;
	long long sec;
	long nsec;

	/* time_namespaces(7): offsets go to /proc/self/timens_offsets, as "<clock> <secs> <nanosecs>",
	 * after unshare(CLONE_NEWTIME) and before the first process enters the namespace (our fork).
	 * The kernel (kernel/time/namespace.c, proc_timens_set_offset) rejects with ERANGE an offset that
	 * would make the clock negative *now*, and requires 0 <= nanosecs < 1e9. An offset of exactly
	 * -(now) is written as secs = -(s+1), nanosecs = 1e9-ns; by the time the kernel checks, the
	 * clock has moved on, so clock+offset is a few microseconds >= 0 and it is accepted. /proc/uptime,
	 * the btime of /proc/stat and the start times in /proc/PID/stat are all shifted by it, so
	 * `ps -o etime` agrees with the virtualized uptime. */
	if (clock_gettime(CLOCK_BOOTTIME, &now) != 0)
		die("time namespace", "clock_gettime", "CLOCK_BOOTTIME");
	sec = -(long long)now.tv_sec;
	nsec = 0;
	if (now.tv_nsec != 0) {
		sec -= 1;
		nsec = 1000000000L - now.tv_nsec;
	}
	len = snprintf(line, sizeof line, "boottime %lld %ld\n", sec, nsec);
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("time namespace", "open", "/proc/self/timens_offsets");
	if (write(fd, line, (size_t)len) != len)
		die("time namespace", "write", "/proc/self/timens_offsets, boottime %lld %ld", sec, nsec);
	close(fd);
}

/*
 * --detach-views: PID 1 is gone, and with it its binds of the view files. The FUSE mount itself is
 * in the host's namespace (a copy our unshare made, if it came after the mount, is in ours and goes
 * when we exit, moments later). Enter the host's namespace (setns(2) needs a single-threaded
 * caller, which we are) and detach it with umount2(MNT_DETACH), as `fusermount -uz` would: the
 * supervisor then skips that exec (two execs through sh -c; docs/code-measurements.md). Best
 * effort: on any failure the mount stays and the supervisor's teardown unmounts it.
 */
static void detach_views(struct config *cfg)
{
	if (cfg->opt.detach_views == NULL || cfg->rt.host_mnt_fd < 0)
		return;
	if (setns(cfg->rt.host_mnt_fd, CLONE_NEWNS) == 0)
		(void)umount2(cfg->opt.detach_views, MNT_DETACH);
	close(cfg->rt.host_mnt_fd);
	cfg->rt.host_mnt_fd = -1;
}

/* Forward signals to PID 1 until it exits; return its status as an exit code. */
static int relay(pid_t pid1, const sigset_t *set)
{
	/* pid_namespaces(7): the init of a pid namespace receives a signal from an ancestor namespace
	 * only if it does not ignore it; PID 1 blocks these and reads them from a signalfd, and blocked
	 * signals are never discarded (kernel/signal.c sig_ignored). */
	for (;;) {
		int code;

		forward_until_sigchld(set, pid1, "stage");
		/* SIGCHLD: our only child is PID 1. */
		if ((code = exit_code_if_ended(pid1)) >= 0)
			return code;
	}
}

/* Nothing opened yet: every descriptor -1, room for one cgroup.procs descriptor per file. */
static void init_runtime(struct runtime *rt, size_t n_cgroup_procs)
{
	memset(rt, 0, sizeof *rt);
	rt->host_mnt_fd = rt->parent_pidfd = rt->cgroup_dir_fd = rt->sys_fd = -1;
	rt->pty_sock[0] = rt->pty_sock[1] = rt->pty_peer = -1;
	rt->userns_sock[0] = rt->userns_sock[1] = rt->proc_fd = -1;
	rt->idmap_fd = rt->layers_userns_fd = rt->oom_fd = -1;
	for (size_t i = 0; i < sizeof rt->host_ns_fds / sizeof rt->host_ns_fds[0]; i++)
		rt->host_ns_fds[i] = -1;
	rt->procs_fds = calloc(n_cgroup_procs + 1, sizeof *rt->procs_fds);
	if (rt->procs_fds == NULL)
		die("options", "calloc", "%zu", n_cgroup_procs + 1);
}

/* --exec-helper: no sandbox, only a clean descriptor table and the tie to the supervisor. --net
 * private's pasta (supervisor/net/pasta.ts) runs so, in the foreground: started directly it would
 * keep the supervisor's /dev/fuse descriptor (see close_inherited_fds; found in /proc/PID/fd), and
 * it dies with the supervisor like the stage (PR_SET_PDEATHSIG survives execve(2) of a binary that
 * is not set-id, prctl(2)). */
__attribute__((noreturn)) static void exec_helper(const struct options *opts)
{
	int err;

	tie_to_supervisor(opts->supervisor_pid);
	execvp(opts->argv[0], opts->argv);
	err = errno;
	say("sandbox: exec \"%s\": %s", opts->argv[0], strerror(err));
	exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* Open what PID 1 needs of the host while the stage still sees it: the cgroup.procs files and the
 * v2 leaf, the host mount namespace (views), a pidfd of the stage, the --idmap and --layer user
 * namespaces. Also fills in --chdir's default, the stage's cwd. */
static void open_host_descriptors(struct config *cfg)
{
	if (cfg->opt.chdir == NULL) {
		/* The workload re-enters its directory by path, so that it sees the --rw bind on it:
		 * the cwd inherited through unshare(CLONE_NEWNS) is the read-only copy underneath. */
		char *cwd = getcwd(NULL, 0);
		if (cwd == NULL)
			die("working directory", "getcwd", "%s", ".");
		cfg->opt.chdir = cwd;
	}
	if (cfg->opt.sync_fd >= 0 && fcntl(cfg->opt.sync_fd, F_SETFD, FD_CLOEXEC) != 0)
		die("sync", "fcntl", "fd %d, F_SETFD, FD_CLOEXEC", cfg->opt.sync_fd);
	open_cgroup_procs(cfg);
	open_cgroup_dir(cfg);
	if (cfg->opt.n_views > 0 || cfg->opt.detach_views != NULL) {
		/* setns(2) back into this namespace lets PID 1 clone the view files from the supervisor's
		 * FUSE mount, which may be mounted on the host only after our unshare (the supervisor
		 * mounts it while we start) and then never propagates into our private namespace; and
		 * lets us detach it at the end (--detach-views). */
		cfg->rt.host_mnt_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
		if (cfg->rt.host_mnt_fd < 0)
			die("views", "open", "/proc/self/ns/mnt");
	}
	/* PID 1 sees its parent as pid 0 (it lives outside its namespace), so getppid() cannot tell
	 * whether we died before its prctl; a pidfd of ours polls readable once we have (pidfd_open(2)). */
	cfg->rt.parent_pidfd = sys_pidfd_open(getpid(), 0);
	if (cfg->rt.parent_pidfd < 0)
		die("stage", "pidfd_open", "%d", (int)getpid());

	/* --idmap: the mapping's user namespace, while /proc is the host's and before SIGCHLD is
	 * blocked (its throwaway child is reaped here). The files belong to the workload's host ids. */
	if (cfg->opt.idmap)
		cfg->rt.idmap_fd = idmap_userns(cfg->opt.idmap_uid, cfg->opt.idmap_gid, cfg->opt.userns_uid + (cfg->opt.has_user ? cfg->opt.uid : 0),
						cfg->opt.userns_gid + (cfg->opt.has_user ? cfg->opt.gid : 0), 1);
	/* A root of its own in a user namespace: its layers are ID-mapped with the namespace's own
	 * mapping (rootfs.c map_layers), so on-disk 0 is root inside. */
	if (cfg->opt.userns && cfg->opt.n_layers > 0)
		cfg->rt.layers_userns_fd = idmap_userns(0, 0, cfg->opt.userns_uid, cfg->opt.userns_gid, cfg->opt.userns_count);
}

/* The new namespaces (and, with --userns and a network of its own, low ports and ping in it), the
 * Landlock decision that depends on the network namespace, and the time namespace's offset. */
static void enter_namespaces(struct config *cfg)
{
	ino_t netns = netns_inode();

	create_namespaces(cfg);
	if (cfg->opt.userns && cfg->opt.net_none && cfg->opt.net_join == 0)
		open_unprivileged_net(); /* a joined namespace got them from its own sandbox (netns.c) */
	cfg->rt.landlock_scope = netns != 0 && same_netns(netns); /* --net host, or joined a sandbox that has it */
	if (cfg->opt.timens)
		set_boottime_offset();
}

/* Everything opened for PID 1 stays with PID 1. Closing our copy of the sync fd makes the
 * supervisor's write fail (EPIPE) once PID 1 is gone, instead of blocking. */
static void close_pid1_descriptors(struct config *cfg)
{
	close(cfg->rt.parent_pidfd);
	if (cfg->opt.sync_fd >= 0)
		close(cfg->opt.sync_fd);
	if (cfg->rt.host_mnt_fd >= 0 && cfg->opt.detach_views == NULL)
		close(cfg->rt.host_mnt_fd);
	for (size_t i = 0; i < cfg->opt.n_cgroup_procs; i++)
		close(cfg->rt.procs_fds[i]);
	if (cfg->rt.cgroup_dir_fd >= 0)
		close(cfg->rt.cgroup_dir_fd);
	if (cfg->rt.idmap_fd >= 0)
		close(cfg->rt.idmap_fd);
	if (cfg->rt.layers_userns_fd >= 0)
		close(cfg->rt.layers_userns_fd);
}

/* The outer stage: parse, tie, open host-side descriptors, unshare, fork PID 1, relay its status. */
int main(int argc, char **argv)
{
	struct config cfg;
	sigset_t set;
	pid_t pid1;
	int code;

	parse_options(argc, argv, &cfg.opt);
	init_runtime(&cfg.rt, cfg.opt.n_cgroup_procs);
	close_inherited_fds(cfg.opt.sync_fd, cfg.opt.monitor_fd);
	if (cfg.opt.exec_helper)
		exec_helper(&cfg.opt);
	if (cfg.opt.exec_into != 0)
		exec_main(&cfg);
	if (cfg.opt.probe_idmap != NULL)
		idmap_probe(cfg.opt.probe_idmap);
	cfg.rt.arg_area = argv[0];
	cfg.rt.arg_area_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
	tie_to_supervisor(cfg.opt.supervisor_pid);

	/* Our own process group (setpgid in tty.c): the terminal's signals (Ctrl-C) go to the
	 * foreground group only, so the sandbox is not hit both by the terminal and by the supervisor's
	 * forwarding. When the supervisor's group held the terminal, tty.c hands the foreground to ours,
	 * so an interactive workload can read it. A session leader (spawned with setsid) already leads
	 * its group, where setpgid would fail with EPERM (setpgid(2)). */
	if (getpgrp() != getpid())
		tty_take_foreground();

	open_host_descriptors(&cfg);
	if (cfg.opt.monitor_fd >= 0) {
		monitor_open_host(&cfg); /* before unshare: the namespaces the teardown runs in */
		monitor_watch_oom(&cfg); /* and the host's cgroupfs */
	}
	/* Block the forwarded signals before fork: none is lost between fork and the wait loops, and
	 * PID 1 inherits the mask (fork(2)). */
	block_signals(&set);
	if (cfg.opt.tty)
		pty_channel(&cfg);
	if (cfg.opt.userns)
		userns_channel(&cfg); /* before unshare: the host's /proc */
	enter_namespaces(&cfg);

	/* v2: PID 1 is born in the sandbox's leaf when the kernel can (clone.c); else it moves itself
	 * there later (pid1.c join_cgroups). */
	pid1 = fork_into_cgroup(cfg.rt.cgroup_dir_fd, cfg.opt.n_cgroup_procs > 0 ? cfg.opt.cgroup_procs[0] : "", &cfg.rt.born_in_cgroup);
	if (pid1 < 0)
		die("pid 1", "fork", "%s", "");
	if (pid1 == 0)
		pid1_main(&cfg);

	close_pid1_descriptors(&cfg);
	if (cfg.opt.userns)
		userns_map(&cfg, pid1); /* PID 1 asks once every mount is in place (userns.c) */
	if (cfg.opt.tty)
		code = pty_relay(&cfg, pid1, &set);
	else
		code = cfg.opt.monitor_fd >= 0 ? monitor_relay(&cfg, pid1, &set) : relay(pid1, &set);
	tty_restore_foreground();
	detach_views(&cfg);
	if (cfg.rt.handed_over)
		monitor_exit(&cfg, code, &set);
	return code;
}
