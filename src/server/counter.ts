import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { CrsyncError, isErrorCode } from '../errors.js';
import { extensionPath } from '../db/extension.js';
import type { Cursor } from '../sync/protocol/types.js';
import type { CountAnswer, CountMessage, CountWorkerData } from './count-worker.js';

/**
 * Counts pending changes in a worker thread (count-worker.ts), so a count of millions never
 * blocks the hub's event loop. The thread starts on the first count (a hub that is never asked
 * to count, and every other command, never loads it) and counts one request at a time.
 * The worker file sits next to this module both in dist/server and in dist/bundle
 * (scripts/bundle.mjs bundles it as its own entry).
 */
export class Counter {
  private worker: Worker | undefined;
  private nextId = 1;
  /** Counts asked of each thread and not answered yet. */
  private readonly waiting = new Map<Worker, Map<number, Waiting>>();

  /** How many changes a pull of `path` from `since` would carry for `site`. */
  count(path: string, name: string, site: Uint8Array, since: Cursor): Promise<number> {
    const id = this.nextId++;
    const w = this.start();
    return new Promise<number>((resolve, reject) => {
      this.waiting.get(w)!.set(id, { resolve, reject });
      this.post(w, { type: 'count', id, path, name, site, since });
    });
  }

  /** Closes the worker's connection to a dataset (the hub closed it too); resolves once it is closed. */
  forget(path: string): Promise<void> {
    const w = this.worker;
    if (!w) return Promise.resolve();
    const id = this.nextId++;
    return new Promise<void>((resolve) => {
      // A thread that dies closes its connections with it: resolved either way.
      this.waiting.get(w)!.set(id, { resolve: () => resolve(), reject: () => resolve() });
      this.post(w, { type: 'forget', id, path });
    });
  }

  /** Finalizes the worker's connections and ends the thread. */
  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    const exited = once(w, 'exit');
    this.post(w, { type: 'exit' });
    const timer = setTimeout(() => void w.terminate(), 10_000);
    await exited;
    clearTimeout(timer);
  }

  private post(w: Worker, msg: CountMessage): void {
    w.postMessage(msg);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const data: CountWorkerData = { extensionPath: extensionPath() };
    const w = new Worker(new URL('./count-worker.js', import.meta.url), { workerData: data });
    // Only requests waiting for a count keep the hub's process alive, not the thread itself.
    w.unref();
    const waiting = new Map<number, Waiting>();
    this.waiting.set(w, waiting);
    w.on('message', (a: CountAnswer) => {
      const wait = waiting.get(a.id);
      if (!wait) return;
      waiting.delete(a.id);
      if ('count' in a) wait.resolve(a.count);
      else wait.reject(new CrsyncError(isErrorCode(a.error.code) ? a.error.code : 'internal', a.error.message, { hint: a.error.hint, details: a.error.details }));
    });
    // A thread that dies fails its counts; the next count starts a new one.
    const fail = (why: string): void => {
      if (this.worker === w) this.worker = undefined;
      this.waiting.delete(w);
      for (const wait of waiting.values()) {
        wait.reject(new CrsyncError('internal', `internal error: the count worker ${why}`, { hint: 'try again; the hub starts a new one' }));
      }
      waiting.clear();
    };
    w.on('error', (err) => fail(`failed: ${err.message}`));
    w.on('exit', (code) => fail(`exited (code ${code})`));
    this.worker = w;
    return w;
  }
}

interface Waiting {
  resolve: (n: number) => void;
  reject: (e: Error) => void;
}
