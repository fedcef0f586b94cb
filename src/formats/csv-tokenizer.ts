import type { CrsyncError } from '../errors.js';

// RFC 4180 CSV tokenizer for import, keeping the quoting of each field (crsync's CSV types ride
// on it) and the line each record starts on; a bad record skips to the next line.

/** Builds the error for a record that makes the rest of the file unreadable. */
export type Fatal = (line: number, reason: string) => CrsyncError;

/** A field or line this long is refused: it is an unclosed quote or not a data file, and memory must stay bounded. */
export const MAX_FIELD = 64 * 1024 * 1024;

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_SEEN = 3;
const QUOTE_SEEN_CR = 4;
const SKIP_LINE = 5;

export type CsvOut = { line: number; fields: string[]; quoted: boolean[] } | { line: number; error: string };

/**
 * A streaming CSV tokenizer. Written here rather than using csv-parse because --skip-bad needs to
 * resume at the next line after a bad record, and csv-parse's skip_records_with_error loses the
 * records that follow a quote error.
 */
export class CsvTokenizer {
  line = 1;
  constructor(private readonly fatal: Fatal) {}
  private state = FIELD_START;
  private recordLine = 1;
  private quoteLine = 1;
  private fields: string[] = [];
  private quoted: boolean[] = [];
  private field = '';

  push(text: string, out: CsvOut[]): void {
    const n = text.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case FIELD_START:
          this.field = '';
          if (text.charCodeAt(i) === QUOTE) {
            this.state = QUOTED;
            this.quoteLine = this.line;
            i++;
          } else {
            this.state = UNQUOTED;
          }
          break;
        case UNQUOTED: {
          let j = i;
          let c = 0;
          while (j < n && (c = text.charCodeAt(j)) !== COMMA && c !== LF && c !== QUOTE) j++;
          this.field += text.slice(i, j);
          if (j === n) {
            if (this.field.length > MAX_FIELD) throw this.fatal(this.recordLine, 'a field longer than 64 MiB');
            i = n;
          } else if (c === QUOTE) {
            this.fail(out, 'a quote inside an unquoted field (quote the whole field and double the quotes in it)');
            i = j;
          } else {
            this.endField(this.field.endsWith('\r') && c === LF ? this.field.slice(0, -1) : this.field, false, c === LF, out);
            i = j + 1;
          }
          break;
        }
        case QUOTED: {
          const j = text.indexOf('"', i);
          const part = text.slice(i, j < 0 ? n : j);
          for (let k = part.indexOf('\n'); k >= 0; k = part.indexOf('\n', k + 1)) this.line++;
          this.field += part;
          if (j < 0) {
            if (this.field.length > MAX_FIELD) throw this.fatal(this.quoteLine, 'a quoted field longer than 64 MiB (is a quote left open?)');
            i = n;
          } else {
            this.state = QUOTE_SEEN;
            i = j + 1;
          }
          break;
        }
        case QUOTE_SEEN: {
          const c = text.charCodeAt(i);
          if (c === QUOTE) {
            this.field += '"';
            this.state = QUOTED;
          } else if (c === COMMA || c === LF) {
            this.endField(this.field, true, c === LF, out);
          } else if (c === CR) {
            this.state = QUOTE_SEEN_CR;
          } else {
            this.fail(out, 'text after a closing quote (a quote inside a quoted field must be doubled)');
            break;
          }
          i++;
          break;
        }
        case QUOTE_SEEN_CR:
          if (text.charCodeAt(i) === LF) {
            this.endField(this.field, true, true, out);
            i++;
          } else {
            this.fail(out, 'a carriage return after a closing quote, not followed by a line break');
          }
          break;
        default: {
          // SKIP_LINE: after a bad record, resume at the next line.
          const j = text.indexOf('\n', i);
          if (j < 0) {
            i = n;
          } else {
            this.line++;
            this.recordLine = this.line;
            this.state = FIELD_START;
            i = j + 1;
          }
        }
      }
    }
  }

  end(out: CsvOut[]): void {
    switch (this.state) {
      case QUOTED:
        throw this.fatal(this.quoteLine, 'a quoted field is never closed');
      case UNQUOTED:
        this.endField(this.field.endsWith('\r') ? this.field.slice(0, -1) : this.field, false, true, out);
        break;
      case QUOTE_SEEN:
      case QUOTE_SEEN_CR:
        this.endField(this.field, true, true, out);
        break;
      case FIELD_START:
        if (this.fields.length > 0) this.endField('', false, true, out);
        break;
      default:
        break;
    }
  }

  private endField(text: string, quoted: boolean, endsRecord: boolean, out: CsvOut[]): void {
    this.fields.push(text);
    this.quoted.push(quoted);
    this.state = FIELD_START;
    if (!endsRecord) return;
    out.push({ line: this.recordLine, fields: this.fields, quoted: this.quoted });
    this.fields = [];
    this.quoted = [];
    this.line++;
    this.recordLine = this.line;
  }

  private fail(out: CsvOut[], error: string): void {
    out.push({ line: this.recordLine, error });
    this.fields = [];
    this.quoted = [];
    this.state = SKIP_LINE;
  }
}
