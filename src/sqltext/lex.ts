/** Lexing and splitting SQL text (quotes, comments and trigger bodies respected), for `sql` and `migrate`. */

/** A lexical token; `value` is the unquoted name of an identifier, the text otherwise. */
export interface Token {
  type: 'word' | 'ident' | 'string' | 'blob' | 'number' | 'punct';
  value: string;
  start: number;
  end: number;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Splits SQL text into tokens, skipping whitespace and comments. Unterminated quotes run to the end. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;
  const quoted = (close: string, from: number): number => {
    let j = from;
    while (j < n) {
      if (sql[j] === close) {
        if (close !== ']' && sql[j + 1] === close) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      j++;
    }
    return n;
  };
  while (i < n) {
    const ch = sql[i]!;
    const start = i;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if ((ch === 'x' || ch === 'X') && sql[i + 1] === "'") {
      i = quoted("'", i + 2);
      tokens.push({ type: 'blob', value: sql.slice(start, i), start, end: i });
    } else if (ch === "'") {
      i = quoted("'", i + 1);
      tokens.push({ type: 'string', value: sql.slice(start + 1, i - 1).replace(/''/g, "'"), start, end: i });
    } else if (ch === '"' || ch === '`' || ch === '[') {
      const close = ch === '[' ? ']' : ch;
      i = quoted(close, i + 1);
      const inner = sql.slice(start + 1, i - 1);
      tokens.push({ type: 'ident', value: close === ']' ? inner : inner.split(close + close).join(close), start, end: i });
    } else if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      i++;
      while (i < n && /[0-9A-Za-z_.]/.test(sql[i]!)) {
        // An exponent's sign belongs to the number (1e-5).
        if (/[eE]/.test(sql[i]!) && /[-+]/.test(sql[i + 1] ?? '') && !/^0[xX]/.test(sql.slice(start, i))) i++;
        i++;
      }
      tokens.push({ type: 'number', value: sql.slice(start, i), start, end: i });
    } else if (WORD_START.test(ch)) {
      while (i < n && WORD_CHAR.test(sql[i]!)) i++;
      tokens.push({ type: 'word', value: sql.slice(start, i), start, end: i });
    } else {
      i++;
      tokens.push({ type: 'punct', value: ch, start, end: i });
    }
  }
  return tokens;
}

/** True when the token is one of the keywords (any case). */
export const isWord = (t: Token | undefined, ...words: string[]): boolean =>
  t !== undefined && t.type === 'word' && words.includes(t.value.toUpperCase());

/**
 * Splits a migration into statements at top-level semicolons. A CREATE TRIGGER runs to the `;`
 * after the END of its body (CASE ... END inside the body is counted, unlike sqlite3_complete).
 */
export function splitMigration(sql: string): { sql: string; tokens: Token[] }[] {
  const all = tokenize(sql);
  const out: { sql: string; tokens: Token[] }[] = [];
  let cur: Token[] = [];
  let caseDepth = 0;
  let bodyEnded = false;
  const flush = (): void => {
    const body = cur.filter((t) => !(t.type === 'punct' && t.value === ';'));
    if (body.length > 0) out.push({ sql: sql.slice(cur[0]!.start, cur[cur.length - 1]!.end), tokens: body });
    cur = [];
    caseDepth = 0;
    bodyEnded = false;
  };
  for (const t of all) {
    cur.push(t);
    const trigger = isWord(cur[0], 'CREATE') && cur.slice(1, 4).some((x) => isWord(x, 'TRIGGER'));
    if (trigger && cur.some((x) => isWord(x, 'BEGIN'))) {
      if (isWord(t, 'CASE')) caseDepth++;
      else if (isWord(t, 'END')) {
        if (caseDepth > 0) caseDepth--;
        else bodyEnded = true;
      }
    }
    if (t.type === 'punct' && t.value === ';' && (!trigger || bodyEnded)) flush();
  }
  if (cur.length > 0) flush();
  return out;
}
