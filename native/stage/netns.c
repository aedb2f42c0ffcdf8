/*
 * Network and UTS: the loopback interface of a new network namespace, joining another sandbox's
 * network namespace (--net-join, by the outer stage instead of a new one), and the host name of the
 * new UTS namespace (created by the outer stage's unshare, which PID 1 shares).
 */
#include "stage.h"
#include "sys.h"

#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bring `lo` up: a new network namespace starts with only a loopback device, and it is down. */
void loopback_up(void)
{
	struct ifreq ifr;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (sock < 0)
		die("network", "socket", "AF_INET, SOCK_DGRAM");
	/* netdevice(7): SIOCGIFFLAGS / SIOCSIFFLAGS read and write the interface's flags. */
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) != 0)
		die("network", "ioctl", "lo, SIOCGIFFLAGS");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) != 0)
		die("network", "ioctl", "lo, SIOCSIFFLAGS, IFF_UP");
	close(sock);
}

/* Set the host name; it is the new UTS namespace's own (uts_namespaces(7)). */
void set_hostname(const char *name)
{
	if (sethostname(name, strlen(name)) != 0)
		die("hostname", "sethostname", "%s", name);
}

/* --net-join: enter the network namespace of `pid` (PID 1 of the sandbox being joined). */
void join_netns(pid_t pid)
{
	/* setns(2) takes a pidfd since Linux 5.8 (kernel/nsproxy.c): the pidfd pins the process, so the
	 * namespace entered is the one of the process the supervisor looked up, never of a recycled
	 * pid; the process must still be alive (ESRCH otherwise). Joining a network namespace needs
	 * CAP_SYS_ADMIN over its user namespace (net/core/net_namespace.c netns_install): we are root
	 * in the initial one. The joined namespace lives as long as any process is in it
	 * (network_namespaces(7)): if the joined sandbox ends first, ours keeps it, with whatever
	 * interfaces are left in it. */
	int pidfd = sys_pidfd_open(pid, 0);

	if (pidfd < 0)
		die("network", "pidfd_open", "%d (PID 1 of the sandbox to join)", (int)pid);
	if (setns(pidfd, CLONE_NEWNET) != 0)
		die("network", "setns", "pidfd of %d, CLONE_NEWNET", (int)pid);
	close(pidfd);
}
