// Pressure stall information of a v2 cgroup (Documentation/accounting/psi.rst): <resource>.pressure
// holds the same text as /proc/pressure/<resource>, printed by kernel/sched/psi.c psi_show():
//   some avg10=0.31 avg60=0.12 avg300=0.04 total=1234567
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
// Averages as "%lu.%02lu" percent, total in microseconds. cpu.pressure has a "full" line since 5.13.
import type { CgroupFs } from '../fs.js';
import type { PressureLine, PressureResource, PressureStats } from '../types.js';

const LINE = /^(some|full) avg10=(\d+)\.(\d\d) avg60=(\d+)\.(\d\d) avg300=(\d+)\.(\d\d) total=(\d+)$/;

/** Parse a PSI file's text; throws on any other line or a missing "some" line. */
export function parsePressure(text: string): PressureStats {
  let some: PressureLine | null = null;
  let full: PressureLine | null = null;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`pressure: expected "some|full avg10=… avg60=… avg300=… total=…", got "${line}"`);
    const hundredths = (i: number): number => Number(m[i]) * 100 + Number(m[i + 1]);
    const parsed = { avg10: hundredths(2), avg60: hundredths(4), avg300: hundredths(6), totalUs: Number(m[8]) };
    if (m[1] === 'some') some = parsed;
    else full = parsed;
  }
  if (some === null) throw new Error('pressure: no "some" line');
  return { some, full };
}

/** A cgroup's own <resource>.pressure (absent when the kernel runs with psi=0: an error naming the file). */
export function readPressure(fs: CgroupFs, dir: string, resource: PressureResource): PressureStats {
  const path = `${dir}/${resource}.pressure`;
  try {
    return parsePressure(fs.read(path));
  } catch (err) {
    throw new Error(`${fs.resolve(path)}: ${(err as Error).message}`, { cause: err });
  }
}
