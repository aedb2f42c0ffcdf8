// Parsers on the real captures of test/fixtures/proc/host-2cpu.
import { describe, expect, it } from 'vitest';
import { formatCpuinfo, parseCpuinfo, parseCpuinfoLine } from '../../../../procfs/parse/cpuinfo.js';
import { parseLoadavg } from '../../../../procfs/parse/loadavg.js';
import { meminfoValue, parseMeminfo } from '../../../../procfs/parse/meminfo.js';
import { parsePidStat } from '../../../../procfs/parse/pid-stat.js';
import { ownNamespacePid, parsePidStatus, statusStateAndPid, taskState } from '../../../../procfs/parse/pid-status.js';
import { CPU_FIELDS, parseStat, statValue } from '../../../../procfs/parse/stat.js';
import { parseSwaps } from '../../../../procfs/parse/swaps.js';
import { parseUptime } from '../../../../procfs/parse/uptime.js';
import { hostFile } from '../scenarios.js';

describe('parseMeminfo', () => {
  const text = hostFile('meminfo');
  const info = parseMeminfo(text);

  it('keeps every line, in order, with its original text', () => {
    expect(info.lines.map((l) => l.raw).join('\n') + '\n').toBe(text);
    expect(info.lines.every((l) => l.key !== null)).toBe(true);
    expect(info.lines[0]?.key).toBe('MemTotal');
  });

  it('reads values by exact key', () => {
    expect(meminfoValue(info, 'MemTotal')).toBe(24683656);
    expect(meminfoValue(info, 'Active')).toBe(Number(/^Active:\s+(\d+)/m.exec(text)?.[1]));
    expect(meminfoValue(info, 'Active')).not.toBe(meminfoValue(info, 'Active(anon)'));
    expect(meminfoValue(info, 'VmallocTotal')).toBe(34359738367);
    expect(meminfoValue(info, 'Nope')).toBeUndefined();
  });

  it('tells kB lines from bare counts', () => {
    expect(info.lines.find((l) => l.key === 'MemFree')?.unit).toBe('kB');
    expect(info.lines.find((l) => l.key === 'HugePages_Total')?.unit).toBeNull();
    expect(info.lines.find((l) => l.key === 'HugePages_Total')?.value).toBe(0);
  });

  it('keeps a line it cannot parse with key null', () => {
    expect(parseMeminfo('odd line\nMemTotal: 5 kB\n').lines.map((l) => l.key)).toEqual([null, 'MemTotal']);
  });
});

describe('parseStat', () => {
  const stat = parseStat(hostFile('stat'));

  it('reads the cpu summary and one line per online CPU', () => {
    expect(stat.cpu).not.toBeNull();
    expect(stat.perCpu.map((c) => c.cpu)).toEqual([0, 1]);
    // The kernel's summary is the sum over CPUs of the same nanosecond counters (± rounding).
    for (const f of CPU_FIELDS) {
      const sum = stat.perCpu.reduce((s, c) => s + c.times[f], 0);
      expect(Math.abs((stat.cpu?.[f] ?? 0) - sum)).toBeLessThanOrEqual(stat.perCpu.length);
    }
  });

  it('reads single-value lines by exact key', () => {
    expect(statValue(stat, 'btime')).toBe(1795426801);
    expect(statValue(stat, 'procs_running')).toBeGreaterThanOrEqual(1);
    expect(statValue(stat, 'procs')).toBeUndefined();
    expect(stat.lines.map((l) => l.key)).toEqual([
      'cpu',
      'cpu0',
      'cpu1',
      'intr',
      'ctxt',
      'btime',
      'processes',
      'procs_running',
      'procs_blocked',
      'softirq',
    ]);
  });

  it('fills fields an older kernel does not print with 0, and rejects garbage', () => {
    expect(parseStat('cpu  1 2 3 4\n').cpu).toEqual({
      user: 1,
      nice: 2,
      system: 3,
      idle: 4,
      iowait: 0,
      irq: 0,
      softirq: 0,
      steal: 0,
      guest: 0,
      guest_nice: 0,
    });
    expect(() => parseStat('cpu  1 x 3\n')).toThrow(/malformed/);
  });
});

describe('parseCpuinfo', () => {
  const text = hostFile('cpuinfo');
  const info = parseCpuinfo(text);

  it('splits one block per processor and prints back byte for byte', () => {
    expect(info.blocks.map((b) => b.processor)).toEqual([0, 1]);
    expect(formatCpuinfo(info)).toBe(text);
  });

  it('reads "key\\t: value" lines keeping the aligned prefix', () => {
    const line = info.blocks[0]?.lines.find((l) => l.key === 'model name');
    expect(line).toMatchObject({ key: 'model name', value: 'AMD EPYC', prefix: 'model name\t: ' });
    expect(parseCpuinfoLine('core id\t\t: 1')).toMatchObject({ key: 'core id', value: '1', prefix: 'core id\t\t: ' });
    expect(parseCpuinfoLine('power management:')).toMatchObject({
      key: 'power management',
      value: '',
      prefix: 'power management:',
    });
  });

  it('keeps blocks without a processor line (other architectures) as non-CPU blocks', () => {
    const parsed = parseCpuinfo('processor\t: 0\ncpu\t\t: POWER9\n\ntimebase\t: 512000000\nplatform\t: pSeries\n');
    expect(parsed.blocks.map((b) => b.processor)).toEqual([0, null]);
  });
});

describe('parseUptime and parseLoadavg', () => {
  it('reads the captured /proc/uptime', () => {
    const up = parseUptime(hostFile('uptime'));
    expect(up.uptimeSec).toBeGreaterThan(0);
    expect(up.idleSec).toBeGreaterThan(0);
    expect(parseUptime('1068.23 2020.94\n')).toEqual({ uptimeSec: 1068.23, idleSec: 2020.94 });
    expect(() => parseUptime('12 x\n')).toThrow(/malformed/);
  });

  it('reads the captured /proc/loadavg', () => {
    const load = parseLoadavg(hostFile('loadavg'));
    expect(load.threads).toBeGreaterThan(0);
    expect(load.running).toBeGreaterThanOrEqual(1);
    expect(parseLoadavg('0.00 0.06 0.02 1/85 8825\n')).toEqual({
      load1: 0,
      load5: 0.06,
      load15: 0.02,
      running: 1,
      threads: 85,
      lastPid: 8825,
    });
    expect(() => parseLoadavg('0.0 1/2 3\n')).toThrow(/malformed/);
  });
});

describe('parseSwaps', () => {
  it('reads a host without swap as the header only', () => {
    const swaps = parseSwaps(hostFile('swaps'));
    expect(swaps.header).toBe('Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority');
    expect(swaps.entries).toEqual([]);
  });

  it('reads area lines in swap_show() format', () => {
    const text =
      'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/vda2                               partition\t2097148\t\t1024\t\t-2\n/swap\\040file                           file\t\t10485756\t0\t\t-3\n';
    expect(parseSwaps(text).entries).toEqual([
      { filename: '/dev/vda2', type: 'partition', sizeKb: 2097148, usedKb: 1024, priority: -2 },
      { filename: '/swap\\040file', type: 'file', sizeKb: 10485756, usedKb: 0, priority: -3 },
    ]);
  });
});

describe('parsePidStat and parsePidStatus', () => {
  it('splits at the last ")" when comm has spaces and ")"', () => {
    const stat = parsePidStat(hostFile('pid-stat'));
    expect(stat).toMatchObject({ pid: 9297, comm: 'my sleep) x', state: 'S', ppid: 9286 });
    expect(stat.rest.length).toBeGreaterThan(40);
  });

  it('handles a comm that looks like more fields', () => {
    expect(parsePidStat('42 (a) R 7 (b) D 9) Z 1 1 1\n')).toMatchObject({
      pid: 42,
      comm: 'a) R 7 (b) D 9',
      state: 'Z',
      ppid: 1,
    });
    expect(parsePidStat('43 () R 1 2\n')).toMatchObject({ comm: '', state: 'R' });
    expect(() => parsePidStat('garbage')).toThrow(/malformed/);
    expect(() => parsePidStat('1 (x) 5 1\n')).toThrow(/malformed/);
  });

  it('takes the pid of the own namespace from NSpid', () => {
    const host = parsePidStatus(hostFile('pid-status'));
    expect(host.get('Name')).toBe('my sleep) x');
    expect(ownNamespacePid(host)).toBe(9297);
    expect(ownNamespacePid(parsePidStatus(hostFile('pidns-status')))).toBe(1);
    expect(parsePidStat(hostFile('pidns-stat')).comm).toBe('ns sleep');
    expect(ownNamespacePid(parsePidStatus('Name:\tx\nPid:\t77\n'))).toBe(77);
    expect(ownNamespacePid(parsePidStatus('Name:\tx\n'))).toBeNull();
  });

  it('takes the one-letter state from "State:", agreeing with stat', () => {
    expect(taskState(parsePidStatus(hostFile('pid-status')))).toBe(parsePidStat(hostFile('pid-stat')).state);
    expect(taskState(parsePidStatus('State:\tD (disk sleep)\n'))).toBe('D');
    expect(taskState(parsePidStatus('Name:\tx\n'))).toBeNull();
    expect(taskState(parsePidStatus('State:\t?\n'))).toBeNull();
  });

  it('statusStateAndPid agrees with taskState and ownNamespacePid of the whole map', () => {
    const texts = [
      hostFile('pid-status'),
      hostFile('pidns-status'),
      'Name:\tx\nPid:\t77\n',
      'Name:\tx\n',
      'State:\tD (disk sleep)\n',
      'State:\t?\n',
      'State:\tS (sleeping)\nNSpid:\t5\t6\nState:\tR (running)\nNSpid:\t7\t8',
      'Name:\tState: R (x)\nState:\tZ (zombie)\nNSpid:\t12 x\n',
      '',
    ];
    for (const text of texts) {
      const map = parsePidStatus(text);
      expect(statusStateAndPid(text), JSON.stringify(text)).toEqual({
        state: taskState(map),
        nsPid: ownNamespacePid(map),
      });
    }
  });
});
