// `sandbox kill ID|NAME [--signal SIG]` and `sandbox stop ID|NAME [--time SECONDS]`. Signals go only
// to processes found in the sandbox's own cgroup: the workload (pid 2 inside, lookup.ts), or with
// SIGKILL everything in the cgroup (CgroupManager.killAll: freeze, kill, thaw on v1). PID 1 then
// exits with the workload's status, and the supervisor tears the sandbox down as after any run.
import { constants as osConstants } from 'node:os';
import type { Command } from 'commander';
import { SandboxError, UsageError } from '../errors.js';
import { requireRoot } from './root.js';
import { runningSandbox, waitGone } from '../lookup.js';

/** Default grace of `stop` between SIGTERM and SIGKILL, as docker stop. */
const STOP_GRACE_SECONDS = 10;
/** How long kill/stop wait for the teardown after SIGKILL. */
const TEARDOWN_WAIT_MS = 5000;

/** "TERM", "sigterm", "SIGTERM" or "15" -> the signal's name; UsageError otherwise. */
export function parseSignal(text: string): NodeJS.Signals {
  const t = text.trim().toUpperCase();
  const signals = osConstants.signals as Record<string, number>;
  if (/^\d+$/.test(t)) {
    const name = Object.keys(signals).find((k) => signals[k] === Number(t));
    if (name) return name as NodeJS.Signals;
  } else {
    const name = t.startsWith('SIG') ? t : `SIG${t}`;
    if (signals[name] !== undefined) return name as NodeJS.Signals;
  }
  throw new UsageError('--signal', `expected a signal name like TERM, SIGINT or KILL, or its number, got "${text}"`);
}

/** Send `signal` to a running sandbox: the workload, or with SIGKILL everything in its cgroup. */
async function signalSandbox(
  found: Awaited<ReturnType<typeof runningSandbox>>,
  signal: NodeJS.Signals,
): Promise<string> {
  const { state, cgroup, procs } = found;
  if (signal === 'SIGKILL') {
    await cgroup.killAll('SIGKILL');
  } else {
    try {
      process.kill(procs.workload!, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH')
        throw new SandboxError(`sandbox ${state.id} has already exited`);
      throw err;
    }
  }
  return state.id;
}

/** Register `sandbox kill` and `sandbox stop`. */
export function registerKill(program: Command): void {
  program
    .command('kill')
    .description("send a signal to a sandbox's command (default SIGKILL: everything in the sandbox)")
    .argument('<sandbox>', 'id, unique id prefix, or name')
    .option('-s, --signal <signal>', 'signal name or number: TERM, INT, HUP, USR1, KILL, 15…', 'KILL')
    .addHelpText('after', '\nExamples:\n  sandbox kill web\n  sandbox kill --signal HUP 3f2a9c01b7de')
    .action(async (ref: string, flags: { signal: string }) => {
      const signal = parseSignal(flags.signal);
      requireRoot('kill');
      process.stdout.write(`${await signalSandbox(await runningSandbox(ref), signal)}\n`);
    });

  program
    .command('stop')
    .description('stop a sandbox: SIGTERM to its command, SIGKILL to everything left after a grace period')
    .argument('<sandbox>', 'id, unique id prefix, or name')
    .option('-t, --time <seconds>', 'grace period before SIGKILL', String(STOP_GRACE_SECONDS))
    .addHelpText('after', '\nExamples:\n  sandbox stop web\n  sandbox stop --time 2 3f2a9c01b7de')
    .action(async (ref: string, flags: { time: string }) => {
      if (!/^\d+(\.\d+)?$/.test(flags.time.trim()))
        throw new UsageError('--time', `expected a number of seconds, got "${flags.time}"`);
      const graceMs = Number(flags.time) * 1000;
      requireRoot('stop');
      const found = await runningSandbox(ref);
      const { state, cgroup } = found;
      // A workload that ends between the lookup and the signal is what stop wants anyway.
      await signalSandbox(found, 'SIGTERM').catch((err: unknown) => {
        if (!(err instanceof SandboxError && err.message.endsWith('has already exited'))) throw err;
      });
      if (!(await waitGone(state, graceMs))) {
        await cgroup.killAll('SIGKILL').catch(() => undefined); // it may end between the wait and the kill
        if (!(await waitGone(state, TEARDOWN_WAIT_MS)))
          throw new SandboxError(`sandbox ${state.id}: still torn down ${TEARDOWN_WAIT_MS / 1000} s after SIGKILL`);
      }
      process.stdout.write(`${state.id}\n`);
    });
}
