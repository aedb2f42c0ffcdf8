/*
 * The channel between the outer stage and PID 1 (channel.h).
 */
#include "channel.h"

#include <sys/socket.h>

/* A channel between the outer stage and PID 1 (created before the fork; both ends close on exec):
 * SOCK_SEQPACKET keeps message boundaries and carries descriptors (unix(7)). */
void open_channel(const char *what, int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		die(what, "socketpair", "AF_UNIX, SOCK_SEQPACKET");
}
