/*
 * Network and UTS: the loopback interface of a new network namespace, joining another sandbox's
 * network namespace (--net-join, by the outer stage instead of a new one), and the host name of the
 * new UTS namespace (created by the outer stage's unshare, which PID 1 shares).
 */
#include "stage.h"
#include "sys.h"

#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
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

/* Write a value into a sysctl file of /proc/sys; path relative to it. */
static void write_sysctl(const char *name, const char *value)
{
	char path[128];
	size_t len = strlen(value);
	int fd;

	snprintf(path, sizeof path, "/proc/sys/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die("network", "open", "%s", path);
	if (write(fd, value, len) != (ssize_t)len)
		die("network", "write", "%s, \"%s\"", path, value);
	close(fd);
}

/*
 * With a user namespace (--userns, the default) the network namespace stays owned by the host's user
 * namespace (PID 1 enters its own last, userns.c), so root inside holds CAP_NET_BIND_SERVICE and
 * CAP_NET_RAW over nothing there: binding a port below 1024 (net/ipv4/af_inet.c inet_bind_allowed,
 * ns_capable(net->user_ns, ...)) and raw sockets fail. In a network namespace of its own the two
 * per-namespace sysctls docker sets do what those capabilities did: every port may be bound
 * (ip_unprivileged_port_start=0) and every group may open ICMP datagram sockets, what ping uses
 * without CAP_NET_RAW (ping_group_range, net/ipv4/ping.c ping_init_sock). The outer stage writes them
 * right after unshare(CLONE_NEWNET): /proc/sys/net is the writer's network namespace
 * (net/sysctl_net.c), and the host's own settings are not touched.
 */
void open_unprivileged_net(void)
{
	write_sysctl("net/ipv4/ip_unprivileged_port_start", "0");
	write_sysctl("net/ipv4/ping_group_range", "0 2147483647");
}
