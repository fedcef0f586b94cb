import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { crsync, crsyncJson } from '../helpers.js';
import { extensionPath } from '../../src/db/extension.js';
import { conflicts, ok, rows, sql, sync, hubForFile } from './conflicts-setup.js';

interface Entry {
  table: string;
  pk: Record<string, unknown>;
  kind: 'insert' | 'update' | 'delete';
  columns: Record<string, unknown>;
}
interface Diff {
  remote: string | null;
  outgoing: Entry[];
  incoming: Entry[];
}
interface LogEntry {
  dbVersion: number;
  at: string | null;
  siteId: string | null;
  source: string;
  tables: Record<string, number>;
}

async function json<T>(db: string, args: string[]): Promise<T> {
  const r = await crsyncJson<T>(['-d', db, ...args]);
  expect(r.exitCode, r.stderr).toBe(0);
  return r.json;
}
const site = async (db: string): Promise<string> => (await json<{ siteId: string }>(db, ['status', '--offline'])).siteId;
const byKey = (list: Entry[]): Entry[] => [...list].sort((x, y) => Number(x.pk.id) - Number(y.pk.id));

describe('inspecting replicas: diff, show, log, conflicts show', () => {
  const { replicas } = hubForFile();

  it('diff shows what push and pull then move, and moves nothing itself', async () => {
    const { a, b, hub } = await replicas('diff', 4);
    await sql(a, "UPDATE items SET name = 'a-new' WHERE id = 1; INSERT INTO items VALUES (9, 'nine', 9); DELETE FROM items WHERE id = 2");
    await sql(b, 'UPDATE items SET qty = 40 WHERE id = 4');
    await ok(['-d', b, 'push']);
    const before = { a: rows(a), hub: rows(hub), status: await json<unknown>(a, ['status']) };
    const d = await json<Diff>(a, ['diff']);
    expect(Object.keys(d)).toEqual(['remote', 'outgoing', 'incoming']);
    expect(d.remote).toBe('origin');
    expect(byKey(d.outgoing)).toEqual([
      { table: 'items', pk: { id: 1 }, kind: 'update', columns: { name: 'a-new' } },
      { table: 'items', pk: { id: 2 }, kind: 'delete', columns: {} },
      { table: 'items', pk: { id: 9 }, kind: 'insert', columns: { name: 'nine', qty: 9 } },
    ]);
    expect(d.incoming).toEqual([{ table: 'items', pk: { id: 4 }, kind: 'update', columns: { qty: 40 } }]);
    // Nothing moved: the same rows on both sides, the same cursors (status), and diff says it again.
    expect(rows(a)).toEqual(before.a);
    expect(rows(hub)).toEqual(before.hub);
    expect(await json<unknown>(a, ['status'])).toEqual(before.status);
    expect(await json<Diff>(a, ['diff'])).toEqual(d);
    // Offline: outgoing only; --table filters; --since reads local history.
    expect(await json<Diff>(a, ['diff', '--offline'])).toEqual({ ...d, incoming: [] });
    expect(await json<Diff>(a, ['diff', '--table', 'other'])).toEqual({ remote: 'origin', outgoing: [], incoming: [] });
    const v = (await json<LogEntry[]>(a, ['log', '--limit', '1']))[0]!.dbVersion;
    expect((await json<Diff>(a, ['diff', '--since', String(v - 1)])).outgoing).toHaveLength(3);
    // Pull then push move exactly that.
    const pulled = await json<{ received: number }>(a, ['pull']);
    expect(pulled.received).toBe(1);
    expect(rows(a, 'SELECT qty FROM items WHERE id = 4')).toEqual([{ qty: 40 }]);
    expect((await json<Diff>(a, ['diff'])).incoming).toEqual([]);
    const pushed = await json<{ sent: number }>(a, ['push']);
    expect(pushed.sent).toBeGreaterThan(0);
    expect(rows(hub)).toEqual(rows(a));
    expect(rows(hub, 'SELECT name FROM items WHERE id IN (1, 9) ORDER BY id')).toEqual([{ name: 'a-new' }, { name: 'nine' }]);
    expect(await json<Diff>(a, ['diff'])).toEqual({ remote: 'origin', outgoing: [], incoming: [] });
    // A bad option is a usage error.
    expect((await crsync(['-d', a, 'diff', '--since', 'yesterday'])).exitCode).toBe(2);
  });

  it('show names the site, remote and time of each cell of a row two replicas wrote', async () => {
    const { a, b } = await replicas('show');
    await sql(a, "UPDATE items SET name = 'by-a' WHERE id = 1");
    await sql(b, 'UPDATE items SET qty = 77 WHERE id = 1');
    await sync(a);
    await sync(b);
    await sync(a);
    const [siteA, siteB] = [await site(a), await site(b)];
    for (const key of ['id=1', '1', '{"id": 1}']) {
      const s = await json<{ table: string; pk: unknown; exists: boolean; cells: { column: string; value: unknown; siteId: string; remote: string | null; colVersion: number; at: string | null }[]; conflicts: unknown[] }>(a, ['show', 'items', key]);
      expect(s).toMatchObject({ table: 'items', pk: { id: 1 }, exists: true, conflicts: [] });
      const cell = (c: string) => s.cells.find((x) => x.column === c)!;
      expect(cell('name')).toMatchObject({ value: 'by-a', siteId: siteA, remote: null, colVersion: 2 });
      expect(cell('qty')).toMatchObject({ value: 77, siteId: siteB, remote: 'origin', colVersion: 2 });
      expect(new Date(cell('name').at!).toISOString()).toBe(cell('name').at);
    }
    expect(await json<{ exists: boolean; cells: unknown[] }>(a, ['show', 'items', 'id=99'])).toMatchObject({ exists: false, cells: [] });
    expect((await crsync(['-d', a, 'show', 'items', 'name=x'])).exitCode).toBe(2);
    expect((await crsync(['-d', a, 'show', 'nope', 'id=1'])).exitCode).toBe(1);
  });

  it('log lists every transaction, overwritten or written by another program, local and merged', async () => {
    const { a, b } = await replicas('log');
    for (let i = 1; i <= 4; i++) await sql(a, `UPDATE items SET qty = ${i * 10} WHERE id = 1`);
    // The fifth write comes from a program that is not crsync, with cr-sqlite loaded.
    const db = new Database(a);
    db.loadExtension(extensionPath());
    db.prepare('UPDATE items SET qty = 50 WHERE id = 1').run();
    db.prepare('SELECT crsql_finalize()').run();
    db.close();
    const siteA = await site(a);
    const log = await json<LogEntry[]>(a, ['log', '--limit', '5']);
    expect(log).toHaveLength(5);
    expect(log.map((e) => e.source)).toEqual(Array(5).fill('local'));
    expect(log.map((e) => e.tables)).toEqual(Array(5).fill({ items: 1 }));
    expect(log.every((e) => e.siteId === siteA && e.at !== null)).toBe(true);
    const versions = log.map((e) => e.dbVersion);
    expect(versions).toEqual([...versions].sort((x, y) => y - x));
    expect(new Set(versions).size).toBe(5);
    // A merge is listed with its source and writer.
    await sql(b, "UPDATE items SET name = 'b1' WHERE id = 2; UPDATE items SET name = 'b3' WHERE id = 3");
    await sync(b);
    await sync(a);
    const [merged] = await json<LogEntry[]>(a, ['log', '--limit', '1']);
    expect(merged).toMatchObject({ source: 'origin', siteId: await site(b), tables: { items: 2 } });
    expect(await json<LogEntry[]>(a, ['log', '--since', String(merged!.dbVersion - 1)])).toHaveLength(1);
    expect(await json<LogEntry[]>(a, ['log', '--table', 'other'])).toEqual([]);
    expect((await crsync(['-d', a, 'log', '--since', '-3'])).exitCode).toBe(2);
  });

  it('conflicts show gives both sides in full, who wrote them, the current value and how to resolve', async () => {
    const { a, b } = await replicas('show-conflict');
    const long = 'x'.repeat(120);
    await sql(a, `UPDATE items SET name = 'a-${long}' WHERE id = 1`);
    await sql(b, `UPDATE items SET name = 'b-${long}' WHERE id = 1`);
    await sync(a);
    await sync(b);
    const [c] = await conflicts(b);
    const d = await json<{ conflict: { id: number }; ours: Record<string, unknown>; theirs: Record<string, unknown>; current: unknown; resolveWith: string[] }>(b, ['conflicts', 'show', String(c!.id)]);
    expect(d.conflict.id).toBe(c!.id);
    expect(d.ours).toMatchObject({ value: `b-${long}`, siteId: await site(b), local: true, remote: null, version: '2' });
    expect(d.theirs).toMatchObject({ value: `a-${long}`, siteId: await site(a), local: false, remote: 'origin', version: '2' });
    expect(d.current).toEqual({ exists: true, value: `b-${long}` });
    expect(d.resolveWith).toContain(`crsync resolve ${c!.id} --ours`);
    // The human form shows the values in full.
    const human = await ok(['-d', b, 'conflicts', 'show', String(c!.id)]);
    expect(human).toContain(`a-${long}`);
    expect((await crsync(['-d', b, 'conflicts', 'show', '999'])).exitCode).toBe(1); // a conflict id that names nothing is not a usage error
    expect((await crsync(['-d', b, 'conflicts', 'show', 'one'])).exitCode).toBe(2);
    // Plain `conflicts` still lists.
    expect(await conflicts(b)).toHaveLength(1);
  });
});
