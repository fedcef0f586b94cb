import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

// The layers of docs/architecture.md, enforced: a rule broken here is a lint failure.
const chalkOra = { group: ['chalk', 'chalk/*', 'ora', 'ora/*'], message: 'chalk and ora belong in src/output (rendering).' };
const sqlite = { group: ['better-sqlite3'], message: 'better-sqlite3 belongs in src/db (the only SQL).' };
const postgres = { group: ['pg', 'pg/*', 'pg-*'], message: 'the pg client belongs in src/server/pg (the PostgreSQL store).' };
const server = { group: ['**/server/*', '**/server/**'], message: 'client code never imports the hub (src/server).' };
const db = { group: ['**/db/*', '**/db/**'], message: 'protocol code imports nothing from src/db.' };
const clientSide = { group: ['**/client/*', '**/transports/*', '**/endpoint.js'], message: 'protocol code is shared by both sides and imports neither.' };
const http = { group: ['node:http', 'node:https', 'node:net', 'undici'], message: 'commands do no HTTP: call a core function.' };

/** process state is read in src/cli.ts alone (and passed down as options). */
const processState = {
  selector: "MemberExpression[object.name='process'][property.name=/^(env|argv|exit|exitCode|stdout|stderr|stdin)$/]",
  message: 'process.env/argv/exit/stdout/stderr/stdin are read in src/cli.ts only: take them as options.',
};

const restrict = (...patterns) => ['error', { patterns }];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.crsqlite/', 'native/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The CLI's entry and boot are CommonJS (scripts/bundle.mjs says why).
  {
    files: ['bin/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli.ts'],
    rules: { 'no-restricted-syntax': ['error', processState] },
  },
  // Defaults for src: no chalk/ora, no better-sqlite3, no hub.
  { files: ['src/**/*.ts'], rules: { 'no-restricted-imports': restrict(postgres, chalkOra, sqlite, server) } },
  { files: ['src/output/**/*.ts'], rules: { 'no-restricted-imports': restrict(postgres, sqlite, server) } },
  { files: ['src/db/**/*.ts'], rules: { 'no-restricted-imports': restrict(postgres, chalkOra, server) } },
  { files: ['src/server/**/*.ts'], rules: { 'no-restricted-imports': restrict(postgres, chalkOra, sqlite) } },
  { files: ['src/server/pg/**/*.ts'], rules: { 'no-restricted-imports': restrict(chalkOra, sqlite) } },
  // The PostgreSQL store's snapshot worker is bundled as one file (no lazy chunks): it takes the
  // store's snapshot jobs (src/server/pg/snapshot-*.ts) statically. It still imports no pg itself.
  {
    files: ['src/server/pg-snapshot-worker.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'pg', message: postgres.message }], patterns: [chalkOra, sqlite, { regex: '^pg[-/]', message: postgres.message }] }] },
  },
  { files: ['src/commands/**/*.ts'], rules: { 'no-restricted-imports': restrict(postgres, chalkOra, sqlite, server, http) } },
  // `crsync serve` and the demo start a hub: they are the hub's only callers outside it.
  { files: ['src/commands/serve.ts'], rules: { 'no-restricted-imports': restrict(postgres, chalkOra, sqlite, http) } },
  { files: ['src/demo/**/*.ts'], rules: { 'no-restricted-imports': restrict(postgres, chalkOra, sqlite) } },
  { files: ['src/sync/protocol/**/*.ts'], rules: { 'no-restricted-imports': restrict(postgres, chalkOra, sqlite, server, db, clientSide) } },
);
