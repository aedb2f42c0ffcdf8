// Sandbox names (--name): unique among live sandboxes. There is no daemon to serialize two runs
// asking for the same name at once, so each run first writes its state (with the name) and then
// looks: of the live sandboxes holding the name, only the earliest (start time, then id) keeps it.
// Two racing runs both see each other's state, so exactly one of them wins.
import { UsageError } from './errors.js';
import { listStates, supervisorAlive, type SandboxState } from './state.js';

/** docker's rule for names: a letter or digit, then letters, digits, '_', '.', '-' (at most 64 here). */
export function validateName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new UsageError(
      '--name',
      `expected a letter or digit, then letters, digits, '_', '.' or '-' (at most 64), got "${name}"`,
    );
  }
  return name;
}

/** True when a state was written before another one (start time, then id, as a tie-break). */
function earlier(a: SandboxState, b: SandboxState): boolean {
  return a.startedAtMs !== b.startedAtMs ? a.startedAtMs < b.startedAtMs : a.id < b.id;
}

/** Fail with a usage error if a live sandbox that started earlier holds the name of `mine` (already written). */
export async function claimName(mine: SandboxState): Promise<void> {
  for (const other of await listStates()) {
    if (other.id === mine.id || other.name !== mine.name || !earlier(other, mine)) continue;
    if (await supervisorAlive(other))
      throw new UsageError('--name', `"${mine.name}" is already used by sandbox ${other.id}`);
  }
}
