/*
 * `sandbox exec`: run a command inside a live sandbox (stage --exec-into PID, see options.c).
 *
 * nsenter(1) enters namespaces but not cgroups; we must do both, or the command would run outside
 * the sandbox's limits. Order:
 *   1. PR_SET_PDEATHSIG: `sandbox exec` dying takes us (and, below, the command) down;
 *   2. pidfd_open(PID 1 of the sandbox): a handle that can't be confused with a recycled pid;
 *   3. write "0" into every cgroup.procs of the sandbox (host paths, so before entering the mount
 *      namespace, where cgroupfs is read-only): the writer moves itself, and what it forks later
 *      starts there (Documentation/admin-guide/cgroup-v1/cgroups.rst, cgroup-v2.rst);
 *   4. setns(pidfd, mnt|pid|uts|ipc|net|cgroup|time): setns(2) since Linux 5.8 takes a pidfd and a
 *      set of CLONE_NEW* flags and enters all of them atomically — all or none (kernel/nsproxy.c,
 *      prepare_nsset/validate_nsset). The cgroup namespace comes after the cgroup join, so its root
 *      is the sandbox's cgroup as PID 1 sees it. Entering the mount namespace resets root and cwd to
 *      that namespace's root (setns(2)); pid and time namespaces apply to children only;
 *      A sandbox run with --userns: its user namespace is entered after them (userns.c);
 *   5. the same privilege drop as PID 1 (docker's capability set, no_new_privs, the seccomp filter);
 *   5b. with --tty, a new pty of the sandbox's devpts (pty.c): the command's terminal, relayed;
 *       without, three pipes (stdio.c), relayed. The caller's fds 0-2 (a terminal, files) never
 *       reach the command: processes of the sandbox could reopen them through /proc/PID/fd and
 *       keep them after `sandbox exec` returned (issue 19, finding 5);
 *   6. fork: the child is in the pid namespace (pid_namespaces(7)); it execs the command. When it
 *      outlives us it is reparented to the sandbox's PID 1, which reaps it. We are non-dumpable
 *      from before the fork, and so is the child until its execve (prctl(2) PR_SET_DUMPABLE;
 *      execve makes a process of unchanged uid dumpable again, fs/exec.c begin_new_exec): until
 *      it has dropped the caller's fds, /proc/PID/fd of it needs CAP_SYS_PTRACE, which the
 *      workload lacks (ptrace(2), "Ptrace access mode checking");
 *   7. relay stdio, forward signals to the child and exit with its status (128+N for signal N).
 */
#include "stage.h"
#include "signals.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* include/uapi/linux/sched.h, Linux 5.6 */
#endif

/* Move ourselves into the sandbox's cgroup in every hierarchy. */
static void join_sandbox_cgroups(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->opt.n_cgroup_procs; i++) {
		int fd = open(cfg->opt.cgroup_procs[i], O_WRONLY | O_CLOEXEC);

		if (fd < 0)
			die("exec: cgroup", "open", "%s", cfg->opt.cgroup_procs[i]);
		if (write(fd, "0", 1) != 1)
			die("exec: cgroup", "write", "%s, \"0\"", cfg->opt.cgroup_procs[i]);
		close(fd);
	}
}

/* The command, in the child: clean signal state, the working directory (unless entered already),
 * exec. */
__attribute__((noreturn)) static void exec_command(const struct config *cfg, int pipes[3][2], bool cwd_entered)
{
	sigset_t none;
	int err;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Into a user namespace the directory was entered before it, as host root (userns_chdir). */
	if (!cwd_entered && chdir(cfg->opt.chdir != NULL ? cfg->opt.chdir : "/") != 0)
		die("exec", "chdir", "%s", cfg->opt.chdir != NULL ? cfg->opt.chdir : "/");
	if (cfg->opt.tty)
		pty_attach(cfg);
	else
		stdio_attach(pipes);
	switch_user(&cfg->opt);
	/* The command dies with `sandbox exec` (cleared in a fork child, and again by the uid change of
	 * --user in commit_creds, kernel/cred.c: so set after it; prctl(2)). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		die("exec", "prctl", "PR_SET_PDEATHSIG, SIGKILL");
	exec_search(cfg->opt.argv);
	err = errno;
	dprintf(STDERR_FILENO, "sandbox: exec \"%s\": %s\n", cfg->opt.argv[0], strerror(err));
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* --exec-into: enter the sandbox of cfg->opt.exec_into (its PID 1, a host pid), run the command, exit with its status. */
void exec_main(struct config *cfg)
{
	const int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
			  CLONE_NEWCGROUP | CLONE_NEWTIME;
	sigset_t set;
	pid_t child;
	int pidfd, userns_fd, host_proc, code, master = -1;
	int pipes[3][2];

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		die("exec", "prctl", "PR_SET_PDEATHSIG, SIGKILL");
	if (cfg->opt.supervisor_pid != 0 && getppid() != cfg->opt.supervisor_pid)
		die_msg("sandbox exec %d is gone (parent is now %d)", (int)cfg->opt.supervisor_pid, (int)getppid());
	/* Like `sandbox run`: our own process group, holding the terminal's foreground if the caller
	 * did, so Ctrl-C reaches the command once (tty.c). */
	if (getpgrp() != getpid())
		tty_take_foreground();

	pidfd = sys_pidfd_open(cfg->opt.exec_into, 0);
	if (pidfd < 0)
		die("exec", "pidfd_open", "%d (PID 1 of the sandbox)", (int)cfg->opt.exec_into);
	userns_fd = userns_of(cfg->opt.exec_into); /* while /proc is the host's */
	/* Our pid namespace stays the host's (setns(2): CLONE_NEWPID applies to children), so the pids
	 * of sysinfo notifications are host pids (sysinfo.c): keep the host's /proc to find them. We
	 * have no pid inside; the command closes it at execve. */
	host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (host_proc < 0)
		die("exec", "open", "/proc, O_PATH (the host's)");
	join_sandbox_cgroups(cfg);
	if (setns(pidfd, flags) != 0)
		die("exec", "setns", "pidfd of %d, 0x%x", (int)cfg->opt.exec_into, (unsigned)flags);
	close(pidfd);
	if (userns_fd >= 0) {
		userns_chdir("exec", cfg->opt.chdir != NULL ? cfg->opt.chdir : "/");
		userns_join(userns_fd, cfg->opt.supervisor_pid); /* last, as PID 1 entered it (userns.c) */
	}

	/* -t: a pty of the sandbox's devpts (now our /dev/pts), before the capability drop (fchown);
	 * else pipes. Non-dumpable first (step 6): the child inherits it until its execve. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die("exec", "prctl", "PR_SET_DUMPABLE, 0");
	if (cfg->opt.tty)
		master = pty_open_pair(cfg);
	else
		stdio_pipes(pipes);
	/* The workload's privileges (seccomp.c lock_down): an exec'd process must not get what the
	 * workload can't (mount, setns, module loading, ...). */
	lock_down("exec", &cfg->opt);
	if (!cfg->opt.seccomp_unconfined)
		sysinfo_listen(host_proc); /* the command's sysinfo(2) is answered by our relay loop */
	else
		close(host_proc);

	block_signals(&set);
	child = fork();
	if (child < 0)
		die("exec", "fork", "%s", "");
	if (child == 0) {
		if (cfg->opt.tty)
			close(master);
		exec_command(cfg, pipes, userns_fd >= 0);
	}
	if (cfg->opt.tty) {
		close(cfg->rt.pty_peer); /* the command's now: its last close makes the master read EIO */
		code = pty_relay_master(master, child, &set);
	} else {
		code = stdio_relay(pipes, child, &set);
	}
	tty_restore_foreground();
	_exit(code);
}
