import { execa, type ResultPromise } from 'execa';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { CLI, startHub, type Hub } from '../helpers.js';

/*
 * Real faults on loopback: a TCP proxy in front of the hub that can cut a connection or fire an
 * action after a number of bytes, and a hub that can be SIGKILLed and restarted behind it.
 */

/** Something to do once `afterBytes` more bytes have crossed the proxy (either direction). */
export interface ArmedFault {
  afterBytes: number;
  /** The connection the byte crossed is destroyed; a function also runs first (kill a process). */
  action: 'cut' | (() => void);
}

/** A TCP proxy with a stable port whose backend (the hub's port) can change. */
export class FaultProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private armed: (ArmedFault & { seen: number }) | undefined;
  /** Number of faults that actually fired. */
  fired = 0;

  constructor(private target: number) {}

  async listen(): Promise<number> {
    this.server = createServer((client) => this.accept(client));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as { port: number }).port;
  }

  retarget(port: number): void {
    this.target = port;
  }

  arm(fault: ArmedFault): void {
    this.armed = { ...fault, seen: 0 };
  }

  disarm(): boolean {
    const was = this.armed !== undefined;
    this.armed = undefined;
    return was;
  }

  private accept(client: Socket): void {
    const upstream = createConnection({ port: this.target, host: '127.0.0.1' });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const cut = (): void => {
      client.destroy();
      upstream.destroy();
    };
    const relay = (from: Socket, to: Socket): void => {
      from.on('data', (chunk: Buffer) => {
        const a = this.armed;
        if (a) {
          a.seen += chunk.length;
          if (a.seen > a.afterBytes) {
            this.armed = undefined;
            this.fired++;
            // Let part of the chunk through, so the cut lands inside a frame.
            const keep = Math.max(0, chunk.length - (a.seen - a.afterBytes));
            if (keep > 0) to.write(chunk.subarray(0, keep));
            // The connection dies with the process too: no bytes after the gap ever arrive.
            if (a.action !== 'cut') a.action();
            cut();
            return;
          }
        }
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      });
      from.on('end', () => to.end());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
      from.on('error', () => to.destroy());
    };
    relay(client, upstream);
    relay(upstream, client);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

/**
 * The hubs one suite runs its scenarios against: one process on SQLite files (HubControl), or
 * several processes on one PostgreSQL database (PgHubs, test/property/pg-hubs.ts), each behind
 * its own fault proxy. Replica i syncs with the hub `urls[i % urls.length]`.
 */
export interface Hubs {
  readonly urls: string[];
  /** False when the hubs make no snapshots: clones come by change stream. */
  readonly snapshots?: boolean;
  /** Faults that fired, over every proxy. */
  readonly fired: number;
  /** Hub processes SIGKILLed and restarted. */
  readonly restarts: number;
  start(): Promise<void>;
  /** The proxy in front of the hub replica `i` syncs with. */
  proxyOf(i: number): FaultProxy;
  /** SIGKILLs the hub replica `i` syncs with and starts it again. */
  restartOf(i: number): Promise<void>;
  /** A graceful restart of every hub (long runs). */
  recycle(): Promise<void>;
  stop(): Promise<void>;
  /**
   * A SQLite file with the hub's state of a dataset as the oracle reads it (the replicated tables'
   * rows, crsync_conflicts, crsync_resolutions), current when this returns; undefined when the
   * hub has no such dataset. The same path on every call for one dataset.
   */
  datasetFile(dataset: string): string | undefined;
}

/** The hub process behind the proxy: killed with SIGKILL and restarted on the same folder. */
export class HubControl implements Hubs {
  hub: Hub | undefined;
  proxy: FaultProxy | undefined;
  url = '';
  restarts = 0;

  constructor(readonly dir: string) {}

  async start(): Promise<void> {
    this.hub = await startHub(this.dir);
    const port = Number(new URL(this.hub.url).port);
    if (!this.proxy) {
      this.proxy = new FaultProxy(port);
      this.url = `http://127.0.0.1:${await this.proxy.listen()}`;
    } else {
      this.proxy.retarget(port);
    }
  }

  /** SIGKILL: no shutdown, open transactions die with the process. */
  kill(): void {
    this.hub?.proc.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    const old = this.hub;
    this.kill();
    await old?.proc.catch(() => undefined);
    this.restarts++;
    await this.start();
  }

  get urls(): string[] {
    return [this.url];
  }

  get fired(): number {
    return this.proxy?.fired ?? 0;
  }

  proxyOf(): FaultProxy {
    return this.proxy!;
  }

  restartOf(): Promise<void> {
    return this.restart();
  }

  /** The hub's own file: the oracle reads it as it is. */
  datasetFile(dataset: string): string | undefined {
    const file = join(this.dir, `${dataset}.db`);
    return existsSync(file) ? file : undefined;
  }

  /** A graceful restart: the hub keeps every dataset it served open, so long runs recycle it. */
  async recycle(): Promise<void> {
    await this.hub?.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.hub?.stop();
    await this.proxy?.close();
  }
}

/** `crsync pull` of a replica in a child process (the CLI as users run it), to be killed mid-pull. */
export function spawnPull(db: string, pageSize: number): ResultPromise {
  return execa('node', [CLI, '-d', db, 'pull', 'origin', '--page-size', String(pageSize), '--json'], {
    env: { NO_COLOR: '1', CRSYNC_RETRIES: '2', CRSYNC_RETRY_DELAY_MS: '20' },
    reject: false,
  });
}

/**
 * A temp folder on tmpfs when the machine has one: SQLite's fsyncs at file creation and
 * checkpoints cost ~80 ms per replica on disk and nothing there, which decides how many
 * scenarios fit the budget. Crash faults kill processes, not the machine, so the page cache
 * is as durable as the disk for them.
 */
export function scratchDir(prefix: string): { dir: string; path: (name: string) => string; cleanup: () => void } {
  let base = tmpdir();
  try {
    accessSync('/dev/shm', constants.W_OK);
    base = '/dev/shm';
  } catch {
    // no tmpfs: the usual temp folder
  }
  const dir = mkdtempSync(join(base, prefix));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
