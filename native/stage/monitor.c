/*
 * --monitor-fd: the outer stage as the monitor of a detached sandbox (`sandbox run -d` with shared
 * views), in the place of a Node supervisor, as podman's conmon is for a container. Until the
 * supervisor hands the sandbox over it is the ordinary relay (stage.c relay), tied to the
 * supervisor by PR_SET_PDEATHSIG. The handover is one line on the monitor channel, "h" and the
 * --timeout's remaining milliseconds ("h\n": none); the stage then drops the tie (from then on its
 * own death ends the sandbox: PID 1's PR_SET_PDEATHSIG is tied to the stage, pid1.c), arms the
 * timeout on a timerfd in its poll set and answers "a". The supervisor exits on "a"; on end of file
 * instead (PID 1 was gone first) it keeps the sandbox as before.
 *
 * OOM kills while it runs: the kernel's notification is in the same poll set (v1 an eventfd
 * registered on memory.oom_control through cgroup.event_control, memory.rst "OOM Control"; v2
 * inotify on memory.events, which cgroup_file_notify marks modified on each counter change),
 * registered before unshare. After the handover each notification runs --oom-command (`sandbox
 * monitor-oom ID`, one at a time, on the host), which reads the counter and publishes the event:
 * no process wakes while nothing happens.
 *
 * Once PID 1 has exited, a monitor that took over writes the exit code into --exit-file (as
 * conmon's exit file), re-enters the host's namespaces it opened before unshare (mount, pid,
 * network, uts, ipc, time: the teardown runs on the host and forks there) and executes the
 * --exit-command (conmon's --exit-command): `sandbox monitor-exit ID`, which removes the sandbox
 * and publishes its exit event (supervisor/commands/monitor-exit.ts). Same pid, same start time:
 * `sandbox gc` sees the monitor alive until that teardown has ended, and takes over what it left.
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
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* timeout(1)'s exit status when the command timed out (supervisor/run/wait.ts EXIT_TIMEOUT). */
#define EXIT_TIMEOUT 124
/* TERM of a timed-out PID 1, then KILL after this grace (supervisor/run/wait.ts TIMEOUT_GRACE_MS). */
#define TIMEOUT_GRACE_MS 2000

/* The host namespaces the teardown re-enters, in setns order (the mount namespace first: the
 * others' files are then looked up in the host's /proc anyway, they are open already). */
static const struct {
	const char *name;
	int type;
} host_ns[] = {
	{ "mnt", CLONE_NEWNS },
	{ "pid", CLONE_NEWPID },
	{ "net", CLONE_NEWNET },
	{ "uts", CLONE_NEWUTS },
	{ "ipc", CLONE_NEWIPC },
	{ "time", 0x00000080 /* CLONE_NEWTIME */ },
};

/* Before unshare: open the namespaces the --exit-command runs in. A missing one (no time
 * namespaces before Linux 5.6) is the caller's already, and skipped at the setns. */
void monitor_open_host(struct config *cfg)
{
	int *host_ns_fds = cfg->rt.host_ns_fds;

	for (size_t i = 0; i < sizeof host_ns / sizeof host_ns[0]; i++) {
		char path[32];

		snprintf(path, sizeof path, "/proc/self/ns/%s", host_ns[i].name);
		host_ns_fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (host_ns_fds[i] < 0 && errno != ENOENT)
			die("monitor", "open", "%s", path);
	}
}

/* The directory of the memory cgroup among the --cgroup-procs files (malloc'd), or NULL. */
static char *memory_cgroup_dir(const struct options *opts, const char **counter)
{
	*counter = opts->cgroup_v2 ? "memory.events" : "memory.oom_control";
	for (size_t i = 0; i < opts->n_cgroup_procs; i++) {
		char *dir = strdup(opts->cgroup_procs[i]);
		char *slash = dir ? strrchr(dir, '/') : NULL;
		char path[4096];
		struct stat st;

		if (slash == NULL) {
			free(dir);
			continue;
		}
		*slash = '\0';
		snprintf(path, sizeof path, "%s/%s", dir, *counter);
		if (stat(path, &st) == 0)
			return dir;
		free(dir);
	}
	return NULL;
}

/* Before unshare, on the host's cgroupfs: have the kernel notify cfg->rt.oom_fd of the sandbox's
 * OOM kills. Best effort: without it (no memory controller, a kernel that refuses the v1
 * registration) the teardown still publishes the final count (supervisor/gc.ts finishSandbox). */
void monitor_watch_oom(struct config *cfg)
{
	const char *counter;
	char *dir = memory_cgroup_dir(&cfg->opt, &counter);
	char path[4096];

	cfg->rt.oom_fd = -1;
	if (dir == NULL || cfg->opt.oom_command[0] == NULL)
		goto out;
	snprintf(path, sizeof path, "%s/%s", dir, counter);
	if (cfg->opt.cgroup_v2) {
		int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

		if (fd >= 0 && inotify_add_watch(fd, path, IN_MODIFY) < 0) {
			close(fd);
			fd = -1;
		}
		cfg->rt.oom_fd = fd;
	} else {
		/* mm/memcontrol-v1.c memcg_write_event_control: "<event fd> <fd of memory.oom_control>";
		 * the kernel keeps its own references, so both files may be closed after the write. */
		int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		int ofd = open(path, O_RDONLY | O_CLOEXEC);
		char control[4096], line[32];
		int cfd, len;

		snprintf(control, sizeof control, "%s/cgroup.event_control", dir);
		cfd = open(control, O_WRONLY | O_CLOEXEC);
		len = snprintf(line, sizeof line, "%d %d", efd, ofd);
		if (efd >= 0 && ofd >= 0 && cfd >= 0 && write(cfd, line, (size_t)len) == len)
			cfg->rt.oom_fd = efd;
		else if (efd >= 0)
			close(efd);
		if (ofd >= 0)
			close(ofd);
		if (cfd >= 0)
			close(cfd);
	}
out:
	free(dir);
}

/* Enter the host's namespaces opened by monitor_open_host (all but pid and time: entering those
 * changes only what children are born in, done once in monitor_relay). */
static void enter_host(const struct config *cfg, bool all)
{
	for (size_t i = 0; i < sizeof host_ns / sizeof host_ns[0]; i++) {
		bool for_children = host_ns[i].type == CLONE_NEWPID || host_ns[i].type == 0x00000080;

		if (cfg->rt.host_ns_fds[i] < 0 || (for_children && !all))
			continue;
		if (setns(cfg->rt.host_ns_fds[i], host_ns[i].type) != 0)
			die("monitor", "setns", "host %s namespace", host_ns[i].name);
	}
	if (chdir("/") != 0)
		die("monitor", "chdir", "%s", "/");
}

/* Run --oom-command in a child on the host (the stage's children are born in the host's pid and
 * time namespaces again, monitor_relay); its pid. */
static pid_t start_oom_command(const struct config *cfg, const sigset_t *set)
{
	static char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	pid_t pid = fork();

	if (pid != 0)
		return pid; /* -1: no event now; the teardown publishes the count */
	enter_host(cfg, false);
	if (sigprocmask(SIG_UNBLOCK, set, NULL) != 0)
		_exit(EXIT_SANDBOX);
	execve(cfg->opt.oom_command[0], (char *const *)cfg->opt.oom_command, env);
	_exit(EXIT_CANNOT_EXEC);
}

/* Arm `fd` to expire once, `ms` from now. */
static void arm_ms(int fd, long long ms)
{
	struct itimerspec when = { .it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L } };

	if (ms <= 0)
		when.it_value.tv_nsec = 1; /* already due: zero would disarm it (timerfd_settime(2)) */
	if (timerfd_settime(fd, 0, &when, NULL) != 0)
		die("monitor", "timerfd_settime", "fd %d, %lld ms", fd, ms);
}

/* The handover line: "h" and the timeout's remaining ms, or nothing. Returns -2 on end of file or
 * an error (the supervisor keeps the sandbox), -1 for no timeout, else the ms. */
static long long read_handover(int fd)
{
	char line[32];
	size_t len = 0;
	char *end;
	long long ms;

	while (len < sizeof line - 1) {
		ssize_t n = read(fd, line + len, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -2;
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	if (line[0] != 'h')
		die_msg("monitor: expected a handover line \"h[MS]\", got \"%s\"", line);
	if (line[1] == '\0')
		return -1;
	errno = 0;
	ms = strtoll(line + 1, &end, 10);
	if (errno != 0 || *end != '\0' || ms < 0)
		die_msg("monitor: bad timeout in the handover line \"%s\"", line);
	return ms;
}

/* Take the sandbox over: no longer die with the supervisor; arm the timeout; say "a". */
static void take_over(struct config *cfg, int timer, long long timeout_ms)
{
	if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) != 0)
		die("monitor", "prctl", "PR_SET_PDEATHSIG, 0");
	if (timeout_ms >= 0)
		arm_ms(timer, timeout_ms);
	if (write(cfg->opt.monitor_fd, "a", 1) != 1)
		die("monitor", "write", "fd %d, the handover's answer", cfg->opt.monitor_fd);
	cfg->rt.handed_over = true;
}

/* Relay signals to PID 1 until it exits, taking the sandbox over when the supervisor says so;
 * return PID 1's status as an exit code (124 when the timeout ended it). */
int monitor_relay(struct config *cfg, pid_t pid1, const sigset_t *set)
{
	int sigfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	int timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	int channel = cfg->opt.monitor_fd;
	bool timed_out = false;
	bool oom_pending = false;

	if (sigfd < 0)
		die("monitor", "signalfd", "forwarded signals and SIGCHLD");
	if (timer < 0)
		die("monitor", "timerfd_create", "CLOCK_MONOTONIC");
	/* PID 1 is born: from now on our children (--oom-command, then the teardown's) are the host's. */
	for (size_t i = 0; i < sizeof host_ns / sizeof host_ns[0]; i++)
		if ((host_ns[i].type == CLONE_NEWPID || host_ns[i].type == 0x00000080) && cfg->rt.host_ns_fds[i] >= 0 &&
		    setns(cfg->rt.host_ns_fds[i], host_ns[i].type) != 0)
			die("monitor", "setns", "host %s namespace", host_ns[i].name);
	for (;;) {
		struct pollfd fds[4] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = channel, .events = POLLIN }, /* -1 once answered or closed: ignored by poll(2) */
			{ .fd = timer, .events = POLLIN },
			{ .fd = cfg->rt.oom_fd, .events = POLLIN }, /* -1 without a notification */
		};
		struct signalfd_siginfo si;
		unsigned long long expirations;
		char drain[4096];

		if (poll(fds, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("monitor", "poll", "signalfd %d, channel %d, timerfd %d", sigfd, channel, timer);
		}
		if (fds[3].revents & POLLIN) {
			/* Drained whole (an eventfd count, or inotify events): one command reads the counter. */
			while (read(cfg->rt.oom_fd, drain, sizeof drain) > 0)
				;
			oom_pending = cfg->rt.handed_over;
		}
		if (oom_pending && cfg->rt.oom_child <= 0) {
			cfg->rt.oom_child = start_oom_command(cfg, set);
			oom_pending = false;
		}
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			long long ms = read_handover(channel);

			if (ms != -2)
				take_over(cfg, timer, ms);
			close(channel);
			channel = -1;
		}
		if ((fds[2].revents & POLLIN) && read(timer, &expirations, sizeof expirations) > 0) {
			/* As `sandbox run --timeout` in the foreground: TERM through PID 1, then KILL. A
			 * SIGKILL of a pid namespace's init ends every process in it (pid_namespaces(7)). */
			kill(pid1, timed_out ? SIGKILL : SIGTERM);
			if (!timed_out)
				arm_ms(timer, TIMEOUT_GRACE_MS);
			timed_out = true;
		}
		if (!(fds[0].revents & POLLIN) || read(sigfd, &si, sizeof si) != (ssize_t)sizeof si)
			continue;
		if (si.ssi_signo == SIGCHLD) {
			int code = exit_code_if_ended(pid1);

			if (cfg->rt.oom_child > 0 && waitpid(cfg->rt.oom_child, NULL, WNOHANG) == cfg->rt.oom_child)
				cfg->rt.oom_child = 0; /* a notification meanwhile starts the next on the next wake-up */

			if (code >= 0) {
				if (channel >= 0)
					close(channel); /* EOF: the supervisor keeps the sandbox */
				return timed_out ? EXIT_TIMEOUT : code;
			}
		} else if (signal_is_forwarded(&si)) {
			kill(pid1, (int)si.ssi_signo);
		}
	}
}

/* Write "CODE\n" to --exit-file, atomically (a reader sees no file or the whole line). */
static void write_exit_file(const char *path, int code)
{
	char tmp[4096];
	char line[16];
	int len = snprintf(line, sizeof line, "%d\n", code);
	int fd;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		die_msg("monitor: --exit-file too long: \"%s\"", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		die("monitor", "open", "%s", tmp);
	if (write(fd, line, (size_t)len) != len)
		die("monitor", "write", "%s", tmp);
	close(fd);
	if (rename(tmp, path) != 0)
		die("monitor", "rename", "%s, %s", tmp, path);
}

/* PID 1 has exited and the sandbox is ours: record the code, return to the host's namespaces, and
 * become the --exit-command with a clean signal mask and environment. */
__attribute__((noreturn)) void monitor_exit(struct config *cfg, int code, const sigset_t *set)
{
	static char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };

	/* An OOM event under way is published before the teardown's own reading (no event twice). */
	if (cfg->rt.oom_child > 0)
		(void)waitpid(cfg->rt.oom_child, NULL, 0);
	enter_host(cfg, true);
	for (size_t i = 0; i < sizeof host_ns / sizeof host_ns[0]; i++)
		if (cfg->rt.host_ns_fds[i] >= 0)
			close(cfg->rt.host_ns_fds[i]);
	write_exit_file(cfg->opt.exit_file, code);
	if (cfg->opt.exit_command[0] == NULL)
		exit(code);
	/* execve(2) keeps the signal mask: Node must see SIGTERM again. */
	if (sigprocmask(SIG_UNBLOCK, set, NULL) != 0)
		die("monitor", "sigprocmask", "SIG_UNBLOCK");
	execve(cfg->opt.exit_command[0], (char *const *)cfg->opt.exit_command, env);
	die("monitor", "execve", "%s", cfg->opt.exit_command[0]);
}
