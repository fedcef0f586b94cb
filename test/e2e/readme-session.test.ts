import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CLI, tempDir } from '../helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('crsync-readme-');
});
afterEach(() => tmp.cleanup());

/** The sh block of the README's "A session" section, as written there. */
function sessionBlock(): string {
  const readme = readFileSync(resolve(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A session'));
  const m = /```sh\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README has no "A session" sh block');
  return m[1]!;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

it('the README session runs word for word: a conflict made on purpose, resolved, both replicas agree', { timeout: 120_000 }, async () => {
  // The one change: the README's port becomes a free one (tests use no fixed ports).
  const script = sessionBlock().replaceAll('7468', String(await freePort()));
  const bin = tmp.path('bin');
  mkdirSync(bin);
  writeFileSync(`${bin}/crsync`, `#!/bin/sh\nexec node ${CLI} "$@"\n`);
  chmodSync(`${bin}/crsync`, 0o755);
  const work = tmp.path('work');
  mkdirSync(work);
  writeFileSync(tmp.path('session.sh'), script);
  const r = await execa('bash', ['-e', tmp.path('session.sh')], {
    cwd: work,
    env: { PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' },
    reject: false,
  });
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stdout).toContain('1 new conflict');
  expect(r.stdout).toMatch(/not in sync \(crsync conflicts, then crsync resolve\)/);
  expect(r.stdout).toMatch(/#1 todo\[id=a\]\.title = buy oat milk \(ours\)/);
  // The last query, on the laptop: our value reached it.
  expect(r.stdout.slice(-200)).toMatch(/a\s+buy oat milk\s+0\s*\nb\s+call mum\s+0\s*$/);
  expect(r.stderr).not.toMatch(/error/);
});
