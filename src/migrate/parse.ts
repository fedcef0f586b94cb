/**
 * Classifying the statements of a migration file, so each can be checked against the replicated
 * tables before anything runs. Only the shapes that matter for safety are parsed; everything else
 * is 'other' and SQLite itself judges it when it runs.
 */
import { isWord, splitMigration, type Token } from '../sqltext/lex.js';

/** What a statement does, as far as the checks care. */
export type StatementKind =
  | 'add_column'
  | 'drop_column'
  | 'rename_table'
  | 'rename_column'
  | 'create_table'
  | 'create_index'
  | 'drop_table'
  | 'drop_index'
  | 'create_view'
  | 'drop_view'
  | 'create_trigger'
  | 'drop_trigger'
  | 'write'
  | 'transaction'
  | 'pragma'
  | 'outside_transaction'
  | 'other';

/** A new column's constraints, as far as replication cares. */
export interface ColumnFlags {
  notnull: boolean;
  /** DEFAULT given (with any expression). */
  hasDefault: boolean;
  /** The default is a plain literal (number, string, blob, NULL, TRUE, FALSE, CURRENT_*). */
  literalDefault: boolean;
  primaryKey: boolean;
  unique: boolean;
  references: boolean;
}

/** One statement of a migration, classified. */
export interface ParsedStatement {
  /** 1-based position in the file. */
  index: number;
  sql: string;
  /** First line of the statement, for messages. */
  firstLine: string;
  kind: StatementKind;
  /** The table it changes, writes or indexes (schema prefix 'main' dropped), when known. */
  table: string | null;
  /** Schema named before the table (temp, an attached one), or null for main. */
  schema: string | null;
  /** Column added, dropped or renamed. */
  column: string | null;
  /** New name of a rename. */
  newName: string | null;
  unique: boolean;
  flags: ColumnFlags | null;
  /** A crsql_* function it calls, if any. */
  crsqlCall: string | null;
  /** Names it mentions that look like crsync's or cr-sqlite's own tables. */
  internalNames: string[];
}

/** Reads names and keywords off a statement's tokens. */
class Cursor {
  i = 0;
  constructor(readonly tokens: Token[]) {}
  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }
  /** Consumes the words in order when they all come next. */
  accept(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) if (!isWord(this.peek(k), words[k]!)) return false;
    this.i += words.length;
    return true;
  }
  /** A possibly schema-qualified name. */
  name(): { schema: string | null; name: string | null } {
    const first = this.peek();
    if (!first || first.type === 'punct' || first.type === 'number') return { schema: null, name: null };
    this.i++;
    if (this.peek()?.value === '.' && this.peek()?.type === 'punct') {
      this.i++;
      const second = this.peek();
      this.i++;
      const schema = first.value.toLowerCase() === 'main' ? null : first.value;
      return { schema, name: second?.value ?? null };
    }
    return { schema: null, name: first.value };
  }
}

function columnFlags(tokens: Token[]): ColumnFlags {
  const flags: ColumnFlags = { notnull: false, hasDefault: false, literalDefault: false, primaryKey: false, unique: false, references: false };
  let depth = 0;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.type === 'punct' && t.value === '(') depth++;
    if (t.type === 'punct' && t.value === ')') depth--;
    if (depth > 0) continue;
    if (isWord(t, 'NOT') && isWord(tokens[k + 1], 'NULL')) flags.notnull = true;
    else if (isWord(t, 'PRIMARY')) flags.primaryKey = true;
    else if (isWord(t, 'UNIQUE')) flags.unique = true;
    else if (isWord(t, 'REFERENCES')) flags.references = true;
    else if (isWord(t, 'DEFAULT')) {
      flags.hasDefault = true;
      flags.literalDefault = isLiteral(tokens.slice(k + 1));
    }
  }
  return flags;
}

/** True when the tokens after DEFAULT start with one literal value (optionally signed or in parentheses). */
function isLiteral(rest: Token[]): boolean {
  let k = 0;
  const paren = rest[0]?.type === 'punct' && rest[0].value === '(';
  if (paren) k++;
  if (rest[k]?.type === 'punct' && (rest[k]!.value === '-' || rest[k]!.value === '+')) {
    k++;
    if (rest[k]?.type !== 'number') return false;
  }
  const v = rest[k];
  // Numbers as the hub accepts them (no hex, no leading dot): other replicas get the default as text.
  const number = v?.type === 'number' && /^\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v.value);
  const ok = v !== undefined && (number || v.type === 'string' || v.type === 'blob' || isWord(v, 'NULL', 'TRUE', 'FALSE', 'CURRENT_TIME', 'CURRENT_DATE', 'CURRENT_TIMESTAMP'));
  if (!ok) return false;
  const next = rest[k + 1];
  if (paren) return next?.type === 'punct' && next.value === ')' && !isOperator(rest[k + 2]);
  return !isOperator(next);
}

const isOperator = (t: Token | undefined): boolean =>
  t !== undefined && ((t.type === 'punct' && /[-+*/%|&<>=!~]/.test(t.value)) || isWord(t, 'IS', 'AND', 'OR', 'BETWEEN', 'IN', 'LIKE'));

const INTERNAL = /^(crsync_|crsql_)|__crsql_/i;

/** Classifies one statement of a migration. */
export function parseStatement(index: number, sql: string, tokens: Token[]): ParsedStatement {
  const firstLine = sql.trim().split('\n')[0]!.trim().replace(/;$/, '').slice(0, 100);
  const call = tokens.findIndex((t, k) => t.type === 'word' && /^crsql_/i.test(t.value) && tokens[k + 1]?.value === '(');
  const s: ParsedStatement = {
    index,
    sql,
    firstLine,
    kind: 'other',
    table: null,
    schema: null,
    column: null,
    newName: null,
    unique: false,
    flags: null,
    crsqlCall: call >= 0 ? tokens[call]!.value : null,
    internalNames: [
      ...new Set(
        tokens
          .filter((t, k) => (t.type === 'word' || t.type === 'ident') && INTERNAL.test(t.value) && tokens[k + 1]?.value !== '(')
          .map((t) => t.value),
      ),
    ],
  };
  const c = new Cursor(tokens);
  const setTable = (n: { schema: string | null; name: string | null }): void => {
    s.table = n.name;
    s.schema = n.schema;
  };
  if (c.accept('ALTER', 'TABLE')) {
    setTable(c.name());
    if (c.accept('RENAME', 'TO')) {
      s.kind = 'rename_table';
      s.newName = c.name().name;
    } else if (c.accept('RENAME')) {
      c.accept('COLUMN');
      s.kind = 'rename_column';
      s.column = c.name().name;
      c.accept('TO');
      s.newName = c.name().name;
    } else if (c.accept('ADD')) {
      c.accept('COLUMN');
      s.kind = 'add_column';
      s.column = c.name().name;
      s.flags = columnFlags(tokens.slice(c.i));
    } else if (c.accept('DROP')) {
      c.accept('COLUMN');
      s.kind = 'drop_column';
      s.column = c.name().name;
    }
    return s;
  }
  if (c.accept('CREATE')) {
    const temp = c.accept('TEMP') || c.accept('TEMPORARY');
    s.unique = c.accept('UNIQUE');
    c.accept('VIRTUAL');
    const what = c.peek()?.value.toUpperCase();
    c.i++;
    c.accept('IF', 'NOT', 'EXISTS');
    const name = c.name();
    if (temp) name.schema = 'temp';
    if (what === 'TABLE') {
      s.kind = 'create_table';
      setTable(name);
    } else if (what === 'VIEW') {
      s.kind = 'create_view';
    } else if (what === 'INDEX' || what === 'TRIGGER') {
      s.kind = what === 'INDEX' ? 'create_index' : 'create_trigger';
      // The table an index or trigger is on follows ON.
      const on = tokens.findIndex((t, k) => k >= c.i && isWord(t, 'ON'));
      if (on >= 0) {
        c.i = on + 1;
        setTable(c.name());
      }
    }
    return s;
  }
  if (c.accept('DROP')) {
    const what = c.peek()?.value.toUpperCase();
    c.i++;
    c.accept('IF', 'EXISTS');
    const name = c.name();
    const kinds: Record<string, StatementKind> = { TABLE: 'drop_table', INDEX: 'drop_index', VIEW: 'drop_view', TRIGGER: 'drop_trigger' };
    s.kind = kinds[what ?? ''] ?? 'other';
    if (s.kind === 'drop_table') setTable(name);
    return s;
  }
  const first = tokens[0];
  if (isWord(first, 'BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE')) s.kind = 'transaction';
  else if (isWord(first, 'ATTACH', 'DETACH', 'VACUUM')) s.kind = 'outside_transaction';
  else if (isWord(first, 'PRAGMA')) s.kind = 'pragma';
  else if (isWord(first, 'WITH') && tokens.some((t) => isWord(t, 'INSERT', 'REPLACE', 'UPDATE', 'DELETE'))) {
    // A write after common table expressions: its target is not worked out (null = unknown).
    s.kind = 'write';
  } else if (isWord(first, 'INSERT', 'REPLACE', 'UPDATE', 'DELETE')) {
    s.kind = 'write';
    if (c.accept('UPDATE')) {
      if (c.accept('OR')) c.i++;
    } else {
      while (c.peek() && !isWord(c.peek(), 'INTO', 'FROM')) c.i++;
      c.i++;
    }
    setTable(c.name());
  }
  return s;
}

/** Splits and classifies a whole migration. */
export function parseMigration(sql: string): ParsedStatement[] {
  return splitMigration(sql).map((p, k) => parseStatement(k + 1, p.sql, p.tokens));
}
