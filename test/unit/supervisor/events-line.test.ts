// parseEventLine: what `sandbox events` accepts from a socket peer (issue 19: a non-JSON line
// killed it, a forged line was printed). Only the exact serialization publish() writes passes.
import { describe, expect, it } from 'vitest';
import { MAX_EVENT_LINE, parseEventLine, type SandboxEvent } from '../../../supervisor/events.js';

const time = '2026-12-06T23:00:00.000Z';
const valid: SandboxEvent[] = [
  { type: 'start', time, id: 'a1b2c3d4e5f6', name: 'web', command: ['sh', '-c', 'echo "hi"\n'] },
  { type: 'oom', time, id: 'a1b2c3d4e5f6', name: null, oomKills: 2 },
  { type: 'exit', time, id: 'a1b2c3d4e5f6', name: null, exitCode: 137 },
];

describe('parseEventLine', () => {
  it('accepts what publish() writes', () => {
    for (const e of valid) expect(parseEventLine(JSON.stringify(e))).toEqual(e);
  });

  it('refuses anything else, without throwing', () => {
    const exit = JSON.stringify(valid[2]);
    for (const line of [
      'not json',
      '',
      'null',
      '[1,2]',
      '"exit"',
      '{"type":"exit"}',
      exit.replace('"exit"', '"kill"'),
      exit.replace(time, 'yesterday'),
      exit.replace('a1b2c3d4e5f6', '../../etc'),
      exit.replace('137', '"137"'),
      exit.replace('"name":null', '"name":"bad name\\u001b[2J"'),
      exit.replace('}', ',"extra":1}'),
      exit.replace('"type":"exit",', '') + '',
      ` ${exit}`,
      JSON.stringify({ ...valid[0], command: [1, 2] }),
      JSON.stringify({ ...valid[0], command: ['x'.repeat(MAX_EVENT_LINE)] }),
    ]) {
      expect(parseEventLine(line), line.slice(0, 60)).toBeNull();
    }
  });
});
