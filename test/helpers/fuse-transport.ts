// What the FUSE transport's tests need: root and /dev/fuse, and the compiled worker (workers load JavaScript from dist/).
import { existsSync } from 'node:fs';
import { needsSetup, type Missing } from './skip.js';
export { fuseUnavailable } from './sandbox.js';

/** needsSetup when a built file is missing (run npm run build), else null. */
export function needsSetupIfMissing(path: string): Missing | null {
  return existsSync(path) ? null : needsSetup(`needs ${path}; run npm run build`);
}
