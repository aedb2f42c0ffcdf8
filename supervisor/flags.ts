// Option values given twice. commander keeps the last of `--cpu 20% --cpu 30%` silently; for limits
// that hides a mistake (which one did the user mean?), so a repeated option is a usage error.
import type { Command } from 'commander';
import { UsageError } from './errors.js';

/** Make every value-taking option of cmd fail with a UsageError when it is given a second time. */
export function rejectRepeatedOptions(cmd: Command): void {
  for (const option of cmd.options) {
    if (!option.required && !option.optional) continue; // boolean flags: repeating them is harmless
    if (option.parseArg) continue; // a parser of its own decides what repeats mean (e.g. --env collects)
    const flag = option.long ?? option.flags;
    let first: string | undefined;
    // commander calls the parser once per occurrence, with the previous value (or the default);
    // the first occurrence is told apart by our own record, not by `previous`.
    option.argParser((value: string) => {
      if (first !== undefined) throw new UsageError(flag, `given twice ("${first}" and "${value}"); give it once`);
      first = value;
      return value;
    });
  }
}
