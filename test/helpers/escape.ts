// The escape probe (test/integration/escape-probe.c) and what each of its system calls must get
// inside a sandbox: shared by the confinement tests of a default sandbox and of a --userns one.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finish, startCli, type CliResult } from './sandbox.js';

/** Source of the probe, built by each test with the system cc. */
export const PROBE_SOURCE = fileURLToPath(new URL('../integration/escape-probe.c', import.meta.url));

/** Every refusal the seccomp filter, the dropped capabilities and the read-only mounts give. */
export const EXPECTED: Record<string, string> = {
  'mount-proc': 'EPERM', // a fresh /proc over the views
  'mount-tmpfs': 'EPERM',
  'remount-root-rw': 'EPERM',
  'bind-over-meminfo': 'EPERM',
  'umount-meminfo': 'EPERM', // the views
  'umount-proc': 'EPERM',
  'umount-cgroupfs': 'EPERM',
  'umount-run-sandbox': 'EPERM', // the cover over other sandboxes' state
  'open-tree': 'EPERM', // the mount API of Linux 5.2
  fsopen: 'EPERM',
  'mount-setattr': 'EPERM',
  'open-tree-attr': 'EPERM', // open_tree with attributes (Linux 6.15)
  'pivot-root': 'EPERM',
  'unshare-user': 'EPERM', // needs no capability: only the filter stops it
  'unshare-mnt': 'EPERM',
  'unshare-files': 'OK', // the filter looks at the flags, not at unshare as a whole
  'clone-newuser': 'EPERM',
  clone3: 'ENOSYS', // glibc falls back to clone, whose flags the filter can read
  setns: 'EPERM',
  sethostname: 'EPERM',
  'init-module': 'EPERM',
  'finit-module': 'EPERM',
  'delete-module': 'EPERM',
  'kexec-load': 'EPERM',
  'kexec-file-load': 'EPERM',
  reboot: 'EPERM',
  swapoff: 'EPERM',
  'open-by-handle': 'EPERM', // "shocker"
  bpf: 'EPERM',
  'perf-event-open': 'EPERM',
  keyctl: 'EPERM', // keyrings are not namespaced
  'add-key': 'EPERM',
  'request-key': 'EPERM',
  userfaultfd: 'EPERM',
  'io-uring-setup': 'EPERM',
  iopl: 'EPERM',
  syslog: 'EPERM',
  acct: 'EPERM',
  tiocsti: 'EPERM', // typing into the host's terminal
  'socket-vsock': 'EPERM', // vsock has no network namespace: the hypervisor and host listeners even with --net none
  'x32-getpid': 'ENOSYS', // the x32 ABI would bypass a filter by number
  'mknod-block-cwd': 'EPERM', // the host's disk, on the writable host bind
  'mknod-char-tmp': 'EPERM',
  'mknod-fifo': 'OK', // FIFOs need no capability
  'write-root': 'EROFS',
  'write-usr': 'EROFS',
  'open-host-disk': 'ENOENT', // the private /dev has no disks
  'kill-host-pid': 'ESRCH', // the supervisor has no pid in the sandbox's namespace
  'ptrace-host-pid': 'ESRCH',
};

/** "name RESULT" lines of the probe as an object. */
export const parse = (stdout: string) =>
  Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => [l.slice(0, l.lastIndexOf(' ')), l.slice(l.lastIndexOf(' ') + 1)]),
  );

/**
 * Run every probe of EXPECTED as the workload of `sandbox run FLAGS…` in `dir` (which holds the
 * built probe), aimed at the supervisor's own host pid, which is known only after the spawn.
 */
export async function runProbeTable(dir: string, flags: string[]): Promise<CliResult> {
  rmSync(join(dir, 'sup.pid'), { force: true });
  const script = `while [ ! -s sup.pid ]; do sleep 0.02; done; exec ./probe ${Object.keys(EXPECTED).join(' ')} --pid $(cat sup.pid)`;
  const child = startCli(['run', ...flags, '--', 'sh', '-c', script], { cwd: dir });
  const done = finish(child);
  writeFileSync(join(dir, 'sup.pid'), String(child.pid));
  return done;
}
