// Debian's dockerd started and stopped by a test, confined to the test's directory and cgroup
// (bench/engines/dockerd.ts, shared with the bench's engine peers); its packages are the set-up's.
import { dockerMissing } from '../../../bench/engines/dockerd.js';
import { needsSetup, type Missing } from '../skip.js';

export { mountsUnder, startDockerd, type Dockerd } from '../../../bench/engines/dockerd.js';

/** What running Debian's docker.io needs that is missing, or null. */
export function dockerUnavailable(): Missing | null {
  const reason = dockerMissing();
  return reason === null ? null : needsSetup(reason);
}
