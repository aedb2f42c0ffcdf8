// v2 pids controller (cgroup-v2.rst "PID Interface Files"): pids.max and pids.current have the
// same names and formats as on v1, so the v1 code serves both.
export { applyPids, readPids } from '../v1/pids.js';
