import Database from 'better-sqlite3';
import { execa, type ResultPromise } from 'execa';
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { sandbox } from './sync-helpers.js';

const box = sandbox('crsync-example-todo-');
const ROOT = resolve(import.meta.dirname, '../..');

interface Todo {
  id: string;
  title: string;
  done: number;
}

/** One message of the example on stdout: `<channel> <json>`. */
interface Message {
  channel: string;
  payload: Record<string, unknown> & { state?: string; added?: Todo[]; edited?: Todo[]; completed?: Todo[] };
}

/** A running instance of the example: its messages, and the window's side of its IPC. */
interface App {
  proc: ResultPromise;
  messages: Message[];
  next(match: (m: Message) => boolean, ms?: number): Promise<Message>;
  /** One IPC call; resolves with its answer. */
  invoke(line: string): Promise<Message['payload']>;
}

/**
 * The example copied into a project of its own, with crsync installed the way npm links a
 * `file:` dependency (node_modules/crsync -> this checkout): `import 'crsync'` resolves through
 * the package's exports, as in any other project.
 */
function installExample(): string {
  const app = box.path('todo-app');
  cpSync(join(ROOT, 'examples', 'todo'), app, { recursive: true, filter: (src) => !src.includes('node_modules') });
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(ROOT, join(app, 'node_modules', 'crsync'));
  return app;
}

function startApp(cwd: string, db: string, hub: string): App {
  const proc = execa('node', ['main.js', db, hub], { cwd, reject: false, stdin: 'pipe', buffer: { stdout: false, stderr: true } });
  const messages: Message[] = [];
  const waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const space = line.indexOf(' ');
    const m: Message = { channel: line.slice(0, space), payload: JSON.parse(line.slice(space + 1)) as Message['payload'] };
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.match(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const next = (match: (m: Message) => boolean, ms = 15_000): Promise<Message> => {
    const seen = messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no such message within ${ms} ms; got ${JSON.stringify(messages)}`)), ms);
      waiters.push({ match, resolve: (m) => (clearTimeout(timer), res(m)) });
    });
  };
  return {
    proc,
    messages,
    next,
    async invoke(line) {
      const channel = line.split(' ')[0]!;
      const before = messages.length;
      proc.stdin!.write(line + '\n');
      const m = await next((x) => x.channel === channel && messages.indexOf(x) >= before);
      return m.payload;
    },
  };
}

/** The todo rows of a file, read with plain SQLite after the app closed it. */
function rowsOf(db: string): Todo[] {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return conn.prepare('SELECT id, title, done FROM todo ORDER BY created_at, id').all() as Todo[];
  } finally {
    conn.close();
  }
}

describe('examples/todo', () => {
  it('two instances on one hub converge, and each sees the other\'s edits appear', async () => {
    const hub = await box.hub();
    const cwd = installExample();
    const url = `${hub.url}/todos`;
    const resolved = await execa('node', ['--input-type=module', '-e', "console.log(import.meta.resolve('crsync'))"], { cwd });
    expect(resolved.stdout).toBe(`file://${ROOT}/dist/api/index.js`);

    const a = startApp(cwd, 'a.db', url);
    await a.next((m) => m.channel === 'sync:status' && m.payload.state === 'live');
    const milk = (await a.invoke('todo:add Buy milk')) as unknown as Todo;
    expect(milk).toMatchObject({ title: 'Buy milk', done: 0 });

    // B starts later: its first pull brings A's todo, which its window sees arrive.
    const b = startApp(cwd, 'b.db', url);
    const arrived = await b.next((m) => m.channel === 'todos:remote');
    expect(arrived.payload.added).toEqual([milk]);
    await b.next((m) => m.channel === 'sync:status' && m.payload.state === 'live');

    // B completes it and adds one; A is told, as remote changes, not as its own.
    await b.invoke(`todo:complete ${milk.id}`);
    const bread = (await b.invoke('todo:add Bake bread')) as unknown as Todo;
    await a.next((m) => m.channel === 'todos:remote' && (m.payload.completed ?? []).some((t) => t.id === milk.id));
    await a.next((m) => m.channel === 'todos:remote' && (m.payload.added ?? []).some((t) => t.id === bread.id));

    // Edits of different columns of one row on both sides at once: both survive.
    await Promise.all([a.invoke(`todo:edit ${bread.id} Bake rye bread`), b.invoke(`todo:complete ${bread.id}`)]);
    await b.next((m) => m.channel === 'todos:remote' && (m.payload.edited ?? []).some((t) => t.title === 'Bake rye bread'));
    await a.next((m) => m.channel === 'todos:remote' && (m.payload.completed ?? []).some((t) => t.id === bread.id));
    const expected = [
      { id: milk.id, title: 'Buy milk', done: 1 },
      { id: bread.id, title: 'Bake rye bread', done: 1 },
    ];
    expect(await a.invoke('todo:list')).toEqual(expected);
    expect(await b.invoke('todo:list')).toEqual(expected);
    // A never reported its own edits as remote ones.
    expect(a.messages.filter((m) => m.channel === 'todos:remote').flatMap((m) => m.payload.edited ?? [])).toEqual([]);

    for (const app of [a, b]) {
      app.proc.stdin!.end(); // the window closes: the app quits
      const r = await app.proc;
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(app.messages.at(-1)).toEqual({ channel: 'app:quit', payload: { todos: 2 } });
      expect(app.messages.some((m) => m.channel === 'sync:error')).toBe(false);
    }
    expect(rowsOf(join(cwd, 'a.db'))).toEqual(expected);
    expect(rowsOf(join(cwd, 'b.db'))).toEqual(expected);
  });
});
