// Test helper: the whole disk under a directory, as the kernel's per-cgroup I/O accounting names it
// (blk-cgroup counts per disk, so a partition maps to its parent disk). Linux only.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';

/** A directory on a real disk for I/O tests: SANDBOX_TEST_DISK_DIR (test/vm's guest mounts its virtio disk there), else /var/tmp. */
export const DISK_DIR = process.env.SANDBOX_TEST_DISK_DIR || '/var/tmp';

/** A whole disk: "MAJ:MIN" numbers and its name in /proc/diskstats. */
export interface Disk {
  major: number;
  minor: number;
  name: string;
}

/** The disk holding `dir`, or null when its filesystem has no block device (tmpfs, overlay, 9p…). */
export function diskOf(dir: string): Disk | null {
  const dev = statSync(dir).dev;
  // include/linux/kdev_t.h new_decode_dev(): major in bits 8-19 (and above 32), minor in 0-7 and 20-31.
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  const sys = `/sys/dev/block/${major}:${minor}`;
  if (!existsSync(sys)) return null;
  let path = realpathSync(sys);
  if (existsSync(`${path}/partition`)) path = dirname(path);
  const [maj = '', min = ''] = readFileSync(`${path}/dev`, 'utf8').trim().split(':');
  return { major: Number(maj), minor: Number(min), name: basename(path) };
}
