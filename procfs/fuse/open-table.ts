// Per-open state every worker of a server can reach: the kernel may send an open's OPEN to one
// worker and its READs and RELEASE to another (fs/fuse/dev.c hands each request to whichever
// reader is waiting), so what an open holds lives in shared memory. A fixed table of slots, one per
// open file: a few Int32 words and a byte region (the text an open's reads continue). The slot
// count is the cap on files open at once: a full table refuses the open (EMFILE), so what opens
// cost stays bounded. Memory is the kernel's zero pages until a slot's region is first written.

/** The shared buffers of an OpenTable (pass them in a worker's data). */
export interface OpenTableData {
  slots: number;
  words: number;
  bytesPerSlot: number;
  /** Per slot: [state, length, ...words]; plus one Int32 at the end, the allocation hint. */
  meta: SharedArrayBuffer;
  bytes: SharedArrayBuffer;
}

/** Words of a slot before the caller's own: its state (0 free, 1 in use) and its byte length. */
const HEADER_WORDS = 2;

/** Allocate the buffers of a table of `slots` opens, each with `words` Int32s and `bytesPerSlot` bytes. */
export function createOpenTable(slots: number, words: number, bytesPerSlot: number): OpenTableData {
  return {
    slots,
    words,
    bytesPerSlot,
    meta: new SharedArrayBuffer((slots * (HEADER_WORDS + words) + 1) * 4),
    bytes: new SharedArrayBuffer(slots * bytesPerSlot),
  };
}

/** A view of a shared open table (one per thread). */
export class OpenTable {
  private readonly meta: Int32Array;
  private readonly bytes: Buffer;
  private readonly stride: number;
  private readonly hint: number;

  constructor(private readonly data: OpenTableData) {
    this.meta = new Int32Array(data.meta);
    this.bytes = Buffer.from(data.bytes);
    this.stride = HEADER_WORDS + data.words;
    this.hint = data.slots * this.stride;
  }

  /** Take a free slot and set its words; its index, or -1 when every slot is in use. */
  alloc(words: readonly number[]): number {
    const { slots } = this.data;
    const start = Atomics.add(this.meta, this.hint, 1) >>> 0;
    for (let i = 0; i < slots; i++) {
      const slot = (start + i) % slots;
      const at = slot * this.stride;
      if (Atomics.compareExchange(this.meta, at, 0, 1) !== 0) continue;
      Atomics.store(this.meta, at + 1, -1);
      for (let w = 0; w < this.data.words; w++) Atomics.store(this.meta, at + HEADER_WORDS + w, words[w] ?? 0);
      return slot;
    }
    return -1;
  }

  /** Whether `slot` is a slot in use (a handle from the kernel is trusted no further than this). */
  inUse(slot: number): boolean {
    return (
      Number.isInteger(slot) && slot >= 0 && slot < this.data.slots && Atomics.load(this.meta, slot * this.stride) === 1
    );
  }

  /** Word `w` of a slot. */
  word(slot: number, w: number): number {
    return Atomics.load(this.meta, slot * this.stride + HEADER_WORDS + w);
  }

  /** Store `text` as the slot's bytes; false when it does not fit (the slot keeps none). */
  setBytes(slot: number, text: Buffer): boolean {
    const at = slot * this.stride;
    if (text.length > this.data.bytesPerSlot) {
      Atomics.store(this.meta, at + 1, -1);
      return false;
    }
    text.copy(this.bytes, slot * this.data.bytesPerSlot);
    Atomics.store(this.meta, at + 1, text.length); // after the copy: a reader that sees the length sees the bytes
    return true;
  }

  /** The slot's bytes (a view into shared memory), or null when none were stored. */
  getBytes(slot: number): Buffer | null {
    const length = Atomics.load(this.meta, slot * this.stride + 1);
    if (length < 0) return null;
    const from = slot * this.data.bytesPerSlot;
    return this.bytes.subarray(from, from + length);
  }

  /** Free a slot. */
  free(slot: number): void {
    if (this.inUse(slot)) Atomics.store(this.meta, slot * this.stride, 0);
  }

  /** Slots in use now. */
  inUseCount(): number {
    let n = 0;
    for (let s = 0; s < this.data.slots; s++) if (Atomics.load(this.meta, s * this.stride) === 1) n++;
    return n;
  }
}
