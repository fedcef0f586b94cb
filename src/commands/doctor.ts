import type { Command } from 'commander';
import { runDoctor } from '../db/doctor.js';
import { renderDoctor } from '../output/replica-render.js';
import { action } from './common.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('versions, the cr-sqlite extension, and the database identity')
    .action(
      action((ctx) => {
        const r = runDoctor(ctx.globals.db);
        ctx.out.result(r, renderDoctor);
      }),
    );
}
