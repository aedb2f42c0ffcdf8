/*
 * Forking PID 1 straight into the sandbox's cgroup v2 leaf: clone3(2) with CLONE_INTO_CGROUP
 * (Linux 5.7). The child is attached by cgroup_can_fork()/cgroup_post_fork() while it is created
 * (kernel/cgroup/cgroup.c cgroup_css_set_fork), which takes cgroup_threadgroup_rwsem only for
 * reading; moving a running process with a write to cgroup.procs takes it for writing
 * (cgroup_attach_lock), which waits for an RCU grace period unless the hierarchy is mounted with
 * favordynmods. So the child never runs outside the leaf, and attaching costs nothing measurable.
 *
 * Kernels without it fall back to fork() and the write of "0" in pid1.c: clone3 absent (< 5.3),
 * or filtered to ENOSYS (a seccomp filter such as ours, docker's or systemd's), gives ENOSYS;
 * a clone3 without CLONE_INTO_CGROUP (5.3-5.6) rejects the flag with EINVAL, or the larger
 * struct with E2BIG (kernel/fork.c copy_clone_args_from_user, clone3_args_valid).
 */
#include "stage.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL /* include/uapi/linux/sched.h, Linux 5.7 */
#endif

/* clone_args up to and including .cgroup (CLONE_ARGS_SIZE_VER2 = 88), declared here so that older
 * UAPI headers (without .set_tid or .cgroup) build too. */
struct clone_args_v2 {
	unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	unsigned long long set_tid, set_tid_size, cgroup;
};

pid_t fork_into_cgroup(int cgroup_fd, const char *cgroup_dir, bool *inside)
{
	struct clone_args_v2 args;
	long pid;

	*inside = false;
	if (cgroup_fd >= 0) {
		memset(&args, 0, sizeof args);
		args.flags = CLONE_INTO_CGROUP;
		args.exit_signal = SIGCHLD;
		args.cgroup = (unsigned long long)cgroup_fd;
		/* Like fork(): no stack given, so the child continues on a copy of ours. The stage is
		 * single-threaded; glibc's own state needs no fork handlers here (no threads, no atfork). */
		pid = syscall(SYS_clone3, &args, sizeof args);
		if (pid >= 0) {
			*inside = true;
			return (pid_t)pid;
		}
		if (errno != ENOSYS && errno != EINVAL && errno != E2BIG)
			die("pid 1", "clone3", "CLONE_INTO_CGROUP, %s", cgroup_dir);
	}
	return fork();
}
