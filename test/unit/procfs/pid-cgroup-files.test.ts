// /proc/<pid>/cgroup through kept descriptors (procfs/reader-views.ts PidCgroupFiles), on this
// machine's /proc and a child of this test: a descriptor kept for a pid is never read once that
// process is gone (the kernel fails it with ESRCH), so a pid taken by a new process is opened afresh.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PidCgroupFiles } from '../../../procfs/reader-views.js';

describe('PidCgroupFiles', () => {
  it("reads a live process's cgroup file, again through the kept descriptor, and nothing once it is reaped", async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    const files = new PidCgroupFiles();
    const text = readFileSync(`/proc/${child.pid}/cgroup`, 'utf8');
    expect(files.read(child.pid!)).toBe(text);
    expect(files.size).toBe(1);
    expect(files.read(child.pid!)).toBe(text);
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(files.read(child.pid!)).toBeNull();
    expect(files.size).toBe(0);
    files.closeAll();
  });

  it('answers null for pid 0 (a caller outside our pid namespace) and a pid that does not exist', () => {
    const files = new PidCgroupFiles();
    expect(files.read(0)).toBeNull();
    expect(files.read(2 ** 22 + 1)).toBeNull(); // above pid_max's ceiling (PID_MAX_LIMIT, 4194304)
    expect(files.size).toBe(0);
  });
});
