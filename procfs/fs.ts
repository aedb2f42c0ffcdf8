// The FUSE filesystem that serves the views: one fuse-native mount, routed by path
// (/<sandbox-id>/<view>), so one server could serve many sandboxes. fuse-native gives no caller
// pid, so unlike lxcfs we route by path, not by the reader's pid.
//
// Handlers run on Node's main thread: they never block and never touch this mount themselves (a
// synchronous read of our own mount from here would deadlock). Each open renders a snapshot into a
// per-fd buffer, so reads at any offset and size of one open see consistent content.
import type FuseType from 'fuse-native';
import type { CpuStats, MemoryStats } from '../supervisor/cgroup/types.js';
import { KeptFiles } from '../supervisor/kept-files.js';
import type { LoadAverages } from './loadavg.js';
import { EMPTY_TASKS } from './tasks.js';
import { VIEWS, renderView, type TaskSample, type ViewMemory, type ViewName, type ViewSpec, type ViewStats } from './views/index.js';

/** What the server needs from one sandbox to render its views. */
export interface SandboxViewSource {
  memoryStats(): Promise<MemoryStats>;
  cpuStats(): Promise<CpuStats>;
  load(): LoadAverages;
  /** The sandbox's tasks now (the kernel's nr_running, nr_threads and last pid are instantaneous). */
  tasks(): Promise<TaskSample>;
  memory: ViewMemory;
}

// errno values as fuse-native expects them (negative).
const ENOENT = -2;
const EBADF = -9;
const EACCES = -13;
const O_ACCMODE = 3;
const DIR_MODE = 0o40555;
const FILE_MODE = 0o100444;
// getattr's size must be >= the content or the kernel stops reading early (page-cache reads are
// bounded by i_size); a short read then marks EOF. So report at least this, or twice the last render.
const MIN_REPORTED_SIZE = 64 * 1024;

const VIEW_BY_NAME = new Map<string, ViewSpec>(VIEWS.map((v) => [v.name, v]));

/** The part of the cgroup's figures a view is rendered from. */
async function readStats(source: SandboxViewSource, spec: ViewSpec): Promise<ViewStats> {
  if (spec.cgroup === 'memory') return { memory: await source.memoryStats() };
  if (spec.cgroup === 'cpu') return { cpu: await source.cpuStats() };
  return {};
}

/** Serves every registered sandbox's views under one mountpoint. */
export class ViewServer {
  private readonly sandboxes = new Map<string, SandboxViewSource>();
  private readonly openFiles = new Map<number, Buffer>();
  private readonly lastSize = new Map<string, number>();
  private readonly warned = new Set<string>();
  /** Host files (/proc/meminfo, …) read through kept descriptors: one pread per render. */
  private readonly hostFiles = new KeptFiles();
  private nextFd = 1;
  private fuse: FuseType | null = null;

  constructor(readonly mountpoint: string) {}

  /** Path of one sandbox's view file on the host, to bind inside the sandbox. */
  viewPath(id: string, name: ViewName): string {
    return `${this.mountpoint}/${id}/${name}`;
  }

  /** Start serving a sandbox's views. */
  register(id: string, source: SandboxViewSource): void {
    this.sandboxes.set(id, source);
  }

  /** Stop serving a sandbox's views. */
  unregister(id: string): void {
    this.sandboxes.delete(id);
  }

  /** Mount the filesystem (the mountpoint directory must exist). */
  async mount(): Promise<void> {
    // fuse-native is CommonJS and loads a native addon linked to libfuse.so.2 (Debian libfuse2).
    const Fuse = (await import('fuse-native')).default;
    const fuse = new Fuse(this.mountpoint, this.operations(), {
      allowOther: true, // a --user workload or a daemon that drops privileges must read the views
      autoUnmount: true, // libfuse's fusermount helper unmounts if this process dies (SIGKILL)
      fsname: 'sandbox-views',
      subtype: 'sandbox',
    });
    await new Promise<void>((resolve, reject) =>
      fuse.mount((err) => (err ? reject(new Error(`mount FUSE ${this.mountpoint}: ${err.message}`)) : resolve())),
    );
    this.fuse = fuse;
  }

  /** Unmount (lazily, via fusermount -uz) and drop every open snapshot. */
  async unmount(): Promise<void> {
    const fuse = this.fuse;
    this.fuse = null;
    this.openFiles.clear();
    await this.hostFiles.closeAll();
    if (!fuse) return;
    await new Promise<void>((resolve, reject) =>
      fuse.unmount((err) => (err ? reject(new Error(`unmount FUSE ${this.mountpoint}: ${err.message}`)) : resolve())),
    );
  }

  /** Render one view of one sandbox now; falls back to the host file (warning once) if it can't. */
  async render(id: string, spec: ViewSpec): Promise<Buffer> {
    const source = this.sandboxes.get(id);
    const hostPath = spec.hostPath ?? spec.target;
    try {
      if (!source) throw new Error(`sandbox ${id} is not registered`);
      // Only what this file shows is read: a meminfo open reads no CPU files, a loadavg open no cgroup file.
      const [hostText, stats, tasks] = await Promise.all([
        spec.hostPath ? this.hostFiles.read(spec.hostPath) : '',
        readStats(source, spec),
        spec.liveTasks ? source.tasks() : EMPTY_TASKS,
      ]);
      const text = renderView(spec.name, hostText, stats, source.load(), tasks, source.memory, Date.now());
      return Buffer.from(text);
    } catch (err) {
      const key = `${id}/${spec.name}`;
      if (!this.warned.has(key)) {
        this.warned.add(key);
        process.stderr.write(`sandbox: view ${spec.target} of ${id} serves the host file: ${(err as Error).message}\n`);
      }
      return Buffer.from(await this.hostFiles.read(hostPath));
    }
  }

  private lookup(path: string): { id: string; spec: ViewSpec | null } | null {
    const parts = path.split('/').filter(Boolean);
    const id = parts[0];
    if (id === undefined || !this.sandboxes.has(id) || parts.length > 2) return null;
    if (parts.length === 1) return { id, spec: null };
    const spec = VIEW_BY_NAME.get(parts[1] as string);
    return spec ? { id, spec } : null;
  }

  private operations(): FuseType.Operations {
    return {
      getattr: (path, cb) => {
        const now = new Date();
        const base = { mtime: now, atime: now, ctime: now, uid: 0, gid: 0 };
        if (path === '/') return cb(0, { ...base, mode: DIR_MODE, size: 4096, nlink: 2 });
        const hit = this.lookup(path);
        if (!hit) return cb(ENOENT);
        if (!hit.spec) return cb(0, { ...base, mode: DIR_MODE, size: 4096, nlink: 2 });
        const size = Math.max(MIN_REPORTED_SIZE, 2 * (this.lastSize.get(path) ?? 0));
        return cb(0, { ...base, mode: FILE_MODE, size, nlink: 1 });
      },
      readdir: (path, cb) => {
        if (path === '/') return cb(0, [...this.sandboxes.keys()]);
        const hit = this.lookup(path);
        if (!hit || hit.spec) return cb(ENOENT);
        return cb(0, VIEWS.map((v) => v.name));
      },
      open: (path, flags, cb) => {
        const hit = this.lookup(path);
        if (!hit || !hit.spec) return cb(ENOENT);
        if ((flags & O_ACCMODE) !== 0) return cb(EACCES);
        const spec = hit.spec;
        this.render(hit.id, spec).then(
          (buf) => {
            const fd = this.nextFd++;
            this.openFiles.set(fd, buf);
            this.lastSize.set(path, buf.length);
            cb(0, fd);
          },
          () => cb(ENOENT),
        );
      },
      read: (_path, fd, buf, len, pos, cb) => {
        const content = this.openFiles.get(fd);
        if (!content) return cb(EBADF);
        if (pos >= content.length) return cb(0);
        return cb(content.copy(buf, 0, pos, Math.min(content.length, pos + len)));
      },
      release: (_path, fd, cb) => {
        this.openFiles.delete(fd);
        cb(0);
      },
    };
  }
}
