// Per-sandbox state carried between renders. Views are pure functions of their inputs; the few
// things that must persist (so counters never run backwards) live here, one object per sandbox.
import type { CpuAccount } from './cpu-account.js';

/** State one sandbox's views carry from one render to the next. */
export interface ViewMemory {
  /** When the sandbox started (epoch ms): uptime 0 and /proc/stat's btime. */
  readonly startedAtMs: number;
  /** Latest clock seen: a wall clock stepping back never makes uptime or idle run backwards. */
  lastNowMs: number;
  /** The /proc/stat cpu counters served last; null before the first render. */
  cpu: CpuAccount | null;
  /** The idle field served in /proc/uptime last, in seconds. */
  uptimeIdleSec: number;
}

/** Fresh state for a sandbox that started at `startedAtMs` (epoch ms). */
export function createViewMemory(startedAtMs: number): ViewMemory {
  return { startedAtMs, lastNowMs: startedAtMs, cpu: null, uptimeIdleSec: 0 };
}

/** Advance the memory's clock to `nowMs` (never backwards) and return the elapsed ms since start. */
export function elapsedMs(memory: ViewMemory, nowMs: number): number {
  if (nowMs > memory.lastNowMs) memory.lastNowMs = nowMs;
  return Math.max(0, memory.lastNowMs - memory.startedAtMs);
}
