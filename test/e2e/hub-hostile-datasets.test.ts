import { execa } from 'execa';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers.js';
import { call } from './hostile-helpers.js';
import { STORES, storeSandbox } from './store-helpers.js';
import { datasetNames } from './store-state.js';

// Creating datasets is limited (issue 14, item 13): a cap per hub, a right in the tokens file,
// and running out of descriptors is a 503 hub_busy, not a 500 that says to rebuild cr-sqlite.
// The cap counts the store's datasets and runs on both stores; tokens are checked above the
// store; descriptors run out for a SQLite hub, which keeps a file open per dataset (a hub on
// PostgreSQL holds a fixed pool of connections whatever the number of datasets).

const tmp = storeSandbox('crsync-hostile-datasets-');
const schema = JSON.stringify({ version: 0, tables: [{ name: 't', columns: [{ name: 'id', type: 'INTEGER', notnull: true, dflt: null, pk: 1 }, { name: 'v', type: 'TEXT', notnull: false, dflt: null, pk: 0 }] }] });
const create = (url: string, name: string, token?: string) =>
  call(`${url}/v1/datasets/${name}/schema`, { method: 'POST', body: schema, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
const dbFiles = () => readdirSync(tmp.path('hub')).filter((f) => f.endsWith('.db')).sort();

describe('dataset creation is limited', () => {
  it.each(STORES)('--max-datasets caps a hub on %s; the refusal is a 403 dataset_limit and leaves no dataset', async (kind) => {
    const h = await tmp.hub(kind, { extra: ['--max-datasets', '3'] });
    for (const name of ['d1', 'd2', 'd3']) expect((await create(h.url, name)).status).toBe(200);
    const fourth = await create(h.url, 'd4');
    expect({ status: fourth.status, code: fourth.json.error?.code }).toEqual({ status: 403, code: 'dataset_limit' });
    expect(await datasetNames(h)).toEqual(['d1', 'd2', 'd3']);
    // Existing datasets are still served and take schema requests.
    expect((await create(h.url, 'd2')).status).toBe(200);
  });

  it('with a create or admin token in the tokens file, only those create datasets', async () => {
    const tokens = tmp.path('tokens');
    writeFileSync(tokens, 'rw-1 read-write\ncr-2 create\nad-3 admin\n');
    const h = await tmp.hub('sqlite', { extra: ['--tokens', tokens] });
    const refused = await create(h.url, 'byrw', 'rw-1');
    expect({ status: refused.status, code: refused.json.error?.code }).toEqual({ status: 403, code: 'forbidden' });
    expect((await create(h.url, 'bycr', 'cr-2')).status).toBe(200);
    expect((await create(h.url, 'byad', 'ad-3')).status).toBe(200);
    // A read-write token still writes an existing dataset.
    expect((await create(h.url, 'bycr', 'rw-1')).status).toBe(200);
    expect(dbFiles()).toEqual(['byad.db', 'bycr.db']);
  });

  it('running out of file descriptors answers 503 hub_busy, never a 500', async () => {
    const dir = tmp.path('hub');
    const proc = execa('sh', ['-c', `ulimit -n 80 && exec node ${CLI} serve --dir ${dir} --port 0`], { reject: false, buffer: false });
    try {
      const url = await new Promise<string>((res) => createInterface({ input: proc.stdout! }).once('line', (l) => res(l.trim())));
      const statuses = new Map<string, number>();
      for (let i = 0; i < 60; i++) {
        const a = await create(url, `many${i}`);
        const key = `${a.status} ${a.json.error?.code ?? ''}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (a.status !== 200) {
          expect({ status: a.status, code: a.json.error?.code }).toEqual({ status: 503, code: 'hub_busy' });
          expect(a.json.error!.message).not.toMatch(/cr-sqlite|rebuild/);
        }
      }
      expect([...statuses.keys()]).toContain('503 hub_busy');
      expect(existsSync(dir)).toBe(true);
    } finally {
      proc.kill('SIGTERM');
      await proc;
    }
  });
});
