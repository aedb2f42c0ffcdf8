/*
 * The sandbox's file system, built by PID 1 inside the new mount namespace (a private copy of the
 * host's, see stage.c; nothing here propagates back). Layout, like docker's defaults:
 *   /                the host's root, every mount read-only, nodev and nosuid
 *   /sys             with --net none a fresh sysfs of the new network namespace, read-only
 *   /proc            a fresh proc of the new pid namespace; /proc/sys and docker's other
 *                    read-only paths bound read-only; the FUSE views bound over some files
 *   /dev             a private tmpfs: null zero full random urandom tty, pts, shm, fd links
 *   /tmp             a private tmpfs
 *   /run, /var/run   (host root only) an empty tmpfs, read-only once the binds are attached
 *   --rw, --volume   binds of host paths, writable unless :ro (then ID-mapped with --idmap: idmap.c);
 *                    --tmpfs private tmpfs mounts
 *   /sys/fs/cgroup   the sandbox's own cgroup, read-only (after the cgroup namespace exists)
 *
 * The bind sources are cloned first (open_tree(2), OPEN_TREE_CLONE), while host paths such as
 * /tmp/project are still visible, and attached (move_mount(2)) after /tmp and /dev are in place.
 * A clone keeps the flags its source had when cloned, so clones taken before the root is made
 * read-only stay writable; a classic bind made afterwards would inherit the read-only flag.
 */
#include "stage.h"
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define RO_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/* Clone one host path (recursively: submounts come along) into a detached mount, or die. */
static int clone_tree(const char *what, const char *path, unsigned int flags)
{
	int fd = sys_open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | flags);

	if (fd < 0)
		die(what, "open_tree", "%s, OPEN_TREE_CLONE", path);
	return fd;
}

/* Clone a --volume source (recursively) from a descriptor of exactly the path the
 * supervisor resolved: no symlink on it is followed (sys.h open_no_symlinks), and open_tree(2)
 * with AT_EMPTY_PATH clones what that descriptor is, not what a path names a moment later. */
static int clone_source(const char *what, const char *path)
{
	int fd = open_no_symlinks(path, O_PATH), tree;

	if (fd < 0)
		die(what, "openat2", "%s, O_PATH, RESOLVE_NO_SYMLINKS (a symlink on the path since it was resolved?)", path);
	tree = sys_open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		die(what, "open_tree", "%s, OPEN_TREE_CLONE|AT_EMPTY_PATH", path);
	close(fd);
	return tree;
}

/* Take detached clones of every --rw and --volume source, nodev and nosuid (host paths: a device
 * node or set-id file on them must not work inside); make the :ro ones read-only now. */
void clone_bind_sources(struct config *cfg)
{
	const unsigned int flags = AT_EMPTY_PATH | AT_RECURSIVE;

	for (size_t i = 0; i < cfg->opt.n_rw; i++) {
		/* The workdir as the user typed it (-w), symlinks followed as before: it is also where
		 * the workload starts, so it is bound onto that same path. */
		cfg->opt.rw[i].tree_fd = clone_tree("--rw", cfg->opt.rw[i].src, AT_RECURSIVE);
		if (sys_mount_setattr(cfg->opt.rw[i].tree_fd, "", flags, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID, 0) != 0)
			die("--rw", "mount_setattr", "%s, MOUNT_ATTR_NODEV|MOUNT_ATTR_NOSUID", cfg->opt.rw[i].src);
		idmap_bind("--rw", cfg->opt.rw[i].tree_fd, cfg->opt.rw[i].src, cfg);
	}
	for (size_t i = 0; i < cfg->opt.n_volumes; i++) {
		struct pair *v = &cfg->opt.volumes[i];

		v->tree_fd = clone_source("--volume", v->src);
		if (sys_mount_setattr(v->tree_fd, "", flags, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID, 0) != 0)
			die("--volume", "mount_setattr", "%s, MOUNT_ATTR_NODEV|MOUNT_ATTR_NOSUID", v->src);
		/* mount_setattr(2) works on detached trees too; the volume is never writable, not even
		 * for a moment after it is attached. */
		if (v->ro && sys_mount_setattr(v->tree_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0) != 0)
			die("--volume", "mount_setattr", "%s, MOUNT_ATTR_RDONLY", v->src);
		/* A writable volume is ID-mapped like the workdir when it is the owner's (idmap.c); a
		 * read-only one is read by its mode bits and needs no mapping. */
		if (!v->ro)
			idmap_bind("--volume", v->tree_fd, v->src, cfg);
	}
	/* Only the clones needed the mapping's namespace. */
	if (cfg->rt.idmap_fd >= 0) {
		close(cfg->rt.idmap_fd);
		cfg->rt.idmap_fd = -1;
	}
}

/* Make every mount of the copied host tree read-only, nodev and nosuid. */
void make_root_readonly(void)
{
	/* nodev: without a devices cgroup (v1 here has none) a device node anywhere on the host (a
	 * disk's node left in a chroot, /var/lib/…/dev) would open inside; dropping CAP_MKNOD stops new
	 * nodes, not existing ones (issue 19, finding 3). nosuid: the host's set-id and file-capability
	 * binaries grant nothing inside (no_new_privs already ignores them: this is the second wall,
	 * finding 4). The sandbox's own /dev is mounted later, with its own flags. */
	/* mount_setattr(2) with AT_RECURSIVE changes the per-mount flag of "/" and every mount below it
	 * in this namespace, in one call, atomically. It only reaches mounts that exist now: mounts
	 * made afterwards (/proc, /dev, /tmp, the binds) keep their own flags. It fails with EBUSY if a
	 * mount has files open for writing; the copies made by unshare(CLONE_NEWNS) have none (open
	 * files keep referring to the host's original mounts). */
	if (sys_mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID, 0) != 0)
		die("read-only root", "mount_setattr", "/, AT_RECURSIVE, MOUNT_ATTR_RDONLY|MOUNT_ATTR_NODEV|MOUNT_ATTR_NOSUID");
}

/* Bind a path onto itself and make that bind read-only; a missing path is skipped. */
static void bind_readonly(const char *what, const char *path)
{
	if (mount(path, path, NULL, MS_BIND, NULL) != 0) {
		if (errno == ENOENT)
			return;
		die(what, "mount", "%s, %s, MS_BIND", path, path);
	}
	/* Only the new bind changes (no AT_RECURSIVE), other flags stay as they are; the classic
	 * equivalent is mount(MS_BIND|MS_REMOUNT|MS_RDONLY), which also resets nosuid etc. (mount(2)). */
	if (sys_mount_setattr(AT_FDCWD, path, 0, RO_ATTRS, 0) != 0)
		die(what, "mount_setattr", "%s, MOUNT_ATTR_RDONLY", path);
}

/* A fresh proc for the new pid namespace, writable, with the kernel knobs read-only; on the host
 * root (host_root) the host's proc copy goes first. */
void mount_proc(bool host_root)
{
	/* docker's readonlyPaths (moby oci/defaults.go): the kernel's global knobs and triggers. With
	 * uid 0 and CAP_DAC_OVERRIDE the workload could otherwise write /proc/sysrq-trigger (reboot the
	 * host) or /proc/sys/... (host-wide settings not covered by our namespaces). */
	static const char *const readonly_paths[] = {
		"/proc/bus",
		"/proc/fs",
		"/proc/irq",
		"/proc/sys",
		"/proc/sysrq-trigger",
	};

	/* proc(5): a proc mount shows the pid namespace of the process that mounts it, so this must be
	 * done by PID 1, not by the outer stage. Mounted after the read-only root, so it stays writable
	 * (/proc/self/oom_score_adj, /proc/self/comm, ... as in docker). */
	/* The host's proc (and binfmt_misc & co below it) would stay listed under ours in mountinfo,
	 * shadowed: detach it, as a container's table holds only its own (issue 22). detach_below reads
	 * the whole of /proc/self/mountinfo before it detaches anything. In a root of its own (rootfs.c)
	 * /proc is an empty directory of the image, and no proc is mounted to read mountinfo from. */
	if (host_root)
		detach_below("/proc", "/proc");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		die("/proc", "mount", "proc, /proc, MS_NOSUID|MS_NODEV|MS_NOEXEC");
	for (size_t i = 0; i < sizeof readonly_paths / sizeof readonly_paths[0]; i++)
		bind_readonly("/proc", readonly_paths[i]);
}

/* A fresh sysfs, read-only, as docker mounts it. sysfs shows the network devices of the network
 * namespace of the process that mounts it (Documentation/filesystems/sysfs.rst, net/core/
 * net-sysfs.c: the kobject namespace is taken at mount time), so with --net none /sys/class/net
 * lists only lo instead of the host's interfaces. /sys/fs/cgroup and the cpu-online view are
 * mounted on top of it later. */
void mount_sys(void)
{
	/* The host's /sys copy and everything below it (its cgroup mounts, debugfs, tracefs, securityfs,
	 * fusectl…) go first: they would stay listed in mountinfo, and the JVM matches those cgroup
	 * lines before ours (issue 22). In the host's network namespace the same sysfs superblock on
	 * the same mount point is refused with EBUSY (fs/namespace.c do_add_mount), which the detach
	 * also avoids. */
	detach_below("/sys", "/sys");
	if (mount("sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		die("/sys", "mount", "sysfs, /sys, MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC");
}

/* A minimal private /dev, as docker's: a few character devices, its own pts, shm, fd links. */
void mount_dev(void)
{
	/* Device numbers are fixed by Documentation/admin-guide/devices.txt (the same on every host). */
	static const struct {
		const char *path;
		unsigned int major, minor;
	} devices[] = {
		{ "/dev/null", 1, 3 },
		{ "/dev/zero", 1, 5 },
		{ "/dev/full", 1, 7 },
		{ "/dev/random", 1, 8 },
		{ "/dev/urandom", 1, 9 },
		{ "/dev/tty", 5, 0 },
	};
	static const struct {
		const char *target, *path;
	} links[] = {
		{ "pts/ptmx", "/dev/ptmx" },
		{ "/proc/self/fd", "/dev/fd" },
		{ "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" },
		{ "/proc/self/fd/2", "/dev/stderr" },
	};

	/* The host's devtmpfs, pts and shm copies would stay listed in mountinfo under ours. */
	detach_below("/dev", "/dev");
	/* Not nodev, obviously; noexec and nosuid as in docker. */
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755") != 0)
		die("/dev", "mount", "tmpfs, /dev, mode=755");
	for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++)
		if (mknod(devices[i].path, S_IFCHR | 0666, makedev(devices[i].major, devices[i].minor)) != 0)
			die("/dev", "mknod", "%s, %u:%u", devices[i].path, devices[i].major, devices[i].minor);

	/* Documentation/filesystems/devpts.rst: each mount is a new instance ("newinstance" is implied
	 * since Linux 4.7), with its own pty numbering, so the sandbox sees only its own ptys; /dev/ptmx
	 * must then point into it. */
	if (mkdir("/dev/pts", 0755) != 0)
		die("/dev", "mkdir", "/dev/pts");
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") != 0)
		die("/dev", "mount", "devpts, /dev/pts, newinstance,ptmxmode=0666,mode=0620");

	if (mkdir("/dev/shm", 01777) != 0)
		die("/dev", "mkdir", "/dev/shm");
	if (mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777") != 0)
		die("/dev", "mount", "tmpfs, /dev/shm, mode=1777");

	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlink(links[i].target, links[i].path) != 0)
			die("/dev", "symlink", "%s -> %s", links[i].path, links[i].target);
}

/* A private, writable /tmp (tmpfs pages are charged to the memory cgroup of the writer). */
void mount_tmp(void)
{
	/* A host whose /tmp is a mount of its own (a tmpfs, as systemd's tmp.mount makes it) would keep
	 * it listed in mountinfo under ours; what the sandbox may see of it is cloned already (binds). */
	detach_below("/tmp", "/tmp");
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0)
		die("/tmp", "mount", "tmpfs, /tmp, mode=1777");
}

/* mkdir -p; existing components are fine. */
static void make_dirs(const char *what, const char *path)
{
	char *copy = strdup(path);

	if (copy == NULL)
		die(what, "strdup", "%s", path);
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, 0755) != 0 && errno != EEXIST)
			die(what, "mkdir", "%s", copy);
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
}

/* Attach a detached tree at dst; create dst when it is missing (e.g. hidden by our /tmp). */
static void attach(const char *what, int tree_fd, const char *dst)
{
	struct stat src, target;

	if (stat(dst, &target) != 0) {
		if (errno != ENOENT)
			die(what, "stat", "%s", dst);
		/* A missing target can only be created on our own tmpfs mounts: on the read-only root this
		 * fails with EROFS and the message names the path. */
		if (fstat(tree_fd, &src) != 0)
			die(what, "fstat", "detached tree for %s", dst);
		if (S_ISDIR(src.st_mode)) {
			make_dirs(what, dst);
		} else {
			char *parent = strdup(dst);
			if (parent == NULL)
				die(what, "strdup", "%s", dst);
			*strrchr(parent, '/') = '\0';
			if (parent[0] != '\0')
				make_dirs(what, parent);
			free(parent);
			int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0)
				die(what, "open", "%s, O_CREAT", dst);
			close(fd);
		}
	}
	/* move_mount(2): MOVE_MOUNT_F_EMPTY_PATH takes the source from the open_tree fd itself. */
	if (sys_move_mount(tree_fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) != 0)
		die(what, "move_mount", "%s", dst);
	close(tree_fd);
}

/* Number of path components of an absolute path ("/a//b/" has 2). */
static size_t depth_of(const char *path)
{
	size_t n = 0;

	for (const char *p = path; *p != '\0'; p++)
		if (p[0] != '/' && (p == path || p[-1] == '/'))
			n++;
	return n;
}

/* A --tmpfs mount at path, the path created if missing (on a writable parent only). */
static void mount_tmpfs_at(const struct tmpfs_mount *t)
{
	char opts[64];

	if (mkdir(t->path, 01777) != 0 && errno != EEXIST) {
		if (errno != ENOENT)
			die("--tmpfs", "mkdir", "%s", t->path);
		make_dirs("--tmpfs", t->path);
	}
	if (t->size > 0)
		snprintf(opts, sizeof opts, "mode=1777,size=%llu", t->size);
	else
		snprintf(opts, sizeof opts, "mode=1777");
	if (mount("tmpfs", t->path, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
		die("--tmpfs", "mount", "tmpfs, %s, %s", t->path, opts);
}

/*
 * The host's /run behind an empty tmpfs (and /var/run, when it is a directory of its own rather than
 * the usual symlink to /run), on the host root only: with --layer the image's /run is the image's.
 * The read-only root does not protect what lives there. The kernel refuses writes on a read-only
 * mount only to regular files, directories and symlinks (fs/namei.c sb_permission, mnt_want_write
 * callers); connect(2) to a unix socket file needs only write permission on it (unix(7)) and an
 * open(2) of a FIFO for writing only the permission bits, both of which root's CAP_DAC_OVERRIDE
 * passes. So docker.sock, D-Bus, systemd's private socket, /run/initctl and our own sockets would be
 * reachable. The copies of the host's mounts below /run (other sandboxes' views and state among
 * them) are detached first, as --hide does (confine.c). The tmpfs stays writable while binds whose
 * target is under /run get their mount points (attach() makes them), and is sealed read-only after
 * (seal_run). One file is carried over: resolv.conf, when /etc/resolv.conf resolves into a covered
 * directory (systemd-resolved's ../run/systemd/resolve/stub-resolv.conf), so name resolution keeps
 * working; it is copied (at most 64 KiB), not bound, so no host file stays reachable.
 */
static const char *const run_dirs[] = { "/run", "/var/run" };
static int run_covers[2] = { -1, -1 }; /* O_PATH descriptors of our tmpfs mounts, for seal_run() */

/* Read at most 64 KiB of a small host file; returns its length, or -1 (the file is then not kept). */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t len = 0, n;

	if (fd < 0)
		return -1;
	while ((size_t)len < cap && (n = read(fd, buf + len, cap - (size_t)len)) > 0)
		len += n;
	close(fd);
	return len;
}

/* Cover /run (and a /var/run directory) with an empty, for now writable, tmpfs; see above. */
static void cover_run(const struct config *cfg)
{
	static char text[65536];
	char resolv[4096];
	ssize_t len = -1;
	bool resolved;

	if (cfg->opt.n_layers > 0)
		return;
	resolved = realpath("/etc/resolv.conf", resolv) != NULL;
	for (size_t i = 0; i < sizeof run_dirs / sizeof run_dirs[0]; i++) {
		const char *dir = run_dirs[i];
		size_t dlen = strlen(dir);
		struct stat st;

		if (lstat(dir, &st) != 0) {
			if (errno == ENOENT)
				continue;
			die("/run", "lstat", "%s", dir);
		}
		if (!S_ISDIR(st.st_mode))
			continue; /* /var/run -> /run: covered with /run */
		bool keep = resolved && strncmp(resolv, dir, dlen) == 0 && resolv[dlen] == '/';
		if (keep)
			len = read_small(resolv, text, sizeof text);
		detach_below("/run", dir);
		if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=1m") != 0)
			die("/run", "mount", "tmpfs, %s, mode=755,size=1m", dir);
		run_covers[i] = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (run_covers[i] < 0)
			die("/run", "open", "%s, O_PATH", dir);
		if (keep && len >= 0) {
			*strrchr(resolv, '/') = '\0';
			make_dirs("/run", resolv);
			resolv[strlen(resolv)] = '/';
			int fd = open(resolv, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0 || write(fd, text, (size_t)len) != len)
				die("/run", "write", "%s (resolv.conf kept for name resolution)", resolv);
			close(fd);
		}
	}
}

/* Make the /run covers read-only, by descriptor: a --tmpfs /run on top keeps its own flags. */
static void seal_run(void)
{
	for (size_t i = 0; i < sizeof run_covers / sizeof run_covers[0]; i++) {
		if (run_covers[i] < 0)
			continue;
		/* mount_setattr(2): AT_EMPTY_PATH changes the mount the descriptor itself is on. */
		if (sys_mount_setattr(run_covers[i], "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY, 0) != 0)
			die("/run", "mount_setattr", "%s, MOUNT_ATTR_RDONLY", run_dirs[i]);
		close(run_covers[i]);
		run_covers[i] = -1;
	}
}

/* Attach the --rw directories (onto themselves), then the volumes and --tmpfs mounts, shallowest
 * first (as docker sorts mounts), so "-v /data:/d --tmpfs /d/cache" mounts the tmpfs inside the
 * volume instead of under it. /run is covered first and sealed last (cover_run above). */
void attach_bind_sources(struct config *cfg)
{
	size_t max = 0;

	cover_run(cfg);
	for (size_t i = 0; i < cfg->opt.n_rw; i++)
		attach("--rw", cfg->opt.rw[i].tree_fd, cfg->opt.rw[i].dst);
	for (size_t i = 0; i < cfg->opt.n_volumes; i++)
		max = depth_of(cfg->opt.volumes[i].dst) > max ? depth_of(cfg->opt.volumes[i].dst) : max;
	for (size_t i = 0; i < cfg->opt.n_tmpfs; i++)
		max = depth_of(cfg->opt.tmpfs[i].path) > max ? depth_of(cfg->opt.tmpfs[i].path) : max;
	for (size_t d = 1; d <= max; d++) {
		for (size_t i = 0; i < cfg->opt.n_volumes; i++)
			if (depth_of(cfg->opt.volumes[i].dst) == d)
				attach("--volume", cfg->opt.volumes[i].tree_fd, cfg->opt.volumes[i].dst);
		for (size_t i = 0; i < cfg->opt.n_tmpfs; i++)
			if (depth_of(cfg->opt.tmpfs[i].path) == d)
				mount_tmpfs_at(&cfg->opt.tmpfs[i]);
	}
	seal_run();
}

/* Bind the supervisor's FUSE view files, read-only, over /proc/meminfo and friends. */
void bind_views(struct config *cfg)
{
	int own;

	if (cfg->opt.n_views == 0)
		return;
	/* The supervisor mounts its FUSE file system on the host after our unshare(CLONE_NEWNS), and
	 * "/" is private here, so that mount never appears in this namespace. We step into the host's
	 * mount namespace (the fd the outer stage opened before unshare), clone each view file there,
	 * and step back: a detached mount can be attached in another namespace (open_tree(2),
	 * move_mount(2); systemd's "bind a path into a running container" works this way). setns(2)
	 * needs a single-threaded caller with CAP_SYS_ADMIN and CAP_SYS_CHROOT; it resets the root and
	 * cwd to the namespace's root, which is harmless here (the workload chdir()s by path). */
	own = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (own < 0)
		die("views", "open", "/proc/self/ns/mnt");
	if (setns(cfg->rt.host_mnt_fd, CLONE_NEWNS) != 0)
		die("views", "setns", "host mount namespace, CLONE_NEWNS");
	for (size_t i = 0; i < cfg->opt.n_views; i++)
		cfg->opt.views[i].tree_fd = clone_tree("views", cfg->opt.views[i].src, 0);
	if (setns(own, CLONE_NEWNS) != 0)
		die("views", "setns", "sandbox mount namespace, CLONE_NEWNS");
	close(own);
	close(cfg->rt.host_mnt_fd);

	for (size_t i = 0; i < cfg->opt.n_views; i++) {
		struct pair *v = &cfg->opt.views[i];

		if (sys_mount_setattr(v->tree_fd, "", AT_EMPTY_PATH, RO_ATTRS, 0) != 0)
			die("views", "mount_setattr", "%s, MOUNT_ATTR_RDONLY", v->src);
		if (sys_move_mount(v->tree_fd, "", AT_FDCWD, v->dst, MOVE_MOUNT_F_EMPTY_PATH) != 0)
			die("views", "move_mount", "%s -> %s", v->src, v->dst);
		close(v->tree_fd);
	}
}

/* Mount the sandbox's cgroups read-only on /sys/fs/cgroup (call after unshare(CLONE_NEWCGROUP)). */
void mount_cgroupfs(const struct options *opts)
{
	const unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char path[4096];

	/* cgroup_namespaces(7): inside a cgroup namespace a cgroupfs mount shows the namespace's root
	 * cgroup (the sandbox's) as its root, so JVM, Go and Node's process.constrainedMemory() read the
	 * sandbox's limits at the usual paths. Read-only: the limits are not the workload's to change. */
	/* The host's cgroup mounts (a copy, with roots such as /.. as seen from our cgroup namespace)
	 * would stay listed in mountinfo under ours: the JVM takes the first line that matches a
	 * controller and found no path (issue 22). Detach them; on a pure v2 host this also avoids the
	 * EBUSY of the same superblock on the same mount point (fs/namespace.c do_add_mount). */
	detach_below("cgroupfs", "/sys/fs/cgroup");
	if (opts->cgroup_v2) {
		if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", ro, NULL) != 0)
			die("cgroupfs", "mount", "cgroup2, /sys/fs/cgroup, ro");
		return;
	}
	if (opts->n_cgroup_v1 == 0)
		return;
	/* v1: one directory per hierarchy on a tmpfs, as hosts lay it out. The options must name an
	 * existing hierarchy's controllers exactly (cgroup-v1/cgroups.rst: a mismatch is EBUSY; inside a
	 * cgroup namespace, which may not create hierarchies, it is EPERM, measured here). */
	if (mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") != 0)
		die("cgroupfs", "mount", "tmpfs, /sys/fs/cgroup, mode=755");
	for (size_t i = 0; i < opts->n_cgroup_v1; i++) {
		const struct pair *h = &opts->cgroup_v1[i];

		snprintf(path, sizeof path, "/sys/fs/cgroup/%s", h->src);
		if (mkdir(path, 0755) != 0)
			die("cgroupfs", "mkdir", "%s", path);
		if (mount("cgroup", path, "cgroup", ro, h->dst) != 0)
			die("cgroupfs", "mount", "cgroup, %s, ro,%s", path, h->dst);
	}
	if (sys_mount_setattr(AT_FDCWD, "/sys/fs/cgroup", 0, RO_ATTRS, 0) != 0)
		die("cgroupfs", "mount_setattr", "/sys/fs/cgroup, MOUNT_ATTR_RDONLY");
}
