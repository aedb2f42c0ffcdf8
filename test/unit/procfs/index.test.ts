// The view registry the FUSE server uses.
import { describe, expect, it } from 'vitest';
import { ZERO_LOAD } from '../../../procfs/loadavg.js';
import { createViewMemory, renderView, VIEWS } from '../../../procfs/views/index.js';
import { hostFile, NOW_MS, sandbox20, STARTED_AT_MS } from './scenarios.js';

const HOST_TEXT: Record<string, string> = {
  '/proc/meminfo': hostFile('meminfo'),
  '/proc/cpuinfo': hostFile('cpuinfo'),
  '/proc/stat': hostFile('stat'),
  '/proc/swaps': hostFile('swaps'),
};

describe('VIEWS', () => {
  it('lists every served file once, with where it is bound', () => {
    expect(VIEWS.map((v) => v.name)).toEqual(['meminfo', 'cpuinfo', 'stat', 'uptime', 'loadavg', 'swaps', 'cpu-online']);
    expect(new Set(VIEWS.map((v) => v.target)).size).toBe(VIEWS.length);
    expect(VIEWS.find((v) => v.name === 'cpu-online')).toEqual({ name: 'cpu-online', hostPath: null, target: '/sys/devices/system/cpu/online', cgroup: 'cpu', liveTasks: false });
    // Only the files that print instantaneous task counts sample the tasks on every open.
    expect(VIEWS.filter((v) => v.liveTasks).map((v) => v.name)).toEqual(['stat', 'loadavg']);
    for (const v of VIEWS) if (v.hostPath !== null) expect(v.hostPath).toBe(v.target);
  });

  it('renders every view from its host text without throwing, ending in a newline', () => {
    const memory = createViewMemory(STARTED_AT_MS);
    for (const v of VIEWS) {
      const out = renderView(v.name, v.hostPath ? (HOST_TEXT[v.hostPath] ?? '') : '', sandbox20(), ZERO_LOAD, { running: 1, blocked: 0, threads: 1, lastPid: 1 }, memory, NOW_MS);
      expect(out.length).toBeGreaterThan(0);
      expect(out.endsWith('\n')).toBe(true);
    }
    expect(memory.cpu?.cpus.length).toBe(1);
    expect(memory.lastNowMs).toBe(NOW_MS);
  });

  it('renders each view from just the cgroup part its spec names, and refuses without it', () => {
    const full = sandbox20();
    const tasks = { running: 1, blocked: 0, threads: 1, lastPid: 1 };
    for (const v of VIEWS) {
      const host = v.hostPath ? (HOST_TEXT[v.hostPath] ?? '') : '';
      const part = v.cgroup === null ? {} : { [v.cgroup]: full[v.cgroup] };
      expect(renderView(v.name, host, part, ZERO_LOAD, tasks, createViewMemory(STARTED_AT_MS), NOW_MS)).toBe(
        renderView(v.name, host, full, ZERO_LOAD, tasks, createViewMemory(STARTED_AT_MS), NOW_MS),
      );
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
