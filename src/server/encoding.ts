/**
 * Whether an Accept-Encoding header accepts gzip (RFC 9110 12.5.3): codings are case-insensitive,
 * q=0 refuses, `*` stands for codings not named.
 */
export function acceptsGzip(header: string): boolean {
  let named: number | undefined;
  let star: number | undefined;
  for (const part of header.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((x) => x.trim()).find((x) => x.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const weight = Number.isFinite(q) ? q : 0;
    if (coding === 'gzip' || coding === 'x-gzip') named = Math.max(named ?? 0, weight);
    else if (coding === '*') star = weight;
  }
  if (named !== undefined) return named > 0;
  return star !== undefined && star > 0;
}
