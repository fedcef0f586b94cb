import { extname } from 'node:path';
import { LosslessNumber, isLosslessNumber, parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { jsonParser, type Token } from 'stream-json/core/parser.js';
import { parseCsvField } from './csv-write.js';
import { CsvTokenizer, MAX_FIELD, type CsvOut, type Fatal } from './csv-tokenizer.js';
import { CrsyncError } from '../errors.js';
import { fromJsonValue, parseNumberLiteral, type SqlValue } from '../values.js';

/** File formats import reads and export writes. */
export type DataFormat = 'csv' | 'ndjson' | 'json';
export const DATA_FORMATS: readonly DataFormat[] = ['csv', 'ndjson', 'json'];

/** The format a file name implies (.csv, .ndjson/.jsonl, .json), or undefined. */
export function formatFromPath(path: string): DataFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'ndjson';
  if (ext === '.json') return 'json';
  return undefined;
}

/** One unit read from an import file; `line` is where it starts (1-based). */
export type ImportRecord =
  | { kind: 'header'; line: number; columns: string[] }
  | { kind: 'row'; line: number; columns: readonly string[]; values: SqlValue[] }
  | { kind: 'bad'; line: number; reason: string };


/** Reads a file as batches of records (one batch per input chunk); malformed input that cannot be skipped throws. */
export function readRecords(format: DataFormat, input: AsyncIterable<Buffer | string>, name: string): AsyncGenerator<ImportRecord[]> {
  const fatal = (line: number, reason: string): CrsyncError => unreadable(name, line, reason);
  if (format === 'csv') return readCsv(input, fatal);
  if (format === 'ndjson') return readNdjson(input, fatal);
  return readJsonArray(input, fatal);
}


function unreadable(name: string, line: number, reason: string): CrsyncError {
  return new CrsyncError('bad_input', `line ${line} of ${name}: ${reason}`, {
    hint: 'nothing of the file was imported (--skip-bad cannot skip this: the rest of the file cannot be read)',
    details: { line },
  });
}

/** UTF-8 text of the input; a byte-order mark is dropped, invalid UTF-8 is an error. */
async function* decodeUtf8(input: AsyncIterable<Buffer | string>, line: () => number, fatal: Fatal): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let chunk: Buffer | string = '';
  try {
    for await (chunk of input) yield typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const rest = decoder.decode();
    if (rest) yield rest;
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    // The chunk is decoded whole before it is read: count the lines in it up to the bad bytes.
    const lossy = new TextDecoder().decode(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    const before = lossy.slice(0, Math.max(lossy.indexOf('\uFFFD'), 0));
    throw fatal(line() + before.split('\n').length - 1, 'the file is not valid UTF-8');
  }
}

// ---- CSV (RFC 4180): the tokenizer is in csv-tokenizer.ts.

async function* readCsv(input: AsyncIterable<Buffer | string>, fatal: Fatal): AsyncGenerator<ImportRecord[]> {
  const tokenizer = new CsvTokenizer(fatal);
  let header: string[] | undefined;
  const convert = (raw: CsvOut[]): ImportRecord[] => {
    const records: ImportRecord[] = [];
    for (const r of raw) {
      if ('error' in r) {
        if (!header) throw fatal(r.line, `bad header: ${r.error}`);
        records.push({ kind: 'bad', line: r.line, reason: r.error });
      } else if (!header) {
        header = r.fields;
        records.push({ kind: 'header', line: r.line, columns: header });
      } else if (r.fields.length === 1 && r.fields[0] === '' && !r.quoted[0] && header.length > 1) {
        // A blank line. (With one column it is a row whose value is NULL, as export writes it.)
      } else if (r.fields.length !== header.length) {
        records.push({ kind: 'bad', line: r.line, reason: `expected ${header.length} fields, found ${r.fields.length}` });
      } else {
        const values = r.fields.map((f, i) => parseCsvField(f, r.quoted[i]!));
        records.push({ kind: 'row', line: r.line, columns: header, values });
      }
    }
    return records;
  };
  for await (const text of decodeUtf8(input, () => tokenizer.line, fatal)) {
    const raw: CsvOut[] = [];
    tokenizer.push(text, raw);
    yield convert(raw);
  }
  const raw: CsvOut[] = [];
  tokenizer.end(raw);
  yield convert(raw);
  if (!header) throw fatal(1, 'the file is empty (a CSV file needs a header line)');
}

// ---- JSON values

/** Why a JSON value cannot be a row (becomes a bad line). */
class BadValue extends Error {}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (isLosslessNumber(v)) return 'a number';
  return `a ${typeof v}`;
}

/**
 * A parsed JSON value (numbers as LosslessNumber) as a SqlValue: the spelling of a number decides
 * INTEGER or REAL, booleans are 1/0, {"$blob": hex} is a BLOB, other objects and arrays are JSON
 * text with their numbers written exactly as in the file.
 */
function toSqlValue(v: unknown, column: string): SqlValue {
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (isLosslessNumber(v)) return parseNumberLiteral(v.value);
  if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 1 && Object.hasOwn(v, '$blob')) {
    const blob = fromJsonValue(v);
    if (blob === undefined) throw new BadValue(`column ${column}: {"$blob": ...} needs a string of hex digit pairs`);
    return blob;
  }
  return stringifyLossless(v) ?? 'null';
}

function objectRecord(v: unknown, line: number): ImportRecord {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || isLosslessNumber(v)) {
    return { kind: 'bad', line, reason: `expected a JSON object, found ${describe(v)}` };
  }
  const columns = Object.keys(v);
  try {
    const values = columns.map((k) => toSqlValue((v as Record<string, unknown>)[k], k));
    return { kind: 'row', line, columns, values };
  } catch (err) {
    if (err instanceof BadValue) return { kind: 'bad', line, reason: err.message };
    throw err;
  }
}

// ---- NDJSON: one object per line; blank lines are ignored.

async function* readNdjson(input: AsyncIterable<Buffer | string>, fatal: Fatal): AsyncGenerator<ImportRecord[]> {
  let line = 0;
  let rest = '';
  const parseLine = (text: string, out: ImportRecord[]): void => {
    line++;
    if (text.trim() === '') return;
    let v: unknown;
    try {
      // No number parser: numbers stay LosslessNumber so nested JSON text keeps them exactly;
      // toSqlValue types top-level ones with parseNumberLiteral.
      v = parseLossless(text);
    } catch (err) {
      out.push({ kind: 'bad', line, reason: `invalid JSON: ${(err as Error).message}` });
      return;
    }
    out.push(objectRecord(v, line));
  };
  for await (const text of decodeUtf8(input, () => line + 1, fatal)) {
    const out: ImportRecord[] = [];
    let start = 0;
    for (let j = text.indexOf('\n'); j >= 0; j = text.indexOf('\n', start)) {
      parseLine(rest + text.slice(start, j), out);
      rest = '';
      start = j + 1;
    }
    rest += text.slice(start);
    if (rest.length > MAX_FIELD) throw fatal(line + 1, 'a line longer than 64 MiB');
    yield out;
  }
  const out: ImportRecord[] = [];
  if (rest !== '') parseLine(rest, out);
  yield out;
}

// ---- JSON array: streamed token by token (stream-json); one element at a time is held in memory.

type Container = Record<string, unknown> | unknown[];

/** Builds the elements of a top-level array from stream-json tokens. */
class ArrayAssembler {
  constructor(private readonly fatal: Fatal) {}
  started = false;
  ended = false;
  private stack: { value: Container; key: string }[] = [];
  private elementLine = 0;
  private duplicate: string | undefined;

  feed(tokens: readonly Token[], line: number, out: ImportRecord[]): void {
    for (const t of tokens) {
      switch (t.name) {
        case 'startObject':
        case 'startArray':
          if (!this.started) {
            if (t.name !== 'startArray') throw this.fatal(line, 'expected a JSON array of objects (one object per line is --format ndjson)');
            this.started = true;
            break;
          }
          if (this.stack.length === 0) this.elementLine = line;
          this.stack.push({ value: t.name === 'startArray' ? [] : {}, key: '' });
          break;
        case 'endObject':
        case 'endArray': {
          const frame = this.stack.pop();
          if (frame) this.add(frame.value, line, out);
          else this.ended = true;
          break;
        }
        case 'keyValue':
          this.stack[this.stack.length - 1]!.key = t.value;
          break;
        case 'stringValue':
        case 'nullValue':
        case 'trueValue':
        case 'falseValue':
          this.add(t.value, line, out);
          break;
        case 'numberValue':
          this.add(new LosslessNumber(t.value), line, out);
          break;
        default:
          break;
      }
    }
  }

  private add(v: unknown, line: number, out: ImportRecord[]): void {
    if (!this.started) throw this.fatal(line, 'expected a JSON array of objects');
    const top = this.stack[this.stack.length - 1];
    if (!top) {
      const at = typeof v === 'object' && v !== null && !isLosslessNumber(v) ? this.elementLine : line;
      if (this.duplicate !== undefined) out.push({ kind: 'bad', line: at, reason: `duplicate key ${JSON.stringify(this.duplicate)}` });
      else out.push(objectRecord(v, at));
      this.duplicate = undefined;
    } else if (Array.isArray(top.value)) {
      top.value.push(v);
    } else {
      if (this.stack.length === 1 && Object.hasOwn(top.value, top.key)) this.duplicate ??= top.key;
      // defineProperty: a "__proto__" key is data, not the prototype.
      Object.defineProperty(top.value, top.key, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
}

const NONE = Symbol.for('object-stream.none');

async function* readJsonArray(input: AsyncIterable<Buffer | string>, fatal: Fatal): AsyncGenerator<ImportRecord[]> {
  const parser = jsonParser({ packValues: true, streamValues: false }) as unknown as (chunk: string | symbol) => unknown;
  const assembler = new ArrayAssembler(fatal);
  let line = 1;
  // The last line with something on it: where an error found at the end of the input is.
  let lastLine = 0;
  const run = (chunk: string | symbol, out: ImportRecord[]): void => {
    let result: unknown;
    try {
      result = parser(chunk);
    } catch (err) {
      const reason = (err as Error).message.replace(/^Parser (cannot parse input: |has )?/, '');
      if (chunk === NONE) throw fatal(lastLine, `invalid JSON at the end of the file: ${reason}`);
      throw fatal(line, `invalid JSON: ${reason}`);
    }
    if (typeof result === 'object' && result !== null) assembler.feed((result as { values: Token[] }).values, line, out);
  };
  for await (const text of decodeUtf8(input, () => line, fatal)) {
    const out: ImportRecord[] = [];
    // Fed a line at a time so that each token, and each error, is known to be on `line`.
    let start = 0;
    while (start < text.length) {
      const j = text.indexOf('\n', start);
      const end = j < 0 ? text.length : j + 1;
      const piece = text.slice(start, end);
      if (lastLine !== line && piece.trim() !== '') lastLine = line;
      run(piece, out);
      if (j >= 0) line++;
      start = end;
    }
    yield out;
  }
  const out: ImportRecord[] = [];
  if (lastLine === 0) throw fatal(1, 'the file is empty (expected a JSON array of objects)');
  try {
    run(NONE, out);
  } catch (err) {
    if (!assembler.started) throw fatal(lastLine, 'expected a JSON array of objects');
    throw err;
  }
  if (!assembler.ended) throw fatal(lastLine, 'the file ends before the JSON array is closed');
  yield out;
}
