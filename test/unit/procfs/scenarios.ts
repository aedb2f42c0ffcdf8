// Inputs shared by the procfs unit tests: the host captures of test/fixtures/proc/host-2cpu and
// CgroupStats built from real cgroup captures (numbers copied, v1 total_* keys under their v2 names).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CgroupStats } from '../../../supervisor/cgroup/types.js';

/** Directory of test/fixtures/proc. */
export const PROC_FIXTURES = fileURLToPath(new URL('../../fixtures/proc/', import.meta.url));

/** Text of one captured host file (test/fixtures/proc/host-2cpu/<name>). */
export function hostFile(name: string): string {
  return readFileSync(`${PROC_FIXTURES}host-2cpu/${name}`, 'utf8');
}

/** A sandbox start time a little after the captured host's btime (1795426801), and a read 12.345 s later. */
export const STARTED_AT_MS = 1795427800_000;
export const NOW_MS = STARTED_AT_MS + 12_345;

/**
 * 20% of one CPU, 256 MiB, cpuset "1": test/fixtures/cgroup-v1/busy-256M (memory.stat total_*,
 * memory.usage_in_bytes 85782528, memsw limit = limit so no swap, cpuacct.usage_percpu_user
 * "0 603934958", usage_percpu_sys "0 56000000", cpu.stat nr_periods 35 nr_throttled 32).
 */
export function sandbox20(): CgroupStats {
  return {
    memory: {
      limitBytes: 268435456,
      usageBytes: 85782528,
      swapLimitBytes: 0,
      swapUsageBytes: 0,
      stat: {
        file: 29478912,
        anon: 55259136,
        anon_thp: 0,
        shmem: 0,
        file_mapped: 3276800,
        file_dirty: 20971520,
        file_writeback: 0,
        swapcached: 0,
        inactive_anon: 55255040,
        active_anon: 4096,
        inactive_file: 27992064,
        active_file: 1486848,
        unevictable: 0,
      },
      oomKills: 0,
    },
    cpu: {
      quotaUs: 20000,
      periodUs: 100000,
      cpus: [1],
      userUs: 603935,
      systemUs: 56000,
      perCpu: [
        { cpu: 0, userUs: 0, systemUs: 0 },
        { cpu: 1, userUs: 603935, systemUs: 56000 },
      ],
      nrPeriods: 35,
      nrThrottled: 32,
      throttledUs: 2455954,
    },
    pids: { current: 1, max: 4096 },
  };
}

/**
 * 150% (1.5 CPUs), 1 GiB, cpuset "0-1": test/fixtures/proc/cgroup-150pct-2cpu (a live v1 cgroup,
 * memsw unlimited so swap limit null; cpuacct.usage_percpu_user "1051944798 1754463161",
 * usage_percpu_sys "20000000 196000000").
 */
export function sandbox150(): CgroupStats {
  return {
    memory: {
      limitBytes: 1073741824,
      usageBytes: 145133568,
      swapLimitBytes: null,
      swapUsageBytes: 0,
      stat: {
        file: 31719424,
        anon: 111939584,
        anon_thp: 0,
        shmem: 0,
        file_mapped: 57344,
        file_dirty: 31473664,
        file_writeback: 0,
        swapcached: 0,
        inactive_anon: 111935488,
        active_anon: 4096,
        inactive_file: 29360128,
        active_file: 2359296,
        unevictable: 0,
      },
      oomKills: 0,
    },
    cpu: {
      quotaUs: 150000,
      periodUs: 100000,
      cpus: [0, 1],
      userUs: 2806408,
      systemUs: 216000,
      perCpu: [
        { cpu: 0, userUs: 1051945, systemUs: 20000 },
        { cpu: 1, userUs: 1754463, systemUs: 196000 },
      ],
      nrPeriods: 31,
      nrThrottled: 0,
      throttledUs: 0,
    },
    pids: { current: 1, max: null },
  };
}

/** A copy of `stats` with CPU figures replaced (for accounting tests). */
export function withCpu(stats: CgroupStats, cpu: Partial<CgroupStats['cpu']>): CgroupStats {
  return { ...stats, cpu: { ...stats.cpu, ...cpu } };
}

/** A copy of `stats` with memory figures replaced. */
export function withMemory(stats: CgroupStats, memory: Partial<CgroupStats['memory']>): CgroupStats {
  return { ...stats, memory: { ...stats.memory, ...memory } };
}
