import type { Command } from 'commander';
import { runDoctor } from '../db/doctor.js';
import { action } from './common.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('versions, the cr-sqlite extension, and the database identity')
    .action(
      action((ctx) => {
        const r = runDoctor(ctx.globals.db);
        ctx.out.result(r, (d, c) => {
          const ok = (b: boolean): string => (b ? c.green('ok') : c.red('FAILED'));
          const lines = [
            `node            ${d.node}`,
            `better-sqlite3  ${d.betterSqlite3} (SQLite ${d.sqlite})`,
            `cr-sqlite       ${d.crsqlite.version} ${ok(d.crsqlite.loaded)}  ${c.dim(d.crsqlite.path)}`,
          ];
          if (d.crsqlite.error) lines.push(c.red(`  ${d.crsqlite.error}`), c.dim('  hint: run `npm run build:crsqlite`'));
          if (d.db) {
            lines.push(
              `database        ${d.db.path}`,
              `site id         ${d.db.siteId}`,
              `db_version      ${d.db.dbVersion}`,
              `schema          v${d.db.schemaVersion} ${c.dim(d.db.schemaHash.slice(0, 12))}`,
              `tables          ${d.db.tables.map((t) => `${t.name} (${t.rows})`).join(', ') || c.dim('none replicated')}`,
            );
          } else {
            lines.push(`database        ${c.dim(d.dbError ? `cannot open: ${d.dbError}` : 'none')}`);
          }
          return lines.join('\n');
        });
      }),
    );
}
