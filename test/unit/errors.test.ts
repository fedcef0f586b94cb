import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import {
  AuthError, CrsyncError, ERRORS, ExitCode, FAMILIES, SchemaMismatchError, UnreachableError, UsageError, codeOfAnswer, isErrorCode, toCrsyncError, type ErrorCode,
} from '../../src/errors.js';

const ROOT = join(import.meta.dirname, '..', '..');
const codes = Object.keys(ERRORS) as ErrorCode[];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const ERROR_CLASSES = new Set(['CrsyncError', 'UsageError', 'AuthError', 'UnreachableError', 'SchemaMismatchError']);

/** String literals src uses as error codes: constructor arguments, subclass defaults, `.code` comparisons. */
function codesInSource(): { code: string; where: string }[] {
  const found: { code: string; where: string }[] = [];
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const add = (n: ts.Node | undefined): void => {
      if (n && ts.isStringLiteralLike(n)) found.push({ code: n.text, where: `${file.slice(ROOT.length + 1)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}` });
    };
    const visit = (n: ts.Node): void => {
      if ((ts.isNewExpression(n) || ts.isCallExpression(n)) && ts.isIdentifier(n.expression) && ERROR_CLASSES.has(n.expression.text)) {
        const args = n.arguments ?? [];
        add(n.expression.text === 'CrsyncError' ? args[0] : n.expression.text === 'UsageError' || n.expression.text === 'AuthError' ? args[2] : undefined);
      }
      if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.SuperKeyword) add(n.arguments[0]);
      if (ts.isParameter(n) && n.name.getText(sf) === 'code') add(n.initializer);
      if (ts.isBinaryExpression(n) && /^[!=]==$/.test(n.operatorToken.getText(sf)) && !ts.isTypeOfExpression(n.left) && /\bcode$/.test(n.left.getText(sf))) {
        // Node's codes (ENOENT, Z_DATA_ERROR) are upper case and commander's dotted; ours are snake_case.
        if (ts.isStringLiteralLike(n.right) && /^[a-z]+(_[a-z]+)*$/.test(n.right.text)) add(n.right);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return found;
}

describe('the error table', () => {
  it('gives every code a family, its exit code and an HTTP status', () => {
    const exits = new Set<number>(Object.values(ExitCode));
    for (const code of codes) {
      const spec = ERRORS[code];
      expect(code, code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(Object.keys(FAMILIES), code).toContain(spec.family);
      expect(exits.has(spec.exit), code).toBe(true);
      expect(spec.exit, code).not.toBe(ExitCode.ok);
      expect(spec.exit, `${code} has the exit code of family ${spec.family}`).toBe(FAMILIES[spec.family]);
      expect(Number.isInteger(spec.status) && spec.status >= 400 && spec.status <= 599, code).toBe(true);
    }
  });

  it('has one exit code per family, and only usage errors exit 2', () => {
    for (const family of Object.keys(FAMILIES) as (keyof typeof FAMILIES)[]) {
      const inFamily = codes.filter((c) => ERRORS[c].family === family);
      expect(inFamily.length, `family ${family} has codes`).toBeGreaterThan(0);
      expect(new Set(inFamily.map((c) => ERRORS[c].exit)), family).toEqual(new Set([FAMILIES[family]]));
    }
    const usageExit = codes.filter((c) => ERRORS[c].exit === ExitCode.usage);
    expect(usageExit.every((c) => ERRORS[c].family === 'usage')).toBe(true);
  });

  it('is where the family subclasses and the constructor take exit codes and statuses from', () => {
    const cases: [CrsyncError, string][] = [
      [new UsageError('x'), 'usage'],
      [new UsageError('x', undefined, 'unknown_format'), 'usage'],
      [new UnreachableError('x'), 'unreachable'],
      [new AuthError('x'), 'auth'],
      [new AuthError('x', undefined, 'forbidden'), 'auth'],
      [new SchemaMismatchError('x', {}), 'schema_mismatch'],
      [toCrsyncError(new Error('boom')), 'internal'],
    ];
    for (const [e, family] of cases) {
      expect(ERRORS[e.code].family, e.code).toBe(family);
      expect(e.exitCode, e.code).toBe(FAMILIES[ERRORS[e.code].family]);
      expect(e.status, e.code).toBe(ERRORS[e.code].status);
    }
    expect(new CrsyncError('bad_request', 'x').exitCode).toBe(ExitCode.failure);
    expect(new CrsyncError('bad_request', 'x').status).toBe(400);
    expect(new CrsyncError('usage', 'x', { exitCode: ExitCode.failure }).exitCode).toBe(ExitCode.failure);
    expect(isErrorCode('no_such_remote')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('holds every code src throws or compares, and no code src never uses', () => {
    const used = codesInSource();
    const unknown = used.filter((u) => !isErrorCode(u.code)).map((u) => `${u.code} (${u.where})`);
    expect(unknown).toEqual([]);
    const seen = new Set(used.map((u) => u.code));
    const unused = codes.filter((c) => !seen.has(c));
    expect(unused).toEqual([]);
    expect(used.length).toBeGreaterThan(100);
  });

  it('agrees with the statuses docs/protocol.md lists', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'protocol.md'), 'utf8');
    const rows = [...doc.matchAll(/^\| (\d{3}) \| (`[^|]+`) \|/gm)];
    expect(rows.length).toBeGreaterThan(10);
    for (const [, status, list] of rows) {
      for (const [, code] of list!.matchAll(/`([a-z_]+)`/g)) {
        expect(isErrorCode(code), code).toBe(true);
        expect(ERRORS[code as ErrorCode].status, code).toBe(Number(status));
      }
    }
  });
});

describe('a hub error answer on the client', () => {
  it('keeps the hub code, and so its exit code, for every code the hub answers with', () => {
    for (const code of codes) {
      const { status } = ERRORS[code];
      if (status === 500 || status === 401 || (status >= 502 && status <= 504)) continue;
      expect(codeOfAnswer(status, code), code).toBe(code);
    }
    expect(new CrsyncError(codeOfAnswer(409, 'unknown_column'), 'x').exitCode).toBe(ExitCode.schemaMismatch);
    expect(new CrsyncError(codeOfAnswer(403, 'forbidden'), 'x').exitCode).toBe(ExitCode.auth);
    expect(codeOfAnswer(500, 'internal')).toBe('internal');
  });

  it('names what it does not know from the status', () => {
    expect(codeOfAnswer(401, 'unauthenticated')).toBe('auth_failed');
    expect(codeOfAnswer(401, undefined)).toBe('auth_failed');
    expect(codeOfAnswer(403, 'some_new_code')).toBe('forbidden');
    expect(codeOfAnswer(404, undefined)).toBe('dataset_not_found');
    expect(codeOfAnswer(409, 42)).toBe('schema_mismatch');
    expect(codeOfAnswer(503, 'busy')).toBe('remote_unavailable');
    expect(codeOfAnswer(502, undefined)).toBe('remote_unavailable');
    // A known code with another status than this crsync gives it is not trusted to mean the same.
    expect(codeOfAnswer(400, 'forbidden')).toBe('remote_error');
    expect(codeOfAnswer(418, 'teapot')).toBe('remote_error');
    expect(codeOfAnswer(400, '__proto__')).toBe('remote_error');
  });
});
