/*
 * The terminal. The stage moves to its own process group (stage.c) so that one Ctrl-C is not
 * delivered twice (once by the terminal to every process of the foreground group, once more by the
 * supervisor's forwarding). But credentials(7): "Only the foreground process group may read(2) from
 * the terminal; if a background process group tries to read(2) from the terminal, then the group is
 * sent a SIGTTIN signal, which suspends the group" (drivers/tty/tty_jobctrl.c, tty_check_change).
 * Measured: `sh -c 'read x'` inside a pty then hangs until killed. So when the supervisor's group
 * held the terminal's foreground, the sandbox's group takes it over for its lifetime and gives it
 * back at the end (as a shell does for a foreground job). The terminal's signals then go to the
 * sandbox's processes directly, never to the supervisor, and the stage and PID 1 do not forward
 * them again (signal_is_forwarded: they arrive with si_code SI_KERNEL). A supervisor running in the
 * background, or a stdin that is not a terminal, leaves the terminal alone.
 */
#include "stage.h"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

static pid_t saved_foreground = -1; /* the supervisor's group, while the sandbox holds the terminal */

/* Call tcsetpgrp with SIGTTOU blocked: from a background group it would otherwise stop us. */
static int set_foreground(pid_t pgrp)
{
	/* tcsetpgrp(3): "If tcsetpgrp() is called by a member of a background process group in its
	 * session, and the calling process is not blocking or ignoring SIGTTOU, a SIGTTOU signal is
	 * sent to all members of this background process group." Blocked, the call just succeeds. */
	sigset_t ttou, old;
	int rc;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	rc = tcsetpgrp(STDIN_FILENO, pgrp);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Move to a new process group; if our old group was stdin's foreground group, take the foreground. */
void tty_take_foreground(void)
{
	pid_t old = getpgrp();
	bool foreground = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == old;

	if (setpgid(0, 0) != 0)
		die("process group", "setpgid", "0, 0");
	if (foreground && set_foreground(getpgrp()) == 0)
		saved_foreground = old;
}

/* Give the terminal back to the supervisor's group, if we took it (best effort: it may be gone). */
void tty_restore_foreground(void)
{
	if (saved_foreground > 0)
		(void)set_foreground(saved_foreground);
}
