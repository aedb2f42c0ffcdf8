// The signals a supervisor (`sandbox run`, `sandbox exec`) passes on to what it started, and the
// exit code a death by signal ends in.
import { constants as osConstants } from 'node:os';

/** Signals `sandbox run` passes on to the workload (through the stage and PID 1). */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
];

/** Signal number of a signal name on Linux. */
export function signalNumber(sig: NodeJS.Signals): number {
  return osConstants.signals[sig] ?? 9;
}
