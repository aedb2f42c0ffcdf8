// One FUSE worker thread's life after its handler is built: wait until the server has mounted, then
// serve requests until stopped (procfs/fuse/loop.ts), telling the server what happened. Separate from
// the generic entry (worker.ts) so entries that build their handler statically (a bundled one) can
// use it without a top-level await.
import { Control } from './control.js';
import type { FuseHandler } from './handler.js';
import { journalRecorder } from './journal.js';
import { serveFuse, type LoopEnd } from './loop.js';

/** What FuseServer passes to each worker. */
export interface WorkerInput {
  fd: number;
  index: number;
  control: SharedArrayBuffer;
  /** URL of the handler module (exports createHandler). */
  handlerModule: string;
  handlerData: unknown;
  /** The keeper's request journal (journal.ts): its descriptor and this worker's slot. */
  journal?: { fd: number; slot: number };
  /** Requests a dead server had read, to answer first (the first worker only). */
  replay?: Uint8Array[];
}

/** Messages a worker posts to the server. */
export type WorkerMessage =
  | { type: 'started' }
  | { type: 'serving' }
  | { type: 'ready'; minor: number }
  | { type: 'ended'; why: LoopEnd }
  | { type: 'handler-error'; opcode: number; message: string }
  | { type: 'stderr'; text: string };

/** Handler errors reported per worker (the rest are only counted). */
const REPORTED_ERRORS = 10;

/** Run one worker: the part after the handler is built, shared with entries that build their handler statically. */
export function runWorker(input: WorkerInput, handler: FuseHandler): void {
  const { parentPort } = process.getBuiltinModule('node:worker_threads');
  const post = (m: WorkerMessage): void => parentPort?.postMessage(m);
  const control = new Control(input.control);
  post({ type: 'started' });
  if (!control.waitMounted()) return post({ type: 'ended', why: 'stopped' });
  post({ type: 'serving' });
  let reported = 0;
  const why = serveFuse(input.fd, handler, control, {
    ...(input.journal ? { record: journalRecorder(input.journal.fd, input.journal.slot) } : {}),
    ...(input.replay ? { replay: input.replay } : {}),
    onReady: (minor) => post({ type: 'ready', minor }),
    onHandlerError: (err, opcode) => {
      if (reported++ < REPORTED_ERRORS)
        post({ type: 'handler-error', opcode, message: (err as Error)?.stack ?? String(err) });
    },
  });
  post({ type: 'ended', why });
}

/** Write `text` to the process's stderr through the main thread (tests and the CLI watch process.stderr there). */
export function stderrLine(text: string): void {
  // Looked up here: this module is in the CLI's bundle too (view-handler.ts), where loading
  // node:worker_threads at start would slow every start (docs/code-measurements.md).
  process
    .getBuiltinModule('node:worker_threads')
    .parentPort?.postMessage({ type: 'stderr', text } satisfies WorkerMessage);
}
