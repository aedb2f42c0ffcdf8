// node-gyp-build's stand-in inside the CLI bundle (native/compile-ts.sh, --alias): fuse-native's
// index.js loads its addon with require('node-gyp-build')(__dirname), which reads fuse-native's
// package.json and scans its prebuilds/ for the file matching this platform and Node ABI on every
// start (~2 ms). The build resolves that file once, with node-gyp-build's own path(), and defines
// SANDBOX_FUSE_BINDING as its path relative to the bundle's directory (dist/supervisor, where the
// bundle's __dirname points), so the bundle requires it directly.
import { join } from 'node:path';

declare const SANDBOX_FUSE_BINDING: string;

/**
 * fuse-native's addon, from the file the build found (the argument, fuse-native's dir, is unused).
 * process.dlopen() is what require() ends in for a .node file (lib/internal/modules/cjs/loader.js
 * Module._extensions['.node']), without resolving the path and its real path first: 0.5-0.8 ms
 * against 2.0-2.2 ms here. The addon is loaded once per process (this runs at fuse-native's first
 * require only).
 */
function loadFuseBinding(): unknown {
  const addon = { exports: {} };
  process.dlopen(addon, join(__dirname, SANDBOX_FUSE_BINDING));
  return addon.exports;
}
export = loadFuseBinding;
