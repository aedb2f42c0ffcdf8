// `sandbox doctor`: check what `sandbox run` needs from this host and say, in plain words, what is
// missing and the command that fixes it. Exit 0 when every check passes, 1 when one fails.
import { execFile } from 'node:child_process';
import { constants, existsSync, statSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import type { Command } from 'commander';
import { detectLayout, V1_REQUIRED } from '../cgroup/index.js';
import { FIRST_ABI_WITH_SCOPES, landlockAbi } from '../landlock.js';
import { STAGE_PATH } from '../stage.js';

/** One check's outcome. */
interface Check {
  name: string;
  ok: boolean;
  /** What was found, in plain words. */
  detail: string;
  /** The command (or step) that fixes a failed check. */
  fix?: string;
  /** Passed, but something is weaker than it could be: printed as "warn", does not fail doctor. */
  warning?: boolean;
}

/** Controllers a v2 sandbox needs in its parent's cgroup.subtree_control. */
const V2_REQUIRED = ['cpu', 'cpuset', 'memory', 'pids'];

async function checkRoot(): Promise<Check> {
  const uid = process.getuid?.() ?? -1;
  return uid === 0
    ? { name: 'root', ok: true, detail: 'running as root' }
    : {
        name: 'root',
        ok: false,
        detail: `running as uid ${uid}: cgroups, namespaces and the FUSE mount need root`,
        fix: 'sudo sandbox …',
      };
}

async function checkCgroups(): Promise<Check> {
  try {
    const [cgroupText, mountinfo] = await Promise.all([
      readFile('/proc/self/cgroup', 'utf8'),
      readFile('/proc/self/mountinfo', 'utf8'),
    ]);
    const layout = detectLayout(cgroupText, mountinfo);
    if (layout.mode === 'v1') {
      const have = new Set(layout.hierarchies.flatMap((h) => h.controllers));
      const missing = V1_REQUIRED.filter((c) => !have.has(c));
      const detail = `cgroup v1 (legacy/hybrid), controllers: ${[...have].sort().join(', ')}`;
      if (missing.length === 0) return { name: 'cgroups', ok: true, detail };
      return {
        name: 'cgroups',
        ok: false,
        detail: `${detail}; missing ${missing.join(', ')}`,
        fix: missing
          .map((c) => `mkdir -p /sys/fs/cgroup/${c} && mount -t cgroup -o ${c} cgroup /sys/fs/cgroup/${c}`)
          .join('; '),
      };
    }
    const parent = layout.ownDir;
    const available = (await readFile(`${parent}/cgroup.controllers`, 'utf8').catch(() => ''))
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    const missing = V2_REQUIRED.filter((c) => !available.includes(c));
    const detail = `cgroup v2 (unified) at ${layout.mountpoint}, controllers here: ${available.join(', ') || 'none'}`;
    if (missing.length === 0) return { name: 'cgroups', ok: true, detail };
    return {
      name: 'cgroups',
      ok: false,
      detail: `${detail}; missing ${missing.join(', ')}`,
      fix: `enable them in the parent: echo "${missing.map((c) => `+${c}`).join(' ')}" > <parent of ${parent}>/cgroup.subtree_control`,
    };
  } catch (err) {
    return {
      name: 'cgroups',
      ok: false,
      detail: (err as Error).message,
      fix: 'mount cgroupfs at /sys/fs/cgroup (mount -t cgroup2 none /sys/fs/cgroup)',
    };
  }
}

async function checkFuseDevice(): Promise<Check> {
  try {
    if (statSync('/dev/fuse').isCharacterDevice()) return { name: '/dev/fuse', ok: true, detail: 'present' };
    return {
      name: '/dev/fuse',
      ok: false,
      detail: '/dev/fuse is not a character device',
      fix: 'rm /dev/fuse && modprobe fuse',
    };
  } catch {
    return {
      name: '/dev/fuse',
      ok: false,
      detail: 'missing: the /proc views are a FUSE filesystem',
      fix: 'modprobe fuse (in a container: run it with --device /dev/fuse)',
    };
  }
}

/** mount(8) and umount(8): the views' FUSE mount is made and detached through them (procfs/fuse/mount.ts). */
async function checkMountTools(): Promise<Check> {
  const find = (name: string) =>
    (process.env.PATH ?? '')
      .split(':')
      .filter(Boolean)
      .map((d) => `${d}/${name}`)
      .find((p) => existsSync(p));
  const mount = find('mount');
  const umount = find('umount');
  if (mount && umount) return { name: 'mount(8)', ok: true, detail: `${mount}, ${umount}` };
  const missing = [mount ? null : 'mount (mounts the views)', umount ? null : 'umount (unmounts the views)'].filter(
    Boolean,
  );
  return {
    name: 'mount(8)',
    ok: false,
    detail: `missing ${missing.join(' and ')}`,
    fix: 'apt-get update && apt-get install -y mount',
  };
}

async function checkUserNamespaces(): Promise<Check> {
  const max = Number((await readFile('/proc/sys/user/max_user_namespaces', 'utf8').catch(() => '0')).trim());
  // Debian/Ubuntu kernels gate unprivileged ones separately; root's are what --userns will need.
  if (max > 0) return { name: 'user namespaces', ok: true, detail: `enabled (max ${max})` };
  return {
    name: 'user namespaces',
    ok: false,
    detail: 'disabled (user.max_user_namespaces = 0)',
    fix: 'sysctl -w user.max_user_namespaces=15000',
  };
}

/**
 * What the default `sandbox run` needs beyond user namespaces being enabled: a user namespace made and
 * mapped by root, and an ID-mapped mount of the current directory (its file system must allow it:
 * ext4, xfs, btrfs, tmpfs since 6.3; not overlayfs, NFS or FUSE). The stage tries both on a detached
 * clone that is never attached (native/stage/idmap.c idmap_probe).
 */
async function checkDefaultUserns(dir: string): Promise<Check> {
  const name = 'default user namespace';
  const failure = await new Promise<string | null>((resolve) => {
    execFile(STAGE_PATH, ['--probe-idmap', dir], { timeout: 10_000 }, (err, _stdout, stderr) =>
      resolve(err ? (stderr.trim() || err.message).split('\n')[0]! : null),
    );
  });
  if (failure === null) return { name, ok: true, detail: `user namespaces and ID-mapped mounts work on ${dir}` };
  return {
    name,
    ok: false,
    detail: `the default (a user namespace, the workdir ID-mapped) fails here: ${failure.replace(/^sandbox: stage: /, '')}`,
    fix: `run from a directory on a file system that allows ID-mapped mounts (ext4, xfs, btrfs, tmpfs), or give sandbox run --userns=host`,
  };
}

async function checkNamespaces(): Promise<Check> {
  // time namespaces: Linux 5.6; setns(2) with a pidfd (sandbox exec): Linux 5.8.
  const [major = 0, minor = 0] = release()
    .split('.')
    .map((n) => parseInt(n, 10));
  const missing = ['pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time'].filter(
    (ns) => !existsSync(`/proc/self/ns/${ns}`),
  );
  const oldKernel = major < 5 || (major === 5 && minor < 8);
  if (missing.length === 0 && !oldKernel)
    return { name: 'namespaces', ok: true, detail: `pid, mnt, uts, ipc, net, cgroup, time (Linux ${release()})` };
  return {
    name: 'namespaces',
    ok: false,
    detail: oldKernel
      ? `Linux ${release()}: sandbox exec needs 5.8 (setns with a pidfd), time namespaces 5.6`
      : `no ${missing.join(', ')} namespace in this kernel`,
    fix: 'boot a Linux 5.8+ kernel built with CONFIG_TIME_NS, CONFIG_CGROUPS and the namespace options',
  };
}

async function checkStage(): Promise<Check> {
  try {
    await access(STAGE_PATH, constants.X_OK);
    return { name: 'native stage', ok: true, detail: STAGE_PATH };
  } catch {
    return {
      name: 'native stage',
      ok: false,
      detail: `${STAGE_PATH} is missing or not executable`,
      fix: 'npm run build (needs gcc and libc6-dev: apt-get install -y gcc libc6-dev)',
    };
  }
}

async function checkLxcfs(): Promise<Check> {
  // lxcfs bound over this namespace's /proc files would feed the supervisor virtualized host
  // figures (it reads /proc/meminfo, /proc/stat for the host's RAM and load). Elsewhere it is harmless:
  // each sandbox mounts a fresh /proc and binds its own views on top.
  // mountinfo (proc(5)): field 5 is the mountpoint, the field after "-" the filesystem type.
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const lxcfs = text
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[f.indexOf('-') + 1] === 'fuse.lxcfs')
    .map((f) => f[4] ?? '');
  const overProc = lxcfs.filter((m) => m.startsWith('/proc/') || m.startsWith('/sys/devices/system/cpu'));
  if (overProc.length > 0) {
    return {
      name: 'lxcfs',
      ok: false,
      detail: `lxcfs is mounted over ${overProc.join(', ')}: host figures read here are virtualized`,
      fix: `umount ${overProc.join(' ')} (or run sandbox outside the lxcfs container)`,
    };
  }
  return {
    name: 'lxcfs',
    ok: true,
    detail: lxcfs.length > 0 ? `mounted at ${lxcfs.join(', ')}, not over /proc: no conflict` : 'not mounted',
  };
}

async function checkLandlock(): Promise<Check> {
  // native/stage/landlock.c: with the host's network (--net host, the default) abstract unix
  // sockets are the host's; Landlock ABI 6 scopes them (and signals) to the sandbox.
  const abi = landlockAbi();
  if (abi >= FIRST_ABI_WITH_SCOPES)
    return {
      name: 'landlock',
      ok: true,
      detail: `ABI ${abi}: abstract unix sockets and signals scoped to each sandbox`,
    };
  return {
    name: 'landlock',
    ok: true,
    warning: true,
    detail: `${abi === 0 ? 'no Landlock' : `Landlock ABI ${abi}`} (scopes need ABI ${FIRST_ABI_WITH_SCOPES}, Linux 6.12): a sandbox on the host's network (--net host, the default) can connect to the host's abstract unix sockets; --net none or private isolates them`,
    fix: 'boot Linux 6.12+ with landlock in the lsm= list, or run untrusted code with --net none or --net private',
  };
}

/** Run every check. */
async function runChecks(): Promise<Check[]> {
  return Promise.all([
    checkRoot(),
    checkCgroups(),
    checkFuseDevice(),
    checkMountTools(),
    checkUserNamespaces(),
    checkDefaultUserns(process.cwd()),
    checkNamespaces(),
    checkStage(),
    checkLxcfs(),
    checkLandlock(),
  ]);
}

/** "ok    name: detail" / "FAIL  name: detail\n      fix: command". */
function formatChecks(checks: readonly Check[]): string {
  return checks
    .map(
      (c) =>
        `${!c.ok ? 'FAIL' : c.warning ? 'warn' : 'ok  '}  ${c.name}: ${c.detail}${c.fix && (!c.ok || c.warning) ? `\n      fix: ${c.fix}` : ''}\n`,
    )
    .join('');
}

/** Register `sandbox doctor`. */
export function registerDoctor(program: Command, onExit: (code: number) => void): void {
  program
    .command('doctor')
    .description(
      'check this host: root, cgroups, /dev/fuse, mount(8), namespaces, the default user namespace, the native stage, lxcfs',
    )
    .option('--json', 'a JSON array of {name, ok, detail, fix}')
    .addHelpText(
      'after',
      '\nExamples:\n  sandbox doctor\n  sandbox doctor --json\n\nExit status: 0 when every check passes, 1 otherwise.',
    )
    .action(async (flags: { json?: boolean }) => {
      const checks = await runChecks();
      process.stdout.write(flags.json ? JSON.stringify(checks, null, 2) + '\n' : formatChecks(checks));
      onExit(checks.every((c) => c.ok) ? 0 : 1);
    });
}
