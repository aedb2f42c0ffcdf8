// The control block every thread of one FUSE server shares (a SharedArrayBuffer): the stop and
// mounted flags the workers wait on, counts per opcode and per outcome (tests and the bench read
// them; counting, not timing), and a ring of the requests the kernel asked to interrupt.
import { MAX_COUNTED_OPCODE } from './protocol.js';

/** Int32 slots of the control block. */
// biome-ignore lint/suspicious/noConstEnum: file-local, so tsc and esbuild inline it; the rule's hazard is a const enum across files
const enum Slot {
  Stop = 0,
  Mounted = 1,
  Ready = 2,
  Minor = 3,
  Enosys = 4,
  HandlerErrors = 5,
  Malformed = 6,
  LateReplies = 7,
  Interrupts = 8,
  RingNext = 9,
  KernelMinor = 10,
  Opcodes = 16,
}
const INT32_SLOTS = Slot.Opcodes + MAX_COUNTED_OPCODE + 1;
/** Interrupted uniques remembered (a handler checks its own while it runs; older ones drop out). */
const RING = 64;

/** Outcomes counted besides opcodes. */
export type Outcome = 'enosys' | 'handlerErrors' | 'malformed' | 'lateReplies' | 'interrupts';
const OUTCOME_SLOT: Record<Outcome, Slot> = {
  enosys: Slot.Enosys,
  handlerErrors: Slot.HandlerErrors,
  malformed: Slot.Malformed,
  lateReplies: Slot.LateReplies,
  interrupts: Slot.Interrupts,
};

/** A snapshot of a server's counters. */
export interface FuseCounters {
  /** Requests received per opcode number. */
  opcodes: Record<number, number>;
  enosys: number;
  handlerErrors: number;
  malformed: number;
  /** Replies the kernel no longer wanted (ENOENT on write: the request was interrupted or aborted). */
  lateReplies: number;
  interrupts: number;
}

/** One server's shared control block, usable from any thread that holds its buffer. */
export class Control {
  private readonly ints: Int32Array;
  private readonly ring: BigInt64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(INT32_SLOTS * 4 + RING * 8)) {
    this.ints = new Int32Array(buffer, 0, INT32_SLOTS);
    this.ring = new BigInt64Array(buffer, INT32_SLOTS * 4, RING);
  }

  /** Whether the server is stopping (workers leave their loop after the request in hand). */
  stopping(): boolean {
    return Atomics.load(this.ints, Slot.Stop) !== 0;
  }

  /** Ask every worker to stop, and wake those still waiting for the mount. */
  requestStop(): void {
    Atomics.store(this.ints, Slot.Stop, 1);
    Atomics.notify(this.ints, Slot.Mounted);
  }

  /** Tell the workers that mount(2) succeeded: they may read /dev/fuse (before it, read(2) fails with EPERM). */
  setMounted(): void {
    Atomics.store(this.ints, Slot.Mounted, 1);
    Atomics.notify(this.ints, Slot.Mounted);
  }

  /** Block this (worker) thread until mounted or stopping; true when mounted. */
  waitMounted(): boolean {
    while (Atomics.load(this.ints, Slot.Mounted) === 0 && !this.stopping())
      Atomics.wait(this.ints, Slot.Mounted, 0, 1000);
    return !this.stopping();
  }

  /** Record that INIT was answered with `minor` (the kernel offered `kernelMinor`). */
  setReady(minor: number, kernelMinor = minor): void {
    Atomics.store(this.ints, Slot.Minor, minor);
    Atomics.store(this.ints, Slot.KernelMinor, kernelMinor);
    Atomics.store(this.ints, Slot.Ready, 1);
  }

  /** The minor negotiated at INIT (0 before). */
  minor(): number {
    return Atomics.load(this.ints, Slot.Minor);
  }

  /** The minor the kernel offered at INIT (0 before): what notifications it accepts (FUSE_NOTIFY_RESEND from 40). */
  kernelMinor(): number {
    return Atomics.load(this.ints, Slot.KernelMinor);
  }

  /** Count one request of `opcode`. */
  countOpcode(opcode: number): void {
    Atomics.add(this.ints, Slot.Opcodes + Math.min(opcode, MAX_COUNTED_OPCODE), 1);
  }

  /** Count one outcome. */
  count(outcome: Outcome): void {
    Atomics.add(this.ints, OUTCOME_SLOT[outcome], 1);
  }

  /** Remember that the kernel asked to interrupt request `unique`. */
  interrupt(unique: bigint): void {
    const at = Atomics.add(this.ints, Slot.RingNext, 1) % RING;
    Atomics.store(this.ring, at, unique);
    this.count('interrupts');
  }

  /** Whether the kernel asked to interrupt request `unique` (recently: the ring keeps the last 64). */
  interrupted(unique: bigint): boolean {
    for (let i = 0; i < RING; i++) if (Atomics.load(this.ring, i) === unique) return true;
    return false;
  }

  /** A snapshot of the counters. */
  counters(): FuseCounters {
    const opcodes: Record<number, number> = {};
    for (let op = 0; op <= MAX_COUNTED_OPCODE; op++) {
      const n = Atomics.load(this.ints, Slot.Opcodes + op);
      if (n > 0) opcodes[op] = n;
    }
    const get = (o: Outcome) => Atomics.load(this.ints, OUTCOME_SLOT[o]);
    return {
      opcodes,
      enosys: get('enosys'),
      handlerErrors: get('handlerErrors'),
      malformed: get('malformed'),
      lateReplies: get('lateReplies'),
      interrupts: get('interrupts'),
    };
  }
}
