// The transport floor for `npm run bench -- procfs`: a child process serving constant text (a copy
// of each host /proc file taken at start) through procfs/fuse, the transport the views use, with
// the same mount options and per-open flags, minus the rendering. Ours minus this is what rendering
// costs; this minus the host file is what FUSE through our transport costs.
// Usage: node fuse-floor.js MOUNTPOINT FILE… ; prints "ready" when mounted, unmounts on SIGTERM.
import { readFileSync } from 'node:fs';
import { FuseServer } from '../procfs/fuse/server.js';
import type { FloorData } from './floor-handler.js';

const [mountpoint, ...files] = process.argv.slice(2);
if (!mountpoint) throw new Error('usage: fuse-floor MOUNTPOINT FILE…');
const data: FloorData = { files: files.map((name) => ({ name, text: readFileSync(`/proc/${name}`) })) };
const server = await FuseServer.start({
  mountpoint,
  fsname: 'sandbox-floor',
  subtype: 'sandbox',
  readOnly: false, // as the views' mount (procfs/fs.ts)
  handlerModule: new URL('./floor-handler.js', import.meta.url).href,
  handlerData: data,
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
