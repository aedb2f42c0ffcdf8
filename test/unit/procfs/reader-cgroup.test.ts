// The reader-routed views' cgroup key and host test (procfs/reader-cgroup.ts), on captured
// /proc/<pid>/cgroup texts (test/fixtures/proc/reader-cgroup/SOURCE.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isHostReader, readerCgroupKey } from '../../../procfs/reader-cgroup.js';
import { PROC_FIXTURES } from './scenarios.js';

const text = (name: string): string => readFileSync(`${PROC_FIXTURES}/reader-cgroup/${name}`, 'utf8');

describe('readerCgroupKey', () => {
  it('keeps on v1 the hierarchies the views read, in the kernel order, and drops name=systemd, devices and the hybrid 0:: line', () => {
    const key = readerCgroupKey(text('v1-docker'), 'v1')!;
    const lines = key.split('\n');
    expect(lines.map((l) => l.split(':')[1])).toEqual([
      'pids',
      'blkio',
      'freezer',
      'memory',
      'cpuset',
      'cpuacct',
      'cpu',
    ]);
    expect(
      lines.every((l) => l.endsWith('/docker/3f1c5e0d6b7a94c2e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcd')),
    ).toBe(true);
    expect(key).not.toContain('name=systemd');
    expect(key).not.toContain('devices');
  });

  it('is the same for two processes of one container whose other hierarchies differ', () => {
    const other = text('v1-docker')
      .replace('9:name=systemd:/', '9:name=systemd:/system.slice/other.scope')
      .replace('5:devices:/', '5:devices:/x');
    expect(readerCgroupKey(other, 'v1')).toBe(readerCgroupKey(text('v1-docker'), 'v1'));
  });

  it('keeps the 0:: line on v2', () => {
    expect(readerCgroupKey(text('v2-docker'), 'v2')).toBe(
      '0::/system.slice/docker-3f1c5e0d6b7a94c2e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345678abcd.scope',
    );
  });

  it('is null when no line is one the views read', () => {
    expect(readerCgroupKey('9:name=systemd:/\n5:devices:/\n', 'v1')).toBeNull();
    expect(readerCgroupKey('', 'v2')).toBeNull();
  });
});

describe('isHostReader', () => {
  const v1Host = [text('v1-init'), text('v1-session')].map((t) => readerCgroupKey(t, 'v1')!);
  const v2Host = [text('v2-init')].map((t) => readerCgroupKey(t, 'v2')!);

  it('is false for a container: a cgroup of its own in every hierarchy', () => {
    expect(isHostReader(readerCgroupKey(text('v1-docker'), 'v1')!, v1Host)).toBe(false);
    expect(isHostReader(readerCgroupKey(text('v2-docker'), 'v2')!, v2Host)).toBe(false);
  });

  it("is true at a hierarchy's root in any hierarchy the views read (no limits of its own there)", () => {
    expect(isHostReader(readerCgroupKey(text('v1-session'), 'v1')!, [])).toBe(true);
    expect(isHostReader(readerCgroupKey(text('v2-root'), 'v2')!, [])).toBe(true);
    const cpuAtRoot = text('v1-docker').replace(/^1:cpu:.*$/m, '1:cpu:/');
    expect(isHostReader(readerCgroupKey(cpuAtRoot, 'v1')!, [])).toBe(true);
  });

  it("is true in pid 1's or the server's own cgroup, and only in that very cgroup", () => {
    expect(isHostReader(readerCgroupKey(text('v2-init'), 'v2')!, v2Host)).toBe(true);
    expect(isHostReader('0::/init.scope/child', v2Host)).toBe(false);
    expect(isHostReader(readerCgroupKey(text('v2-session'), 'v2')!, v2Host)).toBe(false);
  });
});
