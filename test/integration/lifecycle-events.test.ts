// `sandbox events`: JSON lines for start, oom and exit from real sandboxes, a filter by name, and a
// clean end on SIGTERM (its socket removed). Nothing may be left behind after any test.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, finish, sandboxUnavailable, startCli } from '../helpers/sandbox.js';
import { requireOrSkip } from '../helpers/skip.js';
import { cleanUpAfterEach, detached, gone, present } from '../helpers/lifecycle.js';
import { waitFor } from '../helpers/wait.js';

type Event = Record<string, unknown>;

const skip = requireOrSkip(sandboxUnavailable());

/** Start `sandbox events ARGS…` and wait until it listens. */
async function subscribe(args: string[] = []) {
  const child = startCli(['events', ...args]);
  const done = finish(child);
  const socket = `/run/sandbox-events.${child.pid}.sock`;
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => existsSync(socket), 'sandbox events to listen on its socket');
  return {
    socket,
    /** Wait until an event it printed so far matches. */
    async seen(match: (e: Event) => boolean, what: string) {
      await waitFor(
        () =>
          out
            .split('\n')
            .filter(Boolean)
            .some((l) => match(JSON.parse(l) as Event)),
        what,
      );
    },
    async stop() {
      child.kill('SIGTERM');
      const r = await done;
      expect(r.code).toBe(0);
      expect(existsSync(socket)).toBe(false);
      return r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Event);
    },
  };
}

describe.skipIf(skip)('sandbox events', () => {
  cleanUpAfterEach();

  it('start, oom and exit with the exit code, in order, for foreground and detached sandboxes', async () => {
    const sub = await subscribe();
    const r = await cli([
      'run',
      '--name',
      'lc-ev',
      '--mem',
      '64M',
      '--',
      'sh',
      '-c',
      `python3 -c 'x = b"a" * (256 << 20)'; exit 4`,
    ]);
    expect(r.code).toBe(4);
    const id = await detached(['--', 'sleep', '30']);
    expect((await cli(['kill', id])).code).toBe(0);
    expect(await gone(id)).toBe(true);
    await sub.seen(
      (e) => e.id === id && e.type === 'exit',
      "the killed sandbox's exit event (it follows the teardown)",
    );
    const events = await sub.stop();

    const ev = events.filter((e) => e.name === 'lc-ev');
    expect(ev.map((e) => e.type)).toEqual(['start', 'oom', 'exit']);
    expect(ev[0]).toMatchObject({ command: ['sh', '-c', `python3 -c 'x = b"a" * (256 << 20)'; exit 4`] });
    expect(ev[1]).toMatchObject({ oomKills: 1 });
    expect(ev[2]).toMatchObject({ exitCode: 4 });
    for (const e of ev) expect(typeof e.time === 'string' && !Number.isNaN(Date.parse(e.time))).toBe(true);
    const killed = events.filter((e) => e.id === id);
    expect(killed.map((e) => [e.type, e.exitCode])).toEqual([
      ['start', undefined],
      ['exit', 137],
    ]);
  });

  it('an OOM of a running sandbox is published while it runs, each one, with no poll (kernel notification)', async () => {
    // The supervisor reads the OOM counter only when the kernel notifies it (supervisor/oom-notify.ts)
    // and once when its watch is armed. The first OOM is published by either; its event means the
    // watch is armed (registration comes before that first reading), so the second one can only
    // reach us through the notification: no timer reads the counter any more.
    const sub = await subscribe();
    const id = await detached(['--name', 'lc-ev-oom', '--mem', '32M', '--', 'sleep', '300']);
    const eat = ['exec', id, 'python3', '-c', 'x = b"a" * (256 << 20)'];
    expect((await cli(eat)).code).toBe(137);
    await sub.seen(
      (e) => e.id === id && e.type === 'oom' && e.oomKills === 1,
      'the first OOM event while the sandbox runs',
    );
    expect((await cli(eat)).code).toBe(137);
    await sub.seen(
      (e) => e.id === id && e.type === 'oom' && e.oomKills === 2,
      'the second OOM event while the sandbox runs',
    );
    expect(present(id)).toBe(true);
    expect((await cli(['kill', id])).code).toBe(0);
    expect(await gone(id)).toBe(true);
    await sub.seen((e) => e.id === id && e.type === 'exit', "the killed sandbox's exit event");
    const events = (await sub.stop()).filter((e) => e.id === id);
    expect(events.map((e) => [e.type, e.oomKills ?? e.exitCode])).toEqual([
      ['start', undefined],
      ['oom', 1],
      ['oom', 2],
      ['exit', 137],
    ]);
  });

  it('shows only the sandboxes asked for', async () => {
    // lc-other first: a foreground run delivers its exit event before it returns, so once lc-only's
    // exit is shown, anything of lc-other the filter let through would be shown before it.
    const sub = await subscribe(['lc-only']);
    expect((await cli(['run', '--name', 'lc-other', '--', 'true'])).code).toBe(0);
    expect((await cli(['run', '--name', 'lc-only', '--', 'true'])).code).toBe(0);
    await sub.seen((e) => e.name === 'lc-only' && e.type === 'exit', "lc-only's exit event");
    const events = await sub.stop();
    expect(events.map((e) => [e.type, e.name])).toEqual([
      ['start', 'lc-only'],
      ['exit', 'lc-only'],
    ]);
  });

  it('--since prints the stored events of that time first, then the new ones, each once', async () => {
    const tag = `lc-since-${process.pid}`;
    // A foreground run journals and delivers its exit event before it returns (supervisor/run.ts).
    expect((await cli(['run', '--name', tag, '--', 'sh', '-c', 'exit 3'])).code).toBe(3);
    const sub = await subscribe(['--since', '1m', tag]);
    expect((await cli(['run', '--name', tag, '--', 'true'])).code).toBe(0);
    await sub.seen((e) => e.type === 'exit' && e.exitCode === 0, "the second run's exit event");
    const events = await sub.stop();
    expect(events.map((e) => [e.type, e.exitCode])).toEqual([
      ['start', undefined],
      ['exit', 3],
      ['start', undefined],
      ['exit', 0],
    ]);
    // A time after those events: nothing stored is shown.
    const later = await subscribe(['--since', new Date(Date.now() + 1000).toISOString(), tag]);
    expect(await later.stop()).toEqual([]);
  });
});
