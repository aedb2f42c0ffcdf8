// The kernel's word that a sandbox's memory cgroup hit an OOM, so that an idle supervisor reads
// nothing until something happens (issue 24: the 500 ms poll of every sandbox is gone).
//
// v1: an eventfd registered with cgroup.event_control on memory.oom_control
// (Documentation/admin-guide/cgroup-v1/memory.rst, "OOM Control"). mm/memcontrol-v1.c
// memcg1_oom_prepare signals it on every OOM of the cgroup or of an ancestor (mem_cgroup_oom_notify
// walks the OOMing cgroup's subtree), BEFORE the victim is killed: the oom_kill counter may still
// be the old one when we read it (watchOom re-reads). The kernel signals it again when the cgroup
// is removed (memcg_event_remove), and drops the registration when the eventfd is closed
// (memcg_event_wake, EPOLLHUP). Node has no eventfd(2) and cannot poll an fd it did not make
// (net.Socket refuses it: ERR_INVALID_FD_TYPE), so the eventfd comes from libc through koffi and
// its read(2) blocks one thread of libuv's pool until the kernel (or close()) signals it.
//
// v2: memory.events is a kernfs file the kernel notifies on every change of a counter
// (mm/memcontrol.c memcg_memory_event -> kernel/cgroup/cgroup.c cgroup_file_notify, at most every
// 10 ms, the last change always delivered): an inotify modify event, fs.watch in Node, on epoll.
import { closeSync, existsSync, openSync, read, watch, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CgroupManager } from './cgroup/index.js';
import { describeSystemError } from './errors.js';

/** A registration that calls back on every notification until closed. */
export interface OomNotifications {
  /** Stop listening (v1: wakes and ends the pending read, then closes the descriptors). */
  close(): Promise<void>;
}

const EFD_CLOEXEC = 0o2000000; // include/uapi/linux/eventfd.h (= O_CLOEXEC)

let eventfd: ((initval: number, flags: number) => number) | null = null;
let lastErrno: () => number = () => 0;

/** eventfd(2) of libc through koffi, bound on first use (loading koffi costs ~20 ms of this thread). */
function loadEventfd(): (initval: number, flags: number) => number {
  if (eventfd) return eventfd;
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const fn = koffi.load('libc.so.6').func('int eventfd(unsigned int initval, int flags)');
  eventfd = (initval, flags) => fn(initval, flags) as number;
  lastErrno = () => koffi.errno();
  return eventfd;
}

/**
 * Call `onChange` whenever the kernel says the sandbox's OOM state may have changed. Null when the
 * cgroup has no file to be notified on (no memory controller: no OOM kill can be counted either).
 * Throws when the kernel refuses the registration (the caller polls instead).
 */
export function watchOomNotifications(cgroup: CgroupManager, onChange: () => void): OomNotifications | null {
  if (cgroup.mode === 'v2') {
    const file = `${cgroup.dirs[0]}/memory.events`;
    if (!existsSync(file)) return null;
    const watcher = watch(file, { persistent: false }, () => onChange());
    watcher.on('error', () => undefined); // the cgroup removed under the watch: nothing more to hear
    return { close: async () => watcher.close() };
  }
  const dir = cgroup.dirs.find((d) => existsSync(`${d}/memory.oom_control`));
  if (dir === undefined) return null;
  return eventfdOnOomControl(dir, onChange);
}

/** v1: an eventfd registered on `dir`/memory.oom_control, read on libuv's pool until closed. */
function eventfdOnOomControl(dir: string, onChange: () => void): OomNotifications {
  const efd = loadEventfd()(0, EFD_CLOEXEC);
  if (efd < 0) throw new Error(`eventfd(0, EFD_CLOEXEC) for ${dir}/memory.oom_control: errno ${lastErrno()}`);
  let control: number;
  try {
    control = openSync(`${dir}/memory.oom_control`, 'r');
  } catch (err) {
    closeSync(efd);
    throw err;
  }
  try {
    writeFileSync(`${dir}/cgroup.event_control`, `${efd} ${control}`);
  } catch (err) {
    closeSync(efd);
    closeSync(control);
    throw new Error(`write ${dir}/cgroup.event_control: ${describeSystemError(err)} (value "${efd} ${control}")`, {
      cause: err,
    });
  }
  let closing = false;
  const buffer = Buffer.alloc(8); // an eventfd reads as one 8-byte counter (eventfd(2))
  const ended = new Promise<void>((resolve) => {
    const next = (): void =>
      read(efd, buffer, 0, 8, null, (err) => {
        if (err || closing) return resolve();
        onChange();
        next();
      });
    next();
  });
  return {
    close: async () => {
      if (closing) return ended;
      closing = true;
      // Wake the pending read (adds 1 to the counter), wait for it, then close: closing the
      // eventfd also ends the kernel's registration.
      try {
        writeSync(efd, new Uint8Array(new BigUint64Array([1n]).buffer)); // host byte order, as eventfd(2) wants
      } catch {
        // the read ended already
      }
      await ended;
      closeSync(efd);
      closeSync(control);
    },
  };
}
