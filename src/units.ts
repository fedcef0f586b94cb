import { UsageError } from './errors.js';

/** What an option's number measures: bytes, milliseconds, or a plain count. */
export type QuantityKind = 'size' | 'duration' | 'count';

const UNITS: Record<QuantityKind, Record<string, number>> = {
  size: { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 },
  // A duration needs its unit: a bare "30" could mean seconds or milliseconds.
  duration: { ms: 1, s: 1000, m: 60_000 },
  count: { '': 1 },
};

/** Parses "64MiB", "512k", "30s", "500ms", "1000" into bytes, milliseconds or a count. */
export function parseQuantity(name: string, text: string, kind: QuantityKind): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[kind][m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    const example = kind === 'size' ? 'e.g. 64MiB, 512k or 1048576' : kind === 'duration' ? 'e.g. 30s or 500ms (the unit is required)' : 'a positive integer';
    throw new UsageError(`${name} must be ${kind === 'count' ? 'a positive integer' : `a positive ${kind}`}, got ${JSON.stringify(text)}`, example);
  }
  return n;
}
