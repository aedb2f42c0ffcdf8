// /proc/swaps of a sandbox, formatted as mm/swapfile.c swap_show(): the header, then per area
// "%*s%s\t%lu\t%s%lu\t%s%d\n" (path padded to column 40, type "partition" or "file\t", size and
// used in kB each followed by an extra tab when below 10000000, priority). A sandbox without swap,
// or a host without swap, shows the header only; otherwise one line sized min(allowance, host total).
import type { MemoryStats } from '../../supervisor/cgroup/index.js';
import { parseSwaps, type SwapEntry } from '../parse/index.js';

/** The header line swap_show() prints first. */
export const SWAPS_HEADER = 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority';

/** One area line in swap_show()'s format. */
export function formatSwapLine(entry: SwapEntry): string {
  const len = entry.filename.length;
  const pad = ' '.repeat(len < 40 ? 40 - len : 1);
  const type = entry.type === 'file' ? 'file\t' : entry.type;
  const size = `${entry.sizeKb}\t${entry.sizeKb < 10000000 ? '\t' : ''}`;
  const used = `${entry.usedKb}\t${entry.usedKb < 10000000 ? '\t' : ''}`;
  return `${entry.filename}${pad}${type}\t${size}${used}${entry.priority}`;
}

/** Render /proc/swaps for a cgroup from the host's text. */
export function renderSwaps(hostText: string, mem: MemoryStats): string {
  const host = parseSwaps(hostText);
  const header = host.header || SWAPS_HEADER;
  const first = host.entries[0];
  const hostTotalKb = host.entries.reduce((sum, e) => sum + e.sizeKb, 0);
  const allowanceKb = mem.swapLimitBytes === null ? hostTotalKb : Math.floor(mem.swapLimitBytes / 1024);
  const sizeKb = Math.min(allowanceKb, hostTotalKb);
  if (!first || sizeKb <= 0) return header + '\n';
  // The area shown is named after the host's first area (a real path and type), sized to the sandbox.
  const usedKb = Math.min(sizeKb, Math.max(0, Math.floor(mem.swapUsageBytes / 1024)));
  return `${header}\n${formatSwapLine({ ...first, sizeKb, usedKb })}\n`;
}
