/*
 * The socketpair between the outer stage and PID 1, made before the fork: pty.c passes the pty's
 * master on it (--tty), userns.c the "maps written" handshake (--userns). Calls only fail.c.
 */
#ifndef SANDBOX_CHANNEL_H
#define SANDBOX_CHANNEL_H

#include "stage.h"

/* A SOCK_SEQPACKET socketpair, both ends close-on-exec; dies naming `what` on failure. */
void open_channel(const char *what, int sv[2]);

#endif
