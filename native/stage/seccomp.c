/*
 * The seccomp filter every process of the sandbox runs under (PID 1 installs it right before it
 * forks the workload; seccomp(2): filters are inherited across fork and kept across execve).
 *
 * A deny list, written as classic BPF by hand (no libseccomp): the calls below fail with EPERM and
 * everything else is allowed. The list follows what docker's default profile leaves out for a
 * container without CAP_SYS_ADMIN (moby/profiles seccomp/default.json: mount, umount2, pivot_root,
 * the new mount API, kexec_*, *_module, swapon/swapoff, reboot, open_by_handle_at, bpf,
 * perf_event_open, keyctl/add_key/request_key, userfaultfd, setns, unshare and clone with namespace
 * flags, clone3 as ENOSYS, io_uring_* since moby#46762). Most of them also need a capability the
 * workload no longer holds (caps.c); the filter is the second wall, and the only one for calls that
 * need none: unshare(CLONE_NEWUSER) (a user namespace grants every capability inside it, and with
 * it the kernel's whole mount and netfilter code as attack surface), keyctl (the keyrings are not
 * namespaced), userfaultfd and io_uring (the usual exploit primitives), TIOCSTI (typing into the
 * host terminal the sandbox inherited; CVE-2016-7545-style, as flatpak and bubblewrap block it).
 *
 * ptrace stays allowed, as in docker on kernels >= 4.8: since then the kernel re-runs seccomp after
 * a tracer changes a syscall (arch/x86/entry/common.c, syscall_trace_enter runs ptrace then
 * __secure_computing), so a tracee cannot be steered around the filter, and the workload can only
 * reach processes of its own pid namespace (the supervisor has no pid inside). strace and gdb work.
 *
 * Not a full allow list like docker's: every number above LAST_KNOWN_SYSCALL gets ENOSYS, so a
 * system call added by a newer kernel is refused until reviewed (SECURITY.md says why this and not
 * docker's ~370-name allow list).
 *
 * Architecture: the filter sees syscall numbers of the calling ABI. A 64-bit process can still make
 * i386 calls (int $0x80, seccomp_data.arch = AUDIT_ARCH_I386) whose numbers differ, and x32 calls
 * (nr | __X32_SYSCALL_BIT): a deny list by number would miss both. So a foreign arch kills the
 * process (SECCOMP_RET_KILL_PROCESS, Linux 4.14) and x32 numbers get ENOSYS, as if x32 were off.
 */
#include "stage.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#define X32_SYSCALL_BIT 0x40000000U /* arch/x86/include/uapi/asm/unistd.h */
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "seccomp.c: add this architecture's AUDIT_ARCH_* (include/uapi/linux/audit.h)"
#endif

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Namespace flags of clone(2) and unshare(2) (include/uapi/linux/sched.h). */
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
		  CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME)

/* A denied call and the capability that lifts the denial (-1: only --security-opt
 * seccomp=unconfined does). As in docker's default profile (moby profiles/seccomp/default.json, its
 * "includes": {"caps": [...]} rules), adding a capability with --cap-add also allows the calls that
 * need it; the kernel's own capability checks still apply. Calls docker allows to no capability
 * (pivot_root, swapon/swapoff, kexec_*, the keyring calls, userfaultfd) stay denied. */
struct denied_call {
	int nr;
	int cap;
};

#define ADMIN CAP_SYS_ADMIN

/* Denied with EPERM. Numbers come from <sys/syscall.h> of the build machine; a call unknown there
 * does not exist on this architecture (e.g. no SYS_umount on aarch64). */
static const struct denied_call denied[] = {
	{ SYS_mount, ADMIN },
	{ SYS_umount2, ADMIN },
	{ SYS_pivot_root, -1 },
	{ SYS_swapon, -1 },
	{ SYS_swapoff, -1 },
	{ SYS_reboot, CAP_SYS_BOOT },
	{ SYS_init_module, CAP_SYS_MODULE },
	{ SYS_finit_module, CAP_SYS_MODULE },
	{ SYS_delete_module, CAP_SYS_MODULE },
	{ SYS_kexec_load, -1 },
#ifdef SYS_kexec_file_load
	{ SYS_kexec_file_load, -1 },
#endif
#ifdef SYS_umount
	{ SYS_umount, ADMIN },
#endif
	{ SYS_open_by_handle_at, CAP_DAC_READ_SEARCH },
	{ SYS_name_to_handle_at, CAP_DAC_READ_SEARCH },
	{ SYS_bpf, ADMIN },
	{ SYS_perf_event_open, ADMIN },
	{ SYS_keyctl, -1 },
	{ SYS_add_key, -1 },
	{ SYS_request_key, -1 },
	{ SYS_userfaultfd, -1 },
	{ SYS_setns, ADMIN },
	{ SYS_sethostname, ADMIN },
	{ SYS_setdomainname, ADMIN },
	{ SYS_acct, CAP_SYS_PACCT },
	{ SYS_syslog, ADMIN },
	{ SYS_quotactl, ADMIN },
	{ SYS_fanotify_init, ADMIN },
	{ SYS_lookup_dcookie, ADMIN },
#ifdef SYS_iopl
	{ SYS_iopl, CAP_SYS_RAWIO },
	{ SYS_ioperm, CAP_SYS_RAWIO },
#endif
	/* The mount API of Linux 5.2 (fsopen(2) ... mount_setattr(2)) and open_tree_attr (6.15):
	 * mount(2) by other names. Same numbers on every architecture since 424 (asm-generic). */
	{ 428 /* open_tree */, ADMIN },
	{ 429 /* move_mount */, ADMIN },
	{ 430 /* fsopen */, ADMIN },
	{ 431 /* fsconfig */, ADMIN },
	{ 432 /* fsmount */, ADMIN },
	{ 433 /* fspick */, ADMIN },
	{ 442 /* mount_setattr */, ADMIN },
	{ 467 /* open_tree_attr */, ADMIN },
	{ 425 /* io_uring_setup */, -1 },
	{ 426 /* io_uring_enter */, -1 },
	{ 427 /* io_uring_register */, -1 },
};

/* The highest system call number this filter was written for: file_setattr, the last entry of
 * Linux 6.18's arch/x86/entry/syscalls/syscall_64.tbl and of include/uapi/asm-generic/unistd.h
 * (aarch64), which share numbers from 424 on. Every number above it gets ENOSYS, as from a kernel
 * that lacks the call (kernel/sys_ni.c), so a call added by a newer kernel stays unreachable until
 * it has been reviewed and this number raised; ENOSYS (not EPERM) makes libc and runtimes fall back
 * to the older calls, as they do on older kernels. */
#define LAST_KNOWN_SYSCALL 469

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))
#define RET_ERRNO(e) STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define LOAD(field) STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
/* The low 32 bits of argument n (little-endian: at the argument's own offset). */
#define LOAD_ARG_LO(n) STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]))

/* Longest program: arch check 3, x32 2, cut-off 2, two per denied call, the flag and ioctl checks, allow. */
#define MAX_PROG (8 + 2 * (sizeof denied / sizeof denied[0]) + 32)

/* Append "if nr == call and (arg n & mask) != 0 then EPERM" to prog at *len; the accumulator holds
 * nr before and after. */
static void deny_flags(struct sock_filter *prog, size_t *len, int call, int n, unsigned mask)
{
	prog[(*len)++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)call, 0, 4);
	prog[(*len)++] = LOAD_ARG_LO(n);
	prog[(*len)++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, mask, 0, 1);
	prog[(*len)++] = RET_ERRNO(EPERM);
	prog[(*len)++] = LOAD(nr);
}

/* Append "if nr == call and arg n == value then EPERM". */
static void deny_value(struct sock_filter *prog, size_t *len, int call, int n, unsigned value)
{
	prog[(*len)++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)call, 0, 4);
	prog[(*len)++] = LOAD_ARG_LO(n);
	prog[(*len)++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, value, 0, 1);
	prog[(*len)++] = RET_ERRNO(EPERM);
	prog[(*len)++] = LOAD(nr);
}

/* The privileges every process of a sandbox runs with, taken in this order by PID 1 and by a
 * `sandbox exec`: docker's capability set (caps.c), then no_new_privs (prctl(2): execve can no
 * longer grant privileges through set-id bits or file capabilities, and seccomp(2) requires it of
 * an unprivileged filter), then the syscall filter, last because everything before it needs calls
 * the filter denies (mount, setns, unshare). `step` names the caller in error messages. The
 * capability set and the filter are the sandbox's (--caps, --seccomp: `sandbox run --cap-add`,
 * `--security-opt seccomp=unconfined`); no_new_privs is never lifted. */
void lock_down(const char *step, const struct options *opts)
{
	drop_capabilities(opts->caps);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		die(step, "prctl", "PR_SET_NO_NEW_PRIVS, 1");
	if (!opts->seccomp_unconfined)
		install_seccomp(opts->caps);
}

/* Install the filter on the calling thread; needs no_new_privs (or CAP_SYS_ADMIN), see seccomp(2).
 * `caps` is the sandbox's capability set: the denials tied to a capability in it are left out. */
void install_seccomp(unsigned long long caps)
{
	const bool admin = (caps >> CAP_SYS_ADMIN) & 1;
	struct sock_filter prog[MAX_PROG];
	size_t len = 0;

	prog[len++] = LOAD(arch);
	prog[len++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0);
	prog[len++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog[len++] = LOAD(nr);
#ifdef X32_SYSCALL_BIT
	prog[len++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1);
	prog[len++] = RET_ERRNO(ENOSYS);
#endif
	prog[len++] = JUMP(BPF_JMP | BPF_JGT | BPF_K, LAST_KNOWN_SYSCALL, 0, 1);
	prog[len++] = RET_ERRNO(ENOSYS);
	for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
		if (denied[i].cap >= 0 && ((caps >> denied[i].cap) & 1))
			continue;
		prog[len++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)denied[i].nr, 0, 1);
		prog[len++] = RET_ERRNO(EPERM);
	}
	/* Namespaces: CAP_SYS_ADMIN lifts these as in docker's profile (its clone rule "excludes" that
	 * capability). clone3 passes its flags in a struct the filter cannot read: ENOSYS makes glibc
	 * fall back to clone (sysdeps/unix/sysv/linux/clone-internal.c), whose flags it can. clone(2)'s
	 * flags are argument 0 on x86_64 and aarch64 (argument 1 only on s390). */
	if (!admin) {
		prog[len++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, 435 /* clone3 */, 0, 1);
		prog[len++] = RET_ERRNO(ENOSYS);
		deny_flags(prog, &len, SYS_clone, 0, NS_FLAGS);
		deny_flags(prog, &len, SYS_unshare, 0, NS_FLAGS);
	}
	/* ioctl(fd, TIOCSTI / TIOCLINUX): push input into (or read) a terminal the sandbox shares. */
	deny_value(prog, &len, SYS_ioctl, 1, TIOCSTI);
	deny_value(prog, &len, SYS_ioctl, 1, TIOCLINUX);
	/* socket(AF_VSOCK): vsock has no network namespace (net/vmw_vsock/af_vsock.c), so even --net
	 * none could reach the hypervisor (CID 2) and this host's own vsock listeners (CID 1), as
	 * docker's profile refuses it (its socket rule excludes arg0 == AF_VSOCK). */
	deny_value(prog, &len, SYS_socket, 0, AF_VSOCK);
	prog[len++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

	struct sock_fprog fprog = { .len = (unsigned short)len, .filter = prog };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0)
		die("seccomp", "prctl", "PR_SET_SECCOMP, SECCOMP_MODE_FILTER, %zu instructions", len);
}
