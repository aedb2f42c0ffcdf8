// Preloaded into a supervisor by test/soak/leak.test.ts (node --expose-gc --import THIS): when the
// file named by $SANDBOX_HEAP_PROBE + ".ask" appears, run a full GC and write one JSON line with
// what is still alive (V8's used heap, external and ArrayBuffer memory) to $SANDBOX_HEAP_PROBE,
// then remove the ask file. What survives a full GC is what a leak would grow; RSS also moves with
// V8's heap sizing, which is not a leak (see the test).
import { appendFileSync, existsSync, rmSync } from 'node:fs';

const out = process.env.SANDBOX_HEAP_PROBE;
if (out && typeof globalThis.gc === 'function') {
  setInterval(() => {
    if (!existsSync(`${out}.ask`)) return;
    globalThis.gc();
    const m = process.memoryUsage();
    appendFileSync(
      out,
      `${JSON.stringify({ heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`,
    );
    rmSync(`${out}.ask`, { force: true });
  }, 50).unref();
}
