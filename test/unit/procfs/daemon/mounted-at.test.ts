// What `sandbox procfs serve` finds mounted at its --mount (procfs/daemon/serve.ts mountedAt): the
// topmost mount at that exact path in mountinfo, escapes decoded; nothing for a path below a mount.
import { describe, expect, it } from 'vitest';
import { mountedAt } from '../../../../procfs/daemon/serve.js';

// proc(5) mountinfo lines (this machine's shape): lxcfs at /var/lib/lxcfs, then a tmpfs over it.
const MOUNTINFO = [
  '24 1 0:21 / / rw,relatime shared:1 - overlay overlay rw',
  '90 24 0:45 / /var/lib/lxcfs rw,nosuid,nodev,relatime shared:40 - fuse.lxcfs lxcfs rw,user_id=0,group_id=0,allow_other',
  '91 90 0:46 / /var/lib/lxcfs rw,relatime shared:41 - tmpfs none rw',
  '92 24 0:47 / /run/with\\040space rw,relatime - fuse.sandbox sandbox-views rw,user_id=0,group_id=0',
].join('\n');

describe('mountedAt', () => {
  it('names the topmost filesystem mounted at the path', () => {
    expect(mountedAt('/var/lib/lxcfs', MOUNTINFO)).toBe('tmpfs');
    expect(mountedAt('/var/lib/lxcfs', MOUNTINFO.split('\n').slice(0, 2).join('\n'))).toBe('fuse.lxcfs');
  });

  it('decodes octal escapes in the mountpoint', () => {
    expect(mountedAt('/run/with space', MOUNTINFO)).toBe('fuse.sandbox');
  });

  it('is null for a directory that is not itself a mountpoint', () => {
    expect(mountedAt('/var/lib', MOUNTINFO)).toBeNull();
    expect(mountedAt('/var/lib/lxcfs/proc', MOUNTINFO)).toBeNull();
  });
});
