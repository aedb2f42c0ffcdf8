// A cgroup of the test's own for a container engine (bench/engines/cgroup-box.ts, shared with the
// bench's engine peers); a host where none can be made is something the machine lacks.
import { cgroupBoxMissing } from '../../../bench/engines/cgroup-box.js';
import { machineLacks, type Missing } from '../skip.js';

export { createCgroupBox, type CgroupBox } from '../../../bench/engines/cgroup-box.js';

/** Why the engines can't get a cgroup of ours here, or null. */
export function cgroupBoxUnavailable(): Missing | null {
  const reason = cgroupBoxMissing();
  return reason === null ? null : machineLacks(reason);
}
