import type { Command } from 'commander';

// Placeholder until the command is written.
export function registerLog(_program: Command): void {}
