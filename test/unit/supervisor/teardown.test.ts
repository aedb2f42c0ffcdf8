// The run's undo stack: newest first, a group's steps together, a failing step reported while the
// rest still run.
import { describe, expect, it } from 'vitest';
import { Teardown } from '../../../supervisor/teardown.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Teardown', () => {
  it('undoes newest first; steps added alongside run together, and the next group waits for both', async () => {
    const log: string[] = [];
    const step = (name: string, ms: number) => async () => {
      log.push(`${name}+`);
      await tick(ms);
      log.push(`${name}-`);
    };
    const undo = new Teardown();
    undo.push(step('state', 1));
    undo.push(step('mount', 30));
    undo.alongside(step('cgroup', 5));
    undo.push(step('views', 1));
    await undo.run(() => undefined);
    expect(log).toEqual(['views+', 'views-', 'mount+', 'cgroup+', 'cgroup-', 'mount-', 'state+', 'state-']);
  });

  it('reports a failing step and still runs the others, its group mate included', async () => {
    const ran: string[] = [];
    const errors: string[] = [];
    const undo = new Teardown();
    undo.alongside(async () => void ran.push('first')); // on an empty stack: a group of its own
    undo.push(async () => {
      throw new Error('rmdir: EBUSY');
    });
    undo.alongside(async () => void ran.push('mate'));
    await undo.run((err) => errors.push((err as Error).message));
    expect(errors).toEqual(['rmdir: EBUSY']);
    expect(ran).toEqual(['mate', 'first']);
  });
});
