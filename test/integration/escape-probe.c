/*
 * Escape attempts for test/integration/confinement.test.ts: each probe makes one raw system call a
 * root workload would use to break out, and prints "<probe> OK" or "<probe> <ERRNO NAME>", so the
 * test sees exactly which call was refused and how. Built by the test with the system cc.
 *
 *   escape-probe PROBE... [--pid N]   (N: a host pid for the kill and ptrace probes;
 *                                     open-w=PATH opens PATH for writing)
 *   escape-probe int80-mkdir=PATH     (mkdir PATH by an i386 system call from a 64-bit process)
 *   escape-probe nr=N...              (system call number N with all six arguments 0)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static long target_pid = -1;

/*
 * mkdir(path, 0700) through the 32-bit entry point (i386 number 39, arch/x86/entry/syscalls/
 * syscall_32.tbl), so a test sees whether the call ran by its side effect. int $0x80 passes 32-bit
 * registers: the path goes into memory below 4 GiB (MAP_32BIT). Returns what the kernel returned.
 */
static long int80_mkdir(const char *path)
{
	char *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED) {
		perror("mmap MAP_32BIT");
		exit(2);
	}
	snprintf(low, 4096, "%s", path);
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(39L), "b"(low), "c"(0700L) : "memory");
	return r;
}

/* Run one probe; returns the system call's result (errno set on -1). */
static long probe(const char *name)
{
	char handle[64] = { 0 };
	int fd;

	if (!strcmp(name, "mount-proc")) return mount("proc", "/proc", "proc", 0, NULL);
	if (!strcmp(name, "mount-tmpfs")) return mount("tmpfs", "/mnt", "tmpfs", 0, NULL);
	if (!strcmp(name, "remount-root-rw")) return mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND, NULL);
	if (!strcmp(name, "bind-over-meminfo")) return mount("/dev/zero", "/proc/meminfo", NULL, MS_BIND, NULL);
	if (!strcmp(name, "umount-meminfo")) return umount2("/proc/meminfo", MNT_DETACH);
	if (!strcmp(name, "umount-proc")) return umount2("/proc", MNT_DETACH);
	if (!strcmp(name, "umount-cgroupfs")) return umount2("/sys/fs/cgroup", MNT_DETACH);
	if (!strcmp(name, "umount-run-sandbox")) return umount2("/run/sandbox", MNT_DETACH);
	if (!strcmp(name, "open-tree")) return syscall(428, AT_FDCWD, "/proc", 1 /* OPEN_TREE_CLONE */);
	if (!strcmp(name, "fsopen")) return syscall(430, "proc", 0);
	if (!strcmp(name, "open-tree-attr")) return syscall(467, AT_FDCWD, "/proc", 1 /* OPEN_TREE_CLONE */, NULL, 0);
	if (!strncmp(name, "nr=", 3)) return syscall(strtol(name + 3, NULL, 10), 0, 0, 0, 0, 0, 0);
	if (!strcmp(name, "mount-setattr")) return syscall(442, AT_FDCWD, "/", 0, NULL, 0);
	if (!strcmp(name, "pivot-root")) return syscall(SYS_pivot_root, ".", ".");
	if (!strcmp(name, "unshare-user")) return unshare(CLONE_NEWUSER);
	if (!strcmp(name, "unshare-mnt")) return unshare(CLONE_NEWNS);
	if (!strcmp(name, "unshare-files")) return unshare(CLONE_FILES); /* harmless: allowed */
	if (!strcmp(name, "clone-newuser")) {
		long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
		if (r == 0)
			_exit(0);
		return r;
	}
	if (!strcmp(name, "clone3")) return syscall(435, NULL, 0);
	if (!strcmp(name, "setns")) {
		fd = open("/proc/self/ns/mnt", O_RDONLY);
		return fd < 0 ? -1 : setns(fd, 0);
	}
	if (!strcmp(name, "sethostname")) return sethostname("escaped", 7);
	if (!strcmp(name, "init-module")) return syscall(SYS_init_module, NULL, 0, "");
	if (!strcmp(name, "finit-module")) return syscall(SYS_finit_module, 0, "", 0);
	if (!strcmp(name, "delete-module")) return syscall(SYS_delete_module, "ext4", O_NONBLOCK);
	if (!strcmp(name, "kexec-load")) return syscall(SYS_kexec_load, 0, 0, NULL, 0);
	if (!strcmp(name, "kexec-file-load")) return syscall(SYS_kexec_file_load, -1, -1, 0, "", 0);
	if (!strcmp(name, "reboot")) return syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL);
	if (!strcmp(name, "swapoff")) return syscall(SYS_swapoff, "/");
	if (!strcmp(name, "open-by-handle")) return syscall(SYS_open_by_handle_at, AT_FDCWD, handle, O_RDONLY);
	if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 0, NULL, 0);
	if (!strcmp(name, "perf-event-open")) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
	if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0);
	if (!strcmp(name, "add-key")) return syscall(SYS_add_key, "user", "k", "v", 1, -3);
	if (!strcmp(name, "request-key")) return syscall(SYS_request_key, "user", "k", NULL, 0);
	if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, 0);
	if (!strcmp(name, "io-uring-setup")) return syscall(425, 1, handle);
	if (!strcmp(name, "iopl")) return syscall(SYS_iopl, 3);
	if (!strcmp(name, "syslog")) return syscall(SYS_syslog, 3 /* READ_ALL */, handle, sizeof handle);
	if (!strcmp(name, "acct")) return syscall(SYS_acct, "/tmp/acct");
	if (!strcmp(name, "tiocsti")) return ioctl(0, TIOCSTI, "x");
	if (!strcmp(name, "socket-vsock")) return socket(40 /* AF_VSOCK */, SOCK_STREAM, 0);
	if (!strcmp(name, "x32-getpid")) return syscall(0x40000000 | SYS_getpid);
	if (!strcmp(name, "mknod-block-cwd")) return mknod("./sda", S_IFBLK | 0600, makedev(8, 0));
	if (!strcmp(name, "mknod-char-tmp")) return mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1));
	if (!strcmp(name, "mknod-fifo")) return mknod("/tmp/fifo", S_IFIFO | 0600, 0); /* allowed */
	if (!strcmp(name, "write-root")) return open("/etc/sandbox-escape", O_WRONLY | O_CREAT, 0644);
	if (!strcmp(name, "write-usr")) return open("/usr/bin/sandbox-escape", O_WRONLY | O_CREAT, 0755);
	/* open-w=PATH: open for writing only (never writes: a broken wall must not harm the host). */
	if (!strncmp(name, "open-w=", 7)) return open(name + 7, O_WRONLY);
	if (!strcmp(name, "open-host-disk")) return open("/dev/sda", O_RDONLY);
	if (!strcmp(name, "kill-host-pid")) return kill((pid_t)target_pid, 0);
	if (!strcmp(name, "ptrace-host-pid")) return ptrace(PTRACE_ATTACH, (pid_t)target_pid, NULL, NULL);
	fprintf(stderr, "escape-probe: unknown probe %s\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--pid") && i + 1 < argc)
			target_pid = strtol(argv[i + 1], NULL, 10);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pid")) {
			i++;
			continue;
		}
		if (!strncmp(argv[i], "int80-mkdir=", 12)) {
			printf("int80-mkdir returned %ld\n", int80_mkdir(argv[i] + 12));
			continue;
		}
		errno = 0;
		long r = probe(argv[i]);
		printf("%s %s\n", argv[i], r == -1 ? strerrorname_np(errno) : "OK");
		fflush(stdout);
	}
	return 0;
}
