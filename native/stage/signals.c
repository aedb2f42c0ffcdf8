/*
 * The signal relay (signals.h): the stage, PID 1 and `sandbox exec` block the forwarded signals
 * and SIGCHLD, then read them from one signalfd, passing each on to their child.
 */
#include "signals.h"

#include <errno.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

const int forwarded_signals[6] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* Block the forwarded signals and SIGCHLD (forward_until_sigchld reads them from a signalfd); set = that set. */
void block_signals(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
		sigaddset(set, forwarded_signals[i]);
	sigaddset(set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, set, NULL) != 0)
		die("signals", "sigprocmask", "SIG_BLOCK");
}

/* Forward only signals sent by a process (kill, sigqueue); the kernel's (a terminal's Ctrl-C,
 * SI_KERNEL in siginfo, sigaction(2)) went to our whole process group: the target has it already. */
bool signal_is_forwarded(const struct signalfd_siginfo *si)
{
	return si->ssi_code != SI_KERNEL;
}

/* Wait until a child changed state (SIGCHLD), forwarding every other blocked signal to `target`
 * meanwhile, and answering sysinfo(2) notifications if this process listens for them (sysinfo.c;
 * sysinfo_fd() is -1 otherwise, which poll(2) ignores). The signals are read from a signalfd made
 * once per process, so one poll waits for both. Both the stage (target: PID 1) and PID 1 (target:
 * the workload) wait this way. */
void forward_until_sigchld(const sigset_t *set, pid_t target, const char *who)
{
	static int sigfd = -1;

	if (sigfd < 0 && (sigfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		die(who, "signalfd", "forwarded signals and SIGCHLD");
	for (;;) {
		struct pollfd fds[2] = { { .fd = sigfd, .events = POLLIN }, { .fd = sysinfo_fd(), .events = POLLIN } };
		struct signalfd_siginfo si;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die(who, "poll", "signalfd %d, sysinfo listener %d", sigfd, sysinfo_fd());
		}
		if (fds[1].revents & POLLIN)
			sysinfo_answer();
		if (!(fds[0].revents & POLLIN) || read(sigfd, &si, sizeof si) != (ssize_t)sizeof si)
			continue; /* EAGAIN: taken meanwhile */
		if (si.ssi_signo == SIGCHLD)
			return;
		if (signal_is_forwarded(&si))
			kill(target, (int)si.ssi_signo);
	}
}
