// The render cache (procfs/render-cache.ts) as every thread of the view server sees it: one
// SharedArrayBuffer of entries, so a render one worker made serves the reads the other workers take
// within the same RENDER_TTL_MS. Requests of one reader land on whichever worker reads /dev/fuse
// first, so a cache per worker renders each view of a sandbox once per worker and window; a fleet
// of sandboxes read in a loop rendered about twice as often as it needs to.
//
// An entry is direct-mapped by (slot, view): a table of ENTRIES entries, each tagged with the slot,
// the view and the slot's owner (a registered sandbox's key, never reused; a reader cgroup's table
// generation), so a slot reused by another sandbox never meets its predecessor's text. Two owners
// mapped to one entry only evict each other (a miss: the worker's own RenderCache is still there).
// Each entry is a seqlock: a writer makes the sequence odd while it writes; a reader copies, then
// checks the sequence did not move. An entry is replaced only by a render made no earlier than the
// one it holds, so two readers never get an older text after a newer one from this cache.
// A refresh ahead of the TTL (render-cache.ts REFRESH_AHEAD_MS) is claimed per render: one word of
// the entry holds a token of the render a thread is re-making, so two workers never both re-make it.
import { RENDER_TTL_MS } from './render-cache.js';

/** Most entries a table has (8 MiB): a fleet of up to MAX_ENTRIES / views sandboxes never evicts. */
const MAX_SHARED_RENDERS = 1024;
/** Bytes of one entry: header, limits key, text. */
const ENTRY_BYTES = 8 << 10;
const HEADER_BYTES = 64;
/** Longest limits key kept (a v1 memory and cpu key is well under 100 bytes). */
const KEY_BYTES = 256;
const TEXT_OFFSET = HEADER_BYTES + KEY_BYTES;
/** Longest text kept; longer renders (cpuinfo of a host of many CPUs) stay in the worker's own cache. */
export const SHARED_RENDER_BYTES = ENTRY_BYTES - TEXT_OFFSET;
// Int32 words of the header: sequence, slot, view, key length, text length; Float64 words 3 and 4: owner, rendered at.
const W_SEQ = 0;
const W_SLOT = 1;
const W_VIEW = 2;
const W_KEY_LEN = 3;
const W_TEXT_LEN = 4;
/** Int32 word 10 (after the two Float64 words): the token of the render whose refresh is claimed. */
const W_CLAIM = 10;
const F_OWNER = 3;
const F_AT = 4;

/** The table's buffer (pass it in a worker's data). */
export interface SharedRenderData {
  buffer: SharedArrayBuffer;
  entries: number;
}

/** Allocate a table for `slots` slots of `views` views each (at most MAX_SHARED_RENDERS entries). */
export function createSharedRenderData(slots: number, views: number): SharedRenderData {
  const entries = Math.max(1, Math.min(MAX_SHARED_RENDERS, slots * views));
  return { buffer: new SharedArrayBuffer(entries * ENTRY_BYTES), entries };
}

/** A render found in the table, and when it was made. */
export interface SharedRender {
  content: Buffer;
  renderedAtMs: number;
}

/** One thread's view of the table. */
export class SharedRenders {
  private readonly words: Int32Array;
  private readonly floats: Float64Array;
  private readonly bytes: Buffer;

  /** `viewsPerSlot`: view indexes run from 0 to it (VIEWS.length), so the slots of a fleet map to distinct entries. */
  constructor(
    private readonly data: SharedRenderData,
    private readonly viewsPerSlot: number,
    private readonly ttlMs = RENDER_TTL_MS,
  ) {
    this.words = new Int32Array(data.buffer);
    this.floats = new Float64Array(data.buffer);
    this.bytes = Buffer.from(data.buffer);
  }

  /** The render of `view` for slot/owner made under `limitsKey` less than the TTL before `nowMs`, else null. */
  get(slot: number, owner: number, view: number, limitsKey: string, nowMs: number): SharedRender | null {
    const at = this.entryOf(slot, view);
    const w = at / 4;
    const f = at / 8;
    const seq = Atomics.load(this.words, w + W_SEQ);
    if (
      (seq & 1) !== 0 ||
      this.words[w + W_SLOT] !== slot ||
      this.words[w + W_VIEW] !== view ||
      this.floats[f + F_OWNER] !== owner
    )
      return null;
    const renderedAtMs = this.floats[f + F_AT]!;
    const age = nowMs - renderedAtMs;
    if (!(age >= 0 && age < this.ttlMs)) return null;
    const keyLen = this.words[w + W_KEY_LEN]!;
    const textLen = this.words[w + W_TEXT_LEN]!;
    if (keyLen !== limitsKey.length || textLen > SHARED_RENDER_BYTES) return null;
    if (this.bytes.toString('latin1', at + HEADER_BYTES, at + HEADER_BYTES + keyLen) !== limitsKey) return null;
    const content = Buffer.allocUnsafe(textLen);
    this.bytes.copy(content, 0, at + TEXT_OFFSET, at + TEXT_OFFSET + textLen);
    // Written meanwhile: what was copied may be torn.
    return Atomics.load(this.words, w + W_SEQ) === seq ? { content, renderedAtMs } : null;
  }

  /**
   * Keep a render for every thread; false when it does not fit (or another thread is writing that
   * entry). The key is stored a byte a character: printable ASCII and the newlines the limit files end with.
   */
  set(slot: number, owner: number, view: number, limitsKey: string, renderedAtMs: number, content: Buffer): boolean {
    if (content.length > SHARED_RENDER_BYTES || limitsKey.length > KEY_BYTES || !/^[\n\x20-\x7e]*$/.test(limitsKey))
      return false;
    const at = this.entryOf(slot, view);
    const w = at / 4;
    const f = at / 8;
    const seq = Atomics.load(this.words, w + W_SEQ);
    if ((seq & 1) !== 0 || Atomics.compareExchange(this.words, w + W_SEQ, seq, seq + 1) !== seq) return false;
    try {
      const same =
        this.words[w + W_SLOT] === slot && this.words[w + W_VIEW] === view && this.floats[f + F_OWNER] === owner;
      if (same && this.floats[f + F_AT]! > renderedAtMs) return true; // a newer render is there already
      this.words[w + W_SLOT] = slot;
      this.words[w + W_VIEW] = view;
      this.floats[f + F_OWNER] = owner;
      this.floats[f + F_AT] = renderedAtMs;
      this.words[w + W_KEY_LEN] = limitsKey.length;
      this.bytes.write(limitsKey, at + HEADER_BYTES, 'latin1');
      this.words[w + W_TEXT_LEN] = content.length;
      content.copy(this.bytes, at + TEXT_OFFSET);
      return true;
    } finally {
      Atomics.store(this.words, w + W_SEQ, seq + 2);
    }
  }

  /**
   * Claim the refresh of the render of (slot, owner, view) made at `renderedAtMs`: true for the one
   * thread that gets it, false for the others, and when the entry holds another render by now.
   */
  claimRefresh(slot: number, owner: number, view: number, renderedAtMs: number): boolean {
    const at = this.entryOf(slot, view);
    const w = at / 4;
    const f = at / 8;
    const seq = Atomics.load(this.words, w + W_SEQ);
    const holds = () =>
      (seq & 1) === 0 &&
      this.words[w + W_SLOT] === slot &&
      this.words[w + W_VIEW] === view &&
      this.floats[f + F_OWNER] === owner &&
      this.floats[f + F_AT] === renderedAtMs;
    if (!holds()) return false;
    const token = (renderedAtMs % 0x7fffffff) + 1;
    const claimed = Atomics.load(this.words, w + W_CLAIM);
    if (claimed === token || Atomics.compareExchange(this.words, w + W_CLAIM, claimed, token) !== claimed) return false;
    return Atomics.load(this.words, w + W_SEQ) === seq && holds();
  }

  /** Byte offset of the entry (slot, view) maps to. */
  private entryOf(slot: number, view: number): number {
    return ((slot * this.viewsPerSlot + view) % this.data.entries) * ENTRY_BYTES;
  }
}
