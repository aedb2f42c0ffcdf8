// Pure parts of the confinement and bad-input work: the sandbox's oom_score_adj, one-line messages,
// and the stage arguments that hide the state root and carry the oom_score_adj.
import { describe, expect, it } from 'vitest';
import { oneLine } from '../../../supervisor/errors.js';
import { SANDBOX_RAISE, sandboxOomScoreAdj } from '../../../supervisor/oom.js';
import { stageArgs } from '../../../supervisor/stage.js';

describe('sandboxOomScoreAdj', () => {
  it.each([
    [0, true, 0],
    [300, true, 300],
    [-500, true, 0], // never harder to kill than an ordinary process
    [-1000, true, 0],
    [0, false, SANDBOX_RAISE], // the supervisor could not lower itself: raise the sandbox instead
    [800, false, 1000], // OOM_SCORE_ADJ_MAX
    [Number.NaN, true, 0],
  ])('original %d, supervisor lowered %s -> %d', (original, lowered, expected) => {
    expect(sandboxOomScoreAdj(original, lowered)).toBe(expected);
  });
});

describe('oneLine', () => {
  it('escapes control characters and Unicode line separators, keeps the rest', () => {
    expect(oneLine('exec "a\nb\tc\r\u001b[31m": x')).toBe('exec "a\\nb\\tc\\r\\x1b[31m": x');
    expect(oneLine('a\u2028b\u0085c')).toBe('a\\u2028b\\x85c');
    expect(oneLine('١٢ ２0% "with space"')).toBe('١٢ ２0% "with space"');
  });
});

describe('stageArgs hide and oom_score_adj', () => {
  it('passes each --hide and --oom-score-adj before --chdir when given', () => {
    const args = stageArgs({
      supervisorPid: 1,
      procsFiles: [],
      v1Hierarchies: null,
      hostname: 'h',
      net: 'host',
      views: [],
      writableDirs: [],
      workdir: '/w',
      hide: ['/run/sandbox', '/run/sandbox-procfs'],
      oomScoreAdj: 500,
      command: ['true'],
      env: {},
    });
    expect(args.slice(args.indexOf('--hide'), args.indexOf('--chdir'))).toEqual([
      '--hide',
      '/run/sandbox',
      '--hide',
      '/run/sandbox-procfs',
      '--oom-score-adj',
      '500',
    ]);
  });
});
