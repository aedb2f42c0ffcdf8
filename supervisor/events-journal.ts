// The events journal behind `sandbox events --since`: every published event is also appended, as
// one JSON line, to /run/sandbox-events.log (tmpfs: gone at reboot, as the sandboxes are). One
// write(2) of an O_APPEND file is atomic with respect to other appenders (write(2): "the file offset
// is first set to the end of the file ... and the file offset and the write are one atomic step"),
// so concurrent supervisors never interleave lines. Bounded: past JOURNAL_MAX_BYTES the file is
// renamed to .1 (replacing the older one), so history reaches back one to two megabytes of events.
import { appendFile, chmod, readFile, rename, stat } from 'node:fs/promises';
import { UsageError } from './errors.js';

/** The journal file (next to the subscriber sockets, outside /run/sandbox, which holds only state dirs). */
const JOURNAL = '/run/sandbox-events.log';
/** Size past which the journal is rotated to JOURNAL.1. */
const JOURNAL_MAX_BYTES = 1 << 20;

/** Append one event line (ending in "\n"); rotate first when the journal is full. Never throws. */
export async function appendJournal(line: string, path = JOURNAL, maxBytes = JOURNAL_MAX_BYTES): Promise<void> {
  try {
    const st = await stat(path).catch(() => null);
    const size = st?.size ?? 0;
    // Every sandbox's command is in it: root's only. appendFile's mode applies to a new file; one
    // left by an older version or made by hand is narrowed here.
    if (st !== null && (st.mode & 0o777) !== 0o600) await chmod(path, 0o600);
    // Two supervisors may both rotate: the second rename moves a nearly empty file over .1, losing
    // the older history only (never the current line, which is appended after).
    if (size + line.length > maxBytes) await rename(path, `${path}.1`).catch(() => undefined);
    await appendFile(path, line, { mode: 0o600 });
  } catch {
    // The journal is for history; a full /run must not fail a sandbox.
  }
}

/** Journal lines (oldest first, the rotated file included) whose "time" is at or after sinceMs. */
export async function readJournal(sinceMs: number, path = JOURNAL): Promise<string[]> {
  const text = (await readFile(`${path}.1`, 'utf8').catch(() => '')) + (await readFile(path, 'utf8').catch(() => ''));
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const time = Date.parse((JSON.parse(line) as { time?: string }).time ?? '');
      if (time >= sinceMs) lines.push(line);
    } catch {
      // a line cut by a crash mid-write (or a full disk): skipped
    }
  }
  return lines;
}

const SINCE_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** --since: a duration back from now ("10m", "1.5h", "30s", "2d") or a timestamp Date.parse reads
 * ("2026-11-23T14:00:00Z", "2026-11-23") -> epoch ms. */
export function parseSince(text: string, nowMs: number): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (m) return nowMs - Number(m[1]) * (SINCE_UNITS[m[2] as string] as number);
  const at = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(at))
    throw new UsageError(
      '--since',
      `expected a duration like 10m, 1.5h, 30s or an ISO time like 2026-01-31T12:00:00Z, got "${text}"`,
    );
  return at;
}
