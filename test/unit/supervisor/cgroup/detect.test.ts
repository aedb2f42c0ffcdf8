import { describe, expect, it } from 'vitest';
import { detectLayout, parseCgroupMounts, parseProcCgroup } from '../../../../supervisor/cgroup/detect.js';
import { fixtureText, v1Scenario } from './fixture-files.js';

// This machine (captured into the v1 fixture): separate cpu and cpuacct hierarchies, a nested own
// memory cgroup, name=systemd and a cgroup2 "unified" mount that must be ignored.
const HERE = v1Scenario('busy-256M');
const HERE_CGROUP = fixtureText(HERE, '/proc/self/cgroup');
const HERE_MOUNTINFO = fixtureText(HERE, '/proc/self/mountinfo');
const OWN_MEMORY = '/process_api/6b1b36b9983751b26abd9fb6be823fdf'; // as captured in proc/self/cgroup

// A systemd host on pure cgroup v2 (hand-written in the kernel's formats: proc.rst, cgroup-v2.rst).
const V2_CGROUP = '0::/user.slice/user-0.slice/session-3.scope\n';
const V2_MOUNTINFO = [
  '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
  '25 22 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '26 25 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot',
  '',
].join('\n');

// A systemd hybrid host with co-mounted cpu,cpuacct and net_cls,net_prio (the usual Debian/Ubuntu
// layout; the super options list the controllers in kernel order "cpu,cpuacct").
const COMOUNT_CGROUP = [
  '12:pids:/user.slice/user-0.slice/session-1.scope',
  '11:freezer:/',
  '10:memory:/user.slice/user-0.slice/session-1.scope',
  '9:cpuset:/',
  '8:net_cls,net_prio:/',
  '4:cpu,cpuacct:/user.slice',
  '1:name=systemd:/user.slice/user-0.slice/session-1.scope',
  '0::/user.slice/user-0.slice/session-1.scope',
  '',
].join('\n');
const COMOUNT_MOUNTINFO = [
  '24 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw',
  '29 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '30 29 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
  '31 29 0:28 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd',
  '34 29 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct',
  '35 29 0:32 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,net_cls,net_prio',
  '36 29 0:33 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,cpuset',
  '37 29 0:34 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,memory',
  '38 29 0:35 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,freezer',
  '39 29 0:36 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:20 - cgroup cgroup rw,pids',
  '',
].join('\n');

describe('parseProcCgroup', () => {
  it("parses this machine's /proc/self/cgroup", () => {
    const m = parseProcCgroup(HERE_CGROUP);
    expect(m.find((x) => x.controllers.includes('memory'))).toEqual({
      hierarchyId: 4,
      controllers: ['memory'],
      path: OWN_MEMORY,
    });
    expect(m.find((x) => x.hierarchyId === 0)).toEqual({ hierarchyId: 0, controllers: [], path: '/' });
    expect(m.find((x) => x.hierarchyId === 9)?.controllers).toEqual(['name=systemd']);
  });
  it('splits co-mounted controllers and keeps ":" inside paths', () => {
    expect(parseProcCgroup('4:cpu,cpuacct:/a:b\n')).toEqual([
      { hierarchyId: 4, controllers: ['cpu', 'cpuacct'], path: '/a:b' },
    ]);
  });
  it('rejects malformed lines', () => {
    expect(() => parseProcCgroup('garbage\n')).toThrow(/malformed/);
  });
});

describe('parseCgroupMounts', () => {
  it("finds this machine's cgroup mounts, controllers in the super options", () => {
    const mounts = parseCgroupMounts(HERE_MOUNTINFO);
    expect(mounts.find((m) => m.mountpoint === '/sys/fs/cgroup/memory')).toMatchObject({
      fstype: 'cgroup',
      root: '/',
      superOptions: ['rw', 'memory'],
    });
    expect(mounts.find((m) => m.fstype === 'cgroup2')?.mountpoint).toBe('/sys/fs/cgroup/unified');
    expect(mounts.some((m) => m.mountpoint === '/sys/fs/cgroup' && (m.fstype as string) === 'tmpfs')).toBe(false);
  });
  it('decodes octal escapes and handles optional fields', () => {
    const [m] = parseCgroupMounts('50 1 0:40 /a\\040b /mnt/my\\040cg rw shared:3 master:2 - cgroup2 none rw\n');
    expect(m).toEqual({ fstype: 'cgroup2', mountpoint: '/mnt/my cg', root: '/a b', superOptions: ['rw'] });
  });
});

describe('detectLayout', () => {
  it('this machine: v1, own memory cgroup nested, name=systemd and the unified mount skipped', () => {
    const layout = detectLayout(HERE_CGROUP, HERE_MOUNTINFO);
    expect(layout.mode).toBe('v1');
    if (layout.mode !== 'v1') return;
    const own = Object.fromEntries(layout.hierarchies.map((h) => [h.controllers.join(','), h.ownDir]));
    expect(own).toEqual({
      cpu: '/sys/fs/cgroup/cpu',
      cpuacct: '/sys/fs/cgroup/cpuacct',
      cpuset: '/sys/fs/cgroup/cpuset',
      memory: `/sys/fs/cgroup/memory${OWN_MEMORY}`,
      devices: '/sys/fs/cgroup/devices',
      freezer: '/sys/fs/cgroup/freezer',
      blkio: '/sys/fs/cgroup/blkio',
      pids: '/sys/fs/cgroup/pids',
    });
  });

  it('pure v2: the unified mount and the 0:: path', () => {
    expect(detectLayout(V2_CGROUP, V2_MOUNTINFO)).toEqual({
      mode: 'v2',
      mountpoint: '/sys/fs/cgroup',
      ownDir: '/sys/fs/cgroup/user.slice/user-0.slice/session-3.scope',
    });
  });

  it('co-mounted cpu,cpuacct: one hierarchy, one dir', () => {
    const layout = detectLayout(COMOUNT_CGROUP, COMOUNT_MOUNTINFO);
    expect(layout.mode).toBe('v1');
    if (layout.mode !== 'v1') return;
    expect(layout.hierarchies.find((h) => h.controllers.includes('cpuacct'))).toEqual({
      controllers: ['cpu', 'cpuacct'],
      mountpoint: '/sys/fs/cgroup/cpu,cpuacct',
      ownDir: '/sys/fs/cgroup/cpu,cpuacct/user.slice',
    });
    expect(layout.hierarchies.find((h) => h.controllers.includes('memory'))?.ownDir).toBe(
      '/sys/fs/cgroup/memory/user.slice/user-0.slice/session-1.scope',
    );
    expect(layout.hierarchies.some((h) => h.controllers.some((c) => c.startsWith('name=')))).toBe(false);
  });

  it('a container mount whose root is a sub-cgroup (no cgroup namespace): paths are made relative to it', () => {
    const layout = detectLayout(
      '5:memory:/docker/abc\n0::/\n',
      '40 30 0:34 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n',
    );
    expect(layout).toEqual({
      mode: 'v1',
      hierarchies: [{ controllers: ['memory'], mountpoint: '/sys/fs/cgroup/memory', ownDir: '/sys/fs/cgroup/memory' }],
    });
  });

  it('errors when nothing is mounted', () => {
    expect(() => detectLayout('0::/\n', '')).toThrow(/no usable cgroup hierarchy/);
  });
});
