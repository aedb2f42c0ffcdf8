// The filesystem options of `sandbox run`: --rootfs, --layer, --keep, -v/--volume, --tmpfs,
// --read-only. Validated strictly before anything is created (one UsageError naming the flag and
// the value), then prepared for the stage: the generated /etc files and the dirs it mounts on.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';
import { parseSize } from './limits.js';
import type { RecordedFilesystem } from './state.js';
import type { NetMode } from './net/mode.js';
import { recordKeptIds } from './kept-ids.js';
import type { UsernsRange } from './userns.js';

/** The filesystem flags as commander hands them over. */
export interface FilesystemFlags {
  rootfs?: string;
  layer?: string[];
  keep?: string;
  volume?: string[];
  tmpfs?: string[];
  readOnly?: boolean;
}

/** A -v SRC:DST[:ro] bind. */
export interface Volume {
  source: string;
  target: string;
  readOnly: boolean;
}

/** A --tmpfs DST[:SIZE] mount; sizeBytes null = the kernel's default (half of RAM). */
export interface TmpfsMount {
  target: string;
  sizeBytes: number | null;
}

/** Validated filesystem options. */
export interface FilesystemRequest {
  /** Overlay layers, lowest first (--rootfs DIR is the lowest); empty = the host's root. */
  layers: string[];
  /** The layers that already hold the user namespace's host ids (kept uppers; kept-ids.ts): not ID-mapped. */
  hostIdLayers?: string[];
  /** --keep DIR: the writable layer is DIR/upper (+ DIR/work) and survives the sandbox. */
  keep: string | null;
  volumes: Volume[];
  tmpfs: TmpfsMount[];
  readOnly: boolean;
}

/** A directory that must exist, as an absolute path; UsageError naming flag otherwise. */
export function existingDir(flag: string, path: string): string {
  const abs = resolve(path);
  let isDir: boolean;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    throw new UsageError(flag, `no such directory "${path}"`);
  }
  if (!isDir) throw new UsageError(flag, `not a directory: "${path}"`);
  return abs;
}

/** overlayfs separates its option values with ',' and layers with ':' (overlayfs.rst): such paths can't be passed. */
function overlayPath(flag: string, path: string): string {
  if (/[,:\\]/.test(path))
    throw new UsageError(flag, `a path with ',', ':' or '\\' can't be an overlay layer: "${path}"`);
  return path;
}

/** An absolute path inside the sandbox other than "/". */
function targetPath(flag: string, target: string, value: string): string {
  if (!target.startsWith('/') || /^\/+$/.test(target))
    throw new UsageError(flag, `the target must be an absolute path other than /, got "${value}"`);
  return target;
}

/**
 * A host path with its symlinks resolved once, now, as docker resolves a bind source: the stage
 * then opens exactly this path and follows no symlink in it (openat2 RESOLVE_NO_SYMLINKS,
 * native/stage/mounts.c), so a symlink swapped in later (by a sandbox still writing its cwd) can't
 * redirect the mount (issue 19, finding 8). A missing path resolves as far as its parent exists.
 */
function resolvedOnce(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(resolvedOnce(parent), basename(path));
  }
}

/** -v SRC:DST[:ro|:rw]: SRC an existing host path (resolved once), DST absolute (created inside when missing). */
export function parseVolume(value: string): Volume {
  let rest = value;
  let readOnly = false;
  const mode = /:(ro|rw)$/.exec(rest);
  if (mode) {
    readOnly = mode[1] === 'ro';
    rest = rest.slice(0, -3);
  }
  const colon = rest.indexOf(':');
  if (colon <= 0 || colon === rest.length - 1)
    throw new UsageError('--volume', `expected SRC:DST[:ro], got "${value}"`);
  const source = rest.slice(0, colon);
  const target = targetPath('--volume', rest.slice(colon + 1), value);
  if (!source.startsWith('/'))
    throw new UsageError('--volume', `the source must be an absolute host path, got "${value}"`);
  try {
    statSync(source);
  } catch {
    throw new UsageError('--volume', `no such file or directory "${source}" (in "${value}")`);
  }
  return { source: resolvedOnce(source), target, readOnly };
}

/** --tmpfs DST[:SIZE] (SIZE as --mem takes it, without %). */
export function parseTmpfs(value: string): TmpfsMount {
  const colon = value.indexOf(':');
  const target = targetPath('--tmpfs', colon < 0 ? value : value.slice(0, colon), value);
  if (colon < 0) return { target, sizeBytes: null };
  const sizeBytes = parseSize('--tmpfs', value.slice(colon + 1));
  if (sizeBytes < 4096) throw new UsageError('--tmpfs', `the size must be at least 4K, got "${value}"`);
  return { target, sizeBytes };
}

/** Validate every filesystem flag (nothing is created). */
export function resolveFilesystem(flags: FilesystemFlags): FilesystemRequest {
  const layers: string[] = [];
  if (flags.rootfs !== undefined) layers.push(overlayPath('--rootfs', existingDir('--rootfs', flags.rootfs)));
  for (const layer of flags.layer ?? []) layers.push(overlayPath('--layer', existingDir('--layer', layer)));
  let keep: string | null = null;
  if (flags.keep !== undefined) {
    if (layers.length === 0)
      throw new UsageError(
        '--keep',
        `keeps the writable layer of --rootfs or --layer; neither is given ("${flags.keep}")`,
      );
    if (flags.readOnly) throw new UsageError('--keep', `has nothing to keep with --read-only ("${flags.keep}")`);
    keep = overlayPath('--keep', resolvedOnce(resolve(flags.keep)));
    let isDir = true;
    try {
      isDir = statSync(keep).isDirectory();
    } catch {
      // created at run time
    }
    if (!isDir) throw new UsageError('--keep', `not a directory: "${flags.keep}"`);
    // DIR/upper and DIR/work are ours (made by prepareRoot): a symlink there was planted (by an
    // earlier sandbox writing its cwd) and would make the overlay write wherever it points.
    for (const part of ['upper', 'work']) {
      const st = (() => {
        try {
          return lstatSync(`${keep}/${part}`);
        } catch {
          return null;
        }
      })();
      if (st?.isSymbolicLink())
        throw new UsageError(
          '--keep',
          `"${keep}/${part}" is a symbolic link: the writable layer must be a real directory (remove it, or choose another DIR)`,
        );
      if (st !== null && !st.isDirectory()) throw new UsageError('--keep', `"${keep}/${part}" is not a directory`);
    }
    if (layers.some((l) => keep === l || keep!.startsWith(`${l}/`) || l.startsWith(`${keep}/`))) {
      throw new UsageError('--keep', `must not be inside a layer or contain one: "${flags.keep}"`);
    }
  }
  return {
    layers,
    keep,
    volumes: (flags.volume ?? []).map(parseVolume),
    tmpfs: (flags.tmpfs ?? []).map(parseTmpfs),
    readOnly: flags.readOnly === true,
  };
}

/** --workdir with a root of its own: any absolute path inside it (default /), not checked on the host. */
export function rootfsWorkdir(dir: string | undefined): string {
  if (dir === undefined) return '/';
  if (!dir.startsWith('/')) throw new UsageError('--workdir', `expected an absolute path, got "${dir}"`);
  return dir;
}

/** /etc/hosts of a sandbox: the host's (with --net host) or loopback only (its own network), plus its hostname. */
export function hostsFile(hostname: string, net: NetMode, hostHosts: string): string {
  const base =
    net === 'host' && hostHosts !== ''
      ? hostHosts.replace(/\n?$/, '\n')
      : '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n';
  return `${base}127.0.1.1\t${hostname}\n`;
}

/** /etc/resolv.conf of a sandbox: the host's (its name servers are reached through the host's network, or pasta's); none with --net none. */
export function resolvConf(net: NetMode, hostResolv: string): string {
  return net !== 'none' ? hostResolv : '# sandbox --net none: no network, no name servers\n';
}

/** The files under /etc of a root of its own that are generated per sandbox and bound over (never committed). */
export const INIT_FILES = ['hostname', 'hosts', 'resolv.conf'] as const;

/** What the stage gets for a root of its own. */
export interface PreparedRoot {
  rootAt: string;
  upper: string | null;
  /** Generated files bound read-only into the new root (/etc/hostname, hosts, resolv.conf). */
  files: Volume[];
}

/** Make the dirs and files the stage needs under the state dir (and --keep DIR/upper, DIR/work). */
export async function prepareRoot(
  stateDir: string,
  fs: FilesystemRequest,
  hostname: string,
  net: NetMode,
  userns: UsernsRange | null,
): Promise<PreparedRoot> {
  const rootAt = `${stateDir}/root`;
  const etc = `${stateDir}/etc`;
  await mkdir(rootAt, { mode: 0o755 });
  await mkdir(etc, { mode: 0o755 });
  const host = async (path: string) => readFile(path, 'utf8').catch(() => '');
  const texts: Record<(typeof INIT_FILES)[number], string> = {
    hostname: `${hostname}\n`,
    hosts: hostsFile(hostname, net, await host('/etc/hosts')),
    'resolv.conf': resolvConf(net, await host('/etc/resolv.conf')),
  };
  const files = INIT_FILES.map((name): [string, string] => [name, texts[name]]);
  for (const [name, text] of files) await writeFile(`${etc}/${name}`, text, { mode: 0o644 });
  if (fs.keep !== null) {
    // A new DIR is root's alone (0700): what the workload leaves in DIR/upper (set-id files among
    // it) is for later sandboxes, not for the host's users (SECURITY.md). An existing DIR keeps its mode.
    await mkdir(fs.keep, { recursive: true, mode: 0o700 });
    await mkdir(`${fs.keep}/upper`, { recursive: true, mode: 0o755 });
    await mkdir(`${fs.keep}/work`, { recursive: true, mode: 0o755 });
    recordKeptIds(fs.keep, userns);
  }
  return {
    rootAt,
    upper: fs.keep,
    files: files.map(([name]) => ({ source: `${etc}/${name}`, target: `/etc/${name}`, readOnly: true })),
  };
}

/** What the state records of a root of its own (for `sandbox commit`); null on the host's root. */
export function recordFilesystem(fs: FilesystemRequest | undefined): RecordedFilesystem | null {
  if (fs === undefined || fs.layers.length === 0) return null;
  return {
    layers: fs.layers,
    keep: fs.keep,
    readOnly: fs.readOnly,
    mountTargets: [...fs.volumes, ...fs.tmpfs].map((m) => m.target),
  };
}
