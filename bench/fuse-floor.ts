// The fuse-native floor for `npm run bench -- procfs`: a child process serving constant text
// (a copy of each host /proc file taken at start) through mountViewFs, the same mount and the same
// open/read/release handling as the views, minus the rendering. Ours minus this is what rendering
// costs; this minus the host file is what FUSE through fuse-native costs.
// Usage: node fuse-floor.js MOUNTPOINT FILE… ; prints "ready" when mounted, unmounts on SIGTERM.
import { readFileSync } from 'node:fs';
import { mountViewFs, viewFileSize } from '../procfs/fs.js';

const [mountpoint, ...files] = process.argv.slice(2);
if (!mountpoint) throw new Error('usage: fuse-floor MOUNTPOINT FILE…');
const texts = new Map(files.map((f) => [`/${f}`, Buffer.from(readFileSync(`/proc/${f}`))]));
const open = new Map<number, Buffer>();
let nextFd = 1;
const at = new Date();
const fuse = await mountViewFs(mountpoint, {
  getattr: (path, cb) => {
    if (path === '/') return cb(0, { mtime: at, atime: at, ctime: at, uid: 0, gid: 0, mode: 0o40555, size: 0, nlink: 2 });
    const text = texts.get(path);
    if (!text) return cb(-2);
    return cb(0, { mtime: at, atime: at, ctime: at, uid: 0, gid: 0, mode: 0o100444, size: viewFileSize(text.length), nlink: 1 });
  },
  open: (path, _flags, cb) => {
    const text = texts.get(path);
    if (!text) return cb(-2);
    open.set(nextFd, text);
    return cb(0, nextFd++);
  },
  read: (_path, fd, buf, len, pos, cb) => {
    const text = open.get(fd);
    if (!text) return cb(-9);
    if (pos >= text.length) return cb(0);
    return cb(text.copy(buf, 0, pos, Math.min(text.length, pos + len)));
  },
  release: (_path, fd, cb) => {
    open.delete(fd);
    return cb(0);
  },
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => fuse.unmount(() => process.exit(0)));
