// Whose files the writable workdir and volumes hold under the default user namespace: the stage
// ID-maps those of them that belong to the user behind sudo (SUDO_UID/SUDO_GID, sudo(8)), else to the
// workdir's owner (native/stage/idmap.c), so what root inside writes there belongs on disk to that
// user, never to host root (issue 19, finding 4: a set-user-ID-root file planted in the cwd). When
// that owner would be root (a root-owned workdir, no sudo) there is no mapping: root inside is then
// the range's base uid and writes only what the mode bits let others write, as with docker's
// userns-remap.
import { statSync } from 'node:fs';
import { UsageError } from './errors.js';

/** On-disk owner of what the workload writes through an ID-mapped mount. */
export interface DiskOwner {
  uid: number;
  gid: number;
}

/** A SUDO_UID/SUDO_GID value: a decimal id below 2^32-1, or a UsageError naming the variable. */
function sudoId(name: string, value: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) >= 0xffffffff)
    throw new UsageError(name, `expected a numeric id (set by sudo), got "${value}"`);
  return Number(value);
}

/**
 * The on-disk owner for a sandbox's ID-mapped mounts, or null for none (its uid or gid would be 0:
 * a set-group-ID-root file would reopen finding 4 for groups). env is the supervisor's own
 * environment (sudo sets SUDO_UID there), not the workload's. The stage maps only the binds whose
 * directory belongs to exactly this owner (native/stage/idmap.c idmap_bind says why).
 */
export function diskOwner(env: NodeJS.ProcessEnv, workdir: string): DiskOwner | null {
  let uid: number;
  let gid: number;
  if (env.SUDO_UID !== undefined && env.SUDO_UID !== '') {
    uid = sudoId('SUDO_UID', env.SUDO_UID);
    gid = env.SUDO_GID !== undefined && env.SUDO_GID !== '' ? sudoId('SUDO_GID', env.SUDO_GID) : uid;
  } else {
    const st = statSync(workdir);
    uid = st.uid;
    gid = st.gid;
  }
  return uid === 0 || gid === 0 ? null : { uid, gid };
}
