import { mkdirSync } from 'node:fs';
import { startPgCluster } from '../../scripts/pg-cluster.mjs';
import type { PgCluster } from '../e2e/store-helpers.js';
import { startHubOn, type Hub } from '../helpers.js';
import { FaultProxy, type Hubs } from './faults.js';
import { writeDatasetFile } from './pg-dataset-file.js';

/*
 * Several `crsync serve --store postgres://…` processes on one throwaway PostgreSQL database,
 * each behind its own fault proxy: replicas spread over them, and a hub killed mid-transfer is
 * one of several that share the store. The oracle reads the store itself (pg-dataset-file.ts).
 */
export class PgHubs implements Hubs {
  private cluster: PgCluster | undefined;
  private readonly hubs: (Hub | undefined)[];
  private readonly proxies: FaultProxy[] = [];
  readonly urls: string[] = [];
  restarts = 0;

  constructor(
    readonly dir: string,
    readonly count: number,
  ) {
    this.hubs = new Array<Hub | undefined>(count);
  }

  get fired(): number {
    return this.proxies.reduce((n, p) => n + p.fired, 0);
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.cluster ??= (await startPgCluster()) as PgCluster;
    // All at once: the store's set-up is serialised in PostgreSQL (an advisory lock), not here.
    await Promise.all(Array.from({ length: this.count }, (_, i) => this.startOne(i)));
  }

  private async startOne(i: number): Promise<void> {
    const hub = await startHubOn({ postgres: this.cluster!.url });
    this.hubs[i] = hub;
    const port = Number(new URL(hub.url).port);
    const proxy = this.proxies[i];
    if (proxy) proxy.retarget(port);
    else {
      this.proxies[i] = new FaultProxy(port);
      this.urls[i] = `http://127.0.0.1:${await this.proxies[i]!.listen()}`;
    }
  }

  proxyOf(i: number): FaultProxy {
    return this.proxies[i % this.count]!;
  }

  /** SIGKILL: that process's open transactions die with its connections; the others serve on. */
  async restartOf(i: number): Promise<void> {
    const at = i % this.count;
    const old = this.hubs[at];
    old?.proc.kill('SIGKILL');
    await old?.proc.catch(() => undefined);
    this.restarts++;
    await this.startOne(at);
  }

  async recycle(): Promise<void> {
    await Promise.all(this.hubs.map((h) => h?.stop()));
    await this.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.hubs.map((h) => h?.stop()));
    for (const p of this.proxies) await p.close();
    await this.cluster?.stop();
  }

  datasetFile(dataset: string): string | undefined {
    return writeDatasetFile(this.cluster!.url, dataset, this.dir);
  }
}
