// Finds and parses the files under deploy/ (manifests, hook definitions) for test/deploy/.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { Manifest } from './k8s-schema.js';

/** Absolute path of the repository root. */
const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** Absolute path of deploy/. */
export const DEPLOY = join(REPO, 'deploy');

/** Every file under DIR (recursively) whose name ends with one of EXTS, as absolute paths, sorted. */
export function filesUnder(dir: string, exts: string[]): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
  }
  return out.sort();
}

/** Every YAML document of every manifest under deploy/kubernetes; a YAML syntax error throws. */
export function loadManifests(): Manifest[] {
  return filesUnder(join(DEPLOY, 'kubernetes'), ['.yaml', '.yml']).flatMap((file) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((d, i) => {
      if (d.errors.length > 0) throw new Error(`${relative(REPO, file)}: ${d.errors.map((e) => e.message).join('; ')}`);
      return { source: `${relative(REPO, file)}#${i}`, doc: d.toJS() as Record<string, unknown> };
    }),
  );
}

/** The one manifest of this kind and name; throws if there is none or several. */
export function findManifest(manifests: Manifest[], kind: string, name: string): Record<string, unknown> {
  const found = manifests.filter(
    (m) => m.doc.kind === kind && (m.doc.metadata as { name?: string } | undefined)?.name === name,
  );
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!.doc;
}

/** A JSON file under deploy/, parsed. */
export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}
