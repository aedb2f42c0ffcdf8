// The one table format of every scenario: metric | ours | peer | ratio | spread | target | met?
// (../shared/BENCH.md), printed as Markdown so a run pastes into docs/bench/ as it is.

/** One row; empty strings for columns that don't apply. `met` is undefined when there is no target. */
export interface Row {
  metric: string;
  ours: string;
  peer: string;
  ratio: string;
  spread: string;
  target: string;
  met?: boolean;
}

/** A scenario's report: its title, its rows, and the raw samples for --json. */
export interface Section {
  title: string;
  peerName: string;
  rows: Row[];
  notes: string[];
  raw: unknown;
}

/** The Markdown table of a section, with its notes after it. */
export function formatSection(s: Section): string {
  const head = `\n## ${s.title}\n\n| metric | ours | ${s.peerName || 'peer'} | ratio | spread | target | met? |\n|---|---|---|---|---|---|---|\n`;
  const met = (m: boolean | undefined) => (m === undefined ? '' : m ? 'yes' : 'NO');
  const body = s.rows
    .map((r) => `| ${r.metric} | ${r.ours} | ${r.peer} | ${r.ratio} | ${r.spread} | ${r.target} | ${met(r.met)} |`)
    .join('\n');
  return head + body + '\n' + s.notes.map((n) => `\n${n}`).join('') + (s.notes.length ? '\n' : '');
}

/** Progress on stderr (the tables go to stdout). */
export function progress(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

/** x formatted with `digits` decimals and a unit. */
export const fmt = (x: number, digits: number, unit = ''): string =>
  Number.isFinite(x) ? `${x.toFixed(digits)}${unit ? ` ${unit}` : ''}` : 'n/a';
/** A signed percentage: +0.12%. */
export const pct = (x: number, digits = 2): string =>
  Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(digits)}%` : 'n/a';
