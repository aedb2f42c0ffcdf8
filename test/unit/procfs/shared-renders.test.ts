// The render cache every worker of the view server shares (procfs/shared-renders.ts): a render one
// thread kept is found by another (another view of the same buffer) under the same slot, owner,
// view and limits key for RENDER_TTL_MS, and never under anything else.
import { describe, expect, it } from 'vitest';
import { RENDER_TTL_MS } from '../../../procfs/render-cache.js';
import { SHARED_RENDER_BYTES, SharedRenders, createSharedRenderData } from '../../../procfs/shared-renders.js';

const VIEWS = 8;
const text = (s: string) => Buffer.from(s);

describe('SharedRenders', () => {
  it("finds another thread's render within the TTL, under the same slot, owner, view and limits key", () => {
    const data = createSharedRenderData(4, VIEWS);
    const a = new SharedRenders(data, VIEWS);
    const b = new SharedRenders(data, VIEWS);
    expect(b.get(1, 7, 2, 'k', 1000)).toBeNull();
    expect(a.set(1, 7, 2, 'k', 1000, text('MemTotal: 1 kB\n'))).toBe(true);
    const found = b.get(1, 7, 2, 'k', 1000 + RENDER_TTL_MS - 1);
    expect(found?.content.toString()).toBe('MemTotal: 1 kB\n');
    expect(found?.renderedAtMs).toBe(1000);
    expect(b.get(1, 7, 2, 'k', 1000 + RENDER_TTL_MS)).toBeNull(); // expired
    expect(b.get(1, 7, 2, 'k', 999)).toBeNull(); // from the future: a clock that went back
    expect(b.get(1, 7, 2, 'k2', 1001)).toBeNull(); // the limits changed
    expect(b.get(1, 7, 3, 'k', 1001)).toBeNull(); // another view
    expect(b.get(2, 7, 2, 'k', 1001)).toBeNull(); // another slot
    expect(b.get(1, 8, 2, 'k', 1001)).toBeNull(); // the slot's next owner never sees its predecessor's text
  });

  it('keeps a key as the limit files give it, newlines included (v1: "20000\\n|100000\\n|1\\n")', () => {
    const data = createSharedRenderData(1, VIEWS);
    const a = new SharedRenders(data, VIEWS);
    const key = '20000\n|100000\n|1\n@1796644795000';
    expect(a.set(0, 1, 0, key, 10, text('up'))).toBe(true);
    expect(a.get(0, 1, 0, key, 11)?.content.toString()).toBe('up');
    expect(a.get(0, 1, 0, '20000|100000|1@1796644795000', 11)).toBeNull();
  });

  it('a render found is a copy: a later write to the entry does not change it', () => {
    const data = createSharedRenderData(1, VIEWS);
    const a = new SharedRenders(data, VIEWS);
    a.set(0, 1, 0, '', 10, text('old'));
    const found = a.get(0, 1, 0, '', 11)!;
    a.set(0, 1, 0, '', 12, text('new'));
    expect(found.content.toString()).toBe('old');
    expect(a.get(0, 1, 0, '', 13)?.content.toString()).toBe('new');
  });

  it('keeps the newer render when an older one arrives later (two workers finishing out of order)', () => {
    const data = createSharedRenderData(1, VIEWS);
    const a = new SharedRenders(data, VIEWS);
    a.set(0, 1, 0, 'k', 20, text('newer'));
    expect(a.set(0, 1, 0, 'k', 15, text('older'))).toBe(true);
    expect(a.get(0, 1, 0, 'k', 21)?.content.toString()).toBe('newer');
  });

  it('refuses what does not fit: a text or key too long, a key that is not printable ASCII', () => {
    const data = createSharedRenderData(1, VIEWS);
    const a = new SharedRenders(data, VIEWS);
    expect(a.set(0, 1, 0, '', 10, Buffer.alloc(SHARED_RENDER_BYTES + 1, 0x41))).toBe(false);
    expect(a.set(0, 1, 0, 'x'.repeat(257), 10, text('t'))).toBe(false);
    expect(a.set(0, 1, 0, 'é', 10, text('t'))).toBe(false);
    expect(a.get(0, 1, 0, '', 11)).toBeNull();
    expect(a.set(0, 1, 0, '', 10, Buffer.alloc(SHARED_RENDER_BYTES, 0x41))).toBe(true);
    expect(a.get(0, 1, 0, '', 11)?.content.length).toBe(SHARED_RENDER_BYTES);
  });

  it('two slots mapped to one entry evict each other, never answer for each other', () => {
    const data = createSharedRenderData(1, 1); // one entry for everything
    const a = new SharedRenders(data, 1);
    a.set(0, 1, 0, '', 10, text('slot 0'));
    a.set(1, 2, 0, '', 10, text('slot 1'));
    expect(a.get(0, 1, 0, '', 11)).toBeNull();
    expect(a.get(1, 2, 0, '', 11)?.content.toString()).toBe('slot 1');
  });

  it('gives the refresh of one render to one thread only, and the next render its own', () => {
    const data = createSharedRenderData(2, VIEWS);
    const a = new SharedRenders(data, VIEWS);
    const b = new SharedRenders(data, VIEWS);
    expect(a.claimRefresh(0, 1, 0, 10)).toBe(false); // nothing kept yet
    a.set(0, 1, 0, 'k', 10, text('at 10'));
    expect(a.claimRefresh(0, 1, 0, 9)).toBe(false); // not the render the entry holds
    expect(b.claimRefresh(0, 2, 0, 10)).toBe(false); // another owner of the slot
    expect(b.claimRefresh(0, 1, 0, 10)).toBe(true);
    expect(a.claimRefresh(0, 1, 0, 10)).toBe(false); // claimed already, by the other thread
    expect(b.claimRefresh(0, 1, 0, 10)).toBe(false); // and by the same thread
    b.set(0, 1, 0, 'k', 17, text('at 17'));
    expect(a.claimRefresh(0, 1, 0, 10)).toBe(false); // the entry holds a newer render now
    expect(a.claimRefresh(0, 1, 0, 17)).toBe(true);
    expect(a.claimRefresh(1, 1, 0, 17)).toBe(false); // another slot
  });
});
