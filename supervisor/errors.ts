// Errors that reach the user. Every sandbox failure ends as one line on stderr and an exit code:
// 125 for the sandbox's own errors (like docker), the workload's code otherwise.

/** Exit code for errors of the sandbox itself (bad input, kernel refusal), as docker uses. */
export const EXIT_SANDBOX_ERROR = 125;

/** A failure of the sandbox (not the workload) with the exit code to end on. */
export class SandboxError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_SANDBOX_ERROR,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SandboxError';
  }
}

/** A bad command-line value: names the flag and the value, exit 125, raised before anything is created. */
export class UsageError extends SandboxError {
  constructor(
    readonly flag: string,
    detail: string,
  ) {
    super(`${flag}: ${detail}`);
    this.name = 'UsageError';
  }
}

/**
 * A valid flag this kernel can't honour (a feature it lacks, found only once the sandbox's cgroup
 * exists): names the flag and the value, exit 125. withContext passes it through unchanged, so the
 * user reads one line that starts with the flag to drop or the feature to add.
 */
export class UnsupportedFlagError extends SandboxError {
  constructor(
    readonly flag: string,
    readonly value: string,
    detail: string,
  ) {
    super(`${flag} ${value}: ${detail}`);
    this.name = 'UnsupportedFlagError';
  }
}

/** Prefix an error's message with what was being done, keeping its exit code and cause chain (an UnsupportedFlagError stays as it is). */
export function withContext(context: string, err: unknown): SandboxError {
  if (err instanceof UnsupportedFlagError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const exitCode = err instanceof SandboxError ? err.exitCode : EXIT_SANDBOX_ERROR;
  return new SandboxError(`${context}: ${message}`, exitCode, { cause: err });
}

/** Node's system-error fields (code, syscall, path), as a short "syscall path: CODE" text. */
export function describeSystemError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as NodeJS.ErrnoException;
  if (!e.code) return e.message;
  const errno = e.errno === undefined ? '' : ` (errno ${Math.abs(e.errno)})`;
  return `${e.syscall ?? 'call'}${e.path ? ` ${e.path}` : ''}: ${e.code}${errno}`;
}

/**
 * A message as exactly one terminal line: control characters (a newline in a path or a value, a
 * tab, an escape sequence) are written as \n, \t or \xNN, and U+0085, U+2028, U+2029 as \uNNNN.
 */
export function oneLine(message: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this does
  return message.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = c.charCodeAt(0);
    return (
      named[c] ??
      (code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`)
    );
  });
}
