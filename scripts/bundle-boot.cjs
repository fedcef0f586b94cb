'use strict';
// The CLI's entry (copied to dist/bundle/crsync.js by scripts/bundle.mjs): loads the bundle's
// CommonJS chunks through V8's code cache, then runs main.js. A CLI process is short: parsing and
// compiling ~450 KB of JavaScript was a tenth of a push's instructions; a cached chunk is
// deserialized instead. One cache per chunk and command (`crsync push` and `crsync status` run
// different functions of the same chunks), in .v8-cache/ next to the chunks, written when the
// process exits by a process that found none (or one V8 rejected: another Node, other flags).
// Invariant: a cache is used only for the very file it was made from (name, size and mtime
// are in its name; V8 itself checks only the source's length), and a missing, unreadable or
// rejected cache only costs the normal compile. Nothing here changes what the command does.
const Module = require('node:module');
const vm = require('node:vm');
const fs = require('node:fs');
const path = require('node:path');

const cacheDir = path.join(__dirname, '.v8-cache');
const pending = [];

/** The command's name (the first argument that is no option or option value), as a file-name part. */
function commandKey(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-d' || a === '--db') i++;
    else if (a === '--') return 'none';
    else if (!a.startsWith('-')) return /^[a-z][a-z-]{0,30}$/.test(a) ? a : 'other';
  }
  return 'none';
}
const command = commandKey(process.argv.slice(2));

// Stack traces mapped to src/ (`--debug`, or Node's --enable-source-maps) need Node's own compile,
// which registers each chunk's source map: those runs go without the cache.
const mapped = process.sourceMapsEnabled === true || process.argv.includes('--debug');
const compile = Module.prototype._compile;
Module.prototype._compile = function compileCached(content, filename) {
  if (mapped || path.dirname(filename) !== __dirname) return compile.call(this, content, filename);
  let file;
  let cachedData;
  try {
    const st = fs.statSync(filename);
    file = path.join(cacheDir, `${path.basename(filename, '.js')}.${command}.${st.size}-${Math.trunc(st.mtimeMs)}.bin`);
    cachedData = fs.readFileSync(file);
  } catch {
    cachedData = undefined;
  }
  // Module.wrap: the same function Node's own loader makes of a CommonJS file.
  const script = new vm.Script(Module.wrap(content), { filename, cachedData });
  if (file && (cachedData === undefined || script.cachedDataRejected)) pending.push({ script, file });
  const fn = script.runInThisContext({ displayErrors: true });
  const req = (id) => this.require(id);
  req.resolve = (request, options) => Module._resolveFilename(request, this, false, options);
  req.cache = Module._cache;
  req.main = require.main;
  return fn.call(this.exports, this.exports, req, this, filename, __dirname);
};

process.once('exit', () => {
  if (pending.length === 0) return;
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    for (const { script, file } of pending) {
      // Written whole, then renamed: a concurrent process reads the old file or the new one.
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, file);
    }
  } catch {
    // A read-only install: every run compiles, as without the cache.
  }
});

require('./main.js');
