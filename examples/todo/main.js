// A todo list in the shape of an Electron main process, on crsync's library API.
//   node main.js [todo.db] [http://hub:7468/todos]
// The "window" is this process's stdin and stdout: each stdin line is one IPC call
// (`todo:add Buy milk`, `todo:edit <id> Oat milk`, `todo:complete <id>`, `todo:reopen <id>`,
// `todo:remove <id>`, `todo:list`), answered on stdout as `<channel> <json>`; the main process
// sends `sync:status`, `todos:remote` (what other replicas changed) and `sync:conflict` the same way.
// In Electron these would be ipcMain.handle(...) and win.webContents.send(...).
import { createInterface } from 'node:readline';
import { openReplica } from 'crsync';
import { LIST_SQL, diffTodos, isEmpty, openTodos } from './todos.js';

const [dbPath = 'todo.db', hubUrl = process.env.TODO_HUB] = process.argv.slice(2);

/**
 * To the window (Electron: win.webContents.send). crsync gives SQLite's INTEGERs as bigint (a
 * conflict's key and values, say), which JSON.stringify refuses: they go as numbers, or as
 * strings past 2^53.
 */
function send(channel, payload) {
  const json = JSON.stringify(payload, (_, v) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v));
  process.stdout.write(`${channel} ${json}\n`);
}

// app.whenReady(): open the replica (created on first run) and the table.
const replica = openReplica(dbPath, { env: process.env });
const todos = openTodos(replica);

// What the window last saw. Local edits update it at once, so the watch below reports only
// what came from elsewhere: another replica's edits, merged by the live sync.
let shown = todos.list();
const unwatch = replica.watch(LIST_SQL, [], (rows) => {
  const diff = diffTodos(shown, rows);
  shown = rows;
  if (!isEmpty(diff)) send('todos:remote', diff);
});

// ipcMain.handle(channel, handler): every call edits through the API and answers with the todo.
const handlers = {
  'todo:add': (title) => todos.add(title),
  'todo:edit': (id, ...title) => todos.edit(id, title.join(' ')),
  'todo:complete': (id) => todos.complete(id, true),
  'todo:reopen': (id) => todos.complete(id, false),
  'todo:remove': (id) => todos.remove(id),
  'todo:list': () => todos.list(),
};

function invoke(line) {
  const [channel, ...args] = line.trim().split(' ');
  if (!channel) return;
  const handler = handlers[channel];
  if (!handler) return send('error', { message: `no handler for ${channel}`, channels: Object.keys(handlers) });
  const result = channel === 'todo:add' ? handler(args.join(' ')) : handler(...args);
  shown = todos.list();
  send(channel, result);
}

// Background sync: the app works the same with no hub, or with one that is down.
let live;
if (hubUrl) {
  replica.addRemote('origin', hubUrl);
  try {
    // The first replica to sync creates the dataset; creating is explicit (`create: true`), so a
    // typo in the hub's URL fails instead of making a new dataset.
    await replica.push('origin', { create: true });
  } catch (err) {
    send('sync:error', { code: err.code, message: err.message });
  }
  live = replica.startSync('origin');
  live.on('status', (s) => send('sync:status', { state: s.state, pending: s.pending, lastSyncedAt: s.lastSyncedAt }));
  live.on('conflict', (c) => send('sync:conflict', c));
  live.done().catch((err) => send('sync:error', { code: err.code, message: err.message }));
}

const window = createInterface({ input: process.stdin });
window.on('line', invoke);

// app.on('before-quit'): stop syncing (the page in hand is finished), then close the file.
let quitting = false;
async function quit() {
  if (quitting) return;
  quitting = true;
  window.close();
  unwatch();
  await live?.stop();
  replica.close();
  send('app:quit', { todos: shown.length });
}
window.on('close', quit);
process.on('SIGINT', quit);
process.on('SIGTERM', quit);
send('app:ready', { db: replica.path, hub: hubUrl ?? null, todos: shown.length });
