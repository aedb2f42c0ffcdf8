// Parser of /proc/uptime. Kernel: fs/proc/uptime.c uptime_proc_show() prints "%lu.%02lu %lu.%02lu\n":
// seconds since boot (CLOCK_BOOTTIME, shifted by the time namespace's offset) and the idle time
// summed over all CPUs, each truncated to hundredths.

/** The two fields of /proc/uptime, in seconds. */
export interface Uptime {
  uptimeSec: number;
  idleSec: number;
}

/** Parse /proc/uptime text; throws on anything but two decimal numbers. */
export function parseUptime(text: string): Uptime {
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?)\n?$/.exec(text);
  if (!m) throw new Error(`/proc/uptime: malformed "${text.trim()}"`);
  return { uptimeSec: Number(m[1]), idleSec: Number(m[2]) };
}
