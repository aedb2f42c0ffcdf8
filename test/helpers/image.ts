// The busybox test image (bench/engines/image.ts builds it; the bench's engine peers use it too),
// and what the suite's skip policy makes of its missing packages: the set-up owns them.
import { imageMissing } from '../../bench/engines/image.js';
import { needsSetup, type Missing } from './skip.js';

export { buildBusyboxImage } from '../../bench/engines/image.js';

/** What the image needs that is missing here (packages native/setup.sh installs), or null. */
export function imageUnavailable(): Missing | null {
  const reason = imageMissing();
  return reason === null ? null : needsSetup(reason);
}
