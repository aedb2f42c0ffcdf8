// The C programs' calls go one way: from main() down to the helpers, never back up. The file-level
// graph comes from the object files' symbol tables (native/callgraph.sh); a cycle between two files
// (a helper calling back into the file that calls it) fails here, naming the files and symbols.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { needsSetup, requireOrSkip } from '../../helpers/skip.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** caller -> callee -> the symbols caller uses from callee. */
type CallGraph = Map<string, Map<string, string[]>>;

/** Parse native/callgraph.sh's lines, "CALLER -> CALLEE: sym sym". */
function parseGraph(text: string): CallGraph {
  const graph: CallGraph = new Map();
  for (const line of text.split('\n').filter((l) => l !== '')) {
    const m = /^(\S+) -> (\S+): (.+)$/.exec(line);
    if (m === null) throw new Error(`callgraph.sh: unexpected line "${line}"`);
    const edges = graph.get(m[1]!) ?? new Map<string, string[]>();
    edges.set(m[2]!, m[3]!.split(' '));
    graph.set(m[1]!, edges);
  }
  return graph;
}

/** One cycle of the graph as "a -> b (sym) -> a (sym)", or undefined when it has none. */
function findCycle(graph: CallGraph): string | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string): string | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') {
      const loop = [...path.slice(path.indexOf(file)), file];
      return loop
        .map((f, i) =>
          i === 0
            ? f
            : `${f} (${graph
                .get(loop[i - 1]!)!
                .get(f)!
                .join(' ')})`,
        )
        .join(' -> ');
    }
    state.set(file, 'open');
    path.push(file);
    for (const callee of graph.get(file)?.keys() ?? []) {
      const cycle = visit(callee);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

const noCompiler =
  spawnSync('sh', ['-c', 'command -v cc && command -v nm'], { stdio: 'ignore' }).status === 0
    ? null
    : needsSetup("cc and nm (gcc, binutils: native/setup.sh) to read the C files' symbols");

describe('findCycle', () => {
  it('names the files and symbols of a cycle, and finds none in a DAG', () => {
    const dag = parseGraph('main -> pid1: pid1_main\npid1 -> fail: die\nmain -> fail: die\n');
    expect(findCycle(dag)).toBeUndefined();
    const back = parseGraph('main -> pid1: pid1_main\npid1 -> pty: pty_open\npty -> pid1: open_channel\n');
    expect(findCycle(back)).toBe('pid1 -> pty (pty_open) -> pid1 (open_channel)');
  });
});

describe.each(['native/stage', 'native/commit'])('%s', (dir) => {
  it.skipIf(requireOrSkip(noCompiler))('calls only downward: its file graph has no cycle', () => {
    const run = spawnSync('bash', ['native/callgraph.sh', dir], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const graph = parseGraph(run.stdout);
    expect(graph.size).toBeGreaterThan(1);
    expect(findCycle(graph)).toBeUndefined();
  });
});
