import { main } from './cli.js';

// No top-level await: the CLI bundle is CommonJS (scripts/bundle.mjs). main() never rejects
// (run() reports every error itself); were it to, Node reports the rejection and exits 1.
void main();
