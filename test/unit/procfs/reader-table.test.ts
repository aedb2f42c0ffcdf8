// The shared table of reader cgroups (procfs/reader-table.ts): one entry per key whoever claims it,
// generations that tell a reused entry from the one a thread knew, a bound on entries and key length.
import { describe, expect, it } from 'vitest';
import { ReaderTable, createReaderTable } from '../../../procfs/reader-table.js';

describe('ReaderTable', () => {
  it('claims a key once: the second thread (another view of the same buffers) finds the same entry', () => {
    const data = createReaderTable(4);
    const a = new ReaderTable(data);
    const b = new ReaderTable(data);
    const claimed: number[] = [];
    const first = a.findOrClaim('4:memory:/x', (i) => claimed.push(i));
    const again = b.findOrClaim('4:memory:/x', (i) => claimed.push(i));
    expect(again).toEqual(first);
    expect(claimed).toEqual([first!.index]);
    expect(b.live()).toEqual([{ ...first, key: '4:memory:/x' }]);
  });

  it('keeps keys that differ only after a common prefix apart', () => {
    const t = new ReaderTable(createReaderTable(4));
    const x = t.findOrClaim('0::/a', () => undefined)!;
    const y = t.findOrClaim('0::/ab', () => undefined)!;
    expect(x.index).not.toBe(y.index);
  });

  it('frees an entry: a thread holding the old generation sees it is gone, a new claim gets a new generation', () => {
    const data = createReaderTable(1);
    const worker = new ReaderTable(data);
    const main = new ReaderTable(data);
    const old = worker.findOrClaim('0::/gone', () => undefined)!;
    main.free(old);
    expect(worker.isLive(old)).toBe(false);
    const reused = worker.findOrClaim('0::/new', () => undefined)!;
    expect(reused.index).toBe(old.index);
    expect(reused.gen).not.toBe(old.gen);
    expect(worker.isLive(old)).toBe(false);
    main.free(old); // a stale free does not drop the new owner
    expect(worker.isLive(reused)).toBe(true);
  });

  it("gives an entry's key to another thread while it holds that generation (an open's reads on another worker)", () => {
    const data = createReaderTable(2);
    const claimer = new ReaderTable(data);
    const other = new ReaderTable(data);
    const ref = claimer.findOrClaim('0::/c', () => undefined)!;
    expect(other.keyOf(ref)).toBe('0::/c');
    claimer.free(ref);
    expect(other.keyOf(ref)).toBeNull();
    expect(other.keyOf({ index: 7, gen: 1 })).toBeNull();
  });

  it('returns null when every entry is taken or the key is longer than an entry holds', () => {
    const t = new ReaderTable(createReaderTable(2, 16));
    expect(t.findOrClaim('0::/one', () => undefined)).not.toBeNull();
    expect(t.findOrClaim('0::/two', () => undefined)).not.toBeNull();
    expect(t.findOrClaim('0::/three', () => undefined)).toBeNull();
    expect(new ReaderTable(createReaderTable(2, 16)).findOrClaim(`0::/${'x'.repeat(20)}`, () => undefined)).toBeNull();
  });

  it('counts frees, seen by every thread, and only real ones (a stale free counts nothing)', () => {
    const data = createReaderTable(2);
    const main = new ReaderTable(data);
    const worker = new ReaderTable(data);
    expect(worker.frees()).toBe(0);
    const ref = worker.findOrClaim('0::/c', () => undefined)!;
    expect(worker.frees()).toBe(0);
    main.free(ref);
    expect(worker.frees()).toBe(1);
    main.free(ref);
    expect(worker.frees()).toBe(1);
    expect(worker.findOrClaim('0::/one', () => undefined)).not.toBeNull();
    expect(worker.findOrClaim('0::/two', () => undefined)).not.toBeNull();
    expect(worker.frees()).toBe(1); // the lock word next to it is untouched by claims
  });
});
