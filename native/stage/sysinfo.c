/*
 * sysinfo(2) answered with the sandbox's figures (issue 22). No file can cover a system call: busybox
 * `free`, glibc's sysconf(_SC_PHYS_PAGES/_SC_AVPHYS_PAGES) and what sizes itself from them would
 * see the host. PID 1 installs a second seccomp filter that sends sysinfo to user space
 * (SECCOMP_RET_USER_NOTIF, seccomp_unotify(2)) and answers it itself, in its reaping loop:
 *   - the figures come from the sandbox's own /proc/meminfo, /proc/uptime and /proc/loadavg (the
 *     views, as the caller would read them), so sysinfo and `free`/`uptime` agree at that moment;
 *   - the work a sandbox causes is done and charged inside that sandbox (PID 1 is in its cgroup),
 *     and the listener never leaves PID 1, which is non-dumpable (pid1.c).
 * Writing the answer into the caller goes through /proc/PID/mem, which needs ptrace access
 * (PTRACE_MODE_ATTACH_FSCREDS, fs/proc/base.c mem_open): the caller's real, effective and saved ids
 * must equal our fs ids and its capabilities be a subset of ours (kernel/ptrace.c
 * __ptrace_may_access, security/commoncap.c cap_ptrace_access_check). PID 1 holds the workload's
 * capability set; for a caller of another uid (--user) it takes that uid as fsuid/fsgid for the
 * open (CAP_SETUID/CAP_SETGID, docker's set) and goes back to 0 right after. The descriptor is
 * opened before SECCOMP_IOCTL_NOTIF_ID_VALID, so a pid reused after the check can't get the answer.
 * Anything that can't be answered that way (ids that differ, a non-dumpable caller, a view that
 * can't be read) gets the kernel's own answer (SECCOMP_USER_NOTIF_FLAG_CONTINUE): the host's
 * figures, as before, never another process's memory.
 */
#include "stage.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SYSINFO_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SYSINFO_ARCH AUDIT_ARCH_AARCH64
#else
#error "sysinfo.c: add this architecture's AUDIT_ARCH_* (include/uapi/linux/audit.h)"
#endif

/* The listener of this process's sysinfo filter (-1 until sysinfo_listen()), and a /proc of the pid
 * namespace this process is active in: notification pids are numbered there (kernel/seccomp.c
 * seccomp_notify_recv, task_pid_vnr). AT_FDCWD: the /proc mounted at "/proc" (PID 1's own, which
 * then holds no descriptor of a proc). */
static int listener = -1, proc_dir = -1;

/* Install the sysinfo filter on the calling thread (no_new_privs is already set: seccomp.c
 * lock_down) and keep its listener (close-on-exec, kernel/seccomp.c init_listener) for
 * sysinfo_fd()/sysinfo_answer(); `proc` as above. Filters stack; USER_NOTIF ranks below the main
 * filter's ERRNO and KILL (seccomp(2), "return values"), and sysinfo is allowed there, so this
 * filter decides only sysinfo of the native architecture (the main filter kills foreign ones). */
void sysinfo_listen(int proc)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYSINFO_ARCH, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sysinfo, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = { .len = sizeof prog / sizeof prog[0], .filter = prog };
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);

	if (fd < 0)
		die("sysinfo", "seccomp", "SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER");
	listener = (int)fd;
	proc_dir = proc;
}

/* The descriptor to poll(2) for POLLIN before sysinfo_answer(); -1 (ignored by poll) without one. */
int sysinfo_fd(void)
{
	return listener;
}

/* Read a small /proc file (path relative to dir, or absolute) into buf, NUL-terminated; false if
 * it can't be read. */
static bool read_text_at(int dir, const char *path, char *buf, size_t cap)
{
	int fd = openat(dir, path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return false;
	/* A view is read like a seq_file: until a read returns 0. */
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return false;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return true;
}

/* The value in kB of "Key:" in meminfo text, in bytes; false if the key is missing. */
static bool meminfo_bytes(const char *text, const char *key, unsigned long *out)
{
	size_t klen = strlen(key);

	for (const char *p = text; p != NULL; p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			*out = strtoul(p + klen + 1, NULL, 10) * 1024UL;
			return true;
		}
	}
	return false;
}

/* One load average ("0.52") in sysinfo's fixed point (1 << SI_LOAD_SHIFT = 1.0). */
static unsigned long fixed_load(const char *text)
{
	return (unsigned long)(strtod(text, NULL) * (1 << SI_LOAD_SHIFT) + 0.5);
}

/* Fill *si from the sandbox's views, as the caller would read them now; false if one is unreadable. */
static bool read_views(struct sysinfo *si)
{
	char meminfo[8192], uptime[128], loadavg[128];
	char *field, *save;
	double up;

	if (!read_text_at(AT_FDCWD, "/proc/meminfo", meminfo, sizeof meminfo) ||
	    !read_text_at(AT_FDCWD, "/proc/uptime", uptime, sizeof uptime) ||
	    !read_text_at(AT_FDCWD, "/proc/loadavg", loadavg, sizeof loadavg))
		return false;
	memset(si, 0, sizeof *si);
	if (!meminfo_bytes(meminfo, "MemTotal", &si->totalram) || !meminfo_bytes(meminfo, "MemFree", &si->freeram) ||
	    !meminfo_bytes(meminfo, "Shmem", &si->sharedram) || !meminfo_bytes(meminfo, "Buffers", &si->bufferram) ||
	    !meminfo_bytes(meminfo, "SwapTotal", &si->totalswap) || !meminfo_bytes(meminfo, "SwapFree", &si->freeswap))
		return false;
	si->mem_unit = 1;
	/* kernel/sys.c do_sysinfo rounds the uptime up to whole seconds. */
	up = strtod(uptime, NULL);
	si->uptime = (long)up + (up > (double)(long)up ? 1 : 0);
	/* loadavg: "1m 5m 15m running/total last-pid"; procs is the total (do_sysinfo: nr_threads). */
	field = strtok_r(loadavg, " ", &save);
	for (int i = 0; i < 3 && field != NULL; i++, field = strtok_r(NULL, " ", &save))
		si->loads[i] = fixed_load(field);
	if (field == NULL || strchr(field, '/') == NULL)
		return false;
	si->procs = (unsigned short)strtoul(strchr(field, '/') + 1, NULL, 10);
	return true;
}

/* The figures, read at most once per RENDER_MS: the views themselves keep a rendered text that long
 * (procfs/render-cache.ts), so a caller in a loop sees nothing staler than it would by reading them,
 * and costs one notification round trip instead of three view reads per call. */
#define RENDER_MS 10

/* sysinfo as the views show it now, or false if one is unreadable. */
static bool sandbox_sysinfo(struct sysinfo *si)
{
	static struct sysinfo cached;
	static struct timespec cached_at;
	static bool have;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!have || (now.tv_sec - cached_at.tv_sec) * 1000 + (now.tv_nsec - cached_at.tv_nsec) / 1000000 >= RENDER_MS) {
		if (!read_views(&cached))
			return have = false;
		cached_at = now;
		have = true;
	}
	*si = cached;
	return true;
}

/* The uid and gid of a caller if its real, effective and saved ids agree (else false). */
static bool caller_ids(pid_t pid, uid_t *uid, gid_t *gid)
{
	char path[64], status[4096];
	unsigned long r, e, s;
	const char *line;

	snprintf(path, sizeof path, "%s%d/status", proc_dir == AT_FDCWD ? "/proc/" : "", (int)pid);
	if (!read_text_at(proc_dir, path, status, sizeof status))
		return false;
	if ((line = strstr(status, "\nUid:")) == NULL || sscanf(line + 5, "%lu %lu %lu", &r, &e, &s) != 3 || r != e || e != s)
		return false;
	*uid = (uid_t)r;
	if ((line = strstr(status, "\nGid:")) == NULL || sscanf(line + 5, "%lu %lu %lu", &r, &e, &s) != 3 || r != e || e != s)
		return false;
	*gid = (gid_t)r;
	return true;
}

/* Open PID/mem (of proc_dir) for writing with the caller's ids as our fs ids; -1 if refused. */
static int open_caller_mem(pid_t pid)
{
	char path[64];
	uid_t uid;
	gid_t gid;
	int fd;

	if (!caller_ids(pid, &uid, &gid))
		return -1;
	snprintf(path, sizeof path, "%s%d/mem", proc_dir == AT_FDCWD ? "/proc/" : "", (int)pid);
	/* setfsuid(2) reports no error: check by asking again. Our fs ids are 0 before and after. */
	setfsgid(gid);
	setfsuid(uid);
	fd = (int)setfsuid((uid_t)-1) == (int)uid && (int)setfsgid((gid_t)-1) == (int)gid ? openat(proc_dir, path, O_WRONLY | O_CLOEXEC) : -1;
	setfsuid(0);
	setfsgid(0);
	return fd;
}

/* Answer one pending sysinfo notification (call when sysinfo_fd() polls readable). The figures
 * come from the /proc of our mount namespace: the sandbox's views. */
void sysinfo_answer(void)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	struct sysinfo si;
	int mem = -1;

	memset(&req, 0, sizeof req); /* NOTIF_RECV refuses a non-zeroed buffer (EINVAL) */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
		return; /* ENOENT: the caller was interrupted or killed meanwhile; EINTR: poll again */
	memset(&resp, 0, sizeof resp);
	resp.id = req.id;
	resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	if (req.data.nr == SYS_sysinfo && sandbox_sysinfo(&si) && (mem = open_caller_mem(req.pid)) >= 0 &&
	    ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) == 0) {
		resp.flags = 0;
		/* The kernel's own sysinfo fails with EFAULT on a bad pointer (kernel/sys.c, copy_to_user). */
		if (pwrite(mem, &si, sizeof si, (off_t)req.data.args[0]) != (ssize_t)sizeof si)
			resp.error = -EFAULT;
	}
	if (mem >= 0)
		close(mem);
	(void)ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp); /* ENOENT: the caller is gone */
}
