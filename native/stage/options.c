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
 *   --monitor-fd N         the handover channel of a detached sandbox (monitor.c): after the line
 *                          "h[MS]" the stage no longer dies with the supervisor, arms the timeout
 *                          (MS), answers "a", and once PID 1 has exited writes its code to
 *                          --exit-file and executes --exit-command in the host's namespaces
 *   --exit-file PATH       (with --monitor-fd) absolute path of the exit file, "CODE\n"
 *   --exit-command ARG     (repeatable, with --monitor-fd) the teardown command, an absolute path
 *                          then its arguments, run with only PATH in its environment
 *   --oom-command ARG      (repeatable, with --monitor-fd) run after the handover on each OOM
 *                          notification of the memory cgroup, one at a time, as --exit-command
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
 * An unknown option => `sandbox: stage: unknown option "X"`, exit 125; so is every bad value, in
 * one line naming the option and the value. Each option is a row of the table `options` below.
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

/* Parse a pid of another process: parse_int, and never 0. */
static pid_t parse_pid(const char *opt, const char *value)
{
	pid_t pid = parse_int(opt, value);

	if (pid == 0)
		die_msg("invalid value for %s: \"%s\" (a pid)", opt, value);
	return pid;
}

/* Which of two words value is: 0 for the first, 1 for the second; or die listing both. */
static int parse_choice(const char *opt, const char *value, const char *first, const char *second)
{
	if (strcmp(value, first) != 0 && strcmp(value, second) != 0)
		die_msg("invalid value for %s: \"%s\" (%s or %s)", opt, value, first, second);
	return strcmp(value, second) == 0;
}

/* A host directory the stage covers or detaches: absolute, and never the root itself. */
static const char *parse_dir_not_root(const char *opt, const char *value)
{
	if (value[0] != '/' || strcmp(value, "/") == 0)
		die_msg("invalid value for %s: \"%s\" (an absolute path other than /)", opt, value);
	return value;
}

/* A path that goes into the overlay's mount options, where ',' and ':' separate (overlayfs.rst). */
static const char *parse_overlay_path(const char *opt, const char *value)
{
	if (value[0] != '/' || strpbrk(value, ",:\\") != NULL)
		die_msg("invalid value for %s: \"%s\" (an absolute path without ',', ':' or '\\')", opt, value);
	return value;
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

/* --userns UID:GID:COUNT: COUNT >= 1 and neither range may wrap around or include the host's root
 * (uid/gid 0 outside would make root inside root outside). */
static void opt_userns(struct options *opts, const char *opt, const char *value)
{
	unsigned long long uid, gid, count;
	int used = 0;

	(void)opt;
	if (sscanf(value, "%llu:%llu:%llu%n", &uid, &gid, &count, &used) != 3 || value[used] != '\0' ||
	    value[0] < '0' || value[0] > '9' || uid == 0 || gid == 0 || count == 0 ||
	    uid + count > 0xFFFFFFFFULL || gid + count > 0xFFFFFFFFULL)
		die_msg("invalid value for --userns: \"%s\" (expected UID:GID:COUNT, an unprivileged range)", value);
	opts->userns = true;
	opts->userns_uid = (unsigned)uid;
	opts->userns_gid = (unsigned)gid;
	opts->userns_count = (unsigned)count;
}

/* --idmap UID:GID: on-disk ids, neither of them 0 (host root must never be what the workload's
 * files belong to: issue 19, finding 4). */
static void opt_idmap(struct options *opts, const char *opt, const char *value)
{
	unsigned long long uid, gid;
	int used = 0;

	(void)opt;
	if (sscanf(value, "%llu:%llu%n", &uid, &gid, &used) != 2 || value[used] != '\0' || value[0] < '0' ||
	    value[0] > '9' || uid == 0 || gid == 0 || uid >= 0xFFFFFFFFULL || gid >= 0xFFFFFFFFULL)
		die_msg("invalid value for --idmap: \"%s\" (expected UID:GID, neither 0)", value);
	opts->idmap = true;
	opts->idmap_uid = (unsigned)uid;
	opts->idmap_gid = (unsigned)gid;
}

/* The options without a value. */
static void opt_cgroup_v2(struct options *opts, const char *opt, const char *value)
{
	(void)opt, (void)value;
	opts->cgroup_v2 = true;
}

static void opt_no_timens(struct options *opts, const char *opt, const char *value)
{
	(void)opt, (void)value;
	opts->timens = false;
}

static void opt_read_only(struct options *opts, const char *opt, const char *value)
{
	(void)opt, (void)value;
	opts->read_only = true;
}

static void opt_tty(struct options *opts, const char *opt, const char *value)
{
	(void)opt, (void)value;
	opts->tty = true;
}

static void opt_exec_helper(struct options *opts, const char *opt, const char *value)
{
	(void)opt, (void)value;
	opts->exec_helper = true;
}

/* The process the stage belongs to, and the modes without a sandbox of their own. */
static void opt_supervisor_pid(struct options *opts, const char *opt, const char *value)
{
	opts->supervisor_pid = parse_int(opt, value);
}

static void opt_sync_fd(struct options *opts, const char *opt, const char *value)
{
	opts->sync_fd = parse_int(opt, value);
}

static void opt_monitor_fd(struct options *opts, const char *opt, const char *value)
{
	opts->monitor_fd = parse_int(opt, value);
	if (opts->monitor_fd < 3)
		die_msg("invalid value for %s: \"%s\" (a descriptor above 2)", opt, value);
}

static void opt_exit_file(struct options *opts, const char *opt, const char *value)
{
	if (value[0] != '/')
		die_msg("invalid value for %s: \"%s\" (an absolute path)", opt, value);
	opts->exit_file = value;
}

static void opt_exit_command(struct options *opts, const char *opt, const char *value)
{
	if (opts->n_exit_command == 0 && value[0] != '/')
		die_msg("invalid value for %s: \"%s\" (the program's absolute path first)", opt, value);
	opts->exit_command[opts->n_exit_command++] = value;
}

static void opt_oom_command(struct options *opts, const char *opt, const char *value)
{
	if (opts->n_oom_command == 0 && value[0] != '/')
		die_msg("invalid value for %s: \"%s\" (the program's absolute path first)", opt, value);
	opts->oom_command[opts->n_oom_command++] = value;
}

static void opt_exec_into(struct options *opts, const char *opt, const char *value)
{
	opts->exec_into = parse_pid(opt, value);
}

static void opt_probe_idmap(struct options *opts, const char *opt, const char *value)
{
	(void)opt;
	if (value[0] != '/')
		die_msg("invalid value for --probe-idmap: \"%s\" (an absolute path)", value);
	opts->probe_idmap = value;
}

/* Who the workload runs as, and under which restrictions. */
static void opt_user(struct options *opts, const char *opt, const char *value)
{
	struct pair p = split_pair(opt, value, strlen(value));

	opts->uid = (uid_t)parse_int(opt, p.src);
	opts->gid = (gid_t)parse_int(opt, p.dst);
	opts->has_user = true;
}

static void opt_caps(struct options *opts, const char *opt, const char *value)
{
	(void)opt;
	opts->caps = parse_caps(value);
}

static void opt_seccomp(struct options *opts, const char *opt, const char *value)
{
	opts->seccomp_unconfined = parse_choice(opt, value, "default", "unconfined") == 1;
}

static void opt_oom_score_adj(struct options *opts, const char *opt, const char *value)
{
	(void)opt;
	opts->oom_score_adj = parse_oom_score_adj(value);
	opts->set_oom_score_adj = true;
}

/* Cgroups. */
static void opt_cgroup_procs(struct options *opts, const char *opt, const char *value)
{
	(void)opt;
	opts->cgroup_procs[opts->n_cgroup_procs++] = value;
}

static void opt_cgroup_v1(struct options *opts, const char *opt, const char *value)
{
	struct pair p = split_pair(opt, value, strlen(value));

	if (strchr(p.src, '/') != NULL)
		die_msg("invalid value for --cgroup-v1: \"%s\" (DIR is one path component)", p.src);
	opts->cgroup_v1[opts->n_cgroup_v1++] = p;
}

/* Names and network. */
static void opt_hostname(struct options *opts, const char *opt, const char *value)
{
	(void)opt;
	opts->hostname = value;
}

static void opt_net(struct options *opts, const char *opt, const char *value)
{
	opts->net_none = parse_choice(opt, value, "none", "host") == 0;
}

static void opt_net_join(struct options *opts, const char *opt, const char *value)
{
	opts->net_join = parse_pid(opt, value);
	opts->net_none = true; /* not the host's network: fresh /sys, lo up (already, harmless) */
}

/* The file system: binds, views, tmpfs mounts, the working directory. */
static void opt_bind_view(struct options *opts, const char *opt, const char *value)
{
	opts->views[opts->n_views++] = split_pair(opt, value, strlen(value));
}

static void opt_rw(struct options *opts, const char *opt, const char *value)
{
	parse_dir_not_root(opt, value);
	opts->rw[opts->n_rw++] = (struct pair){ .src = value, .dst = value, .tree_fd = -1 };
}

static void opt_volume(struct options *opts, const char *opt, const char *value)
{
	(void)opt;
	opts->volumes[opts->n_volumes++] = split_volume(value);
}

static void opt_tmpfs(struct options *opts, const char *opt, const char *value)
{
	(void)opt;
	opts->tmpfs[opts->n_tmpfs++] = parse_tmpfs(value);
}

static void opt_chdir(struct options *opts, const char *opt, const char *value)
{
	(void)opt;
	opts->chdir = value;
}

static void opt_detach_views(struct options *opts, const char *opt, const char *value)
{
	opts->detach_views = parse_dir_not_root(opt, value);
}

static void opt_hide(struct options *opts, const char *opt, const char *value)
{
	opts->hides[opts->n_hides++] = parse_dir_not_root(opt, value);
}

/* A root of its own (rootfs.c). */
static void opt_layer(struct options *opts, const char *opt, const char *value)
{
	opts->layer_host_ids[opts->n_layers] = false;
	opts->layers[opts->n_layers++] = parse_overlay_path(opt, value);
}

static void opt_layer_host_ids(struct options *opts, const char *opt, const char *value)
{
	opts->layer_host_ids[opts->n_layers] = true;
	opts->layers[opts->n_layers++] = parse_overlay_path(opt, value);
}

static void opt_root_at(struct options *opts, const char *opt, const char *value)
{
	opts->root_at = parse_overlay_path(opt, value);
}

static void opt_upper(struct options *opts, const char *opt, const char *value)
{
	opts->upper = parse_overlay_path(opt, value);
}

/* One option of the contract: its name, whether a value follows it, what it sets. */
struct option_spec {
	const char *name;
	bool takes_value;
	void (*apply)(struct options *opts, const char *opt, const char *value); /* value: NULL without one */
};

static const struct option_spec options[] = {
	{ "--cgroup-v2", false, opt_cgroup_v2 },
	{ "--no-timens", false, opt_no_timens },
	{ "--read-only", false, opt_read_only },
	{ "--tty", false, opt_tty },
	{ "--exec-helper", false, opt_exec_helper },
	{ "--supervisor-pid", true, opt_supervisor_pid },
	{ "--sync-fd", true, opt_sync_fd },
	{ "--monitor-fd", true, opt_monitor_fd },
	{ "--exit-file", true, opt_exit_file },
	{ "--exit-command", true, opt_exit_command },
	{ "--oom-command", true, opt_oom_command },
	{ "--exec-into", true, opt_exec_into },
	{ "--probe-idmap", true, opt_probe_idmap },
	{ "--user", true, opt_user },
	{ "--caps", true, opt_caps },
	{ "--seccomp", true, opt_seccomp },
	{ "--oom-score-adj", true, opt_oom_score_adj },
	{ "--userns", true, opt_userns },
	{ "--idmap", true, opt_idmap },
	{ "--cgroup-procs", true, opt_cgroup_procs },
	{ "--cgroup-v1", true, opt_cgroup_v1 },
	{ "--hostname", true, opt_hostname },
	{ "--net", true, opt_net },
	{ "--net-join", true, opt_net_join },
	{ "--bind-view", true, opt_bind_view },
	{ "--rw", true, opt_rw },
	{ "--volume", true, opt_volume },
	{ "--tmpfs", true, opt_tmpfs },
	{ "--chdir", true, opt_chdir },
	{ "--detach-views", true, opt_detach_views },
	{ "--hide", true, opt_hide },
	{ "--layer", true, opt_layer },
	{ "--layer-host-ids", true, opt_layer_host_ids },
	{ "--root-at", true, opt_root_at },
	{ "--upper", true, opt_upper },
};

/* The row of the table named opt, or NULL. */
static const struct option_spec *find_option(const char *opt)
{
	for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
		if (strcmp(options[i].name, opt) == 0)
			return &options[i];
	return NULL;
}

/* Defaults, and room for every list: each can hold at most argc entries, allocated once. */
static void init_options(struct options *opts, size_t cap)
{
	memset(opts, 0, sizeof *opts);
	opts->sync_fd = -1;
	opts->monitor_fd = -1;
	opts->timens = true;
	opts->caps = default_capabilities;
	opts->cgroup_procs = calloc(cap, sizeof *opts->cgroup_procs);
	opts->cgroup_v1 = calloc(cap, sizeof *opts->cgroup_v1);
	opts->views = calloc(cap, sizeof *opts->views);
	opts->rw = calloc(cap, sizeof *opts->rw);
	opts->volumes = calloc(cap, sizeof *opts->volumes);
	opts->tmpfs = calloc(cap, sizeof *opts->tmpfs);
	opts->layers = calloc(cap, sizeof *opts->layers);
	opts->layer_host_ids = calloc(cap, sizeof *opts->layer_host_ids);
	opts->hides = calloc(cap, sizeof *opts->hides);
	opts->exit_command = calloc(cap, sizeof *opts->exit_command);
	opts->oom_command = calloc(cap, sizeof *opts->oom_command);
	if (!opts->exit_command || !opts->oom_command || !opts->cgroup_procs || !opts->cgroup_v1 || !opts->views || !opts->rw || !opts->volumes || !opts->tmpfs ||
	    !opts->layers || !opts->layer_host_ids || !opts->hides)
		die("options", "calloc", "%zu", cap);
}

/* What only the whole command line can tell, checked once "--" is reached. */
static void check_combinations(const struct options *opts)
{
	if (opts->n_layers > 0 && opts->root_at == NULL)
		die_msg("--layer needs --root-at");
	if (opts->userns && opts->has_user && (opts->uid >= opts->userns_count || opts->gid >= opts->userns_count))
		die_msg("invalid value for --user: \"%u:%u\" (not mapped by --userns: below %u)", (unsigned)opts->uid,
			(unsigned)opts->gid, opts->userns_count);
	if (opts->idmap && !opts->userns)
		die_msg("--idmap needs --userns");
	if (opts->monitor_fd >= 0 && opts->exit_file == NULL)
		die_msg("--monitor-fd needs --exit-file");
	if (opts->monitor_fd >= 0 && opts->monitor_fd == opts->sync_fd)
		die_msg("--monitor-fd and --sync-fd must differ");
	if (opts->monitor_fd >= 0 && opts->tty)
		die_msg("--monitor-fd and --tty exclude each other (a detached sandbox has no terminal)");
}

/* Fill opts from argv: the options of the table, then "--" and the command. */
void parse_options(int argc, char **argv, struct options *opts)
{
	init_options(opts, (size_t)argc + 1);
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const struct option_spec *spec;

		if (strcmp(opt, "--") == 0) {
			if (i + 1 >= argc)
				die_msg("no command after \"--\"");
			check_combinations(opts);
			opts->argv = &argv[i + 1];
			return;
		}
		spec = find_option(opt);
		if (spec == NULL)
			die_msg("unknown option \"%s\"", opt);
		if (!spec->takes_value) {
			spec->apply(opts, opt, NULL);
			continue;
		}
		if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0)
			die_msg("unknown option \"%s\" (missing value)", opt);
		spec->apply(opts, opt, argv[++i]);
	}
	if (opts->probe_idmap != NULL)
		return; /* the one mode without a command */
	die_msg("no command: expected \"-- CMD [ARGS...]\"");
}
