// Load history of the reader-routed layout's cgroups, on the view server's main thread: every
// LOAD_FREQ_MS each cgroup in the reader table (procfs/reader-table.ts) gets one task sample folded
// into its averages with the kernel's calc_load() (procfs/loadavg.ts), as a registered sandbox's
// LoadSampler does; a cgroup whose directory is gone is dropped from the table (its slot is reset
// by the next claim). The table's size bounds how many are kept.
import { existsSync, readFileSync } from 'node:fs';
import type { CgroupReader } from '../supervisor/cgroup/index.js';
import { openCgroupOf } from './daemon/foreign-cgroup.js';
import { LOAD_FREQ_MS, nextLoad } from './loadavg.js';
import { ReaderTable, type ReaderTableData } from './reader-table.js';
import { sampleTasks } from './tasks.js';
import type { SharedViews } from './view-shared.js';

/** Samples every reader cgroup's tasks each interval; drops the cgroups that are gone. */
export class ReaderLoads {
  private readonly table: ReaderTable;
  private readonly opened = new Map<number, { gen: number; cgroup: CgroupReader | null }>();
  private readonly mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  private timer: NodeJS.Timeout | null = null;

  constructor(
    table: ReaderTableData,
    private readonly shared: SharedViews,
    private readonly slotBase: number,
  ) {
    this.table = new ReaderTable(table);
  }

  /** Sample every intervalMs (the kernel's LOAD_FREQ by default); the timer keeps nothing alive. */
  start(intervalMs = LOAD_FREQ_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), intervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One fold for every live cgroup; frees the entries of cgroups that are gone. */
  tick(): void {
    const live = this.table.live();
    for (const index of this.opened.keys()) if (!live.some((e) => e.index === index)) this.opened.delete(index);
    for (const entry of live) {
      let known = this.opened.get(entry.index);
      if (!known || known.gen !== entry.gen) {
        let cgroup: CgroupReader | null = null;
        try {
          cgroup = openCgroupOf(entry.key, this.mountinfo, 'a reader');
        } catch {
          // not a cgroup the views could open either: nothing to sample, dropped below
        }
        known = { gen: entry.gen, cgroup };
        this.opened.set(entry.index, known);
      }
      const { cgroup } = known;
      if (cgroup === null || !cgroup.dirs.every((d) => existsSync(d))) {
        this.table.free(entry);
        this.opened.delete(entry.index);
        continue;
      }
      const slot = this.slotBase + entry.index;
      try {
        const tasks = this.shared.taskSample(slot, () => sampleTasks(cgroup.threads()));
        this.shared.setLoad(slot, nextLoad(this.shared.load(slot), tasks.running + tasks.blocked));
      } catch {
        // the cgroup went away between the check and the sample: the next tick drops it
      }
    }
  }
}
