// The keeper's hand-off data (procfs/daemon/keeper-link.ts) and the registrations file's keys
// (procfs/daemon/registry.ts): what a successor server reads to keep the kernel's node ids.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseKeeperStart } from '../../../../procfs/daemon/keeper-link.js';
import { loadKeyFloor, loadRegistrations, saveRegistrations } from '../../../../procfs/daemon/registry.js';

const dir = mkdtempSync(join(tmpdir(), 'keeper-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseKeeperStart', () => {
  it('takes what the keeper writes', () => {
    const replay = [Buffer.alloc(80, 1).toString('base64')];
    expect(
      parseKeeperStart(
        JSON.stringify({ fd: 4, epoch: 2, init: { minor: 31, kernelMinor: 45 }, fresh: false, journal: 5, replay }),
      ),
    ).toEqual({ fd: 4, epoch: 2, init: { minor: 31, kernelMinor: 45 }, fresh: false, journal: 5, replay });
  });

  it('takes what a keeper of an earlier version writes (no journal, nothing to replay)', () => {
    expect(
      parseKeeperStart(JSON.stringify({ fd: 4, epoch: 2, init: { minor: 31, kernelMinor: 45 }, fresh: false })),
    ).toEqual({ fd: 4, epoch: 2, init: { minor: 31, kernelMinor: 45 }, fresh: false, journal: null, replay: [] });
    expect(parseKeeperStart(JSON.stringify({ fd: 4, epoch: 1, init: null, fresh: true }))).toEqual({
      fd: 4,
      epoch: 1,
      init: null,
      fresh: true,
      journal: null,
      replay: [],
    });
  });

  it.each([
    ['absent', undefined],
    ['not JSON', '{'],
    ['a stdio fd', JSON.stringify({ fd: 2, epoch: 1, init: null, fresh: true })],
    [
      'epoch 0 (the handles of a server without a keeper)',
      JSON.stringify({ fd: 4, epoch: 0, init: null, fresh: true }),
    ],
    [
      'an epoch past 2^28 (handles must stay exact doubles)',
      JSON.stringify({ fd: 4, epoch: 2 ** 28, init: null, fresh: true }),
    ],
    ['a malformed init', JSON.stringify({ fd: 4, epoch: 1, init: { minor: '31' }, fresh: false })],
    ['no fresh flag', JSON.stringify({ fd: 4, epoch: 1, init: null })],
    ['a journal on a stdio fd', JSON.stringify({ fd: 4, epoch: 1, init: null, fresh: true, journal: 2, replay: [] })],
    [
      'more requests to replay than the journal can hold',
      JSON.stringify({ fd: 4, epoch: 1, init: null, fresh: true, journal: 5, replay: Array(65).fill('AA==') }),
    ],
    ['a replay that is not text', JSON.stringify({ fd: 4, epoch: 1, init: null, fresh: true, replay: [1] })],
  ])('refuses %s', (_, text) => {
    expect(parseKeeperStart(text)).toBeNull();
  });
});

describe('registrations keep their keys', () => {
  it('saves and loads each key and the floor under which keys were given', async () => {
    const path = join(dir, 'registrations.json');
    await saveRegistrations(path, [{ id: 'c1', pid: 10, startTicks: 5, targets: ['/proc/meminfo'], key: 7 }], 12);
    expect(loadRegistrations(path, () => undefined)).toEqual([
      { id: 'c1', pid: 10, startTicks: 5, targets: ['/proc/meminfo'], key: 7 },
    ]);
    expect(loadKeyFloor(path)).toBe(12);
  });

  it('reads a file of the former format (no keys, no floor) and drops a bad key', () => {
    const path = join(dir, 'old.json');
    const warnings: string[] = [];
    writeFileSync(
      path,
      JSON.stringify({
        registrations: [
          { id: 'c1', pid: 10, startTicks: 5, targets: ['/proc/meminfo'] },
          { id: 'c2', pid: 11, startTicks: 6, targets: [], key: -1 },
        ],
      }),
    );
    expect(loadRegistrations(path, (l) => warnings.push(l))).toEqual([
      { id: 'c1', pid: 10, startTicks: 5, targets: ['/proc/meminfo'] },
    ]);
    expect(warnings).toHaveLength(1);
    expect(loadKeyFloor(path)).toBe(1);
    expect(loadKeyFloor(join(dir, 'missing.json'))).toBe(1);
  });
});
