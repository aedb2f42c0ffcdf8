// The cost scenario's slots (bench/cost.ts COST_SLOTS): every variant measured once, and the one
// that keeps its supervisor busy (reading views) alone.
import { describe, expect, it } from 'vitest';
import { COST_SLOTS } from '../../../bench/cost.js';

describe('cost slots', () => {
  it('measures each variant once and reading views alone', () => {
    expect(COST_SLOTS.flat().sort()).toEqual(['busy', 'idle', 'idle node', 'reading views']);
    expect(COST_SLOTS.find((s) => s.includes('reading views'))).toEqual(['reading views']);
  });
});
