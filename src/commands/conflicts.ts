import type { Command } from 'commander';

// Placeholder until the command is written.
export function registerConflicts(_program: Command): void {}
