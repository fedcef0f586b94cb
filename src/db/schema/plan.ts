import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store.js';
import { applyAdditiveSchema, applySchemaRequest } from './apply.js';
import { readReplicatedSchema, type ReplicatedSchema } from './read.js';
import type { SchemaRequest } from '../../sync/protocol/types.js';

/**
 * What a schema request does to a dataset whose schema is `current`, worked out on a scratch
 * cr-sqlite replica made of that schema: the statements a SQLite hub would run and answer with,
 * the schema it would then report (types, defaults and key positions as SQLite reads them back,
 * version and hash), and the same refusals. A hub that keeps its schema elsewhere (PostgreSQL)
 * takes the result as its own, so both stores answer alike. Costs one small file; runs only for
 * a request that changes something.
 */
export function planSchemaChange(current: ReplicatedSchema, req: SchemaRequest, source: string): { applied: string[]; schema: ReplicatedSchema } {
  const dir = mkdtempSync(join(tmpdir(), 'crsync-schema-'));
  try {
    const store = openStore(join(dir, 'plan.db'), { create: true });
    try {
      if (current.tables.length > 0) applyAdditiveSchema(store.db, { tables: current.tables, columns: [] }, source, current.version);
      const applied = applySchemaRequest(store.db, req, source);
      return { applied, schema: readReplicatedSchema(store.db) };
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
