// Debian's podman run by a test with state of its own (bench/engines/podman.ts, shared with the
// bench's engine peers); its packages are the set-up's.
import { podmanMissing } from '../../../bench/engines/podman.js';
import { needsSetup, type Missing } from '../skip.js';

export { setUpPodman, type Podman } from '../../../bench/engines/podman.js';

/** What running Debian's podman needs that is missing, or null. */
export function podmanUnavailable(): Missing | null {
  const reason = podmanMissing();
  return reason === null ? null : needsSetup(reason);
}
