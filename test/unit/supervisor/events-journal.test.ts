import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendJournal, parseSince, readJournal } from '../../../supervisor/events-journal.js';

describe('parseSince', () => {
  const now = Date.parse('2026-11-23T14:00:00Z');
  it('reads durations back from now', () => {
    expect(parseSince('10m', now)).toBe(now - 600_000);
    expect(parseSince('1.5h', now)).toBe(now - 5_400_000);
    expect(parseSince('30s', now)).toBe(now - 30_000);
    expect(parseSince('2d', now)).toBe(now - 2 * 86_400_000);
  });
  it('reads ISO timestamps and dates', () => {
    expect(parseSince('2026-11-23T13:00:00Z', now)).toBe(Date.parse('2026-11-23T13:00:00Z'));
    expect(parseSince('2026-11-23', now)).toBe(Date.parse('2026-11-23'));
  });
  it.each(['', '10', '10x', '-5m', 'yesterday', '1e3s', '2026-13-45'])('rejects "%s" naming --since', (text) => {
    expect(() => parseSince(text, now)).toThrow(/^--since: .*got "/);
  });
});

describe('the journal', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'journal-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const line = (time: string, id: string) => JSON.stringify({ type: 'exit', time, id, name: null, exitCode: 0 }) + '\n';

  it('appends lines (mode 0600) and reads back those since a time, skipping torn lines', async () => {
    const path = join(dir, 'events.log');
    await appendJournal(line('2026-11-23T10:00:00.000Z', 'a'), path);
    await appendJournal(line('2026-11-23T12:00:00.000Z', 'b'), path);
    writeFileSync(path, readFileSync(path, 'utf8') + '{"type":"exit","ti\n', { flag: 'w' });
    await appendJournal(line('2026-11-23T13:00:00.000Z', 'c'), path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const got = await readJournal(Date.parse('2026-11-23T11:00:00Z'), path);
    expect(got.map((l) => JSON.parse(l).id)).toEqual(['b', 'c']);
  });

  it('rotates to .1 past the size bound and still reads both, oldest first', async () => {
    const path = join(dir, 'events.log');
    const l1 = line('2026-11-23T10:00:00.000Z', 'old');
    await appendJournal(l1, path, l1.length + 10);
    await appendJournal(line('2026-11-23T10:00:01.000Z', 'new'), path, l1.length + 10);
    expect(readFileSync(`${path}.1`, 'utf8')).toBe(l1);
    expect((await readJournal(0, path)).map((l) => JSON.parse(l).id)).toEqual(['old', 'new']);
  });

  it('reads nothing when there is no journal', async () => {
    expect(await readJournal(0, join(dir, 'missing.log'))).toEqual([]);
  });
});
