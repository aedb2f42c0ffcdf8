// Every relative link in README.md, SECURITY.md, docs/**/*.md and deploy/**/*.md names a file of the
// repository, and a #fragment names a heading of that file (GitHub's anchor rule), so moving a
// section out of README can't leave a dangling "see …" behind.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The link targets of a Markdown text, outside fenced code blocks and inline code spans. */
function linkTargets(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings (duplicates get -1, -2, … as on GitHub). */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const m of prose.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = anchorOf(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** What is wrong with one link of FILE, or undefined when it resolves. */
function brokenLink(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:, file:
  const [pathPart, fragment] = target.split('#', 2) as [string, string | undefined];
  const path = pathPart === '' ? file : resolve(dirname(file), decodeURIComponent(pathPart));
  if (!existsSync(path)) return `${target}: no such file`;
  if (fragment === undefined || statSync(path).isDirectory() || !path.endsWith('.md')) return undefined;
  return anchorsOf(readFileSync(path, 'utf8')).has(fragment) ? undefined : `${target}: no heading #${fragment}`;
}

function markdownUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(dir, name));
}

describe('Markdown links', () => {
  it('finds links and anchors as GitHub does', () => {
    const text =
      "# A `run` flag\n## Still the host's inside\n## Twice\n## Twice\n" +
      'See [x](docs/a.md#b), ![img](p.svg "t") and `[not](a link)`.\n```\n[no](code)\n```\n';
    expect(linkTargets(text)).toEqual(['docs/a.md#b', 'p.svg']);
    expect([...anchorsOf(text)]).toEqual(['a-run-flag', 'still-the-hosts-inside', 'twice', 'twice-1']);
  });

  it('reports a missing file and a missing heading', () => {
    const readme = join(ROOT, 'README.md');
    expect(brokenLink(readme, 'docs/no-such-page.md')).toMatch(/no such file/);
    expect(brokenLink(readme, 'README.md#no-such-heading')).toMatch(/no heading #no-such-heading/);
    expect(brokenLink(readme, 'https://example.org/x')).toBeUndefined();
  });

  it('every relative link of README, SECURITY, docs/ and deploy/ resolves', () => {
    const files = [
      join(ROOT, 'README.md'),
      join(ROOT, 'SECURITY.md'),
      ...markdownUnder(join(ROOT, 'docs')),
      ...markdownUnder(join(ROOT, 'deploy')),
    ].filter(existsSync);
    expect(files.length).toBeGreaterThan(2);
    const broken = files.flatMap((file) =>
      linkTargets(readFileSync(file, 'utf8'))
        .map((target) => brokenLink(file, target))
        .filter((problem): problem is string => problem !== undefined)
        .map((problem) => `${relative(ROOT, file)}: ${problem}`),
    );
    expect(broken).toEqual([]);
  });
});
