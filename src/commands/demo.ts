import type { Command } from 'commander';

// Placeholder until the command is written.
export function registerDemo(_program: Command): void {}
