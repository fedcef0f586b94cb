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
import { registerConflicts } from './conflicts.js';
import { registerResolve } from './resolve.js';
import { registerStatus } from './status.js';
import { registerLog } from './log.js';
import { registerDemo } from './demo.js';
import { registerMigrate } from './migrate.js';
import { registerConflictsShow } from './conflicts-show.js';
import { registerShow } from './show.js';
import { registerDiff } from './diff.js';
import { registerStats } from './stats.js';

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
  registerConflicts(program);
  registerResolve(program);
  registerStatus(program);
  registerLog(program);
  registerDemo(program);
  registerMigrate(program);
  registerConflictsShow(program);
  registerShow(program);
  registerDiff(program);
  registerStats(program);
}
