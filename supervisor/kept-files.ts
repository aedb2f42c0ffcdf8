// Reading kernel text files (cgroupfs control files, /proc files) through file descriptors kept
// open: one pread(2) at offset 0 per read instead of open+fstat+read+close. A seq_file regenerates
// its text when read at offset 0 (fs/seq_file.c seq_read_iter: "if request is to read from zero
// offset, reset iterator to first record"), so every read is fresh.
//
// Synchronous on purpose. These files are generated in memory by the kernel: a read never waits
// on a device, it only formats counters: one trip through libuv's thread pool (fs.read with a
// callback) costs more than any of these reads (docs/code-measurements.md), and the FUSE server
// renders from several of these files per open.
import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK = 16 * 1024;
/** One buffer for every read: reads are synchronous, so no two are ever in flight. */
const buffer = Buffer.allocUnsafe(CHUNK);

/** Texts read during the current KeptFiles.batch(), by path; null outside one. */
let batchTexts: Map<string, string> | null = null;

/** Open descriptors by path, read with pread at offset 0; closeAll() when done. */
export class KeptFiles {
  private readonly fds = new Map<string, number>();

  /**
   * Run `fn` with every file read once at most: a second read of a path (by any KeptFiles of this
   * thread) returns the first's text. One view render reads its limit files for the render cache's
   * key and again for its figures; a render is one snapshot, so it needs each file once.
   */
  static batch<T>(fn: () => T): T {
    if (batchTexts !== null) return fn();
    batchTexts = new Map();
    try {
      return fn();
    } finally {
      batchTexts = null;
    }
  }

  /** Whole content of a file (the error of open or read as Node reports it, with code and path). */
  read(path: string): string {
    const seen = batchTexts?.get(path);
    if (seen !== undefined) return seen;
    const text = this.readNow(path);
    batchTexts?.set(path, text);
    return text;
  }

  private readNow(path: string): string {
    let fd = this.fds.get(path);
    if (fd === undefined) {
      fd = openSync(path, 'r'); // a missing file throws and is not remembered
      this.fds.set(path, fd);
    }
    const first = readSync(fd, buffer, 0, CHUNK, 0);
    if (first < CHUNK) return buffer.toString('utf8', 0, first);
    // Longer than one chunk: decode once at the end so no UTF-8 sequence is split between chunks.
    const chunks = [Buffer.from(buffer)];
    for (let offset = first; ; ) {
      const bytesRead = readSync(fd, buffer, 0, CHUNK, offset);
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
      offset += bytesRead;
      if (bytesRead < CHUNK) return Buffer.concat(chunks).toString('utf8');
    }
  }

  /** Whether a descriptor of `path` is kept. */
  has(path: string): boolean {
    return this.fds.has(path);
  }

  /** Number of descriptors kept. */
  get size(): number {
    return this.fds.size;
  }

  /** Paths whose descriptors are kept. */
  paths(): IterableIterator<string> {
    return this.fds.keys();
  }

  /** Close the descriptor of one path (the next read opens it again). */
  close(path: string): void {
    const fd = this.fds.get(path);
    if (fd === undefined) return;
    this.fds.delete(path);
    try {
      closeSync(fd);
    } catch {
      // already closed: nothing to release
    }
  }

  /** Close every descriptor (before the files' cgroup is removed, and at the end). */
  closeAll(): void {
    for (const fd of this.fds.values()) {
      try {
        closeSync(fd);
      } catch {
        // already closed: nothing to release
      }
    }
    this.fds.clear();
  }
}
