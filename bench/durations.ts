// How long a bench run took, for the report: each scenario's wall time after its table and a footer
// with the run's total ("full run: 184 s (quota 62 s, burst 21 s, …)"), so a change of settings shows
// what it costs in time.

/** Seconds of a duration in ms, to the nearest second (one decimal under 10 s). */
export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${s < 10 ? s.toFixed(1) : s.toFixed(0)} s`;
}

/** One scenario's duration line: "quota: 62 s". */
export function scenarioDuration(name: string, ms: number): string {
  return `${name}: ${formatSeconds(ms)}`;
}

/** The footer: "full run: 184 s (quota 62 s, burst 21 s)"; `totalMs` is the whole run's wall time. */
export function runDuration(
  quick: boolean,
  scenarios: ReadonlyArray<readonly [string, number]>,
  totalMs: number,
): string {
  const parts = scenarios.map(([name, ms]) => `${name} ${formatSeconds(ms)}`).join(', ');
  return `${quick ? 'quick' : 'full'} run: ${formatSeconds(totalMs)}${parts ? ` (${parts})` : ''}`;
}
