// --plot DIR: SVG charts of a run, specified in vega-lite, compiled to vega and rendered to SVG in
// Node (no browser, no canvas: vega's SVG renderer is string-based): cumulative CPU against the
// ideal staircase per quota, the histogram of 1 s window errors, and box plots of launch, burst
// and view-read latencies.
import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { Scenario } from './args.js';
import type { QuotaRun } from './quota.js';
import { windowErrors } from './quota.js';
import type { Section } from './table.js';

type Datum = Record<string, string | number>;

/** Render one vega-lite spec to an SVG file. */
async function render(file: string, spec: vl.TopLevelSpec): Promise<void> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  writeFileSync(file, await view.toSVG());
  view.finalize();
}

/** At most `n` evenly spaced items of xs (box plots of thousands of points stay small files). */
function thin<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  return Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)]!);
}

/** The quotas of the runs in ascending order, as facet labels. */
const quotaOrder = (runs: QuotaRun[]): string[] =>
  [...new Set(runs.map((r) => r.percent))].sort((a, b) => a - b).map((p) => `${p}%`);

/** A launcher's row name shortened for an axis label. */
function shortName(name: string): string {
  if (name.startsWith('sandbox run')) return 'sandbox run (ours)';
  if (name.startsWith('sandbox ')) return name;
  const first = name.split(' ')[0]!;
  return first === 'node' || first === 'true' ? name : first;
}

/** Cumulative CPU of ours and raw against the ideal staircase (quota per 100 ms period), one panel per quota. */
function quotaCumulative(runs: QuotaRun[]): vl.TopLevelSpec {
  const values: Datum[] = [];
  for (const run of runs) {
    const first = run.samples[0]!;
    const quota = `${run.percent}%`;
    for (const s of run.samples)
      values.push({
        quota,
        series: run.variant,
        t: (s.atNs - first.atNs) / 1e9,
        cpuMs: (s.usageNs - first.usageNs) / 1e6,
      });
    if (run.variant === 'ours') {
      // The ideal: a full quota in each period, spent at the start of it at `threads` CPUs.
      const end = (run.samples[run.samples.length - 1]!.atNs - first.atNs) / 1e9;
      const quotaMs = run.percent; // X% of a 100 ms period = X ms
      for (let t = 0; t <= end + 1e-9; t += 0.005) {
        const k = Math.floor(t / 0.1);
        values.push({
          quota,
          series: 'ideal',
          t,
          cpuMs: k * quotaMs + Math.min(quotaMs, (t - k * 0.1) * 1000 * run.threads),
        });
      }
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Cumulative CPU time vs the ideal staircase (period 100 ms)',
    data: { values },
    facet: { column: { field: 'quota', type: 'nominal', sort: quotaOrder(runs), title: 'quota' } },
    spec: {
      width: 220,
      height: 200,
      mark: { type: 'line', strokeWidth: 1.2 },
      encoding: {
        x: { field: 't', type: 'quantitative', title: 'time (s)' },
        y: { field: 'cpuMs', type: 'quantitative', title: 'CPU time (ms)' },
        color: {
          field: 'series',
          type: 'nominal',
          scale: { domain: ['ideal', 'raw', 'ours'], range: ['#bbbbbb', '#1f77b4', '#d62728'] },
        },
        strokeDash: {
          field: 'series',
          type: 'nominal',
          scale: {
            domain: ['ideal', 'raw', 'ours'],
            range: [
              [2, 2],
              [1, 0],
              [1, 0],
            ],
          },
          legend: null,
        },
      },
    },
    resolve: { scale: { y: 'independent', x: 'independent' } },
  };
}

/** Histogram of the 1 s window errors, ours and raw side by side. */
function windowHistogram(runs: QuotaRun[]): vl.TopLevelSpec {
  const values: Datum[] = [];
  for (const run of runs)
    for (const e of windowErrors(run))
      values.push({ quota: `${run.percent}%`, variant: run.variant, errorPct: e * 100 });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Error of 1 s windows: delivered / target − 1',
    data: { values },
    facet: { column: { field: 'quota', type: 'nominal', sort: quotaOrder(runs), title: 'quota' } },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 160,
      height: 160,
      mark: 'bar',
      encoding: {
        x: { field: 'errorPct', type: 'quantitative', bin: { maxbins: 20 }, title: 'error (%)' },
        y: { aggregate: 'count', type: 'quantitative', title: 'windows', stack: null },
        color: { field: 'variant', type: 'nominal', scale: { domain: ['raw', 'ours'], range: ['#1f77b4', '#d62728'] } },
        opacity: { value: 0.6 },
      },
    },
  };
}

/** A box plot of `values` (field `ms`) by `group`, faceted by `facet` when given. */
function boxPlot(title: string, values: Datum[], yTitle: string, facet?: string, log = false): vl.TopLevelSpec {
  const inner = {
    width: 320,
    height: 220,
    mark: { type: 'boxplot' as const, extent: 'min-max' as const },
    encoding: {
      x: { field: 'group', type: 'nominal' as const, title: null, axis: { labelAngle: -30, labelLimit: 220 } },
      y: {
        field: 'value',
        type: 'quantitative' as const,
        title: yTitle,
        scale: log ? { type: 'log' as const } : { zero: true },
      },
      color: { field: 'group', type: 'nominal' as const, legend: null },
    },
  };
  if (!facet) return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, data: { values }, ...inner };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    facet: { column: { field: facet, type: 'nominal', title: null } },
    spec: inner,
  };
}

/** Write every chart the sections have data for; returns the files written. */
export async function writePlots(dir: string, sections: Partial<Record<Scenario, Section>>): Promise<string[]> {
  const files: string[] = [];
  const out = async (name: string, spec: vl.TopLevelSpec) => {
    const file = `${dir}/${name}`;
    await render(file, spec);
    files.push(file);
  };
  const quota = sections.quota?.raw as QuotaRun[] | undefined;
  if (quota?.length) {
    await out('quota-cumulative.svg', quotaCumulative(quota));
    await out('quota-window-error.svg', windowHistogram(quota));
  }
  const launch = sections.launch?.raw as { samples: Record<string, Record<string, number[]>> } | undefined;
  if (launch) {
    const values: Datum[] = [];
    for (const [mode, byVariant] of Object.entries(launch.samples))
      for (const [name, xs] of Object.entries(byVariant))
        for (const value of xs) values.push({ mode, group: shortName(name), value });
    await out(
      'launch-latency.svg',
      boxPlot('Launch: wall time of one run (ms, log scale)', values, 'ms', 'mode', true),
    );
  }
  const burst = sections.burst?.raw as Array<{ variant: string; latUs: number[] }> | undefined;
  if (burst?.length) {
    const values: Datum[] = burst.flatMap((r) => r.latUs.slice(1).map((u) => ({ group: r.variant, value: u / 1000 })));
    await out('burst-latency.svg', boxPlot('Burst latency: 30 ms of CPU every 200 ms (ms)', values, 'ms'));
  }
  const views = sections.procfs?.raw as { latencyUs: Record<string, Record<string, number[]>> } | null | undefined;
  if (views) {
    const values: Datum[] = [];
    for (const [variant, byFile] of Object.entries(views.latencyUs))
      for (const [file, xs] of Object.entries(byFile))
        for (const value of thin(xs, 400)) values.push({ file, group: variant, value });
    await out(
      'views-latency.svg',
      boxPlot('View read latency: open + read + close (µs, log scale)', values, 'µs', 'file', true),
    );
  }
  return files;
}
