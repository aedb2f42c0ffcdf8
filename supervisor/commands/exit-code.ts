// What the program's errors end as: one line on stderr and an exit code (errors.ts).
import { CommanderError } from 'commander';
import { EXIT_SANDBOX_ERROR, SandboxError, oneLine } from '../errors.js';

/** Turn anything thrown by the program into an exit code, printing one line for errors. */
export function exitCodeFor(err: unknown, write: (line: string) => void): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')
      return 0;
    // commander puts its suggestion on a second line ("(Did you mean --mem?)"): join it.
    write(`sandbox: ${oneLine(err.message.replace(/^error: /, '').replace(/\n+/g, ' '))}`);
    return EXIT_SANDBOX_ERROR;
  }
  if (err instanceof SandboxError) {
    write(`sandbox: ${oneLine(err.message)}`);
    return err.exitCode;
  }
  write(`sandbox: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return EXIT_SANDBOX_ERROR;
}
