import type { ChalkInstance } from 'chalk';
import type { DoctorResult } from '../db/doctor.js';
import type { InitResult } from '../db/replica.js';

/** `crsync init`: the path and the site id. */
export function renderInit(r: InitResult, c: ChalkInstance): string {
  return [`${r.created ? 'Initialized' : 'Already initialized'} ${c.bold(r.db)}`, `site id ${c.cyan(r.siteId)}`].join('\n');
}

/** `crsync doctor`: versions, the extension, and the database identity. */
export function renderDoctor(d: DoctorResult, c: ChalkInstance): string {

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
}
