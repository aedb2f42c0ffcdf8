/*
 * PID 1 of the sandbox: builds the sandbox's view of the system, joins the cgroups, drops
 * privileges, forks the workload, then forwards signals to it and reaps every zombie until the
 * workload itself exits. Its exit status is the workload's; when it exits the kernel SIGKILLs
 * everything left in the pid namespace (pid_namespaces(7)).
 *
 * Order matters (each step's reason is at the step):
 *   pdeathsig, non-dumpable -> clone bind sources -> read-only root, or (--layer) pivot_root into the overlay ->
 *   /proc -> /sys -> /dev -> (--layer) detach the old root -> /tmp -> attach binds -> (--read-only) ->
 *   hostname, lo -> sync byte -> views -> masked paths, hidden state root, oom_score_adj -> join
 *   cgroups -> cgroup ns -> cgroupfs -> (--userns) workdir entered, user ns, root inside -> pty (--tty) -> caps,
 *   no_new_privs -> seccomp, sysinfo filter -> (host network) Landlock scope -> fork workload -> reap loop
 */
#include "stage.h"
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* SIGKILL PID 1 when the outer stage dies; exit if it died before that was set. The pidfd is kept
 * with --userns: the uid change clears the setting and userns_enter() checks again. */
static void tie_to_stage(int parent_pidfd, bool keep)
{
	struct pollfd pfd = { .fd = parent_pidfd, .events = POLLIN };

	/* prctl(2): PR_SET_PDEATHSIG is cleared in the child of a fork, so set it again. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		die("pid 1", "prctl", "PR_SET_PDEATHSIG, SIGKILL");
	/* pidfd_open(2): the pidfd polls readable when the process has terminated. */
	if (poll(&pfd, 1, 0) < 0)
		die("pid 1", "poll", "parent pidfd %d", parent_pidfd);
	/* The stage died first: whoever ended it (the supervisor giving up on a launch whose limits the
	 * kernel refused, or the stage's own failure) has said why on stderr. A line here would be a
	 * second one, breaking the one-line contract, so PID 1 leaves quietly. */
	if (pfd.revents & POLLIN)
		_exit(EXIT_SANDBOX);
	if (!keep)
		close(parent_pidfd);
}

/* Read exactly one byte (the supervisor's FUSE views are mounted), then close the channel. */
static void wait_for_sync(int fd)
{
	char byte;
	ssize_t n;

	do
		n = read(fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die("sync", "read", "fd %d", fd);
	/* End of file: the supervisor gave up on the launch (it reports why) or died (its caller sees
	 * that); either way this is not a second error to print. */
	if (n == 0)
		_exit(EXIT_SANDBOX);
	/* Closed here, so the workload never inherits it (it is also FD_CLOEXEC, set by the stage). */
	close(fd);
}

/* Move PID 1 into the sandbox's cgroups, then make them the root of a new cgroup namespace. */
static void join_cgroups(const struct config *cfg)
{
	/* Writing "0" moves the writer itself (Documentation/admin-guide/cgroup-v1/cgroups.rst, "writing
	 * a pid of 0 to cgroup.procs moves the writing task"; for v2 Documentation/admin-guide/cgroup-v2.rst).
	 * The fds were opened by the outer stage on the host's mounts, still writable. This happens after
	 * all set-up, so its cost is not charged to the capped cgroup; the workload is forked after it
	 * and never runs an instruction outside. */
	if (cfg->rt.cgroup_dir_fd >= 0)
		close(cfg->rt.cgroup_dir_fd);
	for (size_t i = 0; i < cfg->opt.n_cgroup_procs; i++) {
		/* Born there by clone3(CLONE_INTO_CGROUP) (clone.c): nothing to move. */
		if (!cfg->rt.born_in_cgroup && write(cfg->rt.procs_fds[i], "0", 1) != 1)
			die("cgroup", "write", "%s, \"0\"", cfg->opt.cgroup_procs[i]);
		close(cfg->rt.procs_fds[i]);
	}
	/* cgroup_namespaces(7): the new namespace's root is the caller's cgroup at unshare time, so
	 * /proc/self/cgroup shows "/" and a cgroupfs mounted now shows the sandbox's cgroup as its root. */
	if (unshare(CLONE_NEWCGROUP) != 0)
		die("cgroup", "unshare", "CLONE_NEWCGROUP");
}

/* When none of fds 0-2 is a terminal (`sandbox run … <in >out 2>&1` from a shell), the caller's
 * terminal is still the controlling terminal of the session the stage started in, and opening
 * /dev/tty (5:0, tty(4)) would reach it: write to it, and read it as a background job that ignores
 * SIGTTIN (EIO then, but output goes through). setsid(2), as bubblewrap's --new-session does, leaves
 * it: /dev/tty then fails with ENXIO. Not when a descriptor is the terminal: the workload holds it
 * anyway, and in the caller's session the kernel's job control still stops it from reading the
 * terminal from the background (drivers/tty/tty_jobctrl.c __tty_check_change), which a session of
 * its own would skip. The child of PID 1's fork is no group leader, so setsid succeeds. */
static void leave_unused_terminal(void)
{
	if (isatty(STDIN_FILENO) || isatty(STDOUT_FILENO) || isatty(STDERR_FILENO))
		return;
	if (setsid() < 0)
		die("workload", "setsid", "%s", "");
}

/* The workload, in the child of PID 1: undo PID 1's signal set-up, enter the directory, exec. */
__attribute__((noreturn)) static void exec_workload(const struct config *cfg, mode_t umask_saved)
{
	sigset_t none;
	int err;

	/* execve(2) resets handled signals to default but keeps ignored ones ignored and keeps the mask:
	 * give the workload a clean slate (an inherited SIG_IGN for SIGINT would make Ctrl-C useless). */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL); /* fails harmlessly (EINVAL) for glibc's reserved 32 and 33 */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	umask(umask_saved);
	/* By path: the --rw bind on it is only seen by a fresh lookup. In a user namespace PID 1 has
	 * entered it already, as host root (userns.c userns_chdir), and we inherited it. */
	if (!cfg->opt.userns && chdir(cfg->opt.chdir) != 0)
		die("workload", "chdir", "%s", cfg->opt.chdir);
	if (cfg->opt.tty)
		pty_attach(cfg);
	else
		leave_unused_terminal();
	switch_user(&cfg->opt);

	exec_search(cfg->opt.argv);
	err = errno;
	say("sandbox: exec \"%s\": %s", cfg->opt.argv[0], strerror(err));
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* Forward signals to the workload, answer sysinfo(2) and reap every child; exit with the
 * workload's status. */
__attribute__((noreturn)) static void reap_loop(pid_t workload, const sigset_t *set)
{
	for (;;) {
		int status;
		pid_t pid;

		forward_until_sigchld(set, workload, "pid 1");
		/* Orphans of the sandbox are reparented to us (pid_namespaces(7)); standard signals do not
		 * queue, so one SIGCHLD may stand for many exits: reap until none is left. */
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			if (pid == workload)
				_exit(exit_code_of(status));
	}
}

/* Show PID 1 as "sandbox-init" inside: its argv holds host paths (cgroup dirs, the FUSE mount) that
 * the sandbox's `ps` need not see. /proc/PID/cmdline reads the argv area of the process's memory
 * (fs/proc/base.c get_mm_cmdline), so overwriting it in place renames the process; comm is set with
 * PR_SET_NAME (prctl(2), at most 15 bytes). Done after the workload's fork: its command points into
 * this area, and the child keeps its own copy. */
static void retitle(const struct config *cfg)
{
	static const char title[] = "sandbox-init";

	memset(cfg->rt.arg_area, 0, cfg->rt.arg_area_len);
	if (cfg->rt.arg_area_len >= sizeof title)
		memcpy(cfg->rt.arg_area, title, sizeof title);
	prctl(PR_SET_NAME, title, 0, 0, 0);
}

/* PID 1's own safety first: tied to the stage, no host /proc, non-dumpable, umask 0. Returns the
 * umask to give back to the workload. */
static mode_t harden_pid1(struct config *cfg)
{
	tie_to_stage(cfg->rt.parent_pidfd, cfg->opt.userns);
	/* The host's /proc (O_PATH, userns.c userns_channel) is the outer stage's, to write PID 1's
	 * maps: our inherited copy would lead, for PID 1's whole life, to every host process's files
	 * (issue 19, finding 8). fork(2) duplicated it; nothing of PID 1 uses it. */
	if (cfg->rt.proc_fd >= 0) {
		close(cfg->rt.proc_fd);
		cfg->rt.proc_fd = -1;
	}
	/* Non-dumpable (prctl(2) PR_SET_DUMPABLE 0): /proc/1/fd, /proc/1/root, /proc/1/cwd and
	 * pidfd_getfd(2) on PID 1 then need CAP_SYS_PTRACE (ptrace_may_access, kernel/ptrace.c), which the
	 * workload lacks: it holds PID 1's uid and capabilities, and PID 1 holds descriptors the workload
	 * must not (the upper's clone, UPPER_FD, rootfs.c; issue 19, finding 1). The supervisor (host
	 * root with CAP_SYS_PTRACE) still reads /proc/PID/ns for `sandbox exec` and fd/UPPER_FD for
	 * `sandbox commit`. The workload's execve(2) makes it dumpable again (its own process). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die("pid 1", "prctl", "PR_SET_DUMPABLE, 0");
	/* Device nodes and directories get exactly the modes we ask for; the workload gets the
	 * supervisor's umask back. */
	return umask(0);
}

/* The sandbox's file system, up to the binds: a read-only root (or --layer's overlay), /proc, /sys,
 * /dev, /tmp, the --rw dirs, volumes and tmpfs mounts, then (--read-only) the sealed root. */
static void assemble_root(struct config *cfg)
{
	clone_bind_sources(cfg); /* first: their sources are host paths, before /tmp etc. cover them */
	if (cfg->opt.n_layers > 0)
		enter_rootfs(cfg); /* pivot_root into an overlay of the layers; the old root on /tmp */
	else
		make_root_readonly(); /* before the writable mounts: it would make them read-only too */
	mount_proc(cfg->opt.n_layers == 0);
	if (cfg->opt.net_none || cfg->opt.n_layers == 0)
		mount_sys(); /* of the host's network namespace with --net host: the host's devices */
	else
		attach_host_sys(cfg);
	mount_dev();
	if (cfg->opt.n_layers > 0)
		detach_old_root(); /* after /proc: see rootfs.c; /tmp is mounted where it was */
	mount_tmp();
	attach_bind_sources(cfg);
	if (cfg->opt.n_layers > 0 && cfg->opt.read_only)
		seal_rootfs(); /* after the mount points of volumes and files were made */
}

/* Once the supervisor's views are mounted (the sync byte): bind them, then mask /proc and /sys
 * paths, hide the state root and set oom_score_adj. */
static void bind_views_and_mask(struct config *cfg)
{
	if (cfg->opt.sync_fd >= 0)
		wait_for_sync(cfg->opt.sync_fd);
	bind_views(cfg);
	/* After /proc, /sys and /dev exist (the masks cover their files with our /dev/null) and after the
	 * views are cloned from the host namespace (hiding detaches the copies, not the host's mounts). */
	mask_paths();
	for (size_t i = 0; i < cfg->opt.n_hides; i++)
		hide_dir(cfg->opt.hides[i]);
	if (cfg->opt.set_oom_score_adj)
		set_oom_score_adj(cfg->opt.oom_score_adj); /* while PID 1 still holds CAP_SYS_RESOURCE */
}

/* The last privileged steps, then the privileges go: (--userns) the workdir and the user
 * namespace, (--tty) the pty, capabilities, no_new_privs and seccomp, Landlock, the sysinfo filter. */
static void drop_privileges(struct config *cfg)
{
	if (cfg->opt.userns) {
		userns_chdir("workload", cfg->opt.chdir); /* after the views' setns reset it; as host root */
		userns_enter(cfg); /* last: it ends every privilege over the mounts (userns.c) */
	}
	if (cfg->opt.tty)
		pty_open(cfg); /* after /dev/pts exists; before the capability drop (fchown for --user) */
	/* PID 1 itself runs under the filter too (a workload that ptraces it gains nothing). */
	lock_down("privileges", &cfg->opt);
	/* After no_new_privs (landlock_restrict_self needs it without CAP_SYS_ADMIN); PID 1 is in the
	 * domain too, so its forwarding to the workload stays inside it. */
	if (cfg->rt.landlock_scope)
		landlock_scope();
	/* After no_new_privs; the workload inherits the filter. Not with seccomp=unconfined: no filter
	 * at all then, as asked (sysinfo shows the host's figures). */
	if (!cfg->opt.seccomp_unconfined)
		sysinfo_listen(AT_FDCWD);
}

/* PID 1: set up the sandbox in the order described at the top of this file, then supervise. */
void pid1_main(struct config *cfg)
{
	sigset_t set;
	mode_t umask_saved;
	pid_t workload;

	/* The supervisor's channel to the outer stage, and the host namespaces its teardown re-enters
	 * (monitor.c): PID 1 never leaves the sandbox's. */
	if (cfg->opt.monitor_fd >= 0)
		close(cfg->opt.monitor_fd);
	if (cfg->rt.oom_fd >= 0)
		close(cfg->rt.oom_fd);
	for (size_t i = 0; i < sizeof cfg->rt.host_ns_fds / sizeof cfg->rt.host_ns_fds[0]; i++)
		if (cfg->rt.host_ns_fds[i] >= 0)
			close(cfg->rt.host_ns_fds[i]);
	umask_saved = harden_pid1(cfg);
	assemble_root(cfg);
	if (cfg->opt.hostname != NULL)
		set_hostname(cfg->opt.hostname);
	if (cfg->opt.net_none)
		loopback_up();
	bind_views_and_mask(cfg);
	join_cgroups(cfg);
	mount_cgroupfs(&cfg->opt);
	drop_privileges(cfg);

	/* The mask inherited from the stage still blocks the forwarded signals and SIGCHLD, so any
	 * that arrive from here on wait for the loop. PID 1 needs no privilege to reap or to signal
	 * its own child (same uid), so it runs the loop with the dropped set. */
	block_signals(&set);
	workload = fork();
	if (workload < 0)
		die("workload", "fork", "%s", "");
	if (workload == 0)
		exec_workload(cfg, umask_saved);
	if (cfg->opt.tty)
		close(cfg->rt.pty_peer); /* the workload's now: its last close makes the master read EIO */
	retitle(cfg);
	reap_loop(workload, &set);
}
