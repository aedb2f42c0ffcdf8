#!/usr/bin/env node
// Entry point of the `sandbox` command. Exits explicitly: fuse-native's thread would otherwise keep
// the process alive after its unmount.
import { buildProgram, exitCodeFor } from './cli.js';

let code = 0;
try {
  await buildProgram((c) => (code = c)).parseAsync(process.argv);
} catch (err) {
  code = exitCodeFor(err, (line) => process.stderr.write(line + '\n'));
}
process.exit(code);
