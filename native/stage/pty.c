/*
 * --tty: the workload gets a pseudo-terminal of the sandbox's own devpts (mounts.c mounts a new
 * instance on /dev/pts, so the pty must come from it: a host pty would not resolve to a
 * /dev/pts/N inside and ttyname(3) would fail). Three parts:
 *
 *   PID 1 (pty_open)      opens /dev/pts/ptmx inside, unlocks it, opens the peer with TIOCGPTPEER
 *                         (ioctl_tty(2), Linux 4.13: no path lookup) and sends the master to the
 *                         outer stage over a socketpair (SCM_RIGHTS, unix(7)); it keeps the peer.
 *   the workload          (pty_attach) setsid(2), makes the peer its controlling terminal
 *                         (TIOCSCTTY) and its stdin, stdout and stderr.
 *   the outer stage       (pty_relay) puts the user's terminal in raw mode (termios(3) cfmakeraw:
 *                         Ctrl-C and Ctrl-Z become bytes that the sandbox's line discipline turns
 *                         into signals for the workload's foreground group), copies stdin to the
 *                         master and the master to stdout, passes the window size on at start and
 *                         on every SIGWINCH (TIOCSWINSZ on the master signals the pty's foreground
 *                         group, drivers/tty/tty_io.c tty_do_resize), and forwards the other
 *                         signals to PID 1 as relay() does. When PID 1 has exited (the kernel has
 *                         then killed and waited for everything in its pid namespace, so nobody
 *                         holds the peer) it drains the master until EIO and restores the terminal.
 *   `sandbox exec -t`     (exec.c) opens the pty itself once in the sandbox's mount namespace, gives
 *                         the peer to its command and relays the master the same way; when the
 *                         command exits, what its background jobs still write is drained without
 *                         waiting for them (non-blocking reads until EAGAIN).
 */
#include "stage.h"
#include "channel.h"
#include "sys.h"

#include <errno.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Create the channel PID 1 sends the master over; call before fork (both ends close on exec). */
void pty_channel(struct config *cfg)
{
	open_channel("tty", cfg->rt.pty_sock); /* [0] the outer stage's end, [1] PID 1's */
}

/* Open a new pty of the devpts on /dev/pts (the sandbox's, once in its mount namespace); return the
 * master, and the peer in cfg->rt.pty_peer, owned by --user's uid.
 *
 * Not through /dev/ptmx: /dev is the sandbox's tmpfs, which the workload (root inside) can write,
 * and `sandbox exec -t` opens the pty as host root, before its own lock-down; a FIFO planted there
 * made exec fail, a symlink would make host root open whatever it names (issue 19, finding 8).
 * /dev/pts is a mount point the workload can neither remove nor cover (no CAP_SYS_ADMIN, seccomp),
 * and nothing but the kernel creates entries in a devpts: open it with no symlink followed, check
 * it is a devpts (statfs(2) f_type DEVPTS_SUPER_MAGIC), open its own "ptmx" node O_NOFOLLOW and
 * check the result is the pty multiplexer, character device 5:2 (Documentation/filesystems/devpts.rst;
 * devices.txt: TTYAUX_MAJOR 5, minor 2). */
int pty_open_pair(struct config *cfg)
{
	int pts, master, peer;
	struct statfs fs;
	struct stat st;

	pts = open_no_symlinks("/dev/pts", O_PATH | O_DIRECTORY);
	if (pts < 0)
		die("tty", "openat2", "/dev/pts, O_PATH|O_DIRECTORY, RESOLVE_NO_SYMLINKS");
	if (fstatfs(pts, &fs) != 0)
		die("tty", "fstatfs", "/dev/pts");
	if (fs.f_type != DEVPTS_SUPER_MAGIC) {
		errno = EXDEV;
		die("tty", "fstatfs", "/dev/pts is not a devpts (f_type 0x%lx)", (unsigned long)fs.f_type);
	}
	master = openat(pts, "ptmx", O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (master < 0)
		die("tty", "openat", "/dev/pts/ptmx");
	close(pts);
	if (fstat(master, &st) != 0)
		die("tty", "fstat", "/dev/pts/ptmx");
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2) {
		errno = ENOTTY;
		die("tty", "fstat", "/dev/pts/ptmx is not the pty multiplexer 5:2 (mode %o, %u:%u)", (unsigned)st.st_mode, major(st.st_rdev), minor(st.st_rdev));
	}
	if (unlockpt(master) != 0)
		die("tty", "unlockpt", "/dev/pts/ptmx");
	peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (peer < 0)
		die("tty", "ioctl", "TIOCGPTPEER");
	/* With --user the workload owns its terminal, as login(1) arranges (a process of that user can
	 * then chmod it, e.g. `mesg`); devpts created it as PID 1's uid 0, mode 0620. */
	if (cfg->opt.has_user && fchown(peer, cfg->opt.uid, (gid_t)-1) != 0)
		die("tty", "fchown", "pty peer, %u", (unsigned)cfg->opt.uid);
	cfg->rt.pty_peer = peer;
	return master;
}

/* PID 1: open a pty in the sandbox's devpts, send the master to the stage, keep the peer. */
void pty_open(struct config *cfg)
{
	char data = 'm';
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
	struct cmsghdr *cmsg;
	int master;

	close(cfg->rt.pty_sock[0]);
	master = pty_open_pair(cfg);

	memset(control, 0, sizeof control);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &master, sizeof master);
	if (sendmsg(cfg->rt.pty_sock[1], &msg, MSG_NOSIGNAL) != 1)
		die("tty", "sendmsg", "pty master to the stage");
	close(master);
	close(cfg->rt.pty_sock[1]);
}

/* The workload (child of PID 1): a new session whose controlling terminal is the pty peer on 0, 1, 2. */
void pty_attach(const struct config *cfg)
{
	int peer = cfg->rt.pty_peer;

	/* setsid(2): the child of a fork is never a group leader, so this succeeds. TIOCSCTTY makes the
	 * peer the controlling terminal of this new session (ioctl_tty(2)), and its foreground group. */
	if (setsid() < 0)
		die("tty", "setsid", "%s", "");
	if (ioctl(peer, TIOCSCTTY, 0) != 0)
		die("tty", "ioctl", "TIOCSCTTY");
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(peer, fd) != fd)
			die("tty", "dup2", "pty peer, %d", fd);
	if (peer > 2)
		close(peer);
}

/* Receive the master PID 1 sends; -1 if PID 1 ended without sending (its error is on stderr). */
static int receive_master(int sock)
{
	char data;
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
	struct cmsghdr *cmsg;
	ssize_t n;
	int fd;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
	return fd;
}

/* Write all of buf (the user's terminal or the master); false on an error other than EINTR. */
static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Copy the user's window size to the pty (nothing when stdin is not a terminal). */
static void pass_window_size(int master)
{
	struct winsize ws;

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		(void)ioctl(master, TIOCSWINSZ, &ws);
}

/* Read what is left on the master once no peer is open: data, then EIO (or EAGAIN). */
static void drain(int master)
{
	char buf[4096];
	ssize_t n;

	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	while ((n = read(master, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && !write_all(STDOUT_FILENO, buf, (size_t)n))
			return;
}

/* The outer stage with --tty: relay between the user's terminal and the pty until PID 1 exits. */
int pty_relay(struct config *cfg, pid_t pid1, const sigset_t *set)
{
	int master;

	close(cfg->rt.pty_sock[1]);
	master = receive_master(cfg->rt.pty_sock[0]);
	close(cfg->rt.pty_sock[0]);
	return pty_relay_master(master, pid1, set);
}

/* Block `set` and SIGWINCH; returns their signalfd. */
static int winch_signalfd(const sigset_t *set)
{
	sigset_t with_winch = *set;
	int sfd;

	/* SIGWINCH from the user's terminal (we hold its foreground, tty.c) is taken here too. */
	sigaddset(&with_winch, SIGWINCH);
	if (sigprocmask(SIG_BLOCK, &with_winch, NULL) != 0)
		die("tty", "sigprocmask", "SIG_BLOCK SIGWINCH");
	sfd = signalfd(-1, &with_winch, SFD_CLOEXEC);
	if (sfd < 0)
		die("tty", "signalfd", "forwarded signals, SIGCHLD, SIGWINCH");
	return sfd;
}

/* Put the user's terminal in raw mode; true if it was, its settings before in `*saved`. */
static bool enter_raw_mode(int master, struct termios *saved)
{
	struct termios raw;

	/* Raw mode only on a terminal whose foreground we hold: from the background tcsetattr would stop us. */
	if (master >= 0 && isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp() && tcgetattr(STDIN_FILENO, saved) == 0) {
		raw = *saved;
		cfmakeraw(&raw);
		return tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0;
	}
	return false;
}

/* One signal from `sfd`: SIGWINCH resizes the pty, SIGCHLD sets `*code` once `child` has ended,
 * any other not sent by the kernel goes on to it. */
static void pty_signal(int sfd, int master, pid_t child, int *code)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof si) == sizeof si) {
		if (si.ssi_signo == SIGWINCH) {
			if (master >= 0)
				pass_window_size(master);
		} else if (si.ssi_signo == SIGCHLD) {
			*code = exit_code_if_ended(child);
		} else if (si.ssi_code != SI_KERNEL) {
			kill(child, (int)si.ssi_signo); /* as signal_is_forwarded() (signals.c) */
		}
	}
}

/* One read of the master `*master` to the user's stdout; at its end it is closed and set to -1. */
static void from_master(int *master)
{
	char buf[4096];
	ssize_t n = read(*master, buf, sizeof buf);

	/* EIO: no peer is open (the workload is gone; PID 1's exit follows). Stop polling it. */
	if (n > 0)
		(void)write_all(STDOUT_FILENO, buf, (size_t)n);
	else if (n == 0 || errno != EINTR) {
		close(*master);
		*master = -1;
	}
}

/* One read of the user's stdin to the master; at its end `*stdin_open` is false. */
static void to_master(int master, bool *stdin_open)
{
	char buf[4096];
	ssize_t n = read(STDIN_FILENO, buf, sizeof buf);

	if (n > 0)
		(void)write_all(master, buf, (size_t)n);
	else if (n == 0 || errno != EINTR) {
		/* EOF on a stdin that is not a terminal (a pipe, a file): type the pty's EOF
		 * character (VEOF, ^D), so a reader in canonical mode sees end of file too. */
		struct termios t;

		*stdin_open = false;
		if (master >= 0 && tcgetattr(master, &t) == 0)
			(void)write_all(master, (const char *)&t.c_cc[VEOF], 1);
	}
}

/* Relay between the user's terminal and the pty `master` (-1: none came) until `child` exits; its
 * exit code. `sandbox exec -t` calls this with the pty it opened itself. */
int pty_relay_master(int master, pid_t child, const sigset_t *set)
{
	struct termios saved;
	bool restore, stdin_open = true;
	int sfd = winch_signalfd(set), code = -1;

	restore = enter_raw_mode(master, &saved);
	if (master >= 0)
		pass_window_size(master);

	while (code < 0) {
		struct pollfd fds[4] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = master, .events = POLLIN },
			{ .fd = stdin_open && master >= 0 ? STDIN_FILENO : -1, .events = POLLIN },
			{ .fd = sysinfo_fd(), .events = POLLIN }, /* `exec -t`: the command's sysinfo(2) */
		};

		if (poll(fds, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("tty", "poll", "%s", "signalfd, pty master, stdin");
		}
		if (fds[0].revents & POLLIN)
			pty_signal(sfd, master, child, &code);
		if (fds[3].revents & POLLIN)
			sysinfo_answer();
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
			from_master(&master);
		if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
			to_master(master, &stdin_open);
	}
	if (master >= 0) {
		drain(master);
		close(master);
	}
	if (restore)
		(void)tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
	close(sfd);
	return code;
}
