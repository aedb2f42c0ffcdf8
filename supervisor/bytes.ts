// Byte counts as people read them, for messages: a foundation module (imports nothing of ours), so
// the cgroup library can name a refused --swap value without importing the supervisor's limits.

/** Human form of a byte count for messages: "256 MiB", "1.5 GiB". */
export function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}
