import type { Command } from 'commander';
import type { RemoteRecord } from '../db/state/remotes.js';
import type { RemoteView } from '../output/remote-render.js';
import { filePathOf, isHttpUrl, parseHubUrl } from '../sync/transports/url.js';
import { action, requestLog, stepDetail } from './common.js';

/** The remote bookkeeping, the store and the renderers, loaded on use (start-up stays light). */
async function load() {
  const [remotes, store, render] = await Promise.all([import('../db/state/remotes.js'), import('../db/store.js'), import('../output/remote-render.js')]);
  return { ...remotes, ...store, ...render };
}

function publicRemote(r: RemoteRecord): RemoteView {
  return { name: r.name, url: r.url, tokenEnv: r.tokenEnv, lastPush: r.lastPush, lastPull: r.lastPull };
}

/** The URL as stored: a hub URL checked now rather than at the first sync, a path made absolute. */
function storedUrl(url: string): string {
  return isHttpUrl(url) ? (parseHubUrl(url), url) : filePathOf(url);
}

const HELP = `
Examples:
  crsync remote                     names of the remotes
  crsync remote -v                  with their URLs and token variables
  crsync remote add origin http://127.0.0.1:7468/todo
  crsync remote set-url origin https://hub.example.org/todo
  crsync remote datasets http://127.0.0.1:7468
`;

export function registerRemote(program: Command): void {
  const remote = program
    .command('remote')
    .description('list remotes (-v: URLs and token variables), or manage them: hubs (http(s)://host:port/<dataset>) or peer database files')
    .addHelpText('after', HELP)
    .action(
      action(async (ctx) => {
        const { withStore, listRemotes, renderRemoteNames } = await load();
        const list = withStore(ctx.globals.db, { inspect: true }, (s) => listRemotes(s.db)).map(publicRemote);
        ctx.out.result(list, (l, c) => renderRemoteNames(l, c, ctx.globals.verbose));
      }),
    );
  remote
    .command('add')
    .description('add a remote')
    .argument('<name>', 'remote name')
    .argument('<url>', 'http(s)://host:port/<dataset>, or a path (or file: URL) to another crsync database')
    .option('--token-env <var>', 'environment variable holding the token (never stored)', 'CRSYNC_TOKEN')
    .action(
      action(async (ctx, name: string, url: string, opts: { tokenEnv: string }) => {
        const stored = storedUrl(url);
        const { withStore, addRemote, renderRemoteAdded } = await load();
        const r = withStore(ctx.globals.db, {}, (s) => addRemote(s.db, name, stored, opts.tokenEnv));
        ctx.out.result(publicRemote(r), renderRemoteAdded);
      }),
    );
  remote
    .command('set-url')
    .description('point a remote at another URL (a different replica there is noticed at the next sync)')
    .argument('<name>', 'remote name')
    .argument('<url>', 'http(s)://host:port/<dataset>, or a path to another crsync database')
    .action(
      action(async (ctx, name: string, url: string) => {
        const stored = storedUrl(url);
        const { withStore, setRemoteUrl, renderRemoteUrlSet } = await load();
        const r = withStore(ctx.globals.db, {}, (s) => setRemoteUrl(s.db, name, stored));
        ctx.out.result(publicRemote(r), renderRemoteUrlSet);
      }),
    );
  remote
    .command('list')
    .description('list remotes with their URLs, token variables and last pull and push')
    .action(
      action(async (ctx) => {
        const { withStore, listRemotes, renderRemoteTable } = await load();
        const list = withStore(ctx.globals.db, { inspect: true }, (s) => listRemotes(s.db)).map(publicRemote);
        ctx.out.result(list, renderRemoteTable);
      }),
    );
  remote
    .command('remove')
    .alias('rm')
    .description('remove a remote and its cursors')
    .argument('<name>', 'remote name')
    .action(
      action(async (ctx, name: string) => {
        const { withStore, removeRemote, renderRemoteRemoved } = await load();
        withStore(ctx.globals.db, {}, (s) => removeRemote(s.db, name));
        ctx.out.result({ removed: name }, renderRemoteRemoved);
      }),
    );
  remote
    .command('datasets')
    .description("list a hub's datasets that the token may use (GET /v1/datasets)")
    .argument('<url>', 'the hub: http(s)://host:port')
    .option('--token-env <var>', 'environment variable holding the token', 'CRSYNC_TOKEN')
    .action(
      action(async (ctx, url: string, opts: { tokenEnv: string }) => {
        const [{ HttpTransport }, { renderDatasets }] = await Promise.all([import('../sync/transports/http.js'), import('../output/remote-render.js')]);
        const t = new HttpTransport(url, ctx.env[opts.tokenEnv] || undefined, { hubOnly: true, tokenEnv: opts.tokenEnv, onRequest: requestLog(ctx) });
        try {
          const hub = new URL(url).origin;
          const started = performance.now();
          const datasets = await t.listDatasets();
          stepDetail(ctx, `remote datasets: ${datasets.length} listed`, started);
          ctx.out.result({ hub, datasets }, renderDatasets);
        } finally {
          await t.close();
        }
      }),
    );
}
