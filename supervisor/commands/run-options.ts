// The `sandbox run` options that are not limits: --env/--clearenv, --workdir, --timeout, --name.
// Each bad value is a UsageError naming the flag and the value (exit 125), raised before anything
// is created.
import { UsageError } from '../errors.js';
import { existingDir } from '../rootfs.js';

/** Internal: set in the environment of the background supervisor of `run -d` (never reaches the workload). */
export const DETACHED_ENV = 'SANDBOX_DETACHED_SUPERVISOR';

/** commander collector for repeatable flags. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * The workload's environment: the caller's (or none with --clearenv), then each --env K=V; a bare
 * --env K copies K from the caller's environment, as docker does. Our internal variable is dropped.
 */
export function workloadEnv(
  caller: NodeJS.ProcessEnv,
  assignments: readonly string[],
  clear: boolean,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = clear ? {} : { ...caller };
  delete env[DETACHED_ENV];
  for (const a of assignments) {
    const eq = a.indexOf('=');
    const key = eq < 0 ? a : a.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key))
      throw new UsageError('--env', `expected NAME=VALUE with a name of letters, digits and '_', got "${a}"`);
    if (eq >= 0) env[key] = a.slice(eq + 1);
    else if (caller[key] !== undefined) env[key] = caller[key];
  }
  return env;
}

/** --workdir: an absolute path to an existing directory on the host (it is bound writable inside). */
export function checkWorkdir(dir: string): string {
  if (!dir.startsWith('/')) throw new UsageError('--workdir', `expected an absolute path, got "${dir}"`);
  existingDir('--workdir', dir);
  return dir; // as given: existingDir's resolved path would drop a trailing '/' or a '..'
}

/** --user UID[:GID] (numeric; GID defaults to UID) -> ids; UsageError otherwise. */
export function parseUser(text: string): { uid: number; gid: number } {
  const m = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(text.trim());
  const uid = m ? Number(m[1]) : NaN;
  const gid = m?.[2] !== undefined ? Number(m[2]) : uid;
  // 2^32-1 is (uid_t)-1, "no change" to setresuid(2): not a user.
  if (!m || uid >= 2 ** 32 - 1 || gid >= 2 ** 32 - 1 || uid > 2 ** 31 - 1 || gid > 2 ** 31 - 1) {
    throw new UsageError('--user', `expected a numeric UID or UID:GID like 1000:1000, got "${text}"`);
  }
  return { uid, gid };
}

const TIMEOUT_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** --timeout: "30s", "1.5m", "250ms", "2h", or a bare number of seconds (as timeout(1) reads it) -> ms. */
export function parseTimeout(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError('--timeout', `expected a duration like 30s, 1.5m or 250ms, got "${text}"`);
  const ms = Math.round(Number(m[1]) * (TIMEOUT_UNITS[m[2] ?? 's'] as number));
  if (ms <= 0 || ms > 2 ** 31 - 1)
    throw new UsageError('--timeout', `must be more than 0 and less than 24 days, got "${text}"`);
  return ms;
}
