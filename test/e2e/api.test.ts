import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { openReplica, type Replica } from '../../src/api/index.js';
import { sandbox } from './sync-helpers.js';

const tmp = sandbox('crsync-api-');
const opened: Replica[] = [];
afterEach(() => {
  for (const r of opened.splice(0)) r.close();
});

function replica(name: string): Replica {
  const r = openReplica(tmp.path(name));
  opened.push(r);
  return r;
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the library API', () => {
  it('opens, writes through db, syncs through a hub, and watches queries', async () => {
    const h = await tmp.hub();
    const a = replica('a.db');
    a.db.exec('CREATE TABLE todo (id TEXT PRIMARY KEY NOT NULL, title TEXT, done INTEGER DEFAULT 0)');
    expect(a.track('todo')).toMatchObject({ tracked: ['todo'] });
    a.db.prepare('INSERT INTO todo (id, title) VALUES (?, ?)').run('a', 'milk');
    a.addRemote('origin', `${h.url}/todos`);
    // Creating is explicit, as in the CLI: a plain push, sync or live sync to a missing dataset makes nothing.
    for (const attempt of [() => a.push(), () => a.sync(), () => a.push('origin', { create: false })]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'dataset_not_found', exitCode: 1, hint: expect.stringContaining('--create') });
    }
    const live = a.startSync('origin', { backoff: { baseMs: 20, capMs: 50, failures: 100, probeMs: 1000 } });
    await until(() => live.status.error?.code === 'dataset_not_found');
    await new Promise((r) => setTimeout(r, 300));
    await live.stop();
    expect(existsSync(tmp.path('hub/todos.db'))).toBe(false);
    expect(await a.push('origin', { create: true })).toMatchObject({ remote: 'origin', sent: 2, received: 0, created: true }); // title and done

    const b = replica('b.db');
    b.addRemote('origin', `${h.url}/todos`);
    expect(await b.pull()).toMatchObject({ received: 2 }); // the table comes with the schema
    const seen: unknown[][] = [];
    const unwatch = b.watch('SELECT id, title FROM todo ORDER BY id', [], (rows) => seen.push(rows));
    expect(seen).toEqual([[{ id: 'a', title: 'milk' }]]);
    // A merge is seen: a's second row arrives through b's pull.
    a.db.prepare('INSERT INTO todo (id, title) VALUES (?, ?)').run('b', 'bread');
    await a.push();
    await b.pull();
    await until(() => seen.length === 2);
    expect(seen[1]).toEqual([{ id: 'a', title: 'milk' }, { id: 'b', title: 'bread' }]);

    // A write by another connection (another program) is seen too; an unrelated one calls nothing.
    const other = new Database(tmp.path('b.db'));
    other.loadExtension(resolve(import.meta.dirname, '../../native/crsqlite'));
    other.prepare("UPDATE todo SET title = 'oat milk' WHERE id = 'a'").run();
    await until(() => seen.length === 3);
    expect(seen[2]).toEqual([{ id: 'a', title: 'oat milk' }, { id: 'b', title: 'bread' }]);
    other.prepare("UPDATE todo SET done = 1 WHERE id = 'a'").run();
    other.prepare('SELECT crsql_finalize()').run();
    other.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toHaveLength(3);
    unwatch();

    expect(await b.sync()).toMatchObject({ sent: 2, received: 0, conflicts: 0 });
    expect(await a.sync()).toMatchObject({ sent: 0, received: 2 });
    expect(a.db.prepare("SELECT title, done FROM todo WHERE id = 'a'").get()).toEqual({ title: 'oat milk', done: 1 });
    const st = await a.status();
    expect(st).toMatchObject({ inSync: true, conflicts: 0 });
    expect(a.conflicts()).toEqual([]);
  });

  it('pushes a first push by snapshot only when asked', async () => {
    const h = await tmp.hub();
    const a = replica('a.db');
    a.db.exec('CREATE TABLE note (id INTEGER PRIMARY KEY NOT NULL, body TEXT)');
    a.track('note');
    a.db.prepare('INSERT INTO note (id, body) VALUES (?, ?)').run(1, 'one');
    a.addRemote('plain', `${h.url}/plain`);
    a.addRemote('snap', `${h.url}/snap`);
    expect(await a.push('plain', { create: true })).toMatchObject({ via: 'changes', created: true, sent: 1 });
    expect(await a.push('snap', { create: true, snapshot: true })).toMatchObject({ via: 'snapshot', created: true });
    const b = replica('b.db');
    b.addRemote('origin', `${h.url}/snap`);
    expect(await b.pull()).toMatchObject({ received: 1 });
    expect(b.db.prepare('SELECT body FROM note').pluck().all()).toEqual(['one']);
  });

  it('refuses a second open of one file, and a closed replica', () => {
    const a = replica('one.db');
    expect(() => openReplica(tmp.path('one.db'))).toThrow(/already open in this process/);
    a.close();
    expect(() => a.db).toThrow(/was closed/);
    const again = replica('one.db');
    expect(again.db.prepare('SELECT 1 AS x').get()).toEqual({ x: 1 });
  });

  it("is the package's main export: import { openReplica } from 'crsync' works from another project", async () => {
    const app = tmp.path('app');
    mkdirSync(resolve(app, 'node_modules'), { recursive: true });
    symlinkSync(resolve(import.meta.dirname, '../..'), resolve(app, 'node_modules', 'crsync'));
    writeFileSync(resolve(app, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(
      resolve(app, 'main.js'),
      `import { openReplica } from 'crsync';
       const r = openReplica('app.db');
       r.db.exec('CREATE TABLE n (id INTEGER PRIMARY KEY NOT NULL, v TEXT)');
       r.track('n');
       r.db.prepare('INSERT INTO n VALUES (1, ?)').run('hello');
       const s = await r.status({ offline: true });
       console.log(JSON.stringify({ tables: s.tables, site: s.siteId.length }));
       r.close();`,
    );
    const out = await execa('node', ['main.js'], { cwd: app });
    expect(JSON.parse(out.stdout)).toEqual({ tables: [{ name: 'n', rows: 1 }], site: 32 });
  });
});
