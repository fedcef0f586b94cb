// Worker thread of a hub: counts pending changes off the hub's event loop (counter.ts starts it).
// A count reads every change after a cursor: millions for a stale replica, seconds of SQLite and
// JavaScript that no chunking bounds (one version may hold a million changes), and health
// checks and small requests must not wait for it. One connection per dataset, its own.
import { parentPort, workerData } from 'node:worker_threads';
import { toCrsyncError } from '../errors.js';
import { useExtensionPath } from '../db/extension.js';
import { openStore } from '../db/store.js';
import { ServedReplica } from '../sync/endpoint.js';
import type { Cursor } from '../sync/protocol/types.js';

/** What the hub asks: a count, to close a dataset's connection (it went idle), or to finish. */
export type CountMessage =
  | { type: 'count'; id: number; path: string; name: string; site: Uint8Array; since: Cursor }
  | { type: 'forget'; id: number; path: string }
  | { type: 'exit' };

/** What the worker answers to a count. */
export type CountAnswer =
  | { id: number; count: number }
  | { id: number; error: { code: string; message: string; hint?: string; details?: unknown; exitCode: number } };

/** Given to the worker at its start. */
export interface CountWorkerData {
  extensionPath: string;
}

const port = parentPort;
if (!port) throw new Error('count-worker.js runs as a worker thread');
useExtensionPath((workerData as CountWorkerData).extensionPath);
const open = new Map<string, ServedReplica>();

port.on('message', (msg: CountMessage) => {
  if (msg.type === 'forget') {
    open.get(msg.path)?.store.close();
    open.delete(msg.path);
    port.postMessage({ id: msg.id, count: 0 } satisfies CountAnswer);
    return;
  }
  if (msg.type === 'exit') {
    // Finalized and closed, then nothing keeps the thread alive: it ends by itself.
    for (const s of open.values()) s.store.close();
    open.clear();
    port.close();
    return;
  }
  let answer: CountAnswer;
  try {
    let served = open.get(msg.path);
    if (!served) {
      served = new ServedReplica(openStore(msg.path, {}), msg.name);
      open.set(msg.path, served);
    }
    answer = { id: msg.id, count: served.countPending(msg.site, msg.since) };
  } catch (err) {
    const e = toCrsyncError(err);
    answer = { id: msg.id, error: { code: e.code, message: e.message, hint: e.hint, details: e.details, exitCode: e.exitCode } };
  }
  port.postMessage(answer);
});
