// Which ids a --keep DIR's writable layer holds on disk, recorded in DIR/ids: a sandbox in the
// default user namespace writes its upper with the range's host ids (root inside = 100000 on disk;
// native/stage/rootfs.c map_layers), one with --userns=host with 0-based ids. The two can't be
// mixed: a 0-based upper under the user namespace would show its files as nobody's and root inside
// could not write them; a shifted upper under --userns=host would give the host range's ids to
// host processes. So the mode is recorded when the layer is made and a different one is refused
// (one line, exit 125). An upper kept before the record existed (no DIR/ids, DIR/upper not empty)
// was written as host root: 0-based.
import { basename, dirname } from 'node:path';
import { constants, lstatSync, openSync, readFileSync, readdirSync, writeSync, closeSync } from 'node:fs';
import { UsageError } from './errors.js';
import type { UsernsRange } from './userns.js';

/** The record's file name in a --keep DIR (never committed: it is beside the upper, not in it). */
const KEPT_IDS_FILE = 'ids';

/** The record's text for a mode: "userns UID:GID:COUNT" or "host". */
function keptIdsLine(userns: UsernsRange | null): string {
  return userns ? `userns ${userns.uid}:${userns.gid}:${userns.count}\n` : 'host\n';
}

/** How a record reads in a message. */
function describe(line: string): string {
  return line.startsWith('userns ')
    ? `the default user namespace (host ids ${line.slice(7).trim()})`
    : '--userns=host (0-based ids)';
}

/** DIR/ids as it is, its symlink never followed: its text, 'absent', or 'not a file'. */
function readRecord(dir: string): string | 'absent' | 'not a file' {
  const file = `${dir}/${KEPT_IDS_FILE}`;
  try {
    if (!lstatSync(file).isFile()) return 'not a file';
  } catch {
    return 'absent';
  }
  return readFileSync(file, 'utf8');
}

/** The record of a kept layer: its text, or null for a fresh DIR; an old upper without a record reads "host". */
function recorded(keep: string): string | null {
  const record = readRecord(keep);
  if (record === 'absent') {
    let entries: string[] = [];
    try {
      entries = readdirSync(`${keep}/upper`);
    } catch {
      // no upper yet
    }
    return entries.length > 0 ? keptIdsLine(null) : null;
  }
  if (record === 'not a file')
    throw new UsageError(
      '--keep',
      `"${keep}/${KEPT_IDS_FILE}" is not a regular file: it records which ids the kept layer holds (remove it, or choose another DIR)`,
    );
  return record;
}

/** Refuse a --keep DIR whose layer was kept under the other --userns mode (or another range). */
export function checkKeptIds(keep: string, userns: UsernsRange | null): void {
  const was = recorded(keep);
  const now = keptIdsLine(userns);
  if (was === null || was === now) return;
  const again = was.startsWith('userns ') ? 'run without --userns=host' : 'add --userns=host';
  throw new UsageError(
    '--keep',
    `"${keep}" holds a writable layer kept under ${describe(was)}, not ${describe(now)}: ${again}, or choose another DIR`,
  );
}

/** Write the record of a fresh --keep DIR (after checkKeptIds); never through a symlink planted there. */
export function recordKeptIds(keep: string, userns: UsernsRange | null): void {
  if (recorded(keep) !== null) return;
  const fd = openSync(
    `${keep}/${KEPT_IDS_FILE}`,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    writeSync(fd, keptIdsLine(userns));
  } finally {
    closeSync(fd);
  }
}

/** The --layer DIRs that are the kept upper (DIR/upper) of a sandbox in this same user namespace
 * range: their files already hold the range's host ids, so the stage takes them as they are
 * (native/stage/rootfs.c map_layers). A kept upper of another mode or range is refused (one line). */
export function layersHoldingHostIds(layers: readonly string[], userns: UsernsRange | null): string[] {
  const held: string[] = [];
  for (const layer of layers) {
    if (basename(layer) !== 'upper') continue;
    // No record (an image, a committed layer, an upper kept as host root: 0-based), or not our
    // record: the layer is read as any other.
    const was = readRecord(dirname(layer));
    if (!was.startsWith('userns ')) continue;
    if (was === keptIdsLine(userns)) {
      held.push(layer);
      continue;
    }
    const again = userns ? 'its range is not this one' : 'run without --userns=host';
    throw new UsageError(
      '--layer',
      `"${layer}" was kept under ${describe(was)}: ${again}; \`sandbox commit\` makes a 0-based layer of it`,
    );
  }
  return held;
}
