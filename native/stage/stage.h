/*
 * sandbox-stage: the single-threaded launcher and PID 1 of a sandbox.
 *
 * Shared declarations. Every .c file of the stage includes this header first (directly or through
 * signals.h or channel.h), so _GNU_SOURCE is defined before any libc header (unshare, setns,
 * execvpe, pipe2, ... are GNU extensions). Calls go one way only, from main() down to the helpers:
 * docs/native.md draws the graph, test/unit/native/ checks it has no cycle.
 *
 * Files, one concern each:
 *   stage.c    main(): the outer process (namespaces, time offsets, forks PID 1, relays its status)
 *   options.c  the argv contract (documented there)
 *   fail.c     the one-line error format and exit code 125
 *   sys.h      raw system calls that glibc 2.36 does not wrap the way we need
 *   pid1.c     PID 1: the set-up order, sync byte, cgroup join, forking the workload and reaping
 *   signals.c  the signal relay the stage, PID 1 and exec share (signals.h)
 *   channel.c  the socketpair between the outer stage and PID 1 (channel.h)
 *   mounts.c   everything that mounts: read-only root, /proc, /dev, /tmp, binds, views, cgroupfs
 *   caps.c     capability drop to docker's default set
 *   seccomp.c  the syscall filter (classic BPF) the whole sandbox runs under
 *   confine.c  masked /proc and /sys paths, hiding the supervisor's state dir, oom_score_adj
 *   netns.c    loopback up, joining another sandbox's network namespace, and hostname
 *   tty.c      giving the terminal's foreground to the sandbox and back
 *   exec.c     --exec-into: entering a live sandbox's cgroups and namespaces (`sandbox exec`)
 *   rootfs.c   --layer: an overlay root of its own, pivot_root into it, --read-only
 *   pty.c      --tty: a pty of the sandbox's devpts for the workload, relayed by the outer stage
 *   userns.c   --userns: PID 1 enters a user namespace mapped to an unprivileged range, last
 *   idmap.c    --idmap: the writable workdir and volumes as ID-mapped mounts (with --userns)
 *   landlock.c a scope-only Landlock domain (abstract unix sockets, signals) with the host's network
 *   monitor.c  --monitor-fd: the stage as a detached sandbox's monitor (handover, timeout, exit file)
 *   sysinfo.c  sysinfo(2) answered with the sandbox's figures (seccomp user notification)
 */
#ifndef SANDBOX_STAGE_H
#define SANDBOX_STAGE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit codes like docker run: 125 = the sandbox itself failed, 126 = cannot execute, 127 = not found. */
enum {
	EXIT_SANDBOX = 125,
	EXIT_CANNOT_EXEC = 126,
	EXIT_NOT_FOUND = 127,
};

/* The descriptor on which PID 1 of a --layer sandbox holds a read-only detached clone of its
 * overlay's upper directory (rootfs.c); supervisor/commit.ts reads the layer through
 * /proc/<pid 1>/fd/UPPER_FD (PID 1 is non-dumpable: that takes CAP_SYS_PTRACE). */
#define UPPER_FD 99

/* A "SRC:DST" pair (bind views, volumes) or "DIR:OPTS" (cgroup v1 hierarchies). */
struct pair {
	const char *src; /* source path, or the directory name under /sys/fs/cgroup */
	const char *dst; /* target path, or the mount options of a cgroup v1 hierarchy */
	bool ro;         /* --volume SRC:DST:ro */
	int tree_fd;     /* detached mount cloned from the host (open_tree), -1 until then */
};

/* A --tmpfs mount: its path inside and its size in bytes (0: the kernel's default, half of RAM). */
struct tmpfs_mount {
	const char *path;
	unsigned long long size;
};

/* What the command line says (options.c). Read-only once main() has filled in --chdir's default,
 * but for two things PID 1 records in place: each pair's tree_fd, the mount cloned for it
 * (mounts.c), and an ID-mapped layer's path, replaced by its clone's (rootfs.c map_layers). */
struct options {
	pid_t supervisor_pid;     /* 0: not given, no parent check */
	pid_t exec_into;          /* --exec-into: host pid of a sandbox's PID 1; 0 = build a new sandbox */
	bool exec_helper;         /* --exec-helper: only close inherited descriptors and exec the command */
	bool has_user;            /* --user UID:GID given: the command runs as uid/gid, no supplementary groups */
	uid_t uid;
	gid_t gid;
	int sync_fd;              /* -1: no sync byte to wait for */
	int monitor_fd;           /* --monitor-fd: the handover channel (monitor.c); -1: none */
	const char *exit_file;    /* --exit-file PATH (with --monitor-fd) */
	const char **exit_command; /* --exit-command ARGs, NULL-terminated (with --monitor-fd) */
	size_t n_exit_command;
	const char **oom_command; /* --oom-command ARGs, NULL-terminated (with --monitor-fd) */
	size_t n_oom_command;
	const char **cgroup_procs;
	size_t n_cgroup_procs;
	struct pair *cgroup_v1;
	size_t n_cgroup_v1;
	bool cgroup_v2;
	const char *hostname;     /* NULL: keep the (copied) host name */
	bool net_none;            /* not the host's network: a new namespace, or --net-join's */
	pid_t net_join;           /* --net-join: host pid whose network namespace is joined; 0 = none */
	bool timens;
	struct pair *views;
	size_t n_views;
	struct pair *rw;          /* src == dst */
	size_t n_rw;
	struct pair *volumes;
	size_t n_volumes;
	struct tmpfs_mount *tmpfs;
	size_t n_tmpfs;
	const char **layers;      /* --layer, lowest first; none: the host's root */
	size_t n_layers;
	bool *layer_host_ids;     /* per layer: --layer-host-ids, its files already hold the range's host ids */
	const char *root_at;      /* --root-at: empty host dir where the new root is assembled */
	const char *upper;        /* --upper DIR: DIR/upper and DIR/work kept (--keep); NULL: a tmpfs */
	bool read_only;           /* --read-only: the new root read-only once its mount points exist */
	const char *chdir;        /* NULL until main() fills in the stage's cwd */
	const char *detach_views; /* --detach-views DIR: NULL, or the host mountpoint of the views */
	const char **hides;       /* --hide DIR (repeatable): host dirs covered by an empty tmpfs inside */
	size_t n_hides;
	bool set_oom_score_adj;   /* --oom-score-adj N given */
	int oom_score_adj;        /* -1000..1000 */
	unsigned long long caps;  /* --caps MASK: the capabilities kept (default_capabilities if not given) */
	bool seccomp_unconfined;  /* --seccomp unconfined: no syscall filter */
	char **argv;              /* the workload's command, NULL-terminated */
	bool tty;                 /* --tty (pty.c): the workload's terminal is a pty of the sandbox's devpts */
	/* --userns UID:GID:COUNT (userns.c): ids 0..COUNT-1 inside are UID.. and GID.. outside. */
	bool userns;
	unsigned userns_uid, userns_gid, userns_count;
	/* --idmap UID:GID (idmap.c): on-disk UID:GID of the writable binds is the workload's host ids. */
	bool idmap;
	unsigned idmap_uid, idmap_gid;
	const char *probe_idmap;  /* --probe-idmap DIR: only try an ID-mapped clone of DIR (doctor) */
};

/* What the outer stage opens and works out before the fork, inherited by PID 1 (all O_CLOEXEC);
 * -1 for a descriptor not opened. */
struct runtime {
	char *arg_area;           /* the stage's own argv strings, contiguous (execve(2) lays them out so) */
	size_t arg_area_len;

	/* Opened before unshare(CLONE_NEWNS), so they refer to the host's mounts. */
	int *procs_fds;           /* one per cgroup_procs entry, on the host's (writable) cgroupfs mounts */
	int host_mnt_fd;          /* the host mount namespace, to clone the FUSE view files from */
	int parent_pidfd;         /* pidfd of the outer stage: PID 1's "is my parent still alive" check */
	int cgroup_dir_fd;        /* v2: the leaf's directory, for clone3(CLONE_INTO_CGROUP) */
	bool born_in_cgroup;      /* PID 1 was created inside the leaf (clone.c): no cgroup.procs write */
	int sys_fd;               /* the host's /sys cloned for a new root with the host's network */

	int pty_sock[2];          /* --tty socketpair: [0] the outer stage's end, [1] PID 1's (sends the master) */
	int pty_peer;             /* PID 1: the pty's peer, for the workload */

	int userns_sock[2];       /* --userns socketpair: [0] the outer stage's end (writes the maps), [1] PID 1's */
	int proc_fd;              /* the host's /proc (O_PATH), opened by the outer stage before unshare */

	int idmap_fd;             /* --idmap: the mapping's user namespace, made by the outer stage */
	int layers_userns_fd;     /* --userns with --layer: a namespace with the same mapping, for the
	                           * layers' ID-mapped clones (rootfs.c) */

	/* landlock.c: the sandbox shares the caller's (host's) network namespace, so PID 1 scopes
	 * abstract unix sockets and signals to the sandbox. */
	bool landlock_scope;

	bool handed_over;         /* monitor.c: the supervisor handed the sandbox over to the stage */
	int oom_fd;               /* monitor.c: the OOM notification (v1 eventfd, v2 inotify); -1: none */
	pid_t oom_child;          /* monitor.c: the --oom-command running, 0: none */
	int host_ns_fds[6];       /* monitor.c: the host's mnt, pid, net, uts, ipc, time namespaces (--monitor-fd) */
};

/* One sandbox's stage: its options and what was opened for them. */
struct config {
	struct options opt;
	struct runtime rt;
};

/* clone.c */
pid_t fork_into_cgroup(int cgroup_fd, const char *cgroup_dir, bool *inside);

/* options.c */
void parse_options(int argc, char **argv, struct options *opts);

/* fail.c */
void die(const char *what, const char *call, const char *argfmt, ...) __attribute__((noreturn, format(printf, 3, 4)));
void die_msg(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
int exit_code_of(int wait_status);
int exit_code_if_ended(pid_t child);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* pid1.c */
__attribute__((noreturn)) void pid1_main(struct config *cfg);

/* mounts.c */
void clone_bind_sources(struct config *cfg);
void make_root_readonly(void);
void mount_proc(bool host_root);
void mount_sys(void);
void mount_dev(void);
void mount_tmp(void);
void attach_bind_sources(struct config *cfg);
void bind_views(struct config *cfg);
void mount_cgroupfs(const struct options *opts);

/* rootfs.c */
void enter_rootfs(struct config *cfg);
void attach_host_sys(struct config *cfg);
void detach_old_root(void);
void seal_rootfs(void);

/* caps.c */
extern const unsigned long long default_capabilities; /* docker's set minus CAP_MKNOD, CAP_SETFCAP */
void drop_capabilities(unsigned long long keep);
void switch_user(const struct options *opts);

/* seccomp.c */
void install_seccomp(unsigned long long caps);
void lock_down(const char *step, const struct options *opts);

/* confine.c */
void mask_paths(void);
void detach_below(const char *what, const char *dir);
void hide_dir(const char *dir);
void set_oom_score_adj(int value);

/* netns.c */
void loopback_up(void);
void join_netns(pid_t pid);
void set_hostname(const char *name);

/* pty.c */
void pty_channel(struct config *cfg);
int pty_open_pair(struct config *cfg);
void pty_open(struct config *cfg);
void pty_attach(const struct config *cfg);
int pty_relay(struct config *cfg, pid_t pid1, const sigset_t *set);
int pty_relay_master(int master, pid_t child, const sigset_t *set);

/* userns.c */
void userns_channel(struct config *cfg);
void userns_map(struct config *cfg, pid_t pid1);
void userns_enter(struct config *cfg);
int userns_of(pid_t pid);
void userns_join(int ns_fd, pid_t supervisor);
void userns_chdir(const char *what, const char *dir);
void exec_search(char **argv);

/* idmap.c */
int idmap_userns(unsigned disk_uid, unsigned disk_gid, unsigned host_uid, unsigned host_gid, unsigned count);
void idmap_tree(const char *what, int tree_fd, const char *path, int userns_fd);
void idmap_bind(const char *what, int tree_fd, const char *path, const struct config *cfg);
__attribute__((noreturn)) void idmap_probe(const char *dir);

/* netns.c (continued) */
void open_unprivileged_net(void);

/* landlock.c */
int landlock_abi(void);
ino_t netns_inode(void);
bool same_netns(ino_t before);
void landlock_scope(void);

/* exec.c */
__attribute__((noreturn)) void exec_main(struct config *cfg);

/* stdio.c */
void stdio_pipes(int pipes[3][2]);
void stdio_attach(int pipes[3][2]);
int stdio_relay(int pipes[3][2], pid_t child, const sigset_t *set);

/* tty.c */
void tty_take_foreground(void);
void tty_restore_foreground(void);

/* monitor.c */
void monitor_open_host(struct config *cfg);
void monitor_watch_oom(struct config *cfg);
int monitor_relay(struct config *cfg, pid_t pid1, const sigset_t *set);
__attribute__((noreturn)) void monitor_exit(struct config *cfg, int code, const sigset_t *set);

/* sysinfo.c */
void sysinfo_listen(int proc);
int sysinfo_fd(void);
void sysinfo_answer(void);

#endif
