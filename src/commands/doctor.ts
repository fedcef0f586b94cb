import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { action } from './common.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('versions, the cr-sqlite extension, and the database identity')
    .action(
      action(async (ctx) => {
        const [{ runDoctor }, { renderDoctor }] = await Promise.all([import('../db/doctor.js'), import('../output/replica-render.js')]);
        const r = runDoctor(ctx.globals.db);
        ctx.out.result(r, renderDoctor);
        // A file that is there but cannot be inspected (not a replica, corrupt) is a failure.
        if (r.dbError !== undefined) ctx.exitCode = ExitCode.failure;
      }),
    );
}
