// The repository explains itself: no file refers to documents outside it (the contract the project was
// built against lives elsewhere; its content is in docs/), and every relative link in the README and
// docs/ points at a file that exists.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((file) => /\.(ts|tsx|js|md|sql|prisma|json|toml)$/.test(file) || file === '.ci/run')
  .filter((file) => file !== 'package-lock.json' && existsSync(join(ROOT, file)));

describe('the repository is self-contained', () => {
  it('no file refers to the outside contract documents or to the folder beside the checkout that holds them', () => {
    // Written in pieces so that this file does not match itself.
    const outside = new RegExp(
      [String.raw`\.\./${'shared'}`, String.raw`(?<![\w/.-])(RULES|API|STYLE)\.md`, `PRISMA-${'OFFLINE'}`].join('|'),
    );
    const offenders = tracked.filter((file) => outside.test(readFileSync(join(ROOT, file), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it.each(tracked.filter((file) => file === 'README.md' || (file.startsWith('docs/') && file.endsWith('.md'))))(
    'every relative link of %s resolves',
    (file) => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const links = [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((match) => match[1] as string);
      const broken = links
        .filter((link) => !/^[a-z]+:/.test(link))
        .filter((link) => !existsSync(join(ROOT, dirname(file), link)));
      expect(broken).toEqual([]);
    },
  );
});
