// The launchers put beside `sandbox run` (../shared/BENCH.md step 4), each running /bin/true with
// the same limits where the tool can set them: unshare(1) and bwrap(1) set none (they have no
// cgroup support); runc and crun get them in the same OCI config.json. Missing Debian packages are
// installed; a peer that can't be had is skipped with the reason (nsjail: not packaged for Debian 12).
// docker and podman, which need engines started and stopped, are bench/engine-peers.ts's.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ensureBinary, onPath } from './apt.js';

/** A launcher to time: argv per run (runc needs a fresh container id each time). */
export interface Peer {
  name: string;
  argv: (run: number) => [string, string[]];
  limits: string;
  /** Variables added to the bench's environment for each run (an engine client's configuration). */
  env?: Record<string, string>;
  cleanup?: () => void;
}

/** unshare(1) with new pid/mount/uts/ipc namespaces and a fresh /proc. */
function unsharePeer(): Peer | string {
  const missing = ensureBinary('unshare', 'util-linux');
  if (missing) return missing;
  return {
    name: 'unshare -pfmui --mount-proc true',
    argv: () => ['unshare', ['-pfmui', '--mount-proc', 'true']],
    limits: 'none (no cgroup support)',
  };
}

/** bubblewrap with the host root read-only, new pid/ipc/uts namespaces, its own /proc and /dev. */
function bwrapPeer(): Peer | string {
  const missing = ensureBinary('bwrap', 'bubblewrap');
  if (missing) return missing;
  const args = [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--die-with-parent',
    '--',
    'true',
  ];
  return { name: 'bwrap … true', argv: () => ['bwrap', args], limits: 'none (no cgroup support)' };
}

/**
 * An OCI runtime (runc, crun) with a bundle made here: a busybox-static rootfs (/bin/true a link to
 * busybox) and the config.json of `runc spec` with the process, a read-only root and the limits set.
 * No cgroupsPath: both runtimes then use a path relative to their own cgroup (runc: libcontainer/
 * cgroups/fs paths.go, subsysPath; crun: libcrun/cgroup.c, the cgroupfs manager), so their cgroups
 * land under ours as the shared machine requires.
 */
function ociPeer(runtime: 'runc' | 'crun'): Peer | string {
  const missing =
    ensureBinary(runtime, runtime) ?? ensureBinary('runc', 'runc') ?? ensureBinary('busybox', 'busybox-static');
  if (missing) return missing;
  const busybox = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();
  if (spawnSync('ldd', [busybox], { encoding: 'utf8' }).stdout.includes('=>'))
    return `${busybox} is dynamically linked: install busybox-static`;
  const bundle = mkdtempSync(`${tmpdir()}/sandbox-bench-${runtime}-`);
  try {
    mkdirSync(`${bundle}/rootfs/bin`, { recursive: true });
    for (const d of ['proc', 'dev', 'sys', 'tmp']) mkdirSync(`${bundle}/rootfs/${d}`);
    copyFileSync(busybox, `${bundle}/rootfs/bin/busybox`);
    symlinkSync('busybox', `${bundle}/rootfs/bin/true`);
    const spec = spawnSync('runc', ['spec', '--bundle', bundle], { encoding: 'utf8' });
    if (spec.status !== 0) throw new Error(`runc spec failed: ${spec.stderr.trim()}`);
    const config = JSON.parse(readFileSync(`${bundle}/config.json`, 'utf8')) as {
      process: { args: string[]; terminal: boolean };
      root: { readonly: boolean };
      linux: { resources?: unknown; cgroupsPath?: string };
    };
    config.process.args = ['/bin/true'];
    config.process.terminal = false;
    config.root.readonly = true;
    config.linux.resources = { cpu: { quota: 20_000, period: 100_000 }, memory: { limit: 256 * 1024 * 1024 } };
    writeFileSync(`${bundle}/config.json`, JSON.stringify(config, null, 2));
  } catch (err) {
    rmSync(bundle, { recursive: true, force: true });
    return (err as Error).message;
  }
  const id = (run: number) => `sandbox-bench-${process.pid}-${run}`;
  return {
    name: `${runtime} run (busybox true)`,
    argv: (run) => [runtime, ['run', '--bundle', bundle, id(run)]],
    limits: 'cpu 20000/100000 µs, memory 256M (config.json)',
    cleanup: () => rmSync(bundle, { recursive: true, force: true }),
  };
}

/**
 * The peer if one run of it succeeds, else why not: crun 1.8 refuses this machine's hybrid cgroups
 * ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2"), measured here.
 */
function probed(peer: Peer | string): Peer | string {
  if (typeof peer === 'string') return peer;
  const [cmd, args] = peer.argv(-1);
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  if (r.status === 0) return peer;
  peer.cleanup?.();
  return `a trial run failed (exit ${r.status ?? r.signal}): ${r.stderr.trim().split('\n').pop() ?? ''}`;
}

/** Every peer that can be had; the reasons for those that can't. */
export function launchPeers(): { peers: Peer[]; skipped: string[] } {
  const peers: Peer[] = [];
  const skipped: string[] = [];
  const makers: Array<[string, () => Peer | string]> = [
    ['unshare', unsharePeer],
    ['bwrap', bwrapPeer],
    ['runc', () => ociPeer('runc')],
    ['crun', () => ociPeer('crun')],
    [
      'nsjail',
      () =>
        onPath('nsjail')
          ? 'installed, but its cgroup flags are not wired up yet'
          : 'not packaged for Debian 12 (bookworm), the release here',
    ],
  ];
  for (const [name, make] of makers) {
    const p = probed(make());
    if (typeof p === 'string') {
      skipped.push(`${name}: ${p}`);
      process.stderr.write(`bench: launch peer ${name} skipped: ${p}\n`);
    } else peers.push(p);
  }
  return { peers, skipped };
}
