// The kernel's Landlock ABI version (landlock_create_ruleset(2) with
// LANDLOCK_CREATE_RULESET_VERSION), for `sandbox doctor` and the tests: the stage scopes abstract
// unix sockets and signals of a sandbox on the host's network only from ABI 6 (Linux 6.12) on
// (native/stage/landlock.c). Node has no binding, so libc's syscall(2) is called through koffi,
// loaded on first use only.
import { createRequire } from 'node:module';

const SYS_LANDLOCK_CREATE_RULESET = 444; // the same on every architecture (asm-generic, from 424 on)
const LANDLOCK_CREATE_RULESET_VERSION = 1;
/** The first ABI with LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET and LANDLOCK_SCOPE_SIGNAL. */
export const FIRST_ABI_WITH_SCOPES = 6;

let cached: number | null = null;

/** The Landlock ABI of the running kernel; 0 when it has none (ENOSYS) or it is off (EOPNOTSUPP). */
export function landlockAbi(): number {
  if (cached !== null) return cached;
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as typeof import('koffi');
    const syscall = koffi.load('libc.so.6').func('long syscall(long nr, void *attr, size_t size, uint32_t flags)');
    const abi = Number(syscall(SYS_LANDLOCK_CREATE_RULESET, null, 0, LANDLOCK_CREATE_RULESET_VERSION));
    cached = Math.max(abi, 0);
  } catch {
    cached = 0;
  }
  return cached;
}
