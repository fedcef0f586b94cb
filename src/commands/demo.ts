import type { Command } from 'commander';
import { action } from './common.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('see crsync work in one command: a hub, two replicas, offline edits, a conflict, resolve, converge')
    .option('--dir <folder>', 'work in this (new or empty) folder and keep it')
    .option('--keep', 'keep the temporary folder')
    .action(
      action(async (ctx, opts: { dir?: string; keep?: boolean }) => {
        const [{ runDemo }, { renderDemoEnd, renderDemoStep }] = await Promise.all([import('../demo/run.js'), import('../output/demo-render.js')]);
        const result = await runDemo({
          dir: opts.dir,
          keep: opts.keep === true,
          env: ctx.env,
          signal: ctx.signal,
          onStep: (s) => {
            if (!ctx.out.json) ctx.out.data(renderDemoStep(s, ctx.out.c) + '\n');
          },
        });
        ctx.out.result(result, renderDemoEnd);
      }),
    );
}
