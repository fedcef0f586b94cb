import type { Command } from 'commander';

// Placeholder until the command is written.
export function registerMigrate(_program: Command): void {}
