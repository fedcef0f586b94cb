import type { Command } from 'commander';

// Placeholder until the command is written.
export function registerStatus(_program: Command): void {}
