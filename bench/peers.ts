// The launchers put beside `sandbox run` (../shared/BENCH.md step 4), each running /bin/true with
// the same limits where the tool can set them: unshare(1) and bwrap(1) set none (they have no
// cgroup support); runc gets them in its config.json. Missing Debian packages are installed; a
// peer that can't be had is skipped with the reason.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ensureBinary } from './apt.js';

/** A launcher to time: argv per run (runc needs a fresh container id each time). */
export interface Peer {
  name: string;
  argv: (run: number) => [string, string[]];
  limits: string;
  cleanup?: () => void;
}

/** unshare(1) with new pid/mount/uts/ipc namespaces and a fresh /proc. */
function unsharePeer(): Peer | string {
  const missing = ensureBinary('unshare', 'util-linux');
  if (missing) return missing;
  return { name: 'unshare -pfmui --mount-proc true', argv: () => ['unshare', ['-pfmui', '--mount-proc', 'true']], limits: 'none (no cgroup support)' };
}

/** bubblewrap with the host root read-only, new pid/ipc/uts namespaces, its own /proc and /dev. */
function bwrapPeer(): Peer | string {
  const missing = ensureBinary('bwrap', 'bubblewrap');
  if (missing) return missing;
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--', 'true'];
  return { name: 'bwrap … true', argv: () => ['bwrap', args], limits: 'none (no cgroup support)' };
}

/**
 * runc with an OCI bundle made here: a busybox-static rootfs (/bin/true a link to busybox) and the
 * config.json of `runc spec` with the process, a read-only root and the limits set. cgroupsPath is
 * relative, which runc's cgroupfs driver puts under runc's own cgroup (libcontainer/cgroups/fs
 * paths.go, subsysPath), so its cgroups land under ours as the shared machine requires.
 */
function runcPeer(): Peer | string {
  const missing = ensureBinary('runc', 'runc') ?? ensureBinary('busybox', 'busybox-static');
  if (missing) return missing;
  const busybox = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();
  if (spawnSync('ldd', [busybox], { encoding: 'utf8' }).stdout.includes('=>')) return `${busybox} is dynamically linked: install busybox-static`;
  const bundle = mkdtempSync(`${tmpdir()}/sandbox-bench-runc-`);
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
    name: 'runc run (busybox true)',
    argv: (run) => ['runc', ['run', '--bundle', bundle, id(run)]],
    limits: 'cpu 20000/100000 µs, memory 256M (config.json)',
    cleanup: () => rmSync(bundle, { recursive: true, force: true }),
  };
}

/** Every peer that can be had; the reasons for those that can't. */
export function launchPeers(): { peers: Peer[]; skipped: string[] } {
  const peers: Peer[] = [];
  const skipped: string[] = [];
  for (const [name, make] of [['unshare', unsharePeer], ['bwrap', bwrapPeer], ['runc', runcPeer]] as const) {
    const p = make();
    if (typeof p === 'string') {
      skipped.push(`${name}: ${p}`);
      process.stderr.write(`bench: launch peer ${name} skipped: ${p}\n`);
    } else peers.push(p);
  }
  return { peers, skipped };
}
