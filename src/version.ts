import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './db/extension.js';

/** crsync's version, from its package.json. */
export const VERSION: string = (
  JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }
).version;
