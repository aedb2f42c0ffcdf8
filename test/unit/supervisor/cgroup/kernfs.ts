// Test helper: a CgroupFs over a temp COPY of a captured fixture tree that behaves like cgroupfs
// where the managers depend on it: mkdir creates the control files (names taken from a captured
// leaf, contents the kernel's defaults for a new cgroup), rmdir removes them and refuses (EBUSY) a
// cgroup that still has processes or children, a write to cgroup.procs moves the pid (removing it
// from every other cgroup of the hierarchy), cgroup.kill empties the cgroup, and v2
// cgroup.subtree_control enforces "no internal processes" and cgroup.controllers. Every
// operation is logged, and failures can be injected.
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { CgroupFs, CgroupFsError } from '../../../../supervisor/cgroup/fs.js';

/** Contents of control files in a freshly made cgroup (v1 cgroup-v1/*.rst, v2 cgroup-v2.rst defaults). */
const NEW_CGROUP_DEFAULTS: Record<string, string> = {
  'cpu.cfs_quota_us': '-1\n',
  'cpu.cfs_period_us': '100000\n',
  'cpu.cfs_burst_us': '0\n',
  'cpu.shares': '1024\n',
  'memory.limit_in_bytes': '9223372036854771712\n',
  'memory.memsw.limit_in_bytes': '9223372036854771712\n',
  'pids.max': 'max\n',
  'freezer.state': 'THAWED\n',
  'cpu.max': 'max 100000\n',
  'cpu.max.burst': '0\n',
  'cpu.weight': '100\n',
  'memory.max': 'max\n',
  'memory.swap.max': 'max\n',
};

/** Content of a file in a new cgroup from a captured one: empty membership and cpusets, every counter 0, hierarchical limits unlimited. */
function freshCounters(name: string, captured: string): string {
  if (
    [
      'cgroup.procs',
      'tasks',
      'cgroup.threads',
      'cgroup.subtree_control',
      'cgroup.event_control',
      'cgroup.kill',
    ].includes(name)
  )
    return '';
  if (name.startsWith('cpuset.')) return name.includes('.mems') || name.includes('.cpus') ? '' : captured;
  return captured
    .split('\n')
    .map((line) =>
      /^hierarchical_\w+ \d+$/.test(line) ? `${line.split(' ')[0]} 9223372036854771712` : line.replace(/\b\d+\b/g, '0'),
    )
    .join('\n');
}

/** Copy a fixture scenario into a fresh temp dir; returns its path. */
export async function copyFixture(fixtureDir: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cgroup-fixture-'));
  await cp(fixtureDir, dir, { recursive: true });
  return dir;
}

/** Remove a temp copy. */
export async function removeCopy(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** One logged operation. */
export interface Op {
  op: 'write' | 'mkdir' | 'rmdir';
  path: string;
  value?: string;
}

/** A CgroupFs over a temp copy that emulates the kernel behaviour listed in the file comment. */
export class KernfsFixture extends CgroupFs {
  readonly log: Op[] = [];
  private readonly failures: { suffix: string; op: Op['op']; code: string; times: number }[] = [];

  constructor(
    root: string,
    /** Host-absolute path of a captured leaf whose file names a new cgroup (given its path) gets. */
    private readonly templateOf: (newDir: string) => string,
    /** Host-absolute mountpoints of the hierarchies (a cgroup.procs write moves a pid within one). */
    private readonly mounts: readonly string[],
    private readonly unified: boolean,
  ) {
    super(root);
  }

  /** Make the next `times` operations `op` on a path ending in `suffix` fail with `code`. */
  failOn(op: Op['op'], suffix: string, code: string, times = 1): void {
    this.failures.push({ suffix, op, code, times });
  }

  private injected(op: Op['op'], path: string, value?: string): void {
    const f = this.failures.find((x) => x.op === op && x.times > 0 && path.endsWith(x.suffix));
    if (!f) return;
    f.times--;
    throw new CgroupFsError(op, this.resolve(path), f.code, value);
  }

  private mountOf(path: string): string {
    const m = this.mounts
      .filter((mp) => path === mp || path.startsWith(`${mp}/`))
      .sort((a, b) => b.length - a.length)[0];
    if (!m) throw new Error(`test kernfs: ${path} is in no known hierarchy`);
    return m;
  }

  override async mkdir(path: string): Promise<void> {
    this.log.push({ op: 'mkdir', path });
    this.injected('mkdir', path);
    await super.mkdir(path);
    const parent = dirname(path);
    const files = (await readdir(this.resolve(this.templateOf(path)), { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name);
    for (const name of files) {
      let content =
        NEW_CGROUP_DEFAULTS[name] ??
        freshCounters(name, await readFile(this.resolve(`${this.templateOf(path)}/${name}`), 'utf8'));
      if (this.unified && name === 'cgroup.controllers')
        content = await readFile(this.resolve(`${parent}/cgroup.subtree_control`), 'utf8');
      await writeFile(this.resolve(`${path}/${name}`), content);
    }
  }

  override async rmdir(path: string): Promise<void> {
    this.log.push({ op: 'rmdir', path });
    this.injected('rmdir', path);
    const full = this.resolve(path);
    const entries = await readdir(full, { withFileTypes: true }).catch(() => null);
    if (entries === null) return super.rmdir(path); // ENOENT from the real rmdir
    const procs = await readFile(join(full, 'cgroup.procs'), 'utf8').catch(() => '');
    if (procs.trim() !== '' || entries.some((e) => e.isDirectory())) throw new CgroupFsError('rmdir', full, 'EBUSY');
    for (const e of entries) await rm(join(full, e.name));
    await super.rmdir(path);
  }

  override async write(path: string, value: string): Promise<void> {
    this.log.push({ op: 'write', path, value });
    this.injected('write', path, value);
    const full = this.resolve(path);
    const name = basename(path);
    const dir = dirname(path);
    if (name === 'cgroup.procs') {
      await stat(full).catch(() => {
        throw new CgroupFsError('write', full, 'ENOENT', value);
      });
      const pid = Number(value.trim());
      await this.removePid(this.mountOf(dir), pid);
      const before = await readFile(full, 'utf8');
      await writeFile(full, `${before}${pid}\n`);
      return;
    }
    if (name === 'cgroup.kill') {
      await super.write(path, value);
      await writeFile(this.resolve(`${dir}/cgroup.procs`), '');
      return;
    }
    if (this.unified && name === 'cgroup.subtree_control') {
      const available = (await readFile(this.resolve(`${dir}/cgroup.controllers`), 'utf8')).trim().split(/\s+/);
      const enabled = new Set((await readFile(full, 'utf8')).trim().split(/\s+/).filter(Boolean));
      for (const word of value.trim().split(/\s+/)) {
        const c = word.slice(1);
        if (!available.includes(c)) throw new CgroupFsError('write', full, 'ENOENT', value);
        if (word.startsWith('+')) enabled.add(c);
        else enabled.delete(c);
      }
      const procs = (await readFile(this.resolve(`${dir}/cgroup.procs`), 'utf8')).trim();
      if (procs !== '' && dir !== this.mountOf(dir)) throw new CgroupFsError('write', full, 'EBUSY', value);
      await writeFile(full, `${[...enabled].join(' ')}\n`);
      return;
    }
    if ((name === 'memory.limit_in_bytes' || name === 'memory.memsw.limit_in_bytes') && value.trim() === '-1') {
      // v1 stores "no limit" as PAGE_COUNTER_MAX and prints it in bytes.
      await super.write(path, '9223372036854771712\n');
      return;
    }
    await super.write(path, value);
  }

  /** The synchronous write is for plain limit and accounting files only (CgroupFs.writeNow): logged and failed alike. */
  override writeNow(path: string, value: string): void {
    if (['cgroup.procs', 'cgroup.kill', 'cgroup.subtree_control'].includes(basename(path))) {
      throw new Error(`test kernfs: writeNow(${path}) is for limit files, never for one that moves or kills tasks`);
    }
    this.log.push({ op: 'write', path, value });
    this.injected('write', path, value);
    super.writeNow(path, value);
  }

  /** Remove a pid from every cgroup.procs of one hierarchy (what the kernel shows after a move or an exit). */
  async removePid(mount: string, pid: number): Promise<void> {
    // A cgroup the code under test removes meanwhile (destroy's rmdir) simply holds no pid any
    // more, as in the kernel: ENOENT on its directory or its cgroup.procs ends that branch.
    const gone = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(this.resolve(dir), { withFileTypes: true });
      } catch (err) {
        if (gone(err)) return;
        throw err;
      }
      for (const e of entries) {
        if (e.isDirectory()) await walk(`${dir}/${e.name}`);
        else if (e.name === 'cgroup.procs') {
          const file = this.resolve(`${dir}/cgroup.procs`);
          let text;
          try {
            text = await readFile(file, 'utf8');
          } catch (err) {
            if (gone(err)) continue;
            throw err;
          }
          const lines = text.split('\n').filter((l) => l.trim() !== '');
          const kept = lines.filter((l) => Number(l) !== pid);
          if (kept.length !== lines.length)
            await writeFile(file, kept.map((l) => `${l}\n`).join('')).catch((err: unknown) => {
              if (!gone(err)) throw err;
            });
        }
      }
    };
    await walk(mount);
  }

  /** A process exits: it leaves every hierarchy. */
  async exitPid(pid: number): Promise<void> {
    for (const m of this.mounts) await this.removePid(m, pid);
  }

  /** Path of a host-absolute path relative to the temp root (for messages). */
  rel(path: string): string {
    return relative(this.root, this.resolve(path));
  }
}
