// Facts about the host the limits are checked against, read once per run, asynchronously.
import { readFile } from 'node:fs/promises';
import { parseCpuList } from './cgroup/index.js';
import type { HostFacts } from './limits.js';

/** MemTotal of a /proc/meminfo text, in bytes (exact key match: "MemTotal:"). */
function memTotalFromMeminfo(text: string): number {
  for (const line of text.split('\n')) {
    const [key, value] = line.split(/\s+/);
    if (key === 'MemTotal:' && value !== undefined) return Number(value) * 1024;
  }
  throw new Error('/proc/meminfo: no MemTotal line');
}

/** Online CPUs (/sys/devices/system/cpu/online) and RAM (/proc/meminfo) of this host. */
export async function readHostFacts(): Promise<HostFacts> {
  const [online, meminfo] = await Promise.all([
    readFile('/sys/devices/system/cpu/online', 'utf8'),
    readFile('/proc/meminfo', 'utf8'),
  ]);
  return { onlineCpus: parseCpuList(online.trim()), memTotalBytes: memTotalFromMeminfo(meminfo) };
}
