// Which way imports may go (README.md "Layout"). Checked by test/unit/structure/dependencies.test.ts
// on every `npm test`; `npm run check:deps` runs the same check alone. Paths are relative to the repo.
//
// Parts:
// - leaves: supervisor/cgroup/ (the cgroup library) and procfs/parse/ (the /proc parsers);
// - foundation: four modules that import nothing of ours, so anything may use them;
// - CLI layer: supervisor/commands/, cli.ts, main.ts, main.cts (parses argv, prints, exits);
// - core: the rest of supervisor/ (a sandbox's life: limits, stage, run/, net/, state, lookup);
// - procfs/ (the views and their servers), bench/, test/.

/** Error vocabulary, timers, kept-fd reads of kernel files, byte formatting: import only node:. */
const FOUNDATION = '^supervisor/(errors|sleep|kept-files|bytes)[.]ts$';
/** The CLI layer: what turns argv into calls of the core and results into output. */
const CLI = '^supervisor/(commands/|cli[.]ts$|main[.]c?ts$)';
/** Our own code (node: builtins and npm packages are not ours). */
const OURS = '^(supervisor|procfs|bench|test)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'A cycle makes neither module understandable, testable or loadable without the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'cgroup-is-a-leaf',
      comment:
        "The cgroup library stands alone (like runc's cgroups package): it imports only itself and the foundation.",
      severity: 'error',
      from: { path: '^supervisor/cgroup/' },
      to: { path: OURS, pathNot: ['^supervisor/cgroup/', FOUNDATION] },
    },
    {
      name: 'parse-is-a-leaf',
      comment: 'The /proc parsers are pure text-to-data functions: they import only each other and the foundation.',
      severity: 'error',
      from: { path: '^procfs/parse/' },
      to: { path: OURS, pathNot: ['^procfs/parse/', FOUNDATION] },
    },
    {
      name: 'cgroup-through-its-index',
      comment:
        'supervisor/, procfs/ and bench/ use the cgroup library through supervisor/cgroup/index.ts only, so its files can change behind it (tests may reach in).',
      severity: 'error',
      from: { path: '^(supervisor|procfs|bench)/', pathNot: '^supervisor/cgroup/' },
      to: { path: '^supervisor/cgroup/', pathNot: '^supervisor/cgroup/index[.]ts$' },
    },
    {
      name: 'parse-through-its-index',
      comment:
        'supervisor/, procfs/ and bench/ use the /proc parsers through procfs/parse/index.ts only (tests may reach in).',
      severity: 'error',
      from: { path: '^(supervisor|procfs|bench)/', pathNot: '^procfs/parse/' },
      to: { path: '^procfs/parse/', pathNot: '^procfs/parse/index[.]ts$' },
    },
    {
      name: 'foundation-imports-nothing-of-ours',
      comment:
        'The foundation is what everything may import, the leaves included: one import of ours and it could close a cycle.',
      severity: 'error',
      from: { path: FOUNDATION },
      to: { path: OURS },
    },
    {
      name: 'core-not-to-cli',
      comment:
        "The core and procfs/ serve the CLI layer, never the other way: a command can be replaced without touching a sandbox's life.",
      severity: 'error',
      from: { path: '^(supervisor|procfs)/', pathNot: CLI },
      to: { path: CLI },
    },
    {
      name: 'product-not-to-bench',
      comment:
        'The product does not depend on its bench; only the `sandbox bench` command (commands/bench.ts) starts it.',
      severity: 'error',
      from: { path: '^(supervisor|procfs)/', pathNot: '^supervisor/commands/bench[.]ts$' },
      to: { path: '^bench/' },
    },
    {
      name: 'product-not-to-test',
      comment: 'Shipped code and the bench never import the tests or their helpers.',
      severity: 'error',
      from: { path: '^(supervisor|procfs|bench)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    // Type-only imports count: a type is an edge a reader follows as much as a value is.
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
