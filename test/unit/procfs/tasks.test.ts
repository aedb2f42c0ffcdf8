// sampleTasks and TaskScanner: /proc/<tid>/status of a cgroup's threads (State and NSpid), read synchronously.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { KEPT_TASK_FILES, TaskScanner, sampleTasks } from '../../../procfs/tasks.js';
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

describe('TaskScanner', () => {
  const openFds = () => readdirSync('/proc/self/fd').length;

  it('gives the counts sampleTasks gives, sample after sample', () => {
    const scanner = new TaskScanner(root);
    try {
      for (let i = 0; i < 3; i++) {
        expect(scanner.sample([101, 102, 103, 104, 105])).toEqual(sampleTasks([101, 102, 103, 104, 105], root));
        expect(scanner.sample([101, 999999, 103])).toEqual({ running: 1, blocked: 1, threads: 2, lastPid: 3 });
      }
      expect(scanner.sample([])).toEqual({ running: 0, blocked: 0, threads: 0, lastPid: 0 });
    } finally {
      scanner.close();
    }
  });

  it('keeps at most KEPT_TASK_FILES status files open, and none of threads no longer listed', () => {
    const many = Array.from({ length: KEPT_TASK_FILES + 20 }, (_, i) => 2000 + i);
    for (const tid of many) fakeTask(tid, 'S', `${tid}\t${tid - 1990}`);
    const before = openFds();
    const scanner = new TaskScanner(root);
    try {
      expect(scanner.sample(many)).toEqual(sampleTasks(many, root));
      expect(openFds() - before).toBe(KEPT_TASK_FILES);
      expect(scanner.sample(many.slice(0, 3))).toEqual(sampleTasks(many.slice(0, 3), root));
      expect(openFds() - before).toBe(3);
    } finally {
      scanner.close();
    }
    expect(openFds()).toBe(before);
  });

  it('counts a thread that exited as vanished, though its status file was kept open', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = child.pid!;
    const scanner = new TaskScanner();
    try {
      expect(scanner.sample([pid]).threads).toBe(1);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      expect(scanner.sample([pid])).toEqual({ running: 0, blocked: 0, threads: 0, lastPid: 0 });
    } finally {
      child.kill('SIGKILL');
      scanner.close();
    }
  });
});
