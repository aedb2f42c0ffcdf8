// The cgroups the reader-routed layout has answered for, shared by every thread of the view server
// (SharedArrayBuffers): a fixed table of entries, each a cgroup key (procfs/reader-cgroup.ts) and
// a generation. An entry's index picks its slot in procfs/view-shared.ts (load averages, counters,
// task samples, open files, warnings), so every worker renders one cgroup from the same state.
// Workers claim entries (the first read from a new cgroup); the main thread frees them when the
// cgroup is gone (procfs/reader-loads.ts). A generation that changes on every claim and free lets a
// worker's own cache of key -> entry tell a reused entry from its own, and a count of frees tells a
// worker, with one load per request, when to close what it opened for entries gone.

/** The shared buffers of a ReaderTable (pass them in a worker's data). */
export interface ReaderTableData {
  entries: number;
  keyBytes: number;
  /** Per entry: state, generation, key length; then the lock word and the count of frees. */
  meta: SharedArrayBuffer;
  keys: SharedArrayBuffer;
}

const WORDS = 3;
const W_STATE = 0;
const W_GEN = 1;
const W_LEN = 2;
const FREE = 0;
const LIVE = 1;

/** Longest key kept: a v1 key of 7 hierarchies with 64-hex container ids is ~800 bytes. */
const READER_KEY_BYTES = 2048;

/** Allocate a table of `entries` cgroups. */
export function createReaderTable(entries: number, keyBytes = READER_KEY_BYTES): ReaderTableData {
  return {
    entries,
    keyBytes,
    meta: new SharedArrayBuffer((entries * WORDS + 2) * 4),
    keys: new SharedArrayBuffer(entries * keyBytes),
  };
}

/** One entry as a thread holds it: valid while the table says it is live with this generation. */
export interface ReaderEntryRef {
  index: number;
  gen: number;
}

/** A thread's view of the shared table. */
export class ReaderTable {
  private readonly meta: Int32Array;
  private readonly keys: Buffer;
  private readonly lock: number;
  private readonly freed: number;

  constructor(private readonly data: ReaderTableData) {
    this.meta = new Int32Array(data.meta);
    this.keys = Buffer.from(data.keys);
    this.lock = data.entries * WORDS;
    this.freed = this.lock + 1;
  }

  /** How many entries were freed so far (wraps): a change means some entry a thread holds may be gone. */
  frees(): number {
    return Atomics.load(this.meta, this.freed);
  }

  /** Entries in the table (live or free). */
  get size(): number {
    return this.data.entries;
  }

  /** Whether entry `ref` still holds the key it held when it was found. */
  isLive(ref: ReaderEntryRef): boolean {
    const at = ref.index * WORDS;
    return Atomics.load(this.meta, at + W_STATE) === LIVE && Atomics.load(this.meta, at + W_GEN) === ref.gen;
  }

  /**
   * The entry of `key`, claimed if no entry holds it yet (`onClaim(index)` runs before anyone can see
   * it: the caller resets the entry's slot there). Null when the table is full or the key too long.
   * Claims are serialized by the table's lock (one per new cgroup), so a key is never in two entries.
   */
  findOrClaim(key: string, onClaim: (index: number) => void): ReaderEntryRef | null {
    const bytes = Buffer.from(key);
    const found = this.find(bytes);
    if (found || bytes.length > this.data.keyBytes) return found;
    while (Atomics.compareExchange(this.meta, this.lock, 0, 1) !== 0) Atomics.wait(this.meta, this.lock, 1, 5);
    try {
      const again = this.find(bytes);
      if (again) return again;
      for (let index = 0; index < this.data.entries; index++) {
        const at = index * WORDS;
        if (Atomics.load(this.meta, at + W_STATE) !== FREE) continue;
        bytes.copy(this.keys, index * this.data.keyBytes);
        Atomics.store(this.meta, at + W_LEN, bytes.length);
        const gen = Atomics.add(this.meta, at + W_GEN, 1) + 1;
        onClaim(index);
        Atomics.store(this.meta, at + W_STATE, LIVE); // last: a reader that sees LIVE sees the key
        return { index, gen };
      }
      return null;
    } finally {
      Atomics.store(this.meta, this.lock, 0);
      Atomics.notify(this.meta, this.lock, 1);
    }
  }

  /** The key of entry `ref` while it is live with that generation, else null. */
  keyOf(ref: ReaderEntryRef): string | null {
    if (!Number.isInteger(ref.index) || ref.index < 0 || ref.index >= this.data.entries) return null;
    const from = ref.index * this.data.keyBytes;
    const key = this.keys.toString('utf8', from, from + Atomics.load(this.meta, ref.index * WORDS + W_LEN));
    return this.isLive(ref) ? key : null; // checked after the copy: a key freed meanwhile is not returned
  }

  /** Live entries and their keys (the main thread's sweep). */
  live(): Array<ReaderEntryRef & { key: string }> {
    const out: Array<ReaderEntryRef & { key: string }> = [];
    for (let index = 0; index < this.data.entries; index++) {
      const at = index * WORDS;
      if (Atomics.load(this.meta, at + W_STATE) !== LIVE) continue;
      const from = index * this.data.keyBytes;
      out.push({
        index,
        gen: Atomics.load(this.meta, at + W_GEN),
        key: this.keys.toString('utf8', from, from + Atomics.load(this.meta, at + W_LEN)),
      });
    }
    return out;
  }

  /** Free entry `ref` if it still holds that generation (its cgroup is gone). */
  free(ref: ReaderEntryRef): void {
    while (Atomics.compareExchange(this.meta, this.lock, 0, 1) !== 0) Atomics.wait(this.meta, this.lock, 1, 5);
    try {
      if (!this.isLive(ref)) return;
      const at = ref.index * WORDS;
      Atomics.add(this.meta, at + W_GEN, 1);
      Atomics.store(this.meta, at + W_STATE, FREE);
      Atomics.add(this.meta, this.freed, 1);
    } finally {
      Atomics.store(this.meta, this.lock, 0);
      Atomics.notify(this.meta, this.lock, 1);
    }
  }

  private find(bytes: Buffer): ReaderEntryRef | null {
    for (let index = 0; index < this.data.entries; index++) {
      const at = index * WORDS;
      if (Atomics.load(this.meta, at + W_STATE) !== LIVE || Atomics.load(this.meta, at + W_LEN) !== bytes.length)
        continue;
      const gen = Atomics.load(this.meta, at + W_GEN);
      const from = index * this.data.keyBytes;
      if (bytes.equals(this.keys.subarray(from, from + bytes.length)) && this.isLive({ index, gen }))
        return { index, gen };
    }
    return null;
  }
}
