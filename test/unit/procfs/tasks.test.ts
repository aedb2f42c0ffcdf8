// sampleTasks: /proc/<tid>/status of a cgroup's threads (State and NSpid), read synchronously.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleTasks } from '../../../procfs/tasks.js';
import { hostFile } from './scenarios.js';

const root = mkdtempSync(`${tmpdir()}/procfs-tasks-`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const STATE_NAMES: Record<string, string> = { R: 'running', S: 'sleeping', D: 'disk sleep', Z: 'zombie' };

/** A fake /proc/<tid>/status from the captured one with a given State and NSpid line. */
function fakeTask(tid: number, state: string, nspid: string): void {
  mkdirSync(`${root}/${tid}`, { recursive: true });
  const status = hostFile('pid-status')
    .replace(/^State:.*$/m, `State:\t${state} (${STATE_NAMES[state]})`)
    .replace(/^NSpid:.*$/m, `NSpid:\t${nspid}`);
  writeFileSync(`${root}/${tid}/status`, status);
}

describe('sampleTasks', () => {
  fakeTask(101, 'R', '101\t1');
  fakeTask(102, 'R', '102\t2');
  fakeTask(103, 'D', '103\t3');
  fakeTask(104, 'S', '104\t9');
  fakeTask(105, 'Z', '105\t4');

  it('counts R as running and D as blocked, and takes lastPid from NSpid in the sandbox namespace', () => {
    expect(sampleTasks([101, 102, 103, 104, 105], root)).toEqual({ running: 2, blocked: 1, threads: 5, lastPid: 9 });
  });

  it('skips a thread that vanished', () => {
    expect(sampleTasks([101, 999999, 103], root)).toEqual({ running: 1, blocked: 1, threads: 2, lastPid: 3 });
    expect(sampleTasks([], root)).toEqual({ running: 0, blocked: 0, threads: 0, lastPid: 0 });
  });

  it('reads the real /proc', () => {
    const sample = sampleTasks([process.pid]);
    expect(sample.threads).toBe(1);
    expect(sample.lastPid).toBeGreaterThan(0);
  });

  it('counts every thread of a long list', () => {
    const tids = Array.from({ length: 200 }, (_, i) => 101 + (i % 5));
    expect(sampleTasks(tids, root).threads).toBe(200);
  });
});
