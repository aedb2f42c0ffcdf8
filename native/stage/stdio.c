/*
 * `sandbox exec` without -t: the command's stdin, stdout and stderr are pipes that the exec stage
 * relays to and from its own fds 0-2 (the caller's), never the caller's descriptors themselves
 * (issue 19, finding 5). Processes of the sandbox are root in the same pid namespace as the
 * command, so whatever it holds they can reopen through /proc/PID/fd (proc(5); ptrace access mode
 * PTRACE_MODE_READ_FSCREDS, granted to the same uid); a terminal or file of the caller handed in
 * stayed theirs after exec returned. Now they can reach only the pipes, which lead to nothing once
 * the stage has exited: a write then fails with EPIPE, a read sees end of file (pipe(7)).
 *
 *   stdio_attach   (the command, before execve) setsid(2), so the caller's terminal is not its
 *                  controlling terminal (opening /dev/tty, 5:0, gives ENXIO: tty(4)), and the
 *                  pipes on 0, 1, 2.
 *   stdio_relay    (the stage) poll(2) loop: caller's stdin -> the command's stdin pipe, its
 *                  stdout and stderr pipes -> the caller's fds 1 and 2; signals forwarded; ends
 *                  when the command has exited (see below).
 *
 * Decisions:
 *   - The relay ends when the command exits, not at end of file: a background process it left (or
 *     one of the workload) may hold the pipes for ever. What is in them then is drained without
 *     waiting (non-blocking reads until EAGAIN), as pty.c does for `exec -t`.
 *   - stdin is read ahead, as ssh(1) and `docker exec -i` do: bytes the command never read are
 *     lost to the caller. End of file on it closes the pipe (the command sees end of file). If the
 *     command closes its stdin, reading stops. From a background job of the caller's terminal the
 *     read fails with EIO (SIGTTIN is blocked here: drivers/tty/tty_jobctrl.c __tty_check_change),
 *     which counts as end of file.
 *   - Writes into the command's stdin are non-blocking and buffered one read at a time, so a
 *     command that does not read its stdin while its stdout fills cannot deadlock the relay.
 *   - The caller's stdout closing (EPIPE; SIGPIPE is blocked) closes the command's stdout pipe,
 *     so its next write fails as it would have on the caller's own pipe (`exec … yes | head -1`).
 *   - The command is in a session of its own, so a terminal's signals (Ctrl-C) reach only the
 *     stage, which holds the foreground (tty.c): every forwarded signal goes on to the command,
 *     kernel-sent (SI_KERNEL) ones included.
 */
#include "stage.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define RELAY_BUF 65536
#define DRAIN_MAX 64 /* reads per stream after the command exited: 4 MiB, then give up */

/* Before fork: three pipes, close-on-exec, [i][0] read end, [i][1] write end (pipe2(2)). */
void stdio_pipes(int pipes[3][2])
{
	for (int i = 0; i < 3; i++)
		if (pipe2(pipes[i], O_CLOEXEC) != 0)
			die("exec: stdio", "pipe2", "fd %d", i);
}

/* The command: its own session (no controlling terminal), the pipes as 0, 1, 2. dup2(2) clears
 * FD_CLOEXEC on the copies; the originals (and the caller's fds, replaced here) go at execve. */
void stdio_attach(int pipes[3][2])
{
	/* setsid(2): the child of a fork is never a process group leader, so this succeeds. */
	if (setsid() < 0)
		die("exec: stdio", "setsid", "%s", "");
	if (dup2(pipes[0][0], STDIN_FILENO) != STDIN_FILENO || dup2(pipes[1][1], STDOUT_FILENO) != STDOUT_FILENO ||
	    dup2(pipes[2][1], STDERR_FILENO) != STDERR_FILENO)
		die("exec: stdio", "dup2", "pipes onto 0, 1, 2");
}

/* Write all of buf to the caller's fd (blocking, or waiting in poll if the caller made it
 * O_NONBLOCK); false on an error (EPIPE: the caller's reader is gone). */
static bool put(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			(void)poll(&p, 1, -1);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* One read from the command's pipe `*from` to the caller's `to`; on end of file, an error, or a
 * caller that stopped reading, close the pipe and set it to -1. */
static void copy_out(int *from, int to, char *buf)
{
	ssize_t n = read(*from, buf, RELAY_BUF);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0 || !put(to, buf, (size_t)n)) {
		close(*from);
		*from = -1;
	}
}

/* After the command exited: what its pipe holds now, without waiting for writers it left. */
static void drain(int from, int to, char *buf)
{
	for (int i = 0; from >= 0 && i < DRAIN_MAX; i++) {
		ssize_t n = read(from, buf, RELAY_BUF);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || !put(to, buf, (size_t)n))
			break;
	}
	if (from >= 0)
		close(from);
}

/* The caller's stdin on its way to the command's stdin pipe `in` (-1 once closed), one read at a
 * time: `pending` holds `len` bytes of it, the first `off` of them written. */
struct stdin_feed {
	int in;
	bool reading; /* the caller's stdin: still read */
	char *pending;
	size_t len, off;
};

/* Close the command's ends of the pipes, block SIGPIPE and SIGTTIN, make our ends non-blocking;
 * returns the signalfd of `set`. */
static int relay_start(int pipes[3][2], const sigset_t *set)
{
	int in = pipes[0][1], out = pipes[1][0], err = pipes[2][0];
	sigset_t quiet;
	int sfd;

	close(pipes[0][0]);
	close(pipes[1][1]);
	close(pipes[2][1]);
	/* SIGPIPE and SIGTTIN blocked: a write to a pipe without reader fails with EPIPE, a background
	 * read of the terminal with EIO, instead of killing or stopping the relay. The command
	 * resets its mask before execve (exec.c). */
	sigemptyset(&quiet);
	sigaddset(&quiet, SIGPIPE);
	sigaddset(&quiet, SIGTTIN);
	if (sigprocmask(SIG_BLOCK, &quiet, NULL) != 0)
		die("exec: stdio", "sigprocmask", "SIG_BLOCK SIGPIPE, SIGTTIN");
	sfd = signalfd(-1, set, SFD_CLOEXEC);
	if (sfd < 0)
		die("exec: stdio", "signalfd", "forwarded signals, SIGCHLD");
	for (int fd = 0; fd < 3; fd++) {
		int p = fd == 0 ? in : (fd == 1 ? out : err);

		if (fcntl(p, F_SETFL, O_NONBLOCK) != 0)
			die("exec: stdio", "fcntl", "pipe for fd %d, O_NONBLOCK", fd);
	}
	return sfd;
}

/* One signal from `sfd`: SIGCHLD sets `*code` once `child` has ended; any other goes on to it. */
static void relay_signal(int sfd, pid_t child, int *code)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGCHLD) {
			*code = exit_code_if_ended(child);
		} else {
			kill(child, (int)si.ssi_signo); /* kernel-sent too: the command has its own session */
		}
	}
}

/* Stop reading the caller's stdin and close the command's (it sees end of file). */
static void feed_close(struct stdin_feed *f)
{
	f->reading = false;
	close(f->in);
	f->in = -1;
}

/* One read of the caller's stdin into the empty buffer. */
static void feed_read(struct stdin_feed *f)
{
	ssize_t n = read(STDIN_FILENO, f->pending, RELAY_BUF);

	if (n > 0) {
		f->len = (size_t)n;
		f->off = 0;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		feed_close(f); /* end of file, EIO from the background, EBADF: end of file */
	}
}

/* One non-blocking write of what the buffer holds into the command's stdin. */
static void feed_write(struct stdin_feed *f)
{
	ssize_t n = write(f->in, f->pending + f->off, f->len - f->off);

	if (n > 0) {
		f->off += (size_t)n;
		if (f->off == f->len)
			f->len = 0;
	} else if (n < 0 && errno != EINTR && errno != EAGAIN) {
		/* EPIPE: the command closed its stdin; stop reading the caller's. */
		f->len = 0;
		feed_close(f);
	}
}

/* The stage: relay between the caller's fds 0-2 and the command's pipes (our ends: pipes[0][1],
 * pipes[1][0], pipes[2][0]) until `child` exits; its exit code (128+N for signal N). */
int stdio_relay(int pipes[3][2], pid_t child, const sigset_t *set)
{
	static char buf[RELAY_BUF], pending[RELAY_BUF];
	struct stdin_feed f = { .in = pipes[0][1], .reading = true, .pending = pending, .len = 0, .off = 0 };
	int out = pipes[1][0], err = pipes[2][0];
	int sfd = relay_start(pipes, set), code = -1;

	while (code < 0) {
		struct pollfd fds[6] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = out, .events = POLLIN },
			{ .fd = err, .events = POLLIN },
			{ .fd = f.reading && f.in >= 0 && f.len == 0 ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = f.len > 0 ? f.in : -1, .events = POLLOUT },
			{ .fd = sysinfo_fd(), .events = POLLIN }, /* the command's sysinfo(2), sysinfo.c */
		};

		if (poll(fds, 6, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("exec: stdio", "poll", "%s", "signalfd, pipes, stdin");
		}
		if (fds[0].revents & POLLIN)
			relay_signal(sfd, child, &code);
		if (fds[5].revents & POLLIN)
			sysinfo_answer();
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
			copy_out(&out, STDOUT_FILENO, buf);
		if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
			copy_out(&err, STDERR_FILENO, buf);
		if (fds[3].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))
			feed_read(&f);
		if (fds[4].revents & (POLLOUT | POLLERR | POLLHUP))
			feed_write(&f);
	}
	if (f.in >= 0)
		close(f.in);
	drain(out, STDOUT_FILENO, buf);
	drain(err, STDERR_FILENO, buf);
	close(sfd);
	return code;
}
