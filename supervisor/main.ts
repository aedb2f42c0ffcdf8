// Entry point of the `sandbox` command. Exits explicitly: fuse-native's thread would otherwise keep
// the process alive after its unmount.
import { buildProgram, exitCodeFor } from './cli.js';

let code = 0;
buildProgram((c) => (code = c))
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    code = exitCodeFor(err, (line) => process.stderr.write(line + '\n'));
  })
  .finally(() => process.exit(code));
