/*
 * The signal relay shared by the outer stage (stage.c, target PID 1), PID 1 (pid1.c, target the
 * workload) and `sandbox exec` (exec.c): which signals are passed on, blocking them, and waiting for
 * SIGCHLD while forwarding the others. Below every user; calls only sysinfo.c and fail.c.
 */
#ifndef SANDBOX_SIGNALS_H
#define SANDBOX_SIGNALS_H

#include "stage.h"

#include <sys/signalfd.h>

/* Signals the stage and PID 1 pass on (SIGCHLD is waited for alongside them). */
extern const int forwarded_signals[6];

/* Block the forwarded signals and SIGCHLD; set = that set. */
void block_signals(sigset_t *set);
/* False for a signal the kernel sent our whole process group (a terminal's Ctrl-C): not passed on. */
bool signal_is_forwarded(const struct signalfd_siginfo *si);
/* Wait for SIGCHLD, forwarding every other signal of set to target and answering sysinfo(2). */
void forward_until_sigchld(const sigset_t *set, pid_t target, const char *who);

#endif
