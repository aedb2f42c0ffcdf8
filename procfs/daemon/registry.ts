// The daemon's registrations, persisted so that a restarted daemon can serve and re-bind every
// container it served before (lxcfs's top complaint: after an lxcfs restart each container keeps
// dead mounts that answer ENOTCONN until remounted by hand). Written whole to a temporary file and
// renamed (rename(2) is atomic), so a daemon killed mid-write leaves the old or the new file.
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { ID_RE } from './protocol.js';

/** One registered container. */
export interface Registration {
  id: string;
  /** Its init on the host, and that process's start time (proc(5) stat field 22): a reused pid is not it. */
  pid: number;
  startTicks: number;
  /** The targets bound inside it (e.g. /proc/meminfo), to bind again after a restart. */
  targets: string[];
  /** Its node-id key (procfs/fs.ts register): a successor on the same connection keeps the ids the kernel caches. */
  key?: number;
  /**
   * A sandbox of `sandbox run` (a serve request): pid and startTicks are its supervisor's, and its
   * cgroup is described from these directories. Kept by a successor on the same connection only:
   * the stage bound the files itself, so a fresh mount cannot reach it.
   */
  sandbox?: { cgroupDirs: string[]; startedAtMs: number };
}

/** Whether a sandbox record is well formed (absent is fine). */
function goodSandbox(s: Registration['sandbox'] | undefined): boolean {
  return (
    s === undefined ||
    (Array.isArray(s.cgroupDirs) &&
      s.cgroupDirs.every((d) => typeof d === 'string' && d.startsWith('/') && !d.split('/').includes('..')) &&
      Number.isSafeInteger(s.startedAtMs))
  );
}

/** The lowest key never given out (saved beside the registrations so that no key is reused); 1 when unknown. */
export function loadKeyFloor(path: string): number {
  try {
    const floor = (JSON.parse(readFileSync(path, 'utf8')) as { nextKey?: unknown }).nextKey;
    return Number.isSafeInteger(floor) && (floor as number) > 0 ? (floor as number) : 1;
  } catch {
    return 1;
  }
}

/** Read the registrations (none when the file is missing; a malformed entry is dropped with a warning). */
export function loadRegistrations(path: string, warn: (line: string) => void): Registration[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`read ${path}: ${(err as NodeJS.ErrnoException).code}`);
  }
  let list: unknown;
  try {
    list = (JSON.parse(text) as { registrations?: unknown }).registrations;
  } catch {
    warn(`${path} is not JSON: starting with no registrations`);
    return [];
  }
  if (!Array.isArray(list)) return [];
  return list.filter((r: Partial<Registration>): r is Registration => {
    const ok =
      typeof r.id === 'string' &&
      ID_RE.test(r.id) &&
      Number.isInteger(r.pid) &&
      Number.isInteger(r.startTicks) &&
      Array.isArray(r.targets) &&
      r.targets.every((t) => typeof t === 'string' && t.startsWith('/')) &&
      (r.key === undefined || (Number.isSafeInteger(r.key) && r.key > 0)) &&
      goodSandbox(r.sandbox);
    if (!ok) warn(`${path}: dropping a malformed registration ${JSON.stringify(r).slice(0, 120)}`);
    return ok;
  });
}

/** Write the registrations and the key floor (tmp + rename). */
export async function saveRegistrations(path: string, list: readonly Registration[], nextKey?: number): Promise<void> {
  const tmp = `${path}.tmp.${process.pid}`;
  await writeFile(
    tmp,
    `${JSON.stringify({ registrations: list, ...(nextKey === undefined ? {} : { nextKey }) }, null, 1)}\n`,
    { mode: 0o600 },
  );
  await rename(tmp, path);
}
