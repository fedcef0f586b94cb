import type { Command } from 'commander';

// Placeholder until the command is written.
export function registerResolve(_program: Command): void {}
