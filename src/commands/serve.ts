import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { action } from './common.js';
import { LOG_FORMATS, renderRequestLine, renderShutdown, type LogFormat } from '../output/hub-render.js';
import { addLimitOptions, limitsFrom } from '../server/limit-options.js';
import { parseQuantity } from '../units.js';
import { DEFAULT_STORE_POOL } from '../server/limits.js';

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run a hub at http://host:port/<dataset>: one cr-sqlite database per dataset in --dir, or every dataset in one PostgreSQL database (--store)')
    .option('--dir <folder>', 'folder holding the datasets (the SQLite store)')
    .option('--store <url>', 'keep the datasets in PostgreSQL instead: postgres://user@host:port/db (env CRSYNC_SERVE_STORE)')
    .option('--store-pool <n>', `PostgreSQL connections this hub keeps, pulls and pushes in flight share them (env CRSYNC_SERVE_STORE_POOL; default ${DEFAULT_STORE_POOL})`)
    .option('--host <host>', 'address to listen on (loopback unless given)', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '7468')
    .option('--tokens <file>', 'tokens file: "<token> <read|read-write> [datasets]" per line')
    .option('--tls-cert <file>', 'TLS certificate (PEM)')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--dataset-idle <duration>', 'close a dataset\'s files after this long with no request (env CRSYNC_SERVE_DATASET_IDLE; default 60s)')
    .option('--repair <dataset>', 'instead of serving: repair a dataset whose clocks an older crsync let reach the ceiling (hub stopped; clients clone again)')
    .option('--log-format <format>', 'request log on stderr, one line per request: text or json (-q: none)', 'text')
    .action(
      action(async (ctx, opts: { dir?: string; store?: string; storePool?: string; host: string; port: string; tokens?: string; tlsCert?: string; tlsKey?: string; datasetIdle?: string; repair?: string; logFormat: string } & Record<string, unknown>) => {
        const where = storeOf(opts, ctx.env);
        if (opts.repair !== undefined) {
          if (where.dir === undefined) throw new UsageError('--repair works on a dataset file of --dir', 'stop the hub and run crsync serve --dir <folder> --repair <dataset>');
          const { repairDatasetIn } = await import('../server/repair.js');
          ctx.out.result(repairDatasetIn(where.dir, opts.repair));
          return;
        }
        if (!(LOG_FORMATS as readonly string[]).includes(opts.logFormat)) {
          throw new UsageError(`unknown log format ${opts.logFormat}`, `use one of ${LOG_FORMATS.join(', ')}`);
        }
        const format = opts.logFormat as LogFormat;
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, got ${opts.port}`);
        const limits = limitsFrom(opts, ctx.env);
        const idle = opts.datasetIdle ?? ctx.env.CRSYNC_SERVE_DATASET_IDLE;
        const datasetIdleMs = idle ? parseQuantity(opts.datasetIdle !== undefined ? '--dataset-idle' : 'CRSYNC_SERVE_DATASET_IDLE', idle, 'duration') : undefined;
        const { startServer } = await import('../server/hub.js');
        const hub = await startServer({
          ...where,
          host: opts.host,
          port,
          tokensFile: opts.tokens,
          tlsCert: opts.tlsCert,
          tlsKey: opts.tlsKey,
          limits,
          datasetIdleMs,
          log: (line) => ctx.out.warn(line),
          onRequest: (e) => ctx.out.log(renderRequestLine(e, format, ctx.out.e)),
        });
        // The first stdout line is the URL: tests and scripts read it.
        ctx.out.data(hub.url + '\n');
        if (!opts.tokens && opts.host !== '127.0.0.1' && opts.host !== 'localhost' && opts.host !== '::1') {
          ctx.out.warn('no --tokens: anyone who can reach this address may read and write every dataset');
        }
        ctx.out.note(`serving ${where.dir ?? hub.store} at ${hub.url}/<dataset> (Ctrl-C stops)`);
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) resolve();
          ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        ctx.out.note(renderShutdown(hub.inFlight()));
        await hub.close();
      }),
    );
  // Declared after the action, so these come last in --help.
  addLimitOptions(cmd);
}

/** Where the datasets live: --dir (SQLite files) or --store / CRSYNC_SERVE_STORE (PostgreSQL), exactly one. */
function storeOf(opts: { dir?: string; store?: string; storePool?: string }, env: NodeJS.ProcessEnv): { dir?: string; store?: string; storePool?: number } {
  const store = opts.store ?? (env.CRSYNC_SERVE_STORE || undefined);
  const both = 'give --dir <folder> for SQLite files or --store postgres://user@host:port/db for PostgreSQL';
  if (opts.dir !== undefined && store !== undefined) {
    const from = opts.store !== undefined ? '--store' : 'CRSYNC_SERVE_STORE';
    throw new UsageError(`--dir and ${from} both name where the datasets live`, `${both}, not both`);
  }
  if (opts.dir === undefined && store === undefined) throw new UsageError('no store: the hub needs --dir or --store', both);
  if (store !== undefined && !/^postgres(ql)?:\/\//.test(store)) throw new UsageError(`--store takes a postgres:// URL, got ${JSON.stringify(store)}`, 'postgres://user@host:port/db');
  const poolText = opts.storePool ?? (env.CRSYNC_SERVE_STORE_POOL || undefined);
  if (poolText !== undefined && store === undefined) throw new UsageError('--store-pool sizes the PostgreSQL store', 'use it with --store');
  const storePool = poolText === undefined ? undefined : parseQuantity(opts.storePool !== undefined ? '--store-pool' : 'CRSYNC_SERVE_STORE_POOL', poolText, 'count');
  if (storePool !== undefined && (storePool < 2 || storePool > 1000)) throw new UsageError(`--store-pool must be 2-1000, got ${poolText}`);
  return store !== undefined ? { store, storePool } : { dir: opts.dir };
}
