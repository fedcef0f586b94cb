import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CrsyncError } from '../errors.js';
import { repairDataset, type RepairResult } from '../db/repair.js';
import { DATASET_NAME, badRequest } from './request.js';

/** `crsync serve --dir <dir> --repair <dataset>`: repairs one dataset file of a stopped hub. */
export function repairDatasetIn(dir: string, name: string): RepairResult {
  if (!DATASET_NAME.test(name) || name.includes('..')) throw badRequest(`invalid dataset name ${JSON.stringify(name)}`);
  const path = resolve(join(dir, `${name}.db`));
  if (!existsSync(path)) throw new CrsyncError('dataset_not_found', `no dataset named ${name} in ${dir}`, { hint: 'pass the hub folder (--dir) and a dataset name without .db' });
  return repairDataset(path, name);
}
