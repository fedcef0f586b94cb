import type { Command } from 'commander';
import { registerInit } from './init.js';
import { registerTrack } from './track.js';
import { registerSql } from './sql.js';
import { registerDoctor } from './doctor.js';
import { registerImport } from './import.js';
import { registerExport } from './export.js';
import { registerServe } from './serve.js';
import { registerRemote } from './remote.js';
import { registerClone } from './clone.js';
import { registerTransfers } from './transfer.js';

/** Registers every crsync command on the program. */
export function registerCommands(program: Command): void {
  registerInit(program);
  registerTrack(program);
  registerSql(program);
  registerDoctor(program);
  registerImport(program);
  registerExport(program);
  registerServe(program);
  registerRemote(program);
  registerClone(program);
  registerTransfers(program);
}
