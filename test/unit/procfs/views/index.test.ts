// The view registry the FUSE server uses.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ZERO_LOAD } from '../../../../procfs/loadavg.js';
import { createViewMemory, readViewStats, renderView, VIEWS, viewsFor } from '../../../../procfs/views/index.js';
import type { CgroupReader } from '../../../../supervisor/cgroup/types.js';
import { parsePressure } from '../../../../supervisor/cgroup/v2/pressure.js';
import { hostFile, NOW_MS, sandbox20, STARTED_AT_MS } from '../scenarios.js';

const FIXTURES = new URL('../../../fixtures/', import.meta.url);
const V2_LEAF = new URL('cgroup-v2/io-8M/sys/fs/cgroup/parent/sandbox-io/', FIXTURES);

const HOST_TEXT: Record<string, string> = {
  '/proc/meminfo': hostFile('meminfo'),
  '/proc/cpuinfo': hostFile('cpuinfo'),
  '/proc/stat': hostFile('stat'),
  '/proc/swaps': hostFile('swaps'),
  // This machine's /proc/diskstats from the v1 io-8M capture (same machine, same day as host-2cpu).
  '/proc/diskstats': readFileSync(new URL('cgroup-v1/io-8M/proc/diskstats', FIXTURES), 'utf8'),
};

/**
 * sandbox20's figures, plus the v1 io-8M capture's 8 MiB direct write and read on 254:0 and the
 * v2 io-8M capture's pressure files, as a source of every part (counting the reads of each).
 */
function source(): Pick<CgroupReader, 'memoryStats' | 'cpuStats' | 'ioStats' | 'pressureStats'> & { calls: string[] } {
  const full = sandbox20();
  const calls: string[] = [];
  return {
    calls,
    memoryStats: () => (calls.push('memory'), full.memory),
    cpuStats: () => (calls.push('cpu'), full.cpu),
    ioStats: () => (
      calls.push('io'),
      { devices: [{ major: 254, minor: 0, rbytes: 8392704, wbytes: 8388608, dbytes: 0, rios: 17, wios: 16, dios: 0 }] }
    ),
    pressureStats: (r) => (
      calls.push(`pressure ${r}`), parsePressure(readFileSync(new URL(`${r}.pressure`, V2_LEAF), 'utf8'))
    ),
  };
}

describe('VIEWS', () => {
  it('lists every served file once, with where it is bound', () => {
    expect(VIEWS.map((v) => v.name)).toEqual([
      'meminfo',
      'cpuinfo',
      'stat',
      'uptime',
      'loadavg',
      'swaps',
      'cpu-online',
      'diskstats',
      'pressure-cpu',
      'pressure-memory',
      'pressure-io',
    ]);
    expect(new Set(VIEWS.map((v) => v.target)).size).toBe(VIEWS.length);
    expect(VIEWS.find((v) => v.name === 'cpu-online')).toEqual({
      name: 'cpu-online',
      hostPath: null,
      target: '/sys/devices/system/cpu/online',
      cgroup: 'cpu',
      liveTasks: false,
      v2Only: false,
    });
    expect(VIEWS.find((v) => v.name === 'diskstats')).toEqual({
      name: 'diskstats',
      hostPath: '/proc/diskstats',
      target: '/proc/diskstats',
      cgroup: 'io',
      liveTasks: false,
      v2Only: false,
    });
    expect(VIEWS.find((v) => v.name === 'pressure-io')).toEqual({
      name: 'pressure-io',
      hostPath: null,
      target: '/proc/pressure/io',
      cgroup: 'pressure',
      liveTasks: false,
      v2Only: true,
    });
    // Only the files that print instantaneous task counts sample the tasks on every open.
    expect(VIEWS.filter((v) => v.liveTasks).map((v) => v.name)).toEqual(['stat', 'loadavg']);
    for (const v of VIEWS) if (v.hostPath !== null) expect(v.hostPath).toBe(v.target);
  });

  it('binds the pressure views only on cgroup v2 with PSI', () => {
    const names = (specs: readonly { name: string }[]) => specs.map((v) => v.name);
    expect(names(viewsFor('v2', true))).toEqual(names(VIEWS));
    const withoutPressure = names(VIEWS).filter((n) => !n.startsWith('pressure-'));
    expect(names(viewsFor('v2', false))).toEqual(withoutPressure);
    expect(names(viewsFor('v1', true))).toEqual(withoutPressure);
    expect(names(viewsFor('v1', false))).toEqual(withoutPressure);
  });

  it('renders every view from its host text without throwing, ending in a newline', () => {
    const memory = createViewMemory(STARTED_AT_MS);
    const src = source();
    for (const v of VIEWS) {
      const out = renderView(
        v.name,
        v.hostPath ? (HOST_TEXT[v.hostPath] ?? '') : '',
        readViewStats(src, v),
        ZERO_LOAD,
        { running: 1, blocked: 0, threads: 1, lastPid: 1 },
        memory,
        NOW_MS,
      );
      expect(out.length).toBeGreaterThan(0);
      expect(out.endsWith('\n')).toBe(true);
    }
    expect(memory.cpu?.cpus.length).toBe(1);
    expect(memory.lastNowMs).toBe(NOW_MS);
  });

  it('reads just the cgroup part a spec names, renders from it, and refuses without it', () => {
    const full = sandbox20();
    const tasks = { running: 1, blocked: 0, threads: 1, lastPid: 1 };
    const expectedReads: Record<string, string[]> = {
      meminfo: ['memory'],
      swaps: ['memory'],
      cpuinfo: ['cpu'],
      stat: ['cpu'],
      uptime: ['cpu'],
      'cpu-online': ['cpu'],
      loadavg: [],
      diskstats: ['io'],
      'pressure-cpu': ['pressure cpu'],
      'pressure-memory': ['pressure memory'],
      'pressure-io': ['pressure io'],
    };
    for (const v of VIEWS) {
      const host = v.hostPath ? (HOST_TEXT[v.hostPath] ?? '') : '';
      const src = source();
      const part = readViewStats(src, v);
      expect(src.calls, v.name).toEqual(expectedReads[v.name]);
      if (v.cgroup === 'memory' || v.cgroup === 'cpu') {
        expect(renderView(v.name, host, part, ZERO_LOAD, tasks, createViewMemory(STARTED_AT_MS), NOW_MS)).toBe(
          renderView(v.name, host, full, ZERO_LOAD, tasks, createViewMemory(STARTED_AT_MS), NOW_MS),
        );
      }
      if (v.cgroup !== null) {
        expect(() => renderView(v.name, host, {}, ZERO_LOAD, tasks, createViewMemory(STARTED_AT_MS), NOW_MS)).toThrow(
          `view ${v.name} was rendered without the cgroup's ${v.cgroup} figures`,
        );
      }
    }
  });

  it('creates fresh per-sandbox memory', () => {
    expect(createViewMemory(1000)).toEqual({ startedAtMs: 1000, lastNowMs: 1000, cpu: null, uptimeIdleSec: 0 });
  });
});
