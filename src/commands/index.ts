import type { Command } from 'commander';
import { registerInit } from './init.js';
import { registerTrack } from './track.js';
import { registerSql } from './sql.js';
import { registerDoctor } from './doctor.js';

/** Registers every crsync command on the program. */
export function registerCommands(program: Command): void {
  registerInit(program);
  registerTrack(program);
  registerSql(program);
  registerDoctor(program);
}
