// test/helpers/wait.ts: waitFor and within resolve on the event and fail, naming it, only after the deadline.
import { describe, expect, it } from 'vitest';
import { waitFor, within } from '../../helpers/wait.js';

describe('waitFor', () => {
  it('resolves once the condition holds (sync or async), with the time it waited', async () => {
    let n = 0;
    expect(await waitFor(() => ++n >= 3, 'three polls', 5000, 1)).toBeGreaterThanOrEqual(0);
    expect(n).toBe(3);
    expect(await waitFor(async () => true, 'at once')).toBeGreaterThanOrEqual(0);
  });

  it('fails after the deadline, naming what it waited for', async () => {
    await expect(waitFor(() => false, 'the impossible', 50, 5)).rejects.toThrow(
      'timed out after 50 ms waiting for the impossible',
    );
  });

  it('passes on an exception of the condition', async () => {
    await expect(
      waitFor(() => {
        throw new Error('boom');
      }, 'x'),
    ).rejects.toThrow('boom');
  });
});

describe('within', () => {
  it('settles with the promise', async () => {
    expect(await within(Promise.resolve(7), 'seven')).toBe(7);
    await expect(within(Promise.reject(new Error('no')), 'a rejection')).rejects.toThrow('no');
  });

  it('fails after the deadline when the promise never settles', async () => {
    await expect(within(new Promise(() => undefined), 'forever', 50)).rejects.toThrow(
      'timed out after 50 ms waiting for forever',
    );
  });
});
