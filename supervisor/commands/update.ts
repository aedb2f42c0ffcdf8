// `sandbox update ID|NAME --cpu 50% --mem 512M --pids N`: change a running sandbox's limits. The
// new values are merged into the limits its state records, written through the CgroupManager
// (which orders the writes so every intermediate state is valid, cgroup/v1/cpu.ts and memory.ts),
// and recorded again. The /proc views read the cgroup on every open, so the next read inside shows
// them. The cpuset is not moved by --cpu (as docker update); --cpuset-cpus moves it.
import type { Command } from 'commander';
import { SandboxError, UsageError, withContext } from '../errors.js';
import { readHostFacts } from '../host.js';
import { formatBytes } from '../bytes.js';
import { MEMORY_FLOOR_BYTES, parseCpu, parseInteger, parseSize, type HostFacts, type LimitFlags } from '../limits.js';
import { parseCpuList, formatCpuList, type CgroupLimits } from '../cgroup/index.js';
import { updateState } from '../state.js';
import { mergeIoLimits } from '../io-limits.js';
import { collect } from './run-options.js';
import { runningSandbox } from '../lookup.js';
import { requireRoot } from './root.js';

/** Flags of `sandbox update`, as commander hands them over: run's limit flags but the CFS period and burst. */
export type UpdateFlags = Omit<LimitFlags, 'cpuPeriod' | 'cpuBurst'>;

/** kernel/sched/core.c: a quota below 1 ms is refused. */
const MIN_QUOTA_US = 1_000;
const MAX_PIDS = 4_194_304;

/** Merge validated flags into the current limits; throws UsageError naming the first bad flag. */
export function mergeLimits(current: CgroupLimits, flags: UpdateFlags, host: HostFacts): CgroupLimits {
  const next: CgroupLimits = { ...current };
  if (flags.cpu !== undefined) {
    next.cpuQuotaUs =
      flags.cpu === 'max' ? null : Math.round(parseCpu(flags.cpu, host.onlineCpus.length) * current.cpuPeriodUs);
    if (next.cpuQuotaUs !== null && next.cpuQuotaUs < MIN_QUOTA_US)
      throw new UsageError('--cpu', `"${flags.cpu}" gives a quota below the kernel's minimum of 1ms per period`);
    if (next.cpuQuotaUs === null) next.cpuBurstUs = null;
    else if (next.cpuBurstUs !== null && next.cpuBurstUs > next.cpuQuotaUs) next.cpuBurstUs = next.cpuQuotaUs;
  }
  if (flags.mem !== undefined) {
    next.memoryBytes = flags.mem === 'max' ? null : parseSize('--mem', flags.mem, host.memTotalBytes);
    if (next.memoryBytes !== null && next.memoryBytes < MEMORY_FLOOR_BYTES) {
      throw new UsageError('--mem', `"${flags.mem}" is below the ${formatBytes(MEMORY_FLOOR_BYTES)} a sandbox needs`);
    }
  }
  if (flags.swap !== undefined) {
    if (next.memoryBytes === null)
      throw new UsageError('--swap', `needs a memory limit (swap is allowed on top of it), got "${flags.swap}"`);
    next.swapBytes = parseSize('--swap', flags.swap);
  }
  if (flags.pids !== undefined) next.pidsMax = parseInteger('--pids', flags.pids, 1, MAX_PIDS, true);
  if (flags.cpuWeight !== undefined) next.cpuWeight = parseInteger('--cpu-weight', flags.cpuWeight, 1, 10_000);
  if (flags.cpusetCpus !== undefined) {
    let cpus: number[];
    try {
      cpus = parseCpuList(flags.cpusetCpus);
    } catch {
      throw new UsageError('--cpuset-cpus', `expected a CPU list like 0-1 or 0,2, got "${flags.cpusetCpus}"`);
    }
    const offline = cpus.find((c) => !host.onlineCpus.includes(c));
    if (cpus.length === 0 || offline !== undefined) {
      throw new UsageError(
        '--cpuset-cpus',
        `expected online CPUs (online: ${formatCpuList(host.onlineCpus)}), got "${flags.cpusetCpus}"`,
      );
    }
    next.cpusetCpus = cpus;
  }
  const io = mergeIoLimits(current.io, flags);
  if (io) next.io = io;
  return next;
}

/** Register `sandbox update`. */
export function registerUpdate(program: Command): void {
  program
    .command('update')
    .description("change a running sandbox's limits; the /proc views inside follow at the next read")
    .argument('<sandbox>', 'id, unique id prefix, or name')
    .option('--cpu <share>', 'CPU quota: 50%, 1.5 (CPUs), or "max" for none')
    .option('--mem <size>', 'memory limit: 512M, 1G, 25% of host RAM, or "max" for none')
    .option('--swap <size>', 'swap allowed on top of --mem')
    .option('--pids <n>', 'maximum number of tasks, or "max"')
    .option('--cpuset-cpus <list>', 'host CPUs to run on, e.g. 0-1')
    .option('--cpu-weight <n>', 'relative CPU weight, 1 to 10000')
    .option('--io-weight <n>', 'relative block I/O weight, 1 to 1000')
    .option(
      '--device-read-bps <dev:rate>',
      'read bytes/s limit on a whole disk, e.g. /dev/vda:10M, or DEV:max (repeatable)',
      collect,
    )
    .option(
      '--device-write-bps <dev:rate>',
      'write bytes/s limit on a whole disk, e.g. /dev/vda:2M, or DEV:max (repeatable)',
      collect,
    )
    .option('--device-read-iops <dev:n>', 'read requests/s limit on a whole disk, or DEV:max (repeatable)', collect)
    .option('--device-write-iops <dev:n>', 'write requests/s limit on a whole disk, or DEV:max (repeatable)', collect)
    .addHelpText(
      'after',
      '\nExamples:\n  sandbox update web --cpu 50% --mem 512M\n  sandbox update 3f2a9c01b7de --pids 100\n  sandbox update web --device-write-bps /dev/vda:4M',
    )
    .action(async (ref: string, flags: UpdateFlags) => {
      if (Object.values(flags).every((v) => v === undefined)) {
        throw new UsageError(
          'update',
          'nothing to change: give --cpu, --mem, --swap, --pids, --cpuset-cpus, --cpu-weight, --io-weight or --device-{read,write}-{bps,iops}',
        );
      }
      const host = await readHostFacts();
      requireRoot('update');
      const { state, cgroup } = await runningSandbox(ref);
      if (!state.limits)
        throw new SandboxError(`sandbox ${state.id} was started by an older sandbox that did not record its limits`);
      const next = mergeLimits(state.limits, flags, host);
      await cgroup.apply(next).catch((err) => {
        throw withContext(`update ${state.id}`, err);
      });
      await updateState({ ...state, limits: next, cpus: next.cpusetCpus }).catch(() => undefined); // gone meanwhile: nothing to record
      process.stdout.write(`${state.id}\n`);
    });
}
