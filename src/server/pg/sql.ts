/** SQL written with `?` placeholders (shared with the SQLite side) numbered `$from`, `$from+1`, … for PostgreSQL. */
export function numbered(sql: string, from = 1): string {
  let n = from;
  return sql.replace(/\?/g, () => `$${n++}`);
}

/** `IS` of SQLite (equal, or both NULL) in PostgreSQL. */
export function same(column: string, param: string): string {
  return `${column} IS NOT DISTINCT FROM ${param}`;
}
