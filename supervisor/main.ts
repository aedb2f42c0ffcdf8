// Entry point of the `sandbox` command. Exits explicitly: a handle left open (a timer, a socket a
// command forgot) must not keep a finished command alive.
import { buildProgram } from './cli.js';
import { exitCodeFor } from './commands/exit-code.js';

let code = 0;
buildProgram((c) => (code = c))
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    code = exitCodeFor(err, (line) => process.stderr.write(line + '\n'));
  })
  .finally(() => process.exit(code));
