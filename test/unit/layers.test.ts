import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { resolve } from 'node:path';

/*
 * The layers of docs/architecture.md are lint rules: each case is a line that breaks one,
 * linted as if it stood in a real file of that room.
 */
const root = resolve(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(root, file) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint enforces the layers', () => {
  it.each([
    ['src/db/store.ts', "import chalk from 'chalk';\nexport const c = chalk;\n", 'no-restricted-imports'],
    ['src/commands/init.ts', "import Database from 'better-sqlite3';\nexport const D = Database;\n", 'no-restricted-imports'],
    ['src/db/store.ts', 'export const x = process.env.X;\n', 'no-restricted-syntax'],
    ['src/sync/client/engine.ts', "import { startServer } from '../../server/hub.js';\nexport const s = startServer;\n", 'no-restricted-imports'],
    ['src/sync/protocol/codec.ts', "import { openStore } from '../../db/store.js';\nexport const o = openStore;\n", 'no-restricted-imports'],
    ['src/output/output.ts', 'export const w = (s: string) => process.stdout.write(s);\n', 'no-restricted-syntax'],
  ])('%s: %s is refused', async (file, code, rule) => {
    expect((await problems(file, code)).some((p) => p.startsWith(`${rule}:`))).toBe(true);
  });

  it('allows each in its own room', async () => {
    expect(await problems('src/output/output.ts', "import chalk from 'chalk';\nexport const c = chalk;\n")).toEqual([]);
    expect(await problems('src/db/store.ts', "import Database from 'better-sqlite3';\nexport const D = Database;\n")).toEqual([]);
    expect(await problems('src/cli.ts', 'export const x = process.env.X;\n')).toEqual([]);
  });
});
