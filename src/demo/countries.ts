import { formatReal } from '../values.js';

/**
 * The demo's dataset: a dozen rows of the `world-countries` package (mledoze/countries, data
 * under ODbL 1.0), copied here so the demo works from an installed crsync without that package.
 * Columns: ISO 3166-1 alpha-3 code, common name, capital, region, subregion, area (km²), landlocked.
 */
export const COUNTRY_ROWS: readonly (readonly [string, string, string, string, string, number, number])[] = [
  ['AUS', 'Australia', 'Canberra', 'Oceania', 'Australia and New Zealand', 7692024.0, 0],
  ['BOL', 'Bolivia', 'Sucre', 'Americas', 'South America', 1098581.0, 1],
  ['BRA', 'Brazil', 'Brasília', 'Americas', 'South America', 8515767.0, 0],
  ['CAN', 'Canada', 'Ottawa', 'Americas', 'North America', 9984670.0, 0],
  ['EGY', 'Egypt', 'Cairo', 'Africa', 'Northern Africa', 1002450.0, 0],
  ['FRA', 'France', 'Paris', 'Europe', 'Western Europe', 551695.0, 0],
  ['IND', 'India', 'New Delhi', 'Asia', 'Southern Asia', 3287590.0, 0],
  ['JPN', 'Japan', 'Tokyo', 'Asia', 'Eastern Asia', 377930.0, 0],
  ['KEN', 'Kenya', 'Nairobi', 'Africa', 'Eastern Africa', 580367.0, 0],
  ['MNG', 'Mongolia', 'Ulan Bator', 'Asia', 'Eastern Asia', 1564110.0, 1],
  ['NZL', 'New Zealand', 'Wellington', 'Oceania', 'Australia and New Zealand', 270467.0, 0],
  ['PER', 'Peru', 'Lima', 'Americas', 'South America', 1285216.0, 0],
];

/** A row the demo's second replica adds (same source). */
export const ICELAND = ['ISL', 'Iceland', 'Reykjavik', 'Europe', 'Northern Europe', 103000.0, 0] as const;

export const CREATE_COUNTRIES =
  'CREATE TABLE countries (code TEXT PRIMARY KEY NOT NULL, name TEXT, capital TEXT, region TEXT, subregion TEXT, area REAL, landlocked INTEGER NOT NULL DEFAULT 0)';

// area (column 6) is REAL: spelled with a dot so SQLite stores it as one.
const literal = (v: string | number, i: number): string =>
  typeof v === 'number' ? (i === 5 ? formatReal(v) : String(v)) : `'${v.replace(/'/g, "''")}'`;

/** INSERT statement for rows of the dataset. */
export function insertCountries(rows: readonly (readonly (string | number)[])[]): string {
  return `INSERT INTO countries VALUES ${rows.map((r) => `(${r.map((v, i) => literal(v, i)).join(', ')})`).join(', ')}`;
}
