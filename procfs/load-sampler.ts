// Per-sandbox load averages: every 5 s take a TaskSample and fold running + blocked into the
// averages with the kernel's calc_load() (kernel/sched/loadavg.c). History is kept when the cgroup
// is briefly empty (0 active tasks decays the averages as the kernel would; nothing is reset), and
// a failed sample skips one fold instead of stopping the sampler.
import { LOAD_FREQ_MS, ZERO_LOAD, nextLoad, type LoadAverages } from './loadavg.js';
import type { TaskSample } from './tasks.js';

/** Options of a LoadSampler. */
export interface LoadSamplerOptions {
  /** Sampling interval in ms (default LOAD_FREQ_MS = 5000, the kernel's LOAD_FREQ). */
  intervalMs?: number;
  /** Called with the error of a failed sample (the sampler keeps going). */
  onError?: (err: unknown) => void;
  /** Called with the averages after each fold (the view server copies them where its workers read). */
  onFold?: (averages: LoadAverages) => void;
}

/** Samples one sandbox's tasks every interval and keeps its 1/5/15-minute load averages. */
export class LoadSampler {
  private current: LoadAverages = ZERO_LOAD;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = false;
  private readonly intervalMs: number;

  constructor(
    private readonly sample: () => TaskSample | Promise<TaskSample>,
    private readonly options: LoadSamplerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? LOAD_FREQ_MS;
  }

  /** Current averages (fixed point). */
  averages(): LoadAverages {
    return this.current;
  }

  /** Start sampling: the first fold comes one interval after start, as the kernel's 5 s after boot. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.run(), this.intervalMs);
    this.timer.unref();
  }

  /** Stop sampling; the averages are kept. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Take one sample and fold it into the averages now (what each interval does). */
  async tick(): Promise<void> {
    await this.run();
  }

  private async run(): Promise<void> {
    if (this.inFlight) return; // a slow sample: skip this beat rather than pile up reads
    this.inFlight = true;
    try {
      const tasks = await this.sample();
      this.current = nextLoad(this.current, tasks.running + tasks.blocked);
      this.options.onFold?.(this.current);
    } catch (err) {
      this.options.onError?.(err);
    } finally {
      this.inFlight = false;
    }
  }
}
