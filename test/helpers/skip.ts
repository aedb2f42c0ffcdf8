// The one way a test skips. What a test lacks has an owner: the set-up (native/setup.sh installs
// the packages, CI runs as root with /dev/fuse and the build) or the machine (machines of one kind
// differ in kernel build and layout: bfq, i386 system calls, cgroup v2, PSI, the disk under the
// clone). A skip always names its reason on stderr; SANDBOX_TEST_MUST_RUN=1 (.ci/run) turns it
// into a failure only when the set-up owns what is missing, never for what the machine lacks.

/** Who has to provide what a test lacks. */
type MissingOwner = 'setup' | 'machine';

/** Why a test can't run on this machine. */
export interface Missing {
  readonly owner: MissingOwner;
  readonly reason: string;
}

/** Something the set-up is responsible for: a package, root, /dev/fuse, the build. */
export function needsSetup(reason: string): Missing {
  return { owner: 'setup', reason };
}

/** A kernel feature, cgroup mode or layout a machine of this kind may lack: a visible skip, never a CI failure. */
export function machineLacks(reason: string): Missing {
  return { owner: 'machine', reason };
}

/**
 * Whether to skip: false when nothing is missing; else the reason goes to stderr and the answer is
 * true, except under SANDBOX_TEST_MUST_RUN=1 for what the set-up owns, which throws instead.
 */
export function requireOrSkip(missing: Missing | null): boolean {
  if (missing === null) return false;
  if (missing.owner === 'setup' && process.env.SANDBOX_TEST_MUST_RUN === '1') {
    throw new Error(`SANDBOX_TEST_MUST_RUN=1 but the test can't run: ${missing.reason}`);
  }
  process.stderr.write(
    `skipping (${missing.owner === 'machine' ? 'this machine lacks it' : 'the set-up lacks it'}): ${missing.reason}\n`,
  );
  return true;
}
