import type { Command } from 'commander';
import { addRemote, listRemotes, removeRemote } from '../db/state/remotes.js';
import { withStore } from '../db/store.js';
import { renderTable } from '../output/format.js';
import { filePathOf, isHttpUrl, parseHubUrl } from '../sync/transports/url.js';
import { action } from './common.js';

function publicRemote(r: ReturnType<typeof listRemotes>[number]) {
  return { name: r.name, url: r.url, tokenEnv: r.tokenEnv, lastPush: r.lastPush, lastPull: r.lastPull };
}

export function registerRemote(program: Command): void {
  const remote = program.command('remote').description('manage remotes: hubs (http(s)://host:port/<dataset>) or peer database files');
  remote
    .command('add')
    .description('add a remote')
    .argument('<name>', 'remote name')
    .argument('<url>', 'http(s)://host:port/<dataset>, or a path (or file: URL) to another crsync database')
    .option('--token-env <var>', 'environment variable holding the token (never stored)', 'CRSYNC_TOKEN')
    .action(
      action((ctx, name: string, url: string, opts: { tokenEnv: string }) => {
        // Validate the URL now rather than at the first sync.
        const stored = isHttpUrl(url) ? (parseHubUrl(url), url) : filePathOf(url);
        const r = withStore(ctx.globals.db, {}, (s) => addRemote(s.db, name, stored, opts.tokenEnv));
        ctx.out.result(publicRemote(r), (x, c) => `added remote ${c.bold(x.name)} ${x.url}`);
      }),
    );
  remote
    .command('list')
    .description('list remotes')
    .action(
      action((ctx) => {
        const list = withStore(ctx.globals.db, {}, (s) => listRemotes(s.db)).map(publicRemote);
        ctx.out.result(list, (l, c) =>
          l.length === 0
            ? c.dim('no remotes (crsync remote add <name> <url>)')
            : renderTable(['name', 'url', 'token env', 'last pull', 'last push'], l.map((r) => [r.name, r.url, r.tokenEnv, r.lastPull, r.lastPush]), c),
        );
      }),
    );
  remote
    .command('remove')
    .alias('rm')
    .description('remove a remote and its cursors')
    .argument('<name>', 'remote name')
    .action(
      action((ctx, name: string) => {
        withStore(ctx.globals.db, {}, (s) => removeRemote(s.db, name));
        ctx.out.result({ removed: name }, (x) => `removed remote ${x.removed}`);
      }),
    );
}
