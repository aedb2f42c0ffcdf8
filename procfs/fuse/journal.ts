// The request journal of a keeper's servers (procfs/daemon/keeper.ts): each worker writes every
// request it reads into a slot of its own in a file the keeper holds, before answering it. A server
// that dies leaves the requests it had read and not answered on the /dev/fuse file's processing
// list, where only a reply with their unique completes them (fs/fuse/dev.c fuse_dev_do_write ->
// request_find searches the writing file's fuse_pqueue, and the keeper's servers all write through
// the one file the keeper opened). Linux 6.9+ queues them again on FUSE_NOTIFY_RESEND; before that
// the keeper reads the journal and its next server answers each recorded request again.
// A slot is never cleared (a second write per request would double the cost): it holds the last
// request its worker read, answered or not. Answering one the dead server had answered already
// is harmless: uniques are never reused on a connection (fs/fuse/dev.c fuse_get_unique counts up),
// so that reply finds no request and fails with ENOENT, which the loop ignores.
// The file is unnamed (O_TMPFILE on a tmpfs: no path reaches it, mode 0600): only the keeper and
// its servers hold it, and a process that could open /proc/<keeper>/fd/N could ptrace the keeper.
import { closeSync, constants, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { IN_HEADER_SIZE, Op } from './protocol.js';

/** Bytes per worker: every request that takes a reply on our read-only mounts fits (a LOOKUP of a 255-byte name is 296). */
const SLOT = 512;
/** Slots: workers with an index past this record nothing. */
export const JOURNAL_SLOTS = 16;
/** O_TMPFILE (include/uapi/asm-generic/fcntl.h: __O_TMPFILE | O_DIRECTORY). */
const O_TMPFILE = 0o20200000;
/** Where the unnamed file may live: tmpfs, never written back to a disk. */
const DIRS = ['/dev/shm', '/run'];

/** Open an unnamed journal (close-on-exec, as every Node open), or throw naming each directory tried. */
export function openJournal(): number {
  const errors: string[] = [];
  for (const dir of DIRS) {
    try {
      const fd = openSync(dir, constants.O_RDWR | O_TMPFILE, 0o600);
      try {
        ftruncateSync(fd, SLOT * JOURNAL_SLOTS);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      return fd;
    } catch (err) {
      errors.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  throw new Error(`open(O_TMPFILE) for the request journal: ${errors.join(', ')}`);
}

/** A worker's recorder: writes the request of `n` bytes at the start of `buf` into its slot (one pwrite(2)). */
export function journalRecorder(fd: number, slot: number): (buf: Buffer, n: number) => void {
  const at = slot * SLOT;
  return (buf, n) => {
    // A longer request (a BATCH_FORGET) takes no reply: a truncated record is dropped by readJournal.
    writeSync(fd, buf, 0, Math.min(n, SLOT), at);
  };
}

/** Opcodes that take no reply: nothing to answer again. */
const NO_REPLY: ReadonlySet<number> = new Set([Op.FORGET, Op.BATCH_FORGET, Op.INTERRUPT]);

/** The requests recorded in the journal that take a reply (whole ones only), oldest slot first. */
export function readJournal(fd: number): Buffer[] {
  const all = Buffer.alloc(SLOT * JOURNAL_SLOTS);
  readSync(fd, all, 0, all.length, 0);
  const found: Buffer[] = [];
  for (let at = 0; at < all.length; at += SLOT) {
    const len = all.readUInt32LE(at);
    const opcode = all.readUInt32LE(at + 4);
    if (len < IN_HEADER_SIZE || len > SLOT || NO_REPLY.has(opcode) || opcode === Op.INIT || opcode === Op.DESTROY)
      continue;
    found.push(Buffer.from(all.subarray(at, at + len)));
  }
  return found;
}

/** The unique id of a recorded request (its header's third field). */
export function uniqueOf(request: Uint8Array): bigint {
  return Buffer.from(request.buffer, request.byteOffset, request.byteLength).readBigUInt64LE(8);
}
