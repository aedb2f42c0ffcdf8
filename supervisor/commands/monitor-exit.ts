// `sandbox monitor-exit ID` (internal, not in --help): what a detached sandbox's stage executes once
// PID 1 has exited (native/stage/monitor.c, as podman's conmon runs its --exit-command): the
// teardown a supervisor would have done, and the exit event with the code the stage recorded.
// It runs as the stage's own process (same pid and start time), so `sandbox gc` leaves the sandbox
// alone until it has ended, and takes over whatever it left.
import type { Command } from 'commander';
import { finishSandbox } from '../gc.js';
import { publishNewOomKills } from '../monitor-oom.js';
import { listStates } from '../state.js';
import { SandboxError, UsageError } from '../errors.js';
import { requireRoot } from './root.js';

/** Register `sandbox monitor-exit` and `sandbox monitor-oom` (the stage's --oom-command: publish new OOM kills). */
export function registerMonitorExit(program: Command): void {
  program
    .command('monitor-exit', { hidden: true })
    .description('tear down a detached sandbox whose PID 1 has exited (run by its stage)')
    .argument('<id>', 'the sandbox id')
    .action(async (id: string) => {
      if (!/^[0-9a-f]{12}$/.test(id)) throw new UsageError('<id>', `expected 12 hex digits, got "${id}"`);
      requireRoot('monitor-exit');
      const state = (await listStates()).find((s) => s.id === id);
      // Only the sandbox's own monitor, after its PID 1: anyone else would tear down a live sandbox.
      if (state?.monitorPid !== process.pid)
        throw new SandboxError(`monitor-exit ${id}: this process (${process.pid}) is not the sandbox's monitor`);
      await finishSandbox(state);
    });
  program
    .command('monitor-oom', { hidden: true })
    .description('publish the OOM kills of a detached sandbox (run by its stage on a notification)')
    .argument('<id>', 'the sandbox id')
    .action(async (id: string) => {
      if (!/^[0-9a-f]{12}$/.test(id)) throw new UsageError('<id>', `expected 12 hex digits, got "${id}"`);
      requireRoot('monitor-oom');
      const state = (await listStates()).find((s) => s.id === id);
      // Run by the sandbox's monitor, our parent: nobody else decides when an OOM is published.
      if (state === undefined || state.monitorPid !== process.ppid)
        throw new SandboxError(`monitor-oom ${id}: the parent (${process.ppid}) is not the sandbox's monitor`);
      await publishNewOomKills(state, true);
    });
}
