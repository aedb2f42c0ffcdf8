// /proc/cpuinfo of a sandbox: the host's blocks (arch/x86/kernel/cpu/proc.c show_cpuinfo(), one per
// online CPU) for the n visible CPUs only, renumbered 0..n−1. The topology lines
// (show_cpuinfo_core()) describe one package of n single-thread cores, so tools that count
// "cpu cores" or "siblings" (libuv, lscpu's fallback, JVMs) agree with n: processor and core id = i,
// physical id = 0, siblings = cpu cores = n. apicid and everything else stay the host's.
import type { CpuAllotment } from '../../supervisor/cgroup/index.js';
import { formatCpuinfo, parseCpuinfo, type CpuinfoBlock, type CpuinfoLine } from '../parse/index.js';
import { visibleCpuCount, visibleHostCpus } from './cpus.js';

/** Values of the topology keys for visible CPU i of n (exact keys of show_cpuinfo/show_cpuinfo_core). */
function topology(i: number, n: number): Map<string, string> {
  return new Map([
    ['processor', String(i)],
    ['physical id', '0'],
    ['siblings', String(n)],
    ['core id', String(i)],
    ['cpu cores', String(n)],
  ]);
}

function renumber(block: CpuinfoBlock, i: number, n: number): CpuinfoBlock {
  const values = topology(i, n);
  const lines = block.lines.map((line): CpuinfoLine => {
    const value = line.key === null ? undefined : values.get(line.key);
    return value === undefined ? line : { ...line, value, raw: line.prefix + value };
  });
  return { processor: i, lines };
}

/** Render /proc/cpuinfo showing the first n CPUs of the cpuset, renumbered. */
export function renderCpuinfo(hostText: string, cpu: CpuAllotment): string {
  const info = parseCpuinfo(hostText);
  const n = visibleCpuCount(cpu);
  const cpuBlocks = info.blocks.filter((b) => b.processor !== null);
  // The blocks of the visible host CPUs; if some are missing (offline), the next host blocks fill in.
  const wanted = visibleHostCpus(cpu);
  const chosen = wanted
    .map((id) => cpuBlocks.find((b) => b.processor === id))
    .filter((b): b is CpuinfoBlock => b !== undefined);
  for (const b of cpuBlocks) {
    if (chosen.length >= n) break;
    if (!chosen.includes(b)) chosen.push(b);
  }
  const shown = chosen.slice(0, n).map((b, i) => renumber(b, i, n));
  // Non-CPU blocks (a header on s390, a trailer on powerpc) stay where they were.
  const firstCpu = info.blocks.findIndex((b) => b.processor !== null);
  const before = info.blocks.slice(0, firstCpu < 0 ? info.blocks.length : firstCpu).filter((b) => b.processor === null);
  const after = firstCpu < 0 ? [] : info.blocks.slice(firstCpu).filter((b) => b.processor === null);
  return formatCpuinfo({ blocks: [...before, ...shown, ...after] });
}
