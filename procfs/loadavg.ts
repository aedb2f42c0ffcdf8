// Load averages computed the way the kernel does. Kernel: kernel/sched/loadavg.c and
// include/linux/sched/loadavg.h. Every LOAD_FREQ (5*HZ+1 ticks, ~5 s) calc_global_load() folds the
// number of active tasks (nr_running + nr_uninterruptible) into avenrun[] with calc_load(), a
// fixed-point exponential decay: FSHIFT = 11 bits of fraction, EXP_1/EXP_5/EXP_15 = FIXED_1 /
// exp(5 s / 1, 5, 15 min). fs/proc/loadavg.c prints them with LOAD_INT/LOAD_FRAC after adding
// FIXED_1/200 (get_avenrun's offset) so the two decimals are rounded, not truncated.

/** Bits of fraction in the fixed-point averages (include/linux/sched/loadavg.h). */
export const FSHIFT = 11;
/** 1.0 in fixed point. */
export const FIXED_1 = 1 << FSHIFT;
/** 1/exp(5s/1min) in fixed point. */
export const EXP_1 = 1884;
/** 1/exp(5s/5min) in fixed point. */
export const EXP_5 = 2014;
/** 1/exp(5s/15min) in fixed point. */
export const EXP_15 = 2037;
/** Sampling interval: the kernel's LOAD_FREQ is 5*HZ+1 ticks; we sample every 5 s. */
export const LOAD_FREQ_MS = 5000;

/** The 1, 5 and 15 minute averages in fixed point (FIXED_1 = one task), like the kernel's avenrun[]. */
export interface LoadAverages {
  readonly load1: number;
  readonly load5: number;
  readonly load15: number;
}

/** Averages of a sandbox that has never been sampled. */
export const ZERO_LOAD: LoadAverages = Object.freeze({ load1: 0, load5: 0, load15: 0 });

/**
 * One step of the kernel's calc_load(): load * exp + active * (FIXED_1 - exp), rounded up while the
 * load is rising (so a constant load converges exactly to it), divided by FIXED_1. `active` is fixed point.
 */
export function calcLoad(load: number, exp: number, active: number): number {
  let newload = load * exp + active * (FIXED_1 - exp);
  if (active >= load) newload += FIXED_1 - 1;
  return Math.floor(newload / FIXED_1);
}

/** Fold one 5-second sample of `activeTasks` (running + uninterruptible) into the averages. */
export function nextLoad(prev: LoadAverages, activeTasks: number): LoadAverages {
  // calc_global_load(): active = nr_active > 0 ? nr_active * FIXED_1 : 0
  const active = activeTasks > 0 ? Math.floor(activeTasks) * FIXED_1 : 0;
  return {
    load1: calcLoad(prev.load1, EXP_1, active),
    load5: calcLoad(prev.load5, EXP_5, active),
    load15: calcLoad(prev.load15, EXP_15, active),
  };
}

/** Print one fixed-point average as /proc/loadavg does: "%lu.%02lu" of LOAD_INT/LOAD_FRAC after + FIXED_1/200. */
export function formatLoad(fixed: number): string {
  const x = fixed + Math.floor(FIXED_1 / 200);
  const int = Math.floor(x / FIXED_1); // LOAD_INT(x) = x >> FSHIFT
  const frac = Math.floor(((x % FIXED_1) * 100) / FIXED_1); // LOAD_FRAC(x) = LOAD_INT((x & (FIXED_1-1)) * 100)
  return `${int}.${String(frac).padStart(2, '0')}`;
}
