/*
 * The command-line contract between the Node supervisor (supervisor/stage.ts) and the stage:
 *
 *   sandbox-stage [options] -- CMD [ARGS...]
 *
 *   --supervisor-pid N     the stage's parent must be N, else exit 125 (the supervisor died already)
 *   --sync-fd N            PID 1 reads one byte from fd N (the views are mounted) before binding them;
 *                          EOF or error => exit 125. Never inherited by the workload.
 *   --cgroup-procs FILE    (repeatable) cgroup.procs of the sandbox's cgroup, one per hierarchy; PID 1
 *                          writes "0" to each right before forking the workload
 *   --cgroup-v1 DIR:OPTS   (repeatable) mount hierarchy OPTS read-only on /sys/fs/cgroup/DIR inside
 *   --cgroup-v2            mount cgroup2 read-only on /sys/fs/cgroup inside
 *   --hostname NAME        host name in the new UTS namespace
 *   --net none|host        none: a new network namespace with lo up (default: host)
 *   --net-join PID         join the network namespace of PID (another sandbox's PID 1) instead of
 *                          making one: setns(2) by pidfd before the other namespaces are unshared;
 *                          /sys is then a fresh sysfs of that namespace, as with --net none
 *   --no-timens            no time namespace (default: one whose boot time is the sandbox's start)
 *   --bind-view SRC:DST    (repeatable) after the sync byte, bind file SRC (on the supervisor's FUSE
 *                          mount) read-only over DST
 *   --rw DIR               (repeatable) DIR stays writable (bound onto itself); never "/"
 *   --chdir DIR            the workload's working directory (default: the stage's)
 *   --volume SRC:DST[:ro]  (repeatable) bind SRC on DST, read-only with :ro (":rw" is accepted too)
 *   --detach-views DIR     once PID 1 has exited, the outer stage detaches the supervisor's FUSE mount
 *                          on host dir DIR (what `fusermount -uz` does), so the supervisor's teardown
 *                          needs no exec; failures are ignored (the supervisor unmounts what is left)
 *   --hide DIR             detach the mounts under host dir DIR and cover it with an empty tmpfs (repeatable)
 *                          (the supervisor's state root: other sandboxes' views and state)
 *   --oom-score-adj N      oom_score_adj of the sandbox, -1000..1000 (the supervisor lowers its own)
 *   --user UID:GID         run the command (workload or exec) as UID and GID, without supplementary
 *                          groups; its capabilities are then cleared by the kernel at setuid
 *   --tmpfs DST[:BYTES]   (repeatable) a private tmpfs on DST (created if missing), nosuid, nodev,
 *                          mode 1777, BYTES big (default: the kernel's, half of RAM); tmpfs mounts
 *                          and volumes are attached parents first (by the depth of their paths)
 *   --layer DIR           (repeatable, lowest first) the root is an overlay of these layers with a
 *                          writable upper layer, entered with pivot_root (rootfs.c); needs --root-at
 *   --layer-host-ids DIR  (repeatable, in --layer's order) a layer whose files already hold the
 *                          --userns range's host ids (a --keep upper of such a sandbox): not
 *                          ID-mapped (rootfs.c map_layers)
 *   --root-at DIR          an empty host directory where PID 1 assembles the new root
 *   --upper DIR            upper and work dirs of the overlay are DIR/upper and DIR/work (they must
 *                          exist); default: a tmpfs that vanishes with the sandbox. Either way PID 1
 *                          holds the upper dir open on fd UPPER_FD (99, stage.h) for `sandbox commit`
 *   --read-only            with --layer: the root is made read-only once its mount points exist
 *   --tty                  the workload gets a new pty of the sandbox's devpts as its controlling
 *                          terminal and stdio; the stage relays it to its own stdin/stdout (pty.c)
 *   --caps MASK            the capabilities the sandbox keeps, 0x and 1-16 hex digits (bit N =
 *                          capability N, capabilities(7)); default: docker's set minus CAP_MKNOD (caps.c).
 *                          Also lifts the seccomp denials docker ties to these capabilities (seccomp.c)
 *   --seccomp MODE         default: the syscall filter (seccomp.c); unconfined: none
 *   --exec-helper          no sandbox: close every inherited descriptor above 2, tie to the supervisor
 *                          (PR_SET_PDEATHSIG), exec CMD (--net private's pasta, see stage.c); only
 *                          --supervisor-pid applies
 *   --userns UID:GID:COUNT PID 1 enters a new user namespace after all mounts (userns.c); ids 0..COUNT-1
 *                          inside are UID.. and GID.. outside; --user ids are then ids inside
 *   --idmap UID:GID        (with --userns) the --rw dirs and writable volumes are ID-mapped mounts where
 *                          on-disk UID:GID is the workload's host uid and gid (idmap.c); never 0
 *   --probe-idmap DIR      no sandbox: try an ID-mapped clone of DIR under a new user namespace, print
 *                          "ok" (exit 0) or the failing call (exit 125); for `sandbox doctor`
 *   --exec-into PID        `sandbox exec` mode (exec.c): no new sandbox; join the --cgroup-procs
 *                          files, enter every namespace of PID (a sandbox's PID 1), run CMD there in
 *                          --chdir (default /), entering PID's user namespace last if it has its own;
 *                          only --supervisor-pid, --cgroup-procs, --chdir, --user, --tty, --caps and
 *                          --seccomp apply
 *
 * Pairs are split at the first ':'. The environment is passed to the workload unchanged.
 * An unknown option => `sandbox: stage: unknown option "X"`, exit 125.
 */
#include "stage.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse a non-negative decimal int strictly (no sign, no trailing junk), or die naming the option. */
static int parse_int(const char *opt, const char *value)
{
	char *end = NULL;
	long n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 || n > INT_MAX)
		die_msg("invalid value for %s: \"%s\"", opt, value);
	return (int)n;
}

/* Parse an oom_score_adj value: a decimal in [-1000, 1000] (proc(5)), or die. */
static int parse_oom_score_adj(const char *value)
{
	char *end = NULL;
	long n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (value[0] == '\0' || *end != '\0' || errno != 0 || n < -1000 || n > 1000)
		die_msg("invalid value for --oom-score-adj: \"%s\" (-1000 to 1000)", value);
	return (int)n;
}

/* Parse a --caps mask: "0x" and 1 to 16 hex digits, nothing else, or die. */
static unsigned long long parse_caps(const char *value)
{
	size_t len = strlen(value);
	char *end = NULL;
	unsigned long long mask;

	if (len < 3 || len > 18 || value[0] != '0' || value[1] != 'x' || strspn(value + 2, "0123456789abcdefABCDEF") != len - 2)
		die_msg("invalid value for --caps: \"%s\" (0x and 1 to 16 hex digits)", value);
	errno = 0;
	mask = strtoull(value + 2, &end, 16);
	if (errno != 0 || *end != '\0')
		die_msg("invalid value for --caps: \"%s\" (0x and 1 to 16 hex digits)", value);
	return mask;
}

/* Split "A:B" at the first ':' into a pair (copies: argv itself is what `ps` shows, keep it intact). */
static struct pair split_pair(const char *opt, const char *value, size_t len)
{
	const char *colon = memchr(value, ':', len);
	struct pair p = { .ro = false, .tree_fd = -1 };

	if (colon == NULL || colon == value || colon == value + len - 1)
		die_msg("invalid value for %s: \"%s\" (expected A:B)", opt, value);
	p.src = strndup(value, (size_t)(colon - value));
	p.dst = strndup(colon + 1, len - (size_t)(colon - value) - 1);
	if (p.src == NULL || p.dst == NULL)
		die(opt, "strndup", "%s", value);
	return p;
}

/* Split a --volume value, "SRC:DST[:ro|:rw]". */
static struct pair split_volume(const char *value)
{
	size_t len = strlen(value);
	bool ro = false;
	struct pair p;

	if (len > 3 && (strcmp(value + len - 3, ":ro") == 0 || strcmp(value + len - 3, ":rw") == 0)) {
		ro = value[len - 1] == 'o';
		len -= 3;
	}
	p = split_pair("--volume", value, len);
	p.ro = ro;
	if (p.dst[0] != '/' || strcmp(p.dst, "/") == 0)
		die_msg("invalid value for --volume: \"%s\" (the target must be an absolute path other than /)", p.dst);
	return p;
}

/* Parse a --tmpfs value, "DST[:BYTES]". */
static struct tmpfs_mount parse_tmpfs(const char *value)
{
	const char *colon = strrchr(value, ':');
	struct tmpfs_mount t = { .path = value, .size = 0 };

	if (colon != NULL) {
		char *end = NULL;

		errno = 0;
		t.size = strtoull(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || t.size == 0)
			die_msg("invalid value for --tmpfs: \"%s\" (expected DST[:BYTES])", value);
		t.path = strndup(value, (size_t)(colon - value));
		if (t.path == NULL)
			die("--tmpfs", "strndup", "%s", value);
	}
	if (t.path[0] != '/' || strcmp(t.path, "/") == 0)
		die_msg("invalid value for --tmpfs: \"%s\" (the target must be an absolute path other than /)", value);
	return t;
}

/* Parse a --userns value, "UID:GID:COUNT": COUNT >= 1 and neither range may wrap around or include
 * the host's root (uid/gid 0 outside would make root inside root outside). */
static void parse_userns(const char *value, struct config *cfg)
{
	unsigned long long uid, gid, count;
	int used = 0;

	if (sscanf(value, "%llu:%llu:%llu%n", &uid, &gid, &count, &used) != 3 || value[used] != '\0' ||
	    value[0] < '0' || value[0] > '9' || uid == 0 || gid == 0 || count == 0 ||
	    uid + count > 0xFFFFFFFFULL || gid + count > 0xFFFFFFFFULL)
		die_msg("invalid value for --userns: \"%s\" (expected UID:GID:COUNT, an unprivileged range)", value);
	cfg->userns = true;
	cfg->userns_uid = (unsigned)uid;
	cfg->userns_gid = (unsigned)gid;
	cfg->userns_count = (unsigned)count;
}

/* Parse an --idmap value, "UID:GID": on-disk ids, neither of them 0 (host root must never be what
 * the workload's files belong to: issue 19, finding 4). */
static void parse_idmap(const char *value, struct config *cfg)
{
	unsigned long long uid, gid;
	int used = 0;

	if (sscanf(value, "%llu:%llu%n", &uid, &gid, &used) != 2 || value[used] != '\0' || value[0] < '0' ||
	    value[0] > '9' || uid == 0 || gid == 0 || uid >= 0xFFFFFFFFULL || gid >= 0xFFFFFFFFULL)
		die_msg("invalid value for --idmap: \"%s\" (expected UID:GID, neither 0)", value);
	cfg->idmap = true;
	cfg->idmap_uid = (unsigned)uid;
	cfg->idmap_gid = (unsigned)gid;
}

/* Fill cfg from argv; every option takes exactly one value except --cgroup-v2, --no-timens, --read-only, --tty and --exec-helper. */
void parse_options(int argc, char **argv, struct config *cfg)
{
	size_t cap = (size_t)argc + 1;
	int i;

	memset(cfg, 0, sizeof *cfg);
	cfg->sync_fd = -1;
	cfg->timens = true;
	cfg->host_mnt_fd = -1;
	cfg->parent_pidfd = -1;
	cfg->cgroup_dir_fd = -1;
	cfg->sys_fd = -1;
	cfg->caps = default_capabilities;
	cfg->pty_sock[0] = cfg->pty_sock[1] = cfg->pty_peer = -1;
	cfg->userns_sock[0] = cfg->userns_sock[1] = cfg->proc_fd = -1;
	cfg->idmap_fd = cfg->layers_userns_fd = -1;
	/* Each list can hold at most argc entries: allocate that much once, no growing. */
	cfg->cgroup_procs = calloc(cap, sizeof *cfg->cgroup_procs);
	cfg->cgroup_v1 = calloc(cap, sizeof *cfg->cgroup_v1);
	cfg->views = calloc(cap, sizeof *cfg->views);
	cfg->rw = calloc(cap, sizeof *cfg->rw);
	cfg->volumes = calloc(cap, sizeof *cfg->volumes);
	cfg->procs_fds = calloc(cap, sizeof *cfg->procs_fds);
	cfg->tmpfs = calloc(cap, sizeof *cfg->tmpfs);
	cfg->layers = calloc(cap, sizeof *cfg->layers);
	cfg->layer_host_ids = calloc(cap, sizeof *cfg->layer_host_ids);
	cfg->hides = calloc(cap, sizeof *cfg->hides);
	if (!cfg->cgroup_procs || !cfg->cgroup_v1 || !cfg->views || !cfg->rw || !cfg->volumes || !cfg->procs_fds ||
	    !cfg->tmpfs || !cfg->layers || !cfg->layer_host_ids || !cfg->hides)
		die("options", "calloc", "%zu", cap);

	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char *value;

		if (strcmp(opt, "--") == 0) {
			if (i + 1 >= argc)
				die_msg("no command after \"--\"");
			if (cfg->n_layers > 0 && cfg->root_at == NULL)
				die_msg("--layer needs --root-at");
			if (cfg->userns && cfg->has_user && (cfg->uid >= cfg->userns_count || cfg->gid >= cfg->userns_count))
				die_msg("invalid value for --user: \"%u:%u\" (not mapped by --userns: below %u)",
					(unsigned)cfg->uid, (unsigned)cfg->gid, cfg->userns_count);
			if (cfg->idmap && !cfg->userns)
				die_msg("--idmap needs --userns");
			cfg->argv = &argv[i + 1];
			return;
		}
		if (strcmp(opt, "--cgroup-v2") == 0) {
			cfg->cgroup_v2 = true;
			continue;
		}
		if (strcmp(opt, "--no-timens") == 0) {
			cfg->timens = false;
			continue;
		}
		if (strcmp(opt, "--read-only") == 0) {
			cfg->read_only = true;
			continue;
		}
		if (strcmp(opt, "--tty") == 0) {
			cfg->tty = true;
			continue;
		}
		if (strcmp(opt, "--exec-helper") == 0) {
			cfg->exec_helper = true;
			continue;
		}
		if (strcmp(opt, "--supervisor-pid") && strcmp(opt, "--sync-fd") && strcmp(opt, "--cgroup-procs") &&
		    strcmp(opt, "--cgroup-v1") && strcmp(opt, "--hostname") && strcmp(opt, "--net") &&
		    strcmp(opt, "--bind-view") && strcmp(opt, "--rw") && strcmp(opt, "--chdir") &&
		    strcmp(opt, "--volume") && strcmp(opt, "--hide") && strcmp(opt, "--detach-views") && strcmp(opt, "--oom-score-adj") &&
		    strcmp(opt, "--exec-into") && strcmp(opt, "--user") && strcmp(opt, "--tmpfs") &&
		    strcmp(opt, "--layer") && strcmp(opt, "--layer-host-ids") && strcmp(opt, "--root-at") && strcmp(opt, "--upper") &&
		    strcmp(opt, "--caps") && strcmp(opt, "--seccomp") && strcmp(opt, "--net-join") &&
		    strcmp(opt, "--userns") && strcmp(opt, "--idmap") && strcmp(opt, "--probe-idmap"))
			die_msg("unknown option \"%s\"", opt);
		if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0)
			die_msg("unknown option \"%s\" (missing value)", opt);
		value = argv[++i];

		if (strcmp(opt, "--supervisor-pid") == 0) {
			cfg->supervisor_pid = parse_int(opt, value);
		} else if (strcmp(opt, "--sync-fd") == 0) {
			cfg->sync_fd = parse_int(opt, value);
		} else if (strcmp(opt, "--user") == 0) {
			struct pair p = split_pair(opt, value, strlen(value));
			cfg->uid = (uid_t)parse_int(opt, p.src);
			cfg->gid = (gid_t)parse_int(opt, p.dst);
			cfg->has_user = true;
		} else if (strcmp(opt, "--caps") == 0) {
			cfg->caps = parse_caps(value);
		} else if (strcmp(opt, "--seccomp") == 0) {
			if (strcmp(value, "default") != 0 && strcmp(value, "unconfined") != 0)
				die_msg("invalid value for --seccomp: \"%s\" (default or unconfined)", value);
			cfg->seccomp_unconfined = strcmp(value, "unconfined") == 0;
		} else if (strcmp(opt, "--userns") == 0) {
			parse_userns(value, cfg);
		} else if (strcmp(opt, "--idmap") == 0) {
			parse_idmap(value, cfg);
		} else if (strcmp(opt, "--probe-idmap") == 0) {
			if (value[0] != '/')
				die_msg("invalid value for --probe-idmap: \"%s\" (an absolute path)", value);
			cfg->probe_idmap = value;
		} else if (strcmp(opt, "--exec-into") == 0) {
			cfg->exec_into = parse_int(opt, value);
			if (cfg->exec_into == 0)
				die_msg("invalid value for --exec-into: \"%s\" (a pid)", value);
		} else if (strcmp(opt, "--cgroup-procs") == 0) {
			cfg->cgroup_procs[cfg->n_cgroup_procs++] = value;
		} else if (strcmp(opt, "--cgroup-v1") == 0) {
			cfg->cgroup_v1[cfg->n_cgroup_v1] = split_pair(opt, value, strlen(value));
			if (strchr(cfg->cgroup_v1[cfg->n_cgroup_v1].src, '/') != NULL)
				die_msg("invalid value for --cgroup-v1: \"%s\" (DIR is one path component)",
					cfg->cgroup_v1[cfg->n_cgroup_v1].src);
			cfg->n_cgroup_v1++;
		} else if (strcmp(opt, "--hostname") == 0) {
			cfg->hostname = value;
		} else if (strcmp(opt, "--net") == 0) {
			if (strcmp(value, "none") != 0 && strcmp(value, "host") != 0)
				die_msg("invalid value for --net: \"%s\" (none or host)", value);
			cfg->net_none = strcmp(value, "none") == 0;
		} else if (strcmp(opt, "--net-join") == 0) {
			cfg->net_join = parse_int(opt, value);
			if (cfg->net_join == 0)
				die_msg("invalid value for --net-join: \"%s\" (a pid)", value);
			cfg->net_none = true; /* not the host's network: fresh /sys, lo up (already, harmless) */
		} else if (strcmp(opt, "--bind-view") == 0) {
			cfg->views[cfg->n_views++] = split_pair(opt, value, strlen(value));
		} else if (strcmp(opt, "--rw") == 0) {
			if (value[0] != '/' || strcmp(value, "/") == 0)
				die_msg("invalid value for --rw: \"%s\" (an absolute path other than /)", value);
			cfg->rw[cfg->n_rw++] = (struct pair){ .src = value, .dst = value, .tree_fd = -1 };
		} else if (strcmp(opt, "--tmpfs") == 0) {
			cfg->tmpfs[cfg->n_tmpfs++] = parse_tmpfs(value);
		} else if (strcmp(opt, "--layer") == 0 || strcmp(opt, "--layer-host-ids") == 0 || strcmp(opt, "--root-at") == 0 ||
			   strcmp(opt, "--upper") == 0) {
			/* Paths of the overlay's options: ',' and ':' separate them (overlayfs.rst). */
			if (value[0] != '/' || strpbrk(value, ",:\\") != NULL)
				die_msg("invalid value for %s: \"%s\" (an absolute path without ',', ':' or '\\')", opt, value);
			if (opt[2] == 'l') {
				cfg->layer_host_ids[cfg->n_layers] = strcmp(opt, "--layer-host-ids") == 0;
				cfg->layers[cfg->n_layers++] = value;
			}
			else if (opt[2] == 'r')
				cfg->root_at = value;
			else
				cfg->upper = value;
		} else if (strcmp(opt, "--chdir") == 0) {
			cfg->chdir = value;
		} else if (strcmp(opt, "--detach-views") == 0) {
			if (value[0] != '/' || strcmp(value, "/") == 0)
				die_msg("invalid value for --detach-views: \"%s\" (an absolute path other than /)", value);
			cfg->detach_views = value;
		} else if (strcmp(opt, "--hide") == 0) {
			if (value[0] != '/' || strcmp(value, "/") == 0)
				die_msg("invalid value for --hide: \"%s\" (an absolute path other than /)", value);
			cfg->hides[cfg->n_hides++] = value;
		} else if (strcmp(opt, "--oom-score-adj") == 0) {
			cfg->oom_score_adj = parse_oom_score_adj(value);
			cfg->set_oom_score_adj = true;
		} else {
			cfg->volumes[cfg->n_volumes++] = split_volume(value);
		}
	}
	if (cfg->probe_idmap != NULL)
		return; /* the one mode without a command */
	die_msg("no command: expected \"-- CMD [ARGS...]\"");
}
