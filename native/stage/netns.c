/*
 * Network and UTS: the loopback interface of a new network namespace, and the host name of the
 * new UTS namespace (both namespaces were created by the outer stage's unshare, which PID 1 shares).
 */
#include "stage.h"

#include <net/if.h>
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
