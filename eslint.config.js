// ESLint runs one rule: typescript-eslint's no-floating-promises, which needs the type checker.
// Biome (biome.jsonc) does everything else. Biome 2.6.9 has the rule only in its nursery, and its
// own type inference does not read @types/node: a writeFile() of node:fs/promises or a sleep() of
// node:timers/promises left unawaited passes it (docs/lint.md).
import tseslint from 'typescript-eslint';

export default [
  { ignores: ['dist/**'] },
  {
    files: ['**/*.ts', '**/*.cts', '**/*.mts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: { '@typescript-eslint/no-floating-promises': 'error' },
  },
];
