import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { crsync, crsyncJson, tempDir } from '../helpers.js';
import { rows } from './conflicts-setup.js';

interface DemoJson {
  dir: string;
  kept: boolean;
  hub: string;
  converged: boolean;
  steps: { n: number; title: string; commands: string[]; outcome: { kind: string } }[];
}

describe('crsync demo', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('runs the whole story, shows the replicas converged, exits 0 and leaves no temp folder', async () => {
    const r = await crsync(['demo']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = r.stdout;
    // Numbered steps with the commands a user would type.
    expect(out).toMatch(/^1\. Start a hub$/m);
    expect(out).toMatch(/\$ crsync -d alice\.db resolve 1 --value/);
    expect(out).toMatch(/countries\s+code=BOL\s+capital\s+update_update\s+La Paz\s+Sucre \(constitutional\)\s+theirs/);
    expect(out).toMatch(/^\s+alice\s+BOL\s+Bolivia\s+Sucre \(constitutional\); La Paz \(seat of government\)$/m);
    expect(out).toMatch(/^\s+bob\s+BOL\s+Bolivia\s+Sucre \(constitutional\); La Paz \(seat of government\)$/m);
    expect(out).toMatch(/alice, bob and the hub hold the same 13 rows; nothing to sync, no open conflict/);
    expect(out).toMatch(/done: the replicas converged/);
    const dir = /working in (\S+)/.exec(out)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });

  it('--json prints one summary; --dir keeps the replicas, which hold the same rows', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dir = t.path('demo');
    const r = await crsyncJson<DemoJson>(['demo', '--dir', dir]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ dir, kept: true, converged: true });
    expect(r.json.steps.map((s) => s.n)).toEqual(r.json.steps.map((_, i) => i + 1));
    expect(r.json.steps.map((s) => s.outcome.kind)).toContain('resolve');
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['alice.db', 'bob.db', 'hub']));
    const q = 'SELECT * FROM countries ORDER BY code';
    const alice = rows(`${dir}/alice.db`, q);
    expect(alice).toHaveLength(13);
    expect(rows(`${dir}/bob.db`, q)).toEqual(alice);
    expect(rows(`${dir}/hub/countries.db`, q)).toEqual(alice);
    expect(rows(`${dir}/bob.db`, 'SELECT count(*) AS n FROM crsync_conflicts WHERE resolved_at IS NULL')).toEqual([{ n: 0 }]);

    // The replicas it leaves are ordinary ones: the CLI reads them.
    const log = await crsyncJson<{ source: string; tables: Record<string, number> }[]>(['-d', `${dir}/alice.db`, 'log', '--limit', '2']);
    expect(log.exitCode).toBe(0);
    expect(log.json).toHaveLength(2);
    expect(log.json[0]).toMatchObject({ source: 'local', tables: { countries: 1 } }); // the resolution

    // A folder that is not empty is refused, untouched.
    writeFileSync(t.path('busy'), 'x');
    const refused = await crsync(['demo', '--dir', t.dir]);
    // A folder that is taken is not a usage error (exit 2 is usage only).
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/not empty/);
  });
});
