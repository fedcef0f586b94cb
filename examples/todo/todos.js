// The todo list's data: one replicated table, written through the replica's own connection.
import { randomUUID } from 'node:crypto';

// cr-sqlite wants a NOT NULL primary key and defaults on NOT NULL columns. Random ids: two
// replicas adding offline never pick the same one.
const SCHEMA = `CREATE TABLE IF NOT EXISTS todo (
  id TEXT PRIMARY KEY NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  done INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT ''
)`;

/** What the window shows: the whole list, oldest first. */
export const LIST_SQL = 'SELECT id, title, done FROM todo ORDER BY created_at, id';

/** Creates the table when new, replicates it, and returns the operations the window may call. */
export function openTodos(replica) {
  const { db } = replica;
  db.exec(SCHEMA);
  replica.track('todo'); // a no-op once tracked
  const insert = db.prepare('INSERT INTO todo (id, title, done, created_at) VALUES (?, ?, 0, ?)');
  const rename = db.prepare('UPDATE todo SET title = ? WHERE id = ?');
  const mark = db.prepare('UPDATE todo SET done = ? WHERE id = ?');
  const remove = db.prepare('DELETE FROM todo WHERE id = ?');
  const one = db.prepare('SELECT id, title, done FROM todo WHERE id = ?');
  const all = db.prepare(LIST_SQL);
  const found = (id) => one.get(id) ?? { error: `no todo ${id}` };
  return {
    add(title) {
      const id = randomUUID();
      insert.run(id, title, new Date().toISOString());
      return found(id);
    },
    edit(id, title) {
      rename.run(title, id);
      return found(id);
    },
    complete(id, done = true) {
      mark.run(done ? 1 : 0, id);
      return found(id);
    },
    remove(id) {
      return { removed: remove.run(id).changes };
    },
    list: () => all.all(),
  };
}

/** What changed between two lists: added, edited (title), completed, reopened and removed todos. */
export function diffTodos(before, after) {
  const old = new Map(before.map((t) => [t.id, t]));
  const now = new Set(after.map((t) => t.id));
  const d = { added: [], edited: [], completed: [], reopened: [], removed: before.filter((t) => !now.has(t.id)) };
  for (const t of after) {
    const was = old.get(t.id);
    if (!was) d.added.push(t);
    else {
      if (was.title !== t.title) d.edited.push(t);
      if (was.done !== t.done) (t.done ? d.completed : d.reopened).push(t);
    }
  }
  return d;
}

export const isEmpty = (d) => Object.values(d).every((list) => list.length === 0);
