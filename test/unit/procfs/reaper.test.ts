// Finding the init of a reader's pid namespace (procfs/reaper.ts) on a fake /proc: the walk up
// through PPid, the scan when the chain leaves the namespace (a process joined with setns), our own
// namespace's pid 1, and the per-namespace cache that is checked again after a second.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { ReaperCache } from '../../../procfs/reaper.js';

const root = mkdtempSync(`${tmpdir()}/procfs-reaper-`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const HOST = 'pid:[4026531836]';
const CONTAINER = 'pid:[4026532999]';

/** A fake /proc/<pid>: ns/pid, status (NSpid, PPid) and stat with starttime (field 22). */
function fakeProcess(pid: number, ns: string, nspid: number[], ppid: number, startTicks: number): void {
  rmSync(`${root}/${pid}`, { recursive: true, force: true });
  mkdirSync(`${root}/${pid}/ns`, { recursive: true });
  symlinkSync(ns, `${root}/${pid}/ns/pid`);
  writeFileSync(
    `${root}/${pid}/status`,
    `Name:\tsh\nState:\tS (sleeping)\nPid:\t${pid}\nPPid:\t${ppid}\nNSpid:\t${nspid.join('\t')}\n`,
  );
  const fields = ['S', String(ppid), ...Array.from({ length: 17 }, () => '0'), String(startTicks), '0'];
  writeFileSync(`${root}/${pid}/stat`, `${pid} (sh) ${fields.join(' ')}\n`);
}

describe('ReaperCache', () => {
  fakeProcess(1, HOST, [1], 0, 5);
  fakeProcess(process.pid, HOST, [process.pid], 1, 900);
  fakeProcess(400, HOST, [400], 1, 990); // the runtime's shim
  fakeProcess(500, CONTAINER, [500, 1], 400, 1000); // the container's init
  fakeProcess(501, CONTAINER, [501, 7], 500, 1100);
  fakeProcess(502, CONTAINER, [502, 9], 501, 1200);
  fakeProcess(599, HOST, [599], 1, 1300); // nsenter, outside
  fakeProcess(600, CONTAINER, [600, 12], 599, 1301); // joined with setns: its parent is outside

  it('walks up from a reader in a container to the process whose NSpid ends in 1', () => {
    expect(new ReaperCache(root).reaperStartTicks(502, 0)).toBe(1000);
  });

  it('scans /proc for the namespace init when the chain leaves the namespace (setns)', () => {
    expect(new ReaperCache(root).reaperStartTicks(600, 0)).toBe(1000);
  });

  it("answers our own pid 1 for a reader in the server's pid namespace", () => {
    expect(new ReaperCache(root).reaperStartTicks(400, 0)).toBe(5);
  });

  it('is null for a pid that is gone', () => {
    expect(new ReaperCache(root).reaperStartTicks(77777, 0)).toBeNull();
  });

  it('serves a found init from the cache for a second, then reads it again', () => {
    const cache = new ReaperCache(root);
    expect(cache.reaperStartTicks(501, 0)).toBe(1000);
    fakeProcess(500, CONTAINER, [500, 1], 400, 2000); // another init under the same pid (and namespace inode)
    expect(cache.reaperStartTicks(502, 500)).toBe(1000);
    expect(cache.reaperStartTicks(502, 1500)).toBe(2000);
    fakeProcess(500, CONTAINER, [500, 1], 400, 1000);
  });
});
