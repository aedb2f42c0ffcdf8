// The FUSE filesystem that serves the views: one fuse-native mount, routed by path
// (/<sandbox-id>/<view>), so one server could serve many sandboxes. fuse-native gives no caller
// pid, so unlike lxcfs we route by path, not by the reader's pid.
//
// Read semantics are those of the kernel's own /proc files (fs/seq_file.c seq_read_iter): a read at
// offset 0 generates fresh text, a read further on continues the text of that open. So `cat` gets
// one consistent snapshot at any read size, and tools that keep a file open and re-read it from
// offset 0 on every refresh (procps top, free -s, vmstat keep /proc/stat, meminfo and loadavg open
// and lseek(fd, 0) before each read) see new figures each time.
//
// Round trips decide the cost (measured with an empty handler: fuse-native adds about 15 µs of CPU
// per request handled in JavaScript, on top of the kernel's and libfuse's share), so:
// - direct_io: the kernel passes every read through instead of serving the page cache, which
//   would replay an old open's text to a re-read at offset 0 and clip a longer render at the
//   i_size a short read left behind.
// - sizes are not procfs's 0 but the text's length rounded up to a page, as lxcfs reports a size:
//   sendfile(2) and splice(2) go through the page cache even with direct_io (fs/fuse/file.c
//   fuse_splice_read -> filemap_splice_read), which stops at i_size, so busybox cat (sendfile) got
//   nothing from a size 0. Rounded up, the short read at the text's end trims i_size to it
//   (fuse_short_read -> fuse_read_update_size); a page multiple is also what coreutils wc and tail
//   treat as "/proc-like, read to EOF" instead of trusting the size. Reads through read(2) ignore it.
// - entries never change, so the kernel caches them for an hour: no lookup per open. Attributes
//   (the size) for a second: a stat(2) after that second gets a fresh size (one getattr per file
//   per second at most). Until then a trimmed i_size stays, so a sendfile reader may lose the last
//   bytes of a text that grew since (a /proc/stat counter gaining a digit); read(2) readers never.
// - no fuse-native timeout per request: every handler answers synchronously.
// Handlers run on Node's main thread and never touch this mount themselves (a synchronous read of
// our own mount from here would deadlock); their kernel reads are synchronous preads of procfs and
// cgroupfs text (supervisor/kept-files.ts says why and what they cost).
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type FuseType from 'fuse-native';
import { KeptFiles } from '../supervisor/kept-files.js';
import type { LoadAverages } from './loadavg.js';
import { RenderCache } from './render-cache.js';
import { EMPTY_TASKS } from './tasks.js';
import { VIEWS, readViewStats, renderView, type TaskSample, type ViewMemory, type ViewName, type ViewSpec, type ViewStatsSource } from './views/index.js';

/** What the server needs from one sandbox to render its views (every call reads the kernel now). */
export interface SandboxViewSource extends ViewStatsSource {
  load(): LoadAverages;
  /** The sandbox's tasks now (the kernel's nr_running, nr_threads and last pid are instantaneous). */
  tasks(): TaskSample;
  /** A string that changes whenever a limit of that kind changes (CgroupManager.limitsKey): read on every render. */
  limitsKey(part: 'memory' | 'cpu'): string;
  memory: ViewMemory;
}

// errno values as fuse-native expects them (negative).
const ENOENT = -2;
const EBADF = -9;
const EACCES = -13;
const O_ACCMODE = 3;
const DIR_MODE = 0o40555;
const FILE_MODE = 0o100444;
/** Seconds the kernel may cache names: they never change while mounted. */
const CACHE_SECONDS = 3600;
/** Seconds the kernel may cache attributes: the size follows the text (see the top of this file). */
const ATTR_SECONDS = 1;
/** The page size sizes are rounded up to (x86_64 and arm64's usual 4 KiB; only a multiple matters). */
const PAGE = 4096;

/** The size a view file reports for a text of `length` bytes: rounded up to a page (see the top of this file). */
export function viewFileSize(length: number): number {
  return Math.max(PAGE, Math.ceil(length / PAGE) * PAGE);
}

/** One registered sandbox. */
interface Served {
  source: SandboxViewSource;
  renders: RenderCache;
  /** The views it is served (viewsFor: no pressure files on cgroup v1). */
  views: readonly ViewSpec[];
}

/** A routed path: a sandbox's view file (spec), or a directory (spec null) at dir ('' = the sandbox's own). */
interface Hit {
  id: string;
  spec: ViewSpec | null;
  dir: string;
}

/** Options of a ViewServer. */
export interface ViewServerOptions {
  /**
   * Serve each view at its target path under the sandbox's directory (/<id>/proc/meminfo,
   * /<id>/sys/devices/system/cpu/online) instead of by name (/<id>/meminfo): the daemon's layout.
   */
  byTarget?: boolean;
  /**
   * libfuse's auto_unmount (default on): its fusermount helper unmounts when this process dies.
   * libfuse2 forks that helper itself, outside libuv; `sandbox run` turns it off (supervisor/run.ts).
   */
  autoUnmount?: boolean;
}

/** One open file: what it shows and the text its reads continue (null until the first read). */
interface OpenFile {
  id: string;
  spec: ViewSpec;
  text: Buffer | null;
}

/** fuse-native builds its -o list from a fixed set of options; direct_io is not among them. */
function addDirectIo(fuse: FuseType): void {
  const withOptions = fuse as unknown as { _fuseOptions(): string };
  const options = withOptions._fuseOptions.bind(fuse);
  withOptions._fuseOptions = () => {
    const list = options();
    return list === '' ? '-odirect_io' : `${list},direct_io`;
  };
}

/**
 * Mount a read-only view filesystem with fuse-native and the options the views need (see the top
 * of this file); the mountpoint directory must exist. The bench mounts its fuse-native floor (a
 * server of constant text) through this too, so the two differ only in what the handlers do.
 */
export async function mountViewFs(mountpoint: string, operations: FuseType.Operations, autoUnmount = true): Promise<FuseType> {
  // fuse-native is CommonJS and loads a native addon linked to libfuse.so.2 (Debian libfuse2). The
  // CLI bundle holds it (native/compile-ts.sh), and esbuild turns this import() into a require() of
  // that copy on first use: no ESM loader and cjs-module-lexer (lib/internal/modules/esm/
  // translators.js) as for an import() of the package from disk, which cost ~25 ms per run.
  const Fuse = (await import('fuse-native')).default;
  const fuse = new Fuse(mountpoint, operations, {
    allowOther: true, // a --user workload or a daemon that drops privileges must read the views
    autoUnmount, // libfuse's fusermount helper unmounts if this process dies (SIGKILL)
    fsname: 'sandbox-views',
    subtype: 'sandbox',
    attrTimeout: ATTR_SECONDS,
    entryTimeout: CACHE_SECONDS,
    timeout: false,
  });
  addDirectIo(fuse);
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(new Error(`mount FUSE ${mountpoint}: ${err.message}`)) : resolve())));
  return fuse;
}

/**
 * Unmount a view filesystem and end fuse-native's use of it. fuse-native's own unmount execs
 * `fusermount -uz` through sh -c (two execs, ~6 ms here) before its native part; when the mount is
 * already gone (`sandbox run`'s stage detaches it as soon as the sandbox has exited,
 * native/stage/stage.c detach_views), only the native part runs. A mountpoint is still mounted when
 * its device differs from its parent's; stat(2) of our own mount's root is answered by this
 * process, asynchronously (fs/promises), so it cannot deadlock.
 */
export async function unmountViewFs(fuse: FuseType, mountpoint: string): Promise<void> {
  const [dir, parent] = await Promise.all([stat(mountpoint), stat(dirname(mountpoint))]).catch(() => [null, null]);
  const gone = dir !== null && parent !== null && dir.dev === parent.dev;
  const Fuse = fuse.constructor as unknown as { unmount(mnt: string, cb: (err: Error | null) => void): void };
  const execUnmount = Fuse.unmount;
  await new Promise<void>((resolve, reject) => {
    const done = (err: Error | null): void => (err ? reject(new Error(`unmount FUSE ${mountpoint}: ${err.message}`)) : resolve());
    // fuse-native's close calls the static Fuse.unmount synchronously (index.js _close, called by
    // nanoresource's close), so replacing it for this one call affects nothing else.
    if (gone) Fuse.unmount = (_mnt, cb) => cb(null);
    try {
      fuse.unmount(done);
    } finally {
      Fuse.unmount = execUnmount;
    }
  });
}

/** Serves every registered sandbox's views under one mountpoint. */
export class ViewServer {
  private readonly sandboxes = new Map<string, Served>();
  private readonly openFiles = new Map<number, OpenFile>();
  private readonly warned = new Set<string>();
  /** Host files (/proc/meminfo, …) read through kept descriptors: one pread per render. */
  private readonly hostFiles = new KeptFiles();
  private readonly mountedAt = new Date();
  /** Paths already routed (an open is the hot path): path -> sandbox id and view. */
  private readonly paths = new Map<string, Hit>();
  private nextFd = 1;
  private fuse: FuseType | null = null;

  constructor(
    readonly mountpoint: string,
    private readonly options: ViewServerOptions = {},
  ) {}

  /** Path of one sandbox's view file on the host, to bind inside the sandbox. */
  viewPath(id: string, name: ViewName): string {
    if (!this.options.byTarget) return `${this.mountpoint}/${id}/${name}`;
    const spec = VIEWS.find((v) => v.name === name);
    if (!spec) throw new Error(`no view named ${name}`);
    return `${this.mountpoint}/${id}${spec.target}`;
  }

  /** Ids of the sandboxes served now. */
  ids(): string[] {
    return [...this.sandboxes.keys()];
  }

  /** Start serving a sandbox's views (all of VIEWS unless a subset is given). */
  register(id: string, source: SandboxViewSource, views: readonly ViewSpec[] = VIEWS): void {
    this.sandboxes.set(id, { source, renders: new RenderCache(), views });
  }

  /**
   * Render every view of a sandbox once, so its first reader doesn't pay for opening the kernel
   * files and for V8 compiling the renderers (measured: the first read in a new sandbox took 2-4 ms
   * without this, the first render of meminfo 2.1 ms, the second 0.5 ms). One view per turn of the
   * event loop (setImmediate runs after the poll phase that delivers FUSE requests), so a reader
   * arriving meanwhile waits for one render at most. Call it while the workload is being set up.
   */
  warm(id: string): void {
    const next = (i: number): void => {
      const spec = this.sandboxes.get(id)?.views[i];
      if (!spec) return;
      this.render(id, spec, false);
      setImmediate(next, i + 1);
    };
    setImmediate(next, 0);
  }

  /** Stop serving a sandbox's views. */
  unregister(id: string): void {
    this.sandboxes.delete(id);
    for (const [path, hit] of this.paths) if (hit.id === id) this.paths.delete(path);
  }

  /** Mount the filesystem (the mountpoint directory must exist). */
  async mount(): Promise<void> {
    this.fuse = await mountViewFs(this.mountpoint, this.operations(), this.options.autoUnmount ?? true);
  }

  /** Unmount (lazily, via fusermount -uz) and drop every open file's text. */
  async unmount(): Promise<void> {
    const fuse = this.fuse;
    this.fuse = null;
    this.openFiles.clear();
    this.hostFiles.closeAll();
    if (!fuse) return;
    await unmountViewFs(fuse, this.mountpoint);
  }

  /**
   * The text of one view of one sandbox now: a render younger than RENDER_TTL_MS under the same
   * limits, or a new one. Falls back to the host file (warning once per sandbox and file) when the
   * view can't be computed, so a reader never gets an error. Only a render for a read is kept for
   * the next reads: a warm-up's or a getattr's may come before the workload runs (PID 1's binds look
   * each view up before it joins the cgroup), and a read within RENDER_TTL_MS would then show a
   * loadavg of an empty cgroup ("1/1 0", seen in 1 of 40 runs beside another sandbox's launch).
   */
  render(id: string, spec: ViewSpec, forRead = true): Buffer {
    const served = this.sandboxes.get(id);
    try {
      if (!served) throw new Error(`sandbox ${id} is not registered`);
      const { source, renders } = served;
      const nowMs = Date.now();
      // Only memory and CPU limits show in views (diskstats and pressure show counters only).
      const limitsKey = spec.cgroup === 'memory' || spec.cgroup === 'cpu' ? source.limitsKey(spec.cgroup) : '';
      const cached = renders.get(spec.name, limitsKey, nowMs);
      if (cached) return cached;
      // Only what this file shows is read: a meminfo render reads no CPU files, a loadavg render no cgroup file.
      const hostText = spec.hostPath ? this.hostFiles.read(spec.hostPath) : '';
      const tasks = spec.liveTasks ? source.tasks() : EMPTY_TASKS;
      const text = renderView(spec.name, hostText, readViewStats(source, spec), source.load(), tasks, source.memory, nowMs);
      const content = Buffer.from(text);
      if (forRead) renders.set(spec.name, limitsKey, nowMs, content);
      return content;
    } catch (err) {
      return this.hostFallback(id, spec, err);
    }
  }

  private hostFallback(id: string, spec: ViewSpec, err: unknown): Buffer {
    const key = `${id}/${spec.name}`;
    if (!this.warned.has(key)) {
      this.warned.add(key);
      process.stderr.write(`sandbox: view ${spec.target} of ${id} serves the host file: ${(err as Error).message}\n`);
    }
    try {
      return Buffer.from(this.hostFiles.read(spec.hostPath ?? spec.target));
    } catch {
      return Buffer.alloc(0); // the host's own /proc unreadable: an empty file, never an error
    }
  }

  private lookup(path: string): Hit | null {
    const known = this.paths.get(path);
    if (known && this.sandboxes.has(known.id)) return known;
    const hit = this.parsePath(path);
    if (hit) this.paths.set(path, hit);
    return hit;
  }

  private parsePath(path: string): Hit | null {
    const parts = path.split('/').filter(Boolean);
    const id = parts[0];
    const served = id === undefined ? undefined : this.sandboxes.get(id);
    if (id === undefined || !served) return null;
    if (parts.length === 1) return { id, spec: null, dir: '' };
    if (this.options.byTarget) {
      const rest = `/${parts.slice(1).join('/')}`;
      const spec = served.views.find((v) => v.target === rest);
      if (spec) return { id, spec, dir: rest };
      return served.views.some((v) => v.target.startsWith(`${rest}/`)) ? { id, spec: null, dir: rest } : null;
    }
    if (parts.length > 2) return null;
    const spec = served.views.find((v) => v.name === parts[1]);
    return spec ? { id, spec, dir: '' } : null;
  }

  /** Names in a directory of a sandbox: view names, or with byTarget the next component of each target under dir. */
  private entries(hit: Hit): string[] {
    const views = this.sandboxes.get(hit.id)!.views;
    if (!this.options.byTarget) return views.map((v) => v.name);
    const names = new Set<string>();
    for (const v of views) if (v.target.startsWith(`${hit.dir}/`)) names.add(v.target.slice(hit.dir.length + 1).split('/')[0]!);
    return [...names];
  }

  private operations(): FuseType.Operations {
    const at = this.mountedAt;
    const dir = { mtime: at, atime: at, ctime: at, uid: 0, gid: 0, mode: DIR_MODE, size: 0, nlink: 2 };
    const file = { mtime: at, atime: at, ctime: at, uid: 0, gid: 0, mode: FILE_MODE, size: 0, nlink: 1 };
    const ops: FuseType.Operations = {
      getattr: (path, cb) => {
        if (path === '/') return cb(0, dir);
        const hit = this.lookup(path);
        if (!hit) return cb(ENOENT);
        if (!hit.spec) return cb(0, dir);
        return cb(0, { ...file, size: viewFileSize(this.render(hit.id, hit.spec, false).length) });
      },
      readdir: (path, cb) => {
        if (path === '/') return cb(0, [...this.sandboxes.keys()]);
        const hit = this.lookup(path);
        if (!hit || hit.spec) return cb(ENOENT);
        return cb(0, this.entries(hit));
      },
      open: (path, flags, cb) => {
        const hit = this.lookup(path);
        if (!hit || !hit.spec) return cb(ENOENT);
        if ((flags & O_ACCMODE) !== 0) return cb(EACCES);
        const fd = this.nextFd++;
        this.openFiles.set(fd, { id: hit.id, spec: hit.spec, text: null });
        return cb(0, fd);
      },
      read: (_path, fd, buf, len, pos, cb) => {
        const open = this.openFiles.get(fd);
        if (!open) return cb(EBADF);
        // Offset 0 regenerates, as seq_read_iter does; a read further on continues this open's text.
        if (pos === 0 || open.text === null) open.text = this.render(open.id, open.spec);
        const text = open.text;
        if (pos >= text.length) return cb(0);
        return cb(text.copy(buf, 0, pos, Math.min(text.length, pos + len)));
      },
      release: (_path, fd, cb) => {
        this.openFiles.delete(fd);
        return cb(0);
      },
    };
    return ops;
  }
}
